//go:build unix

package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// The demo as a newcomer runs it: the built-in upstream on another port
// of 127.0.0.1 accepts the token the testserver sends it.
func TestUpstreamCallWithTheDemoConfig(t *testing.T) {
	t.Parallel()
	srv := start(t, nil)
	code, body := call(t, "GET", srv.base+"/api/upstream", demoAPIKey, "")
	if code != 200 || !strings.Contains(body, `"status":200`) || !strings.Contains(body, `"authenticated":true`) {
		t.Errorf("/api/upstream: %d %s", code, show(body))
	}
	if code, _ := call(t, "GET", srv.base+"/api/upstream", "", ""); code != 401 {
		t.Errorf("/api/upstream without the key: %d, want 401", code)
	}
	logs := srv.stop(t, syscall.SIGTERM)
	if strings.Contains(logs, "demo-upstream-token") {
		t.Error("the log holds upstream.token")
	}
}

// An upstream of the test's own, named by upstream.url, gets the token
// from the file, on every call.
func TestUpstreamGetsTheTokenFromTheConfig(t *testing.T) {
	t.Parallel()
	apiKey, token := marker(t), marker(t)
	var good, bad atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			bad.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		good.Add(1)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(up.Close)
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeFile(t, tokenFile, token+"\n")
	srv := start(t, []string{"APP_API__KEY=" + apiKey, "APP_UPSTREAM__URL=" + up.URL, "APP_UPSTREAM__TOKEN_FILE=" + tokenFile})
	for range 3 {
		if code, body := call(t, "GET", srv.base+"/api/upstream", apiKey, ""); code != 200 || !strings.Contains(body, `"status":200`) {
			t.Errorf("/api/upstream: %d %s", code, show(body))
		}
	}
	if good.Load() != 3 || bad.Load() != 0 {
		t.Errorf("the upstream saw %d requests with the token and %d without", good.Load(), bad.Load())
	}
	logs := srv.stop(t, syscall.SIGTERM)
	if strings.Contains(logs, token) {
		t.Error("the log holds upstream.token")
	}
}

// Without upstream.token the call never leaves, and the answer says which
// key is missing.
func TestUpstreamWithoutATokenSaysWhichKeyIsMissing(t *testing.T) {
	t.Parallel()
	apiKey, signingKey := marker(t), marker(t)
	srv := start(t, []string{"APP_API__KEY=" + apiKey, "APP_SIGNING__KEY=" + signingKey}, "-demo=false")
	code, body := call(t, "GET", srv.base+"/api/upstream", apiKey, "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "upstream.token") {
		t.Errorf("/api/upstream without upstream.token: %d %s, want 503 naming the key", code, show(body))
	}
}
