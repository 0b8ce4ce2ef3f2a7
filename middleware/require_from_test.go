package middleware_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/config"
	"github.com/secretmem/secretmem/internal/testalloc"
	"github.com/secretmem/secretmem/internal/wine"
	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/secret"
)

// status sends a request with the bearer token tok through h.
func status(h http.Handler, tok string) int {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// rotate replaces the file at path atomically and reloads cfg.
func rotate(t *testing.T, cfg *config.Config, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// The README's bearer pattern broke under rotation: a guard built with
// the cell the Config held at start-up refused the new key after a
// rotation, and, once the grace period destroyed the old cell, every
// request, saying nothing. A guard built on the Config follows it.
func TestAGuardFollowsARotatedKey(t *testing.T) {
	dir := wine.TempDir(t)
	first, second, stranger := marker(t), marker(t), marker(t)
	p := filepath.Join(dir, "api.key")
	if err := os.WriteFile(p, []byte(first), 0o600); err != nil {
		t.Fatal(err)
	}
	const grace = 300 * time.Millisecond
	cfg, err := config.Load(config.SecretDir(dir), config.GracePeriod(grace), config.SettleTime(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, g := range []struct {
		name string
		h    http.Handler
	}{
		{"RequireBearerFrom", middleware.NewGuard(middleware.WithLogger(logger)).RequireBearerFrom(cfg, "api.key")(ok)},
		{"after Tokens", middleware.Tokens()(middleware.RequireBearerFrom(cfg, "api.key")(ok))},
	} {
		if status(g.h, first) != 200 || status(g.h, stranger) != 401 {
			t.Fatalf("%s before any rotation: the key is refused or a stranger let in", g.name)
		}
	}
	guard := middleware.NewGuard(middleware.WithLogger(logger)).RequireBearerFrom(cfg, "api.key")(ok)
	status(guard, first)
	rotate(t, cfg, p, second)
	rotated := time.Now()
	if got := status(guard, second); got != 200 {
		t.Errorf("the new key right after the rotation: %d", got)
	}
	if got := status(guard, first); got != 200 && time.Since(rotated) < grace {
		t.Errorf("the old key within the grace period: %d", got)
	}
	time.Sleep(grace)
	for deadline := time.Now().Add(5 * time.Second); status(guard, first) != 401; {
		if time.Now().After(deadline) {
			t.Fatal("the old key is still accepted 5 s after its grace period")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := status(guard, second); got != 200 {
		t.Errorf("the new key after the grace period: %d", got)
	}
	if !strings.Contains(logs.String(), "rotated") || !strings.Contains(logs.String(), `"names":["api.key"]`) {
		t.Errorf("the rotation was not logged: %s", logs.String())
	}
	for _, m := range []string{first, second, stranger} {
		if strings.Contains(logs.String(), m) {
			t.Fatal("a log record holds a key")
		}
	}
}

// A name the source does not have (a typo) is reported once, naming it,
// although the Config hands out a new Value for it at every call.
func TestAGuardReportsAMissingNameOnce(t *testing.T) {
	good := marker(t)
	cfg := apiKeyConfig(t, good)
	var logs bytes.Buffer
	h := middleware.NewGuard(middleware.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil)))).
		RequireBearerFrom(cfg, "api.keys", "api.key")(http.NotFoundHandler())
	for range 5 {
		if status(h, marker(t)) != 401 || status(h, good) != 404 {
			t.Fatal("the usable key stopped working, or a stranger got in")
		}
	}
	records := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(records) != 1 || !strings.Contains(records[0], "api.keys is not set (did you mean api.key?)") ||
		!strings.Contains(records[0], `"guard":"RequireBearerFrom"`) {
		t.Errorf("want one record naming api.keys, got %q", logs.String())
	}
	var nilLogs bytes.Buffer
	h = middleware.NewGuard(middleware.WithLogger(slog.New(slog.NewJSONHandler(&nilLogs, nil)))).RequireAPIKeyFrom("X-Api-Key", nil, "k")(http.NotFoundHandler())
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-Api-Key", good)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 401 || !strings.Contains(nilLogs.String(), "nil secret.Source") {
		t.Errorf("a guard with a nil source: %d, logged %q", w.Code, nilLogs.String())
	}
}

// A source of the program's own: keys it replaces are accepted until it
// destroys them, at most eight at a time, and several names each rotate
// on their own. Requests run concurrently with the rotations (-race).
func TestAGuardFollowsAnySource(t *testing.T) {
	var mu sync.Mutex
	cells := map[string]secret.Value{"a": key(t, marker(t)), "b": key(t, marker(t))}
	src := secret.SourceFunc(func(name string) secret.Value {
		mu.Lock()
		defer mu.Unlock()
		return cells[name]
	})
	set := func(name string) (secret.Value, string) {
		m := marker(t)
		v := key(t, m)
		mu.Lock()
		cells[name] = v
		mu.Unlock()
		return v, m
	}
	h := middleware.NewGuard(middleware.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))).
		RequireAPIKeyFrom("X-Api-Key", src, "a", "b")(http.NotFoundHandler())
	call := func(tok string) int {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("X-Api-Key", tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			call(marker(t))
		}
	}()
	var old []secret.Value
	var oldTok []string
	for range 12 {
		v, tok := set("a")
		if call(tok) != 404 {
			t.Fatal("a new key of a is refused")
		}
		old, oldTok = append(old, v), append(oldTok, tok)
	}
	_, tokB := set("b")
	if call(tokB) != 404 {
		t.Fatal("a new key of b is refused")
	}
	stop.Store(true)
	wg.Wait()
	// The last eight keys a had (one of them current) and b's previous
	// key: the guard keeps eight replaced keys at most.
	accepted := 0
	for _, tok := range oldTok {
		if call(tok) == 404 {
			accepted++
		}
	}
	if accepted != 8 {
		t.Errorf("%d of a's 12 keys accepted, want the current one and 7 replaced ones", accepted)
	}
	old[len(old)-2].Destroy()
	if call(oldTok[len(oldTok)-2]) != 401 {
		t.Error("a replaced key is accepted after its cell was destroyed")
	}
}

// BenchmarkRequireBearerFrom is a guard on a Config against one on a
// cell: what following rotations costs per request.
func BenchmarkRequireBearerFrom(b *testing.B) {
	tok := "0123456789abcdef0123456789abcdef0123456789abcdef"
	cfg := apiKeyConfig(b, tok)
	for _, s := range []struct {
		name string
		h    http.Handler
	}{
		{"RequireBearer(cfg.Secret)", middleware.RequireBearer(cfg.Secret("api.key"))(http.HandlerFunc(bare))},
		{"RequireBearerFrom(cfg)", middleware.RequireBearerFrom(cfg, "api.key")(http.HandlerFunc(bare))},
	} {
		b.Run(s.name, func(b *testing.B) {
			p := newPrepared(tok)
			b.ReportAllocs()
			for b.Loop() {
				p.serve(s.h)
			}
		})
	}
}

// Following the Config adds no allocation to a guard.
func TestRequireBearerFromAllocatesAsRequireBearer(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	tok := "0123456789abcdef0123456789abcdef"
	cfg := apiKeyConfig(t, tok)
	cells := middleware.RequireBearer(cfg.Secret("api.key"))(http.HandlerFunc(bare))
	live := middleware.RequireBearerFrom(cfg, "api.key")(http.HandlerFunc(bare))
	p := newPrepared(tok)
	if a, b := testalloc.PerRun(200, func() { p.serve(cells) }), testalloc.PerRun(200, func() { p.serve(live) }); b > a {
		t.Errorf("RequireBearerFrom: %v allocations per request, RequireBearer: %v", b, a)
	}
}

// apiKeyConfig is a Config loaded from a secret directory holding api.key,
// closed when the test ends.
func apiKeyConfig(t testing.TB, key string) *config.Config {
	t.Helper()
	dir := wine.TempDir(t)
	if err := os.WriteFile(filepath.Join(dir, "api.key"), []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.SecretDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cfg.Close() })
	return cfg
}
