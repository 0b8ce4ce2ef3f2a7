package middleware_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"

	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/secret"
)

// spy records everything a careless downstream middleware could leak:
// a header dump, the request printed with %v and %#v, a slog record of
// the headers, and httputil.DumpRequest.
func spy(out *bytes.Buffer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			dump, err := httputil.DumpRequest(r, false)
			if err != nil {
				fmt.Fprintln(out, "dump failed:", err)
			}
			out.Write(dump)
			fmt.Fprintf(out, "%v\n%#v\n%+v\n", r.Header, r.Header, r)
			slog.New(slog.NewJSONHandler(out, nil)).Info("seen", "headers", r.Header, "cookies", r.Cookies())
			next.ServeHTTP(w, r)
		})
	}
}

func TestTokensOverChi(t *testing.T) {
	tok, apiKey, session := marker(t), marker(t), marker(t)
	done := make(chan struct{}, 1)
	var seen, chiLog bytes.Buffer

	// What the handler found, read by the test after done.
	var (
		tokenOK, apiKeyOK, sessionOK bool
		headerGone, cookieGone       bool
		otherCookie                  string
		kept                         []secret.Value
	)

	r := chi.NewRouter()
	r.Use(finished(done))
	r.Use(chimw.RequestLogger(&chimw.DefaultLogFormatter{Logger: log.New(&chiLog, "", 0), NoColor: true}))
	r.Use(middleware.Tokens(middleware.WithAPIKeys("x-api-key"), middleware.WithCookies("session")))
	r.Use(spy(&seen))
	r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t1, ok1 := middleware.Token(ctx)
		k1, ok2 := middleware.APIKey(ctx, "X-Api-Key")
		c1, ok3 := middleware.Cookie(ctx, "session")
		tokenOK = ok1 && t1.Equal([]byte(tok))
		apiKeyOK = ok2 && k1.Equal([]byte(apiKey))
		sessionOK = ok3 && c1.Equal([]byte(session))
		headerGone = r.Header.Get("Authorization") == "" && r.Header.Get("X-Api-Key") == ""
		_, err := r.Cookie("session")
		cookieGone = errors.Is(err, http.ErrNoCookie)
		if c, err := r.Cookie("theme"); err == nil {
			otherCookie = c.Value
		}
		kept = []secret.Value{t1, k1, c1}
		fmt.Fprint(w, "ok")
	})
	srv := serve(t, r)

	status, body := get(t, srv.URL+"/me", http.Header{
		"Authorization": {"Bearer " + tok},
		"X-Api-Key":     {apiKey},
		"Cookie":        {"theme=dark; session=" + session + "; lang=en"},
	})
	<-done

	if status != http.StatusOK || string(body) != "ok" {
		t.Fatalf("status %d, body %q: want 200 ok", status, body)
	}
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"the handler reads the right bearer token", tokenOK},
		{"the handler reads the right API key", apiKeyOK},
		{"the handler reads the right session cookie", sessionOK},
		{"the credential headers are gone from r.Header", headerGone},
		{"the session cookie is gone from the Cookie header", cookieGone},
		{"other cookies stay", otherCookie == "dark"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Error("it does not")
			}
		})
	}
	t.Run("no downstream middleware, dump or log sees a credential", func(t *testing.T) {
		for _, m := range []string{tok, apiKey, session} {
			if strings.Contains(seen.String(), m) || strings.Contains(chiLog.String(), m) {
				t.Error("a credential leaked downstream")
			}
		}
		if !strings.Contains(seen.String(), "theme=dark") {
			t.Error("the spy saw nothing, so it proves nothing")
		}
	})
	t.Run("the values the handler kept are destroyed after the response", func(t *testing.T) {
		for i, v := range kept {
			if v.Alive() {
				t.Errorf("value %d is still alive", i)
			}
			if err := v.Use(func([]byte) error { return nil }); !errors.Is(err, secret.ErrDestroyed) {
				t.Errorf("value %d: Use = %v, want secret.ErrDestroyed", i, err)
			}
		}
	})
}

// TestTokensWipeWhateverTheEnding proves the cells die however the handler
// ends: each case keeps a copy of the token and ends in its own way.
func TestTokensWipeWhateverTheEnding(t *testing.T) {
	for _, c := range []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request, step <-chan struct{})
		// stream: the test reads the first chunk, checks the token is
		// still alive mid-stream, then lets the handler finish.
		stream bool
		status int
	}{
		{
			name:    "a handler that returns normally",
			handler: func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) { io.WriteString(w, "ok") },
			status:  http.StatusOK,
		},
		{
			name:    "a handler that panics",
			handler: func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) { panic("boom") },
			status:  0,
		},
		{
			name: "a handler that aborts with http.ErrAbortHandler",
			handler: func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
				io.WriteString(w, "partial")
				panic(http.ErrAbortHandler)
			},
			status: 0,
		},
		{
			name: "a handler that hijacks the connection",
			handler: func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
				conn, buf, err := http.NewResponseController(w).Hijack()
				if err != nil {
					panic(err)
				}
				defer conn.Close()
				buf.WriteString("HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
				buf.Flush()
			},
			status: http.StatusAccepted,
		},
		{
			name: "a handler that streams a flushed response",
			handler: func(w http.ResponseWriter, r *http.Request, step <-chan struct{}) {
				io.WriteString(w, "first\n")
				http.NewResponseController(w).Flush()
				<-step
				io.WriteString(w, "second\n")
			},
			stream: true,
			status: http.StatusOK,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok := marker(t)
			done := make(chan struct{}, 1)
			keptCh := make(chan secret.Value, 1)
			step := make(chan struct{})
			r := chi.NewRouter()
			r.Use(finished(done))
			r.Use(middleware.Tokens())
			r.Get("/", func(w http.ResponseWriter, r *http.Request) {
				v, _ := middleware.Token(r.Context())
				keptCh <- v
				c.handler(w, r, step)
			})
			srv := serve(t, r)

			if c.stream {
				req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				line, err := bufio.NewReader(resp.Body).ReadString('\n')
				if err != nil || line != "first\n" {
					t.Fatalf("first chunk %q, %v", line, err)
				}
				if v := <-keptCh; !v.Alive() || !v.Equal([]byte(tok)) {
					t.Error("the token died before the response ended")
				} else {
					keptCh <- v
				}
				close(step)
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			} else {
				status, _ := get(t, srv.URL, http.Header{"Authorization": {"Bearer " + tok}})
				if status != c.status {
					t.Errorf("status %d, want %d", status, c.status)
				}
			}
			<-done
			kept := <-keptCh
			if kept.Alive() {
				t.Fatal("the token outlived the response")
			}
			if err := kept.Use(func([]byte) error { return nil }); !errors.Is(err, secret.ErrDestroyed) {
				t.Errorf("Use after the response = %v, want secret.ErrDestroyed", err)
			}
		})
	}
}

// recoverer turns a panic into a 500, as chi's Recoverer does, without
// printing the stack.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func TestTokensPanicBehindARecovererStillWipes(t *testing.T) {
	tok := marker(t)
	done := make(chan struct{}, 1)
	var kept secret.Value
	r := chi.NewRouter()
	r.Use(finished(done))
	r.Use(recoverer)
	r.Use(middleware.Tokens())
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		kept, _ = middleware.Token(r.Context())
		panic("boom")
	})
	srv := serve(t, r)
	status, body := get(t, srv.URL, http.Header{"Authorization": {"Bearer " + tok}})
	<-done
	if status != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", status)
	}
	if bytes.Contains(body, []byte(tok)) {
		t.Error("the 500 body repeats the token")
	}
	if kept.Alive() {
		t.Error("the token outlived the recovered panic")
	}
}

func TestTokenIsVolatile(t *testing.T) {
	tok := marker(t)
	done := make(chan struct{}, 1)
	var equalFirst, firstOK, secondConsumed bool
	r := chi.NewRouter()
	r.Use(finished(done))
	r.Use(middleware.Tokens())
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		v, _ := middleware.Token(r.Context())
		equalFirst = v.Equal([]byte(tok)) // must not consume
		var match bool
		err := v.Use(func(b []byte) error { match = bytes.Equal(b, []byte(tok)); return nil })
		firstOK = err == nil && match
		err = v.Use(func([]byte) error { return nil })
		secondConsumed = errors.Is(err, secret.ErrConsumed)
	})
	srv := serve(t, r)
	get(t, srv.URL, http.Header{"Authorization": {"Bearer " + tok}})
	<-done
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"Equal does not consume the token", equalFirst},
		{"the first read returns the token", firstOK},
		{"the second read in the same request fails with ErrConsumed", secondConsumed},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Error("it does not")
			}
		})
	}
}

// TestTokensExtraction runs the extraction rules on prepared requests:
// what counts as a credential, and that whatever was looked for is gone
// from the headers either way.
func TestTokensExtraction(t *testing.T) {
	m := marker(t)
	long := strings.Repeat("a", middleware.MaxCredentialSize-len(m)) + m
	tooLong := long + "b"
	for _, c := range []struct {
		name   string
		header http.Header
		// want says which of token, api key, session should be found
		// holding want's string.
		token, apiKey, session string
		// keepCookie is the Cookie header left behind, if any.
		keepCookie []string
	}{
		{name: "a request without credentials has none", header: http.Header{}},
		{name: "a bearer token is found", header: http.Header{"Authorization": {"Bearer " + m}}, token: m},
		{name: "the scheme matches in any case", header: http.Header{"Authorization": {"bEARER " + m}}, token: m},
		{name: "several spaces after the scheme are allowed", header: http.Header{"Authorization": {"Bearer   " + m}}, token: m},
		{name: "a token of exactly 8 KiB is found", header: http.Header{"Authorization": {"Bearer " + long}}, token: long},
		{name: "a token over 8 KiB is absent", header: http.Header{"Authorization": {"Bearer " + tooLong}}},
		{name: "an empty Authorization header is absent", header: http.Header{"Authorization": {""}}},
		{name: "a scheme without a token is absent", header: http.Header{"Authorization": {"Bearer "}}},
		{name: "a scheme glued to the token is absent", header: http.Header{"Authorization": {"Bearer" + m}}},
		{name: "another scheme is absent", header: http.Header{"Authorization": {"Basic " + m}}},
		{name: "a token with a space inside is absent", header: http.Header{"Authorization": {"Bearer " + m + " x"}}},
		{name: "a token with non-ASCII bytes is absent", header: http.Header{"Authorization": {"Bearer " + m + "é"}}},
		{name: "a token with a control byte is absent", header: http.Header{"Authorization": {"Bearer " + m + "\x01"}}},
		{name: "a repeated Authorization header is absent", header: http.Header{"Authorization": {"Bearer " + m, "Bearer " + m}}},
		{name: "an API key is found", header: http.Header{"X-Api-Key": {m}}, apiKey: m},
		{name: "a repeated API key is absent", header: http.Header{"X-Api-Key": {m, m}}},
		{name: "an empty API key is absent", header: http.Header{"X-Api-Key": {""}}},
		{name: "an API key over 8 KiB is absent", header: http.Header{"X-Api-Key": {tooLong}}},
		{name: "a cookie is found and the others stay", header: http.Header{"Cookie": {"a=1; session=" + m + "; b=2"}}, session: m, keepCookie: []string{"a=1; b=2"}},
		{name: "a quoted cookie is found", header: http.Header{"Cookie": {`session="` + m + `"`}}, session: m},
		{name: "a cookie on its own line is found and the line dropped", header: http.Header{"Cookie": {"a=1", "session=" + m}}, session: m, keepCookie: []string{"a=1"}},
		{name: "a repeated cookie is absent", header: http.Header{"Cookie": {"session=" + m + "; session=" + m}}},
		{name: "a repeated cookie across lines is absent", header: http.Header{"Cookie": {"session=" + m, "session=" + m}}},
		{name: "an empty cookie is absent", header: http.Header{"Cookie": {"session=; a=1"}}, keepCookie: []string{"a=1"}},
		{name: "a cookie with non-ASCII bytes is absent", header: http.Header{"Cookie": {"session=" + m + "é"}}},
		{name: "a cookie name is case-sensitive", header: http.Header{"Cookie": {"Session=1"}}, keepCookie: []string{"Session=1"}},
		{name: "all three are found together", header: http.Header{
			"Authorization": {"Bearer " + m + "t"}, "X-Api-Key": {m + "k"}, "Cookie": {"session=" + m + "s"},
		}, token: m + "t", apiKey: m + "k", session: m + "s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			for k, v := range c.header {
				req.Header[k] = append([]string(nil), v...)
			}
			var ran bool
			h := middleware.Tokens(middleware.WithAPIKeys("X-Api-Key"), middleware.WithCookies("session"))(
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					ran = true
					ctx := r.Context()
					for _, f := range []struct {
						what string
						want string
						get  func() (secret.Value, bool)
					}{
						{"token", c.token, func() (secret.Value, bool) { return middleware.Token(ctx) }},
						{"API key", c.apiKey, func() (secret.Value, bool) { return middleware.APIKey(ctx, "x-api-key") }},
						{"session cookie", c.session, func() (secret.Value, bool) { return middleware.Cookie(ctx, "session") }},
					} {
						v, ok := f.get()
						switch {
						case f.want == "" && ok:
							t.Errorf("a %s was found where none should be", f.what)
						case f.want != "" && !ok:
							t.Errorf("the %s was not found", f.what)
						case f.want != "" && !v.Equal([]byte(f.want)):
							t.Errorf("the %s found is not the one sent", f.what)
						}
					}
					dump, _ := httputil.DumpRequest(r, false)
					if bytes.Contains(dump, []byte(m)) {
						t.Error("the request dump still shows the credential")
					}
					for _, h := range []string{"Authorization", "X-Api-Key"} {
						if _, ok := r.Header[h]; ok {
							t.Errorf("%s is still in r.Header", h)
						}
					}
					if got := r.Header["Cookie"]; strings.Join(got, "\n") != strings.Join(c.keepCookie, "\n") {
						// Print what was left only when it cannot hold the marker.
						if strings.Contains(strings.Join(got, "\n"), m) {
							t.Errorf("the Cookie header still holds the credential, want %q", c.keepCookie)
						} else {
							t.Errorf("Cookie header left as %q, want %q", got, c.keepCookie)
						}
					}
				}))
			h.ServeHTTP(httptest.NewRecorder(), req)
			if !ran {
				t.Fatal("the handler did not run")
			}
		})
	}
}

func TestTokensWithANilHeaderMap(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header = nil
	ran := false
	middleware.Tokens(middleware.WithAPIKeys("X-Api-Key"), middleware.WithCookies("session"))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, ok := middleware.Token(r.Context())
			ran = !ok
		})).ServeHTTP(httptest.NewRecorder(), req)
	if !ran {
		t.Error("the handler did not run with an empty scope")
	}
}

func TestTokensWithoutBearerLeavesAuthorization(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	var user string
	middleware.Tokens(middleware.WithoutBearer())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _, _ = r.BasicAuth()
		if _, ok := middleware.Token(r.Context()); ok {
			t.Error("a token was found though the bearer was not asked for")
		}
	})).ServeHTTP(httptest.NewRecorder(), req)
	if user != "user" {
		t.Errorf("basic auth user %q, want it left for the handler", user)
	}
}

func TestTokensWithScheme(t *testing.T) {
	m := marker(t)
	for _, c := range []struct {
		name   string
		scheme string
		value  string
		found  bool
	}{
		{"a custom scheme is found", "Token", "token " + m, true},
		{"the default scheme is refused under a custom one", "Token", "Bearer " + m, false},
		{"an invalid scheme matches nothing", "Bad Scheme", "Bad Scheme " + m, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", c.value)
			var found bool
			middleware.Tokens(middleware.WithScheme(c.scheme))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				v, ok := middleware.Token(r.Context())
				found = ok && v.Equal([]byte(m))
				if r.Header.Get("Authorization") != "" {
					t.Error("Authorization is still in r.Header")
				}
			})).ServeHTTP(httptest.NewRecorder(), req)
			if found != c.found {
				t.Errorf("found %v, want %v", found, c.found)
			}
		})
	}
}
