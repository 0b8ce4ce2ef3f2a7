package middleware_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"

	"github.com/secretmem/secretmem/middleware"
)

func TestLoggerNeverLogsCredentials(t *testing.T) {
	tok, apiKey, sess, custom, qTok, qKey, qPass, qSig, qExtra, bare := marker(t), marker(t), marker(t), marker(t),
		marker(t), marker(t), marker(t), marker(t), marker(t), marker(t)
	secrets := []string{tok, apiKey, sess, custom, qTok, qKey, qPass, qSig, qExtra, bare}
	agent := marker(t) // not a secret: it must show up, or the test proves nothing

	for _, format := range []struct {
		name string
		new  func(io.Writer) slog.Handler
	}{
		{"JSON", func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) }},
		{"text", func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) }},
	} {
		for _, order := range []struct {
			name   string
			tokens bool
			before bool
		}{
			{"with Logger outside Tokens", true, true},
			{"with Logger inside Tokens", true, false},
			{"without Tokens", false, true},
		} {
			t.Run(format.name+" "+order.name, func(t *testing.T) {
				var out bytes.Buffer
				logger := slog.New(format.new(&out))
				lg := middleware.Logger(logger,
					// Ask for every credential header: the answer must still be no.
					middleware.WithHeaders("Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "X-Custom-Auth",
						"Proxy-Authorization", "User-Agent", "X-Session-Id"),
					middleware.WithAPIKeys("X-Api-Key"),
					middleware.WithSecretParams("Extra"),
				)
				tk := middleware.Tokens(middleware.WithAPIKeys("X-Api-Key"), middleware.WithCookies("session"))
				done := make(chan struct{}, 1)
				r := chi.NewRouter()
				r.Use(finished(done))
				r.Use(chimw.RequestID)
				switch {
				case !order.tokens:
					r.Use(lg)
				case order.before:
					r.Use(lg, tk)
				default:
					r.Use(tk, lg)
				}
				r.Get("/items", func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Set-Cookie", "session="+sess)
					io.WriteString(w, "hello")
				})
				srv := serve(t, r)

				q := url.Values{"access_token": {qTok}, "api_key": {qKey}, "Password": {qPass}, "page": {"2"},
					"X-Amz-Signature": {qSig}, "extra": {qExtra}}
				get(t, srv.URL+"/items?"+q.Encode()+"&"+bare, http.Header{
					"Authorization":       {"Bearer " + tok},
					"Proxy-Authorization": {"Basic " + tok},
					"X-Api-Key":           {apiKey},
					"X-Custom-Auth":       {custom},
					"X-Session-Id":        {sess},
					"Cookie":              {"session=" + sess},
					"User-Agent":          {agent},
				})
				<-done
				log := out.String()
				for _, m := range secrets {
					if strings.Contains(log, m) {
						t.Fatal("the log contains a credential")
					}
				}
				for _, want := range []string{agent, "page=2", "access_token=[REDACTED]", "GET", "/items", "200",
					"request_id", "remote_addr", "127.0.0.1", "duration", "bytes"} {
					if !strings.Contains(log, want) {
						t.Errorf("the log lacks %q", want)
					}
				}
			})
		}
	}
}

func TestLoggerRecords(t *testing.T) {
	for _, c := range []struct {
		name      string
		handler   http.HandlerFunc
		header    http.Header
		opts      []middleware.Option
		wantLevel string
		wantAttrs map[string]any
	}{
		{
			name:      "a response is logged with its status and size",
			handler:   func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201); io.WriteString(w, "abc") },
			wantLevel: "INFO",
			wantAttrs: map[string]any{"status": 201.0, "bytes": 3.0, "method": "GET", "path": "/p"},
		},
		{
			name:      "a 5xx response is logged as an error",
			handler:   func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) },
			wantLevel: "ERROR",
			wantAttrs: map[string]any{"status": 503.0},
		},
		{
			name:      "an X-Request-Id header is the request id without chi's RequestID",
			handler:   func(w http.ResponseWriter, r *http.Request) {},
			header:    http.Header{"X-Request-Id": {"req-42"}},
			wantLevel: "INFO",
			wantAttrs: map[string]any{"request_id": "req-42", "status": 200.0},
		},
		{
			name:      "a request id with spaces is dropped",
			handler:   func(w http.ResponseWriter, r *http.Request) {},
			header:    http.Header{"X-Request-Id": {"a b"}},
			wantLevel: "INFO",
			wantAttrs: map[string]any{"request_id": nil},
		},
		{
			name:      "WithLevel sets the level",
			handler:   func(w http.ResponseWriter, r *http.Request) {},
			opts:      []middleware.Option{middleware.WithLevel(slog.LevelDebug)},
			wantLevel: "DEBUG",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
			req := httptest.NewRequest(http.MethodGet, "/p", nil)
			for k, v := range c.header {
				req.Header[k] = v
			}
			middleware.Logger(logger, c.opts...)(c.handler).ServeHTTP(httptest.NewRecorder(), req)
			var rec map[string]any
			if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
				t.Fatalf("not one JSON record: %v", err)
			}
			if rec["level"] != c.wantLevel {
				t.Errorf("level %v, want %v", rec["level"], c.wantLevel)
			}
			for k, want := range c.wantAttrs {
				if got := rec[k]; got != want {
					t.Errorf("%s = %v, want %v", k, got, want)
				}
			}
		})
	}
}

func TestLoggerLogsAPanicAndLetsItGo(t *testing.T) {
	var out bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&out, nil))
	h := middleware.Logger(logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic was swallowed")
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	var rec map[string]any
	if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON record: %v", err)
	}
	if rec["level"] != "ERROR" || rec["panic"] != true || rec["status"] != 500.0 {
		t.Errorf("record %v, want an ERROR with panic=true and status 500", rec)
	}
}

func TestLoggerKeepsFlushAndHijack(t *testing.T) {
	var flushErr, hijackErr error
	done := make(chan struct{}, 1)
	r := chi.NewRouter()
	r.Use(finished(done))
	r.Use(middleware.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	r.Get("/flush", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "x")
		flushErr = http.NewResponseController(w).Flush()
	})
	r.Get("/hijack", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		hijackErr = err
		if err == nil {
			// Answer properly: a connection closed without a response
			// would make the client retry, and run this handler twice.
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			buf.Flush()
			conn.Close()
		}
	})
	srv := serve(t, r)
	get(t, srv.URL+"/flush", nil)
	<-done
	get(t, srv.URL+"/hijack", nil)
	<-done
	if flushErr != nil {
		t.Errorf("Flush through Logger: %v", flushErr)
	}
	if hijackErr != nil {
		t.Errorf("Hijack through Logger: %v", hijackErr)
	}
}
