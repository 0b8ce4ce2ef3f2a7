package middleware_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/secret"
)

// What config.Secret hands out for a key that does not exist.
var errNoSuchKey = errors.New("config: missing key: api.keys is not set (did you mean api.key?)")

// A guard whose key cannot be used says so once, naming the key, instead
// of refusing every request in silence.
func TestAGuardReportsAKeyItCannotUseOnce(t *testing.T) {
	good := marker(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	missing := secret.Unavailable(errNoSuchKey, secret.Label("api.keys"))
	later := key(t, marker(t))
	guard := middleware.NewGuard(middleware.WithLogger(logger))
	h := guard.RequireBearer(missing, later, key(t, good))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	records := func() []string {
		return strings.Split(strings.TrimSpace(logs.String()), "\n")
	}
	if got := records(); len(got) != 1 || !strings.Contains(got[0], "api.keys is not set") ||
		!strings.Contains(got[0], `"key":"[REDACTED api.keys]"`) || !strings.Contains(got[0], `"guard":"RequireBearer"`) {
		t.Fatalf("building the guard logged %q, want one record naming api.keys", logs.String())
	}
	do := func(token string) int {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for range 3 {
		if do(marker(t)) != http.StatusUnauthorized || do(good) != http.StatusOK {
			t.Fatal("the usable key stopped working, or a stranger got in")
		}
	}
	if got := records(); len(got) != 1 {
		t.Errorf("%d records after refused requests, want still 1: %q", len(got), logs.String())
	}
	later.Destroy()
	for range 3 {
		do(marker(t))
	}
	got := records()
	if len(got) != 2 || !strings.Contains(got[1], "cell destroyed") {
		t.Errorf("a key destroyed after the guard was built: records %q, want one more saying it was destroyed", logs.String())
	}
	if strings.Contains(logs.String(), good) {
		t.Fatal("a log record holds a key")
	}
}

func TestAGuardWithUsableKeysLogsNothing(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	h := middleware.NewGuard(middleware.WithLogger(logger)).RequireAPIKey("X-Api-Key", key(t, marker(t)))(http.NotFoundHandler())
	for range 3 {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("X-Api-Key", marker(t))
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if logs.Len() != 0 {
		t.Errorf("logged %q", logs.String())
	}
}
