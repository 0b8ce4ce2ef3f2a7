package middleware_test

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/secretmem/secretmem/internal/testsecret"
	"github.com/secretmem/secretmem/secret"
)

// marker returns a unique random string to use as a secret: if it shows
// up anywhere it was not meant to, it can only have come from the test.
func marker(t testing.TB) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "mk" + hex.EncodeToString(b[:])
}

// key puts s in a pooled cell that lives as long as the test.
func key(t testing.TB, s string) secret.Value { return testsecret.Cell(t, s) }

// serve runs h on a real HTTP/1.1 server bound to 127.0.0.1, with the
// server's own error log (which reports handler panics) silenced.
func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// serveHTTP2 is serve over TLS with HTTP/2; use the returned client.
func serveHTTP2(t testing.TB, h http.Handler) (*httptest.Server, *http.Client) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, srv.Client()
}

// finished signals on done after everything inside it has returned, even
// by panic: the point after which the request's cells must be dead. It
// also gives the test a happens-before edge to read what the handler
// recorded.
func finished(done chan<- struct{}) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() { done <- struct{}{} }()
			next.ServeHTTP(w, r)
		})
	}
}

// get sends a GET with the given header lines and returns the status and
// body (status 0 when the connection failed, as it does after a panic).
func get(t testing.TB, url string, header http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// discardWriter is a ResponseWriter that keeps nothing, for benchmarks
// and allocation counts.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}
