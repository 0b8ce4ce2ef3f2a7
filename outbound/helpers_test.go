package outbound_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/secretmem/secretmem/internal/testsecret"
	"github.com/secretmem/secretmem/outbound"
	"github.com/secretmem/secretmem/secret"
)

// marker returns a unique random secret.
func marker(t testing.TB) string { return testsecret.Marker(t, "ob") }

// cell puts s in a cell that lives as long as the test.
func cell(t testing.TB, s string, opts ...secret.Option) secret.Value {
	return testsecret.Cell(t, s, opts...)
}

// rotating is a secret.Source whose one cell can be swapped, the way a config
// reload swaps cells.
type rotating struct{ v atomic.Pointer[secret.Value] }

func newRotating(v secret.Value) *rotating {
	r := &rotating{}
	r.set(v)
	return r
}

func (r *rotating) set(v secret.Value)         { r.v.Store(&v) }
func (r *rotating) Secret(string) secret.Value { return *r.v.Load() }
func fixed(v secret.Value) secret.SourceFunc   { return func(string) secret.Value { return v } }
func newTransport(t testing.TB, base http.RoundTripper, c outbound.Credential) *outbound.Transport {
	t.Helper()
	rt, err := outbound.New(base, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// seen records the headers requests arrived with, on the server side.
type seen struct {
	mu   sync.Mutex
	reqs []http.Header
	urls []string
}

func (s *seen) record(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, r.Header.Clone())
	s.urls = append(s.urls, r.URL.Path)
}

func (s *seen) all() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.reqs...)
}

func (s *seen) last(t testing.TB) http.Header {
	t.Helper()
	all := s.all()
	if len(all) == 0 {
		t.Fatal("the server saw no request")
	}
	return all[len(all)-1]
}

// recorder serves 200 "ok" on 127.0.0.1 and records every request.
func recorder(t testing.TB) (*httptest.Server, *seen) {
	t.Helper()
	s := &seen{}
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		_, _ = io.WriteString(w, "ok")
	})
	return srv, s
}

// serveFunc runs f on a real HTTP/1.1 server bound to 127.0.0.1.
func serveFunc(t testing.TB, f http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(f)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// get sends GET url through rt and drains the response.
func get(t testing.TB, rt http.RoundTripper, url string) *http.Response {
	t.Helper()
	resp, err := (&http.Client{Transport: rt}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
