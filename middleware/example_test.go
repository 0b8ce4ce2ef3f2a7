package middleware_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/go-chi/chi/v5"

	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/secret"
)

// A chi router that takes the bearer token into a cell, refuses requests
// without the right one, and hands the handler the token, which is gone
// from the headers.
func Example() {
	apiKey, _ := secret.FromString("s3cr3t-api-key") // in a service: cfg.Secret("api.key")
	defer apiKey.Destroy()

	r := chi.NewRouter()
	r.Use(middleware.Tokens())
	r.Use(middleware.RequireBearer(apiKey))
	r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
		tok, _ := middleware.Token(r.Context())
		err := tok.Use(func(b []byte) error {
			// Use b here: call the upstream API, verify a signature...
			return nil
		})
		fmt.Println("read the token:", err == nil)
		fmt.Println("Authorization header left:", r.Header.Get("Authorization") != "")
	})

	for _, auth := range []string{"Bearer s3cr3t-api-key", "Bearer wrong"} {
		req := httptest.NewRequest(http.MethodGet, "/me", nil)
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Values("WWW-Authenticate"))
	}
	// Output:
	// read the token: true
	// Authorization header left: false
	// 200 []
	// 401 [Bearer error="invalid_token"]
}

// API keys and cookies are taken the same way; other cookies stay.
func ExampleTokens() {
	h := middleware.Tokens(
		middleware.WithoutBearer(),
		middleware.WithAPIKeys("X-Api-Key"),
		middleware.WithCookies("session"),
	)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := middleware.APIKey(r.Context(), "X-Api-Key")
		fmt.Println("API key:", ok, key) // a Value prints redacted
		sess, ok := middleware.Cookie(r.Context(), "session")
		fmt.Println("session:", ok, sess.Equal([]byte("abc123")))
		fmt.Println("Cookie header:", r.Header.Get("Cookie"))
	}))

	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("X-Api-Key", "k-123")
	req.Header.Set("Cookie", "theme=dark; session=abc123")
	h.ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// API key: true [REDACTED]
	// session: true true
	// Cookie header: theme=dark
}

// A guard with options: a custom scheme, and a failure handler that
// answers in JSON.
func ExampleNewGuard() {
	key, _ := secret.FromString("t0k3n")
	defer key.Destroy()
	guard := middleware.NewGuard(
		middleware.WithScheme("Token"),
		middleware.WithFailureHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintln(w, `{"error":"unauthorized"}`)
		})),
	)
	h := guard.RequireBearer(key)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	}))

	for _, auth := range []string{"token t0k3n", "Bearer t0k3n"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	// Output:
	// 200 hello
	// 401 {"error":"unauthorized"}
}

// A handler derives a per-request secret that dies with the response.
func ExampleEphemeral() {
	var kept secret.Value
	h := middleware.Tokens()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		derived := []byte("per-request-session-key") // wiped by Ephemeral
		v, err := middleware.Ephemeral(r.Context(), derived)
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		kept = v
		fmt.Println("during the request:", v.Alive())
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println("after the response:", kept.Alive())

	_, err := middleware.Ephemeral(context.Background(), []byte("x"))
	fmt.Println(err)
	// Output:
	// during the request: true
	// after the response: false
	// middleware: no request scope (add middleware.Tokens in front of this handler)
}

// Logger writes one record per request and redacts what looks secret.
func ExampleLogger() {
	// Drop the fields that change from run to run.
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey, "duration", "remote_addr":
				return slog.Attr{}
			}
			return a
		},
	}))
	h := middleware.Logger(logger, middleware.WithHeaders("User-Agent", "Authorization"))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))

	req := httptest.NewRequest(http.MethodGet, "/search?q=go&api_key=abc123", nil)
	req.Header.Set("Authorization", "Bearer abc123")
	req.Header.Set("User-Agent", "example")
	req.Header.Set("X-Request-Id", "req-1")
	h.ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// level=INFO msg="http request" method=GET path=/search query="q=go&api_key=[REDACTED]" status=200 bytes=2 request_id=req-1 headers.User-Agent=example
}

// Basic credentials come out as a user name and a password cell.
func ExampleBasicAuth() {
	h := middleware.Tokens()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pw, ok := middleware.BasicAuth(r.Context())
		fmt.Println(ok, user, pw.Equal([]byte("opensesame")))
		fmt.Println("Authorization header left:", r.Header.Get("Authorization") != "")
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth("alice", "opensesame")
	h.ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// true alice true
	// Authorization header left: false
}

// Listener takes the credentials out of the connection's bytes before
// net/http reads them; Tokens then finds them behind placeholders. Give
// both the same options.
func ExampleListener() {
	opts := []middleware.Option{middleware.WithAPIKeys("X-Api-Key")}
	r := chi.NewRouter()
	r.Use(middleware.Tokens(opts...))
	r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
		_, ok := middleware.APIKey(r.Context(), "X-Api-Key")
		fmt.Fprintln(w, "key presented:", ok)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &http.Server{Handler: r}
	go func() { _ = srv.Serve(middleware.Listener(ln, opts...)) }()
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/me", nil)
	req.Header.Set("X-Api-Key", "k-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	// Output:
	// key presented: true
}
