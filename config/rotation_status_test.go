package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/wine"
)

// flakyProvider is a koanf provider that fails while failures is
// positive, as a server that is down does; each call uses one up.
type flakyProvider struct{ failures atomic.Int32 }

func (p *flakyProvider) Read() (map[string]any, error) {
	if p.failures.Add(-1) >= 0 {
		return nil, errors.New("connection refused")
	}
	return map[string]any{"region": "eu"}, nil
}

func (p *flakyProvider) ReadBytes() ([]byte, error) { return nil, errors.New("maps only") }

// A failed reload was never tried again: after a memory-lock failure the
// old secret stayed for 90 polls, until a file was touched. Now it is
// retried with backoff, with nothing else changing, and the status says
// what happened.
func TestAFailedReloadIsRetriedWithBackoff(t *testing.T) {
	dir := wine.TempDir(t)
	p := writeFile(t, filepath.Join(dir, "secrets", "token"), marker(t), 0o600)
	keep := marker(t)
	writeFile(t, filepath.Join(dir, "secrets", "other"), keep, 0o600)
	fp := &flakyProvider{}
	var logs bytes.Buffer
	cfg, err := Load(SecretDir(filepath.Dir(p)), Source(fp, nil), PollInterval(time.Millisecond), SettleTime(0),
		RetryBackoff(10*time.Millisecond, 40*time.Millisecond), UnhealthyAfter(2))
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	other := cfg.Secret("other")
	errs := make(chan error, 64)
	if err := cfg.Watch(context.Background(), notify(errs)); err != nil {
		t.Fatal(err)
	}
	// The source fails until the checks of the failing state are done: a
	// fixed number of failures could all be retried, and the reload
	// succeed, before a stalled test looked.
	fp.failures.Store(1 << 30)
	want := []byte(marker(t))
	renameWriter.write(t, p, want)
	for range 3 {
		waitErr(t, errs, nil)
	}
	st := cfg.Status()
	if st.Failures < 2 || st.LastError == nil || !strings.Contains(st.LastError.Error(), "connection refused") || st.NextRetry.IsZero() {
		t.Errorf("status after two failures: %v", st.LogValue())
	}
	if err := cfg.Health(); !errors.Is(err, ErrUnhealthy) {
		t.Errorf("Health after two failures with UnhealthyAfter(2): %v", err)
	}
	rec := httptest.NewRecorder()
	cfg.HealthHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "connection refused") {
		t.Errorf("HealthHandler while failing: %d %s", rec.Code, rec.Body)
	}
	// The source is back and nothing else changes: the retries alone must
	// get there.
	fp.failures.Store(0)
	waitSecret(t, cfg, "token", want)
	st = cfg.Status()
	if st.Failures != 0 || st.Generation != 2 || !slices.Equal(st.Changed, []string{"token"}) || st.Failed < 3 {
		t.Errorf("status after the retry succeeded: %v", st.LogValue())
	}
	if cfg.Secret("other") != other {
		t.Error("a key whose secret did not change got a new cell")
	}
	rec = httptest.NewRecorder()
	cfg.HealthHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	var body struct {
		Healthy bool `json:"healthy"`
		Status  struct {
			Generation uint64   `json:"generation"`
			Changed    []string `json:"changed"`
		} `json:"status"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 || !body.Healthy ||
		body.Status.Generation != 2 || !slices.Equal(body.Status.Changed, []string{"token"}) {
		t.Errorf("HealthHandler after recovering: %d %s (%v)", rec.Code, rec.Body, err)
	}
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("reload", "status", cfg.Status())
	if !strings.Contains(logs.String(), `"changed":["token"]`) || !strings.Contains(logs.String(), `"generation":2`) {
		t.Errorf("the logged status: %s", logs.String())
	}
	for _, m := range [][]byte{want, []byte(keep)} {
		if bytes.Contains(logs.Bytes(), m) || bytes.Contains(rec.Body.Bytes(), m) {
			t.Fatal("the status shows a secret")
		}
	}
}

// Reload reloads at once, without Watch, and a reload that finds nothing
// new keeps the generation and every cell.
func TestReloadForcesAReload(t *testing.T) {
	dir := wine.TempDir(t)
	p := writeFile(t, filepath.Join(dir, "c.json"), `{"db": {"password": "`+marker(t)+`", "host": "a"}}`, 0o600)
	cfg, err := Load(File(p), SettleTime(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	pw := cfg.Secret("db.password")
	if err := cfg.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := cfg.Status(); st.Generation != 1 || st.Reloads != 1 || cfg.Secret("db.password") != pw {
		t.Errorf("a reload that found nothing new: generation %d, reloads %d, same cell %v", st.Generation, st.Reloads, cfg.Secret("db.password") == pw)
	}
	renameWriter.write(t, p, []byte(`{"db": {"password": "`+marker(t)+`", "host": "b"}}`))
	if err := cfg.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := cfg.Status(); st.Generation != 2 || !slices.Equal(st.Changed, []string{"db.host", "db.password"}) {
		t.Errorf("after a change: generation %d, changed %v", st.Generation, st.Changed)
	}
	renameWriter.write(t, p, []byte(`{"db": {"password": `))
	if err := cfg.Reload(context.Background()); !errors.Is(err, ErrSyntax) {
		t.Errorf("a broken file: %v", err)
	}
	if cfg.String("db.host") != "b" || cfg.Status().Failures != 1 {
		t.Errorf("a failed reload replaced values, or was not counted: %v", cfg.Status().LogValue())
	}
}

// leaseSource is a source whose secret expires: each load issues a new
// password valid for ttl, as Vault's database engine does, and asks for a
// reload before it expires.
type leaseSource struct {
	ttl    time.Duration
	issued atomic.Int32
}

func (l *leaseSource) name() string { return "lease" }

func (l *leaseSource) read(t *txn) (*layer, error) {
	ly := newLayer(t.s, "lease")
	n := l.issued.Add(1)
	if err := ly.secretString(flatLoc("db.password"), fmt.Sprintf("issued-%d", n), 0); err != nil {
		return nil, err
	}
	ly.reloadBy = time.Now().Add(l.ttl / 2)
	return ly, nil
}

// versionedSource is a source that is not a file: its version is a
// counter that a probe reads without reading the secret, as a Vault KV
// path's metadata gives its current version.
type versionedSource struct {
	version atomic.Int64
}

func (v *versionedSource) name() string { return "versioned" }

func (v *versionedSource) read(t *txn) (*layer, error) {
	ly := newLayer(t.s, "versioned")
	n := v.version.Load()
	if err := ly.secretString(flatLoc("api.key"), fmt.Sprintf("key-v%d", n), 0); err != nil {
		return nil, err
	}
	ly.depend(versionDep{v}, t.stamps.of([]byte(fmt.Sprint(n))))
	return ly, nil
}

type versionDep struct{ v *versionedSource }

func (d versionDep) String() string { return "versioned" }

func (d versionDep) probe(_ context.Context, st *stamper) stamp {
	return st.of([]byte(fmt.Sprint(d.v.version.Load())))
}

func sourceOption(src source) Option {
	return Option{func(s *settings) { s.sources = append(s.sources, src) }}
}

// Sources that are not files are watched through what they report: a
// version a probe can read, and a time by which they must be read again.
func TestWatchFollowsSourcesThatAreNotFiles(t *testing.T) {
	t.Run("a new version is picked up", func(t *testing.T) {
		vs := &versionedSource{}
		cfg, err := Load(sourceOption(vs), PollInterval(time.Millisecond), SettleTime(0))
		if err != nil {
			t.Fatal(err)
		}
		defer cfg.Close()
		if err := cfg.Watch(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		vs.version.Store(7)
		waitSecret(t, cfg, "api.key", []byte("key-v7"))
	})
	t.Run("a lease is renewed before it expires", func(t *testing.T) {
		ls := &leaseSource{ttl: 40 * time.Millisecond}
		cfg, err := Load(sourceOption(ls), PollInterval(time.Hour), SettleTime(0))
		if err != nil {
			t.Fatal(err)
		}
		defer cfg.Close()
		if err := cfg.Watch(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		waitSecret(t, cfg, "db.password", []byte("issued-4"))
	})
}
