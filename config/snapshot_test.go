package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/testalloc"
	"github.com/secretmem/secretmem/internal/wine"
	"github.com/secretmem/secretmem/secret"
)

var _ secret.Source = Snapshot{}

// pairFile is a JSON file with a user (plain) and a password (secret)
// issued together: the password names the user it belongs to.
func pairFile(n int, pw string) []byte {
	return fmt.Appendf(nil, `{"db": {"user": "u%06d", "password": "u%06d-%s"}}`, n, n, pw)
}

// Two Secret calls could land either side of a swap: 768 of 18,970 reads
// of a pair were mixed. A Snapshot's values all come from one generation.
func TestASnapshotNeverMixesGenerations(t *testing.T) {
	dir := wine.TempDir(t)
	run := marker(t)
	p := filepath.Join(dir, "c.json")
	renameWriter.write(t, p, pairFile(0, run))
	cfg := watched(t, nil, File(p), PollInterval(time.Millisecond), SettleTime(0), GracePeriod(time.Hour))
	var pairs, mixed, straddled atomic.Int64
	stop := repeat(2, func() {
		pairs.Add(1)
		snap := cfg.Snapshot()
		if !matches(snap.String("db.user"), snap.Secret("db.password")) {
			mixed.Add(1)
		}
		// The same two reads from the Config itself, for contrast.
		if !matches(cfg.String("db.user"), cfg.Secret("db.password")) {
			straddled.Add(1)
		}
	})
	for n := 1; n <= 100; n++ {
		renameWriter.write(t, p, pairFile(n, run))
		time.Sleep(2 * time.Millisecond)
	}
	waitSecret(t, cfg, "db.password", fmt.Appendf(nil, "u%06d-%s", 100, run))
	stop()
	t.Logf("%d pairs: %d mixed through Snapshot, %d through two Config calls", pairs.Load(), mixed.Load(), straddled.Load())
	if n := mixed.Load(); n > 0 {
		t.Errorf("%d of %d pairs read through a Snapshot were mixed", n, pairs.Load())
	}
}

func matches(user string, pw secret.Value) bool {
	return pw.Use(func(b []byte) error {
		if !bytes.HasPrefix(b, []byte(user+"-")) {
			return errors.New("mixed")
		}
		return nil
	}) == nil
}

// A Snapshot kept past the grace period: the keys a reload changed fail
// with ErrRetired, naming the key, and never give another generation's
// value; the keys it did not change, and plain values, still read; after
// Close, reads fail with ErrClosed.
func TestASnapshotKeptPastTheGracePeriod(t *testing.T) {
	var (
		cfg  *Config
		snap Snapshot
		old  secret.Value
		b    string
		life time.Duration
	)
	withinGrace(t, 50*time.Millisecond, func(grace time.Duration) bool {
		dir := wine.TempDir(t)
		var a string
		a, b, life = marker(t), marker(t), grace
		p := writeFile(t, filepath.Join(dir, "c.yaml"), "a:\n  token: "+a+"\nb:\n  token: "+b+"\nhost: h1\n", 0o600)
		var err error
		cfg, err = Load(File(p), SettleTime(0), GracePeriod(grace))
		if err != nil {
			t.Fatal(err)
		}
		snap = cfg.Snapshot()
		old = snap.Secret("a.token")
		renameWriter.write(t, p, []byte("a:\n  token: "+marker(t)+"\nb:\n  token: "+b+"\nhost: h2\n"))
		reloading := time.Now()
		if err := cfg.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !snap.Secret("a.token").Equal([]byte(a)) || snap.Generation() != 1 || cfg.Snapshot().Generation() != 2 {
			if time.Since(reloading) < grace {
				t.Fatal("within the grace period the snapshot does not read its own generation")
			}
			cfg.Close()
			return false
		}
		return true
	})
	for deadline := time.Now().Add(life + 5*time.Second); old.Alive() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	err := snap.Secret("a.token").Use(func([]byte) error { return nil })
	if !errors.Is(err, ErrRetired) || !strings.Contains(err.Error(), "a.token") || !strings.Contains(err.Error(), "generation 1") {
		t.Errorf("a retired secret of the snapshot: %v", err)
	}
	if !snap.Secret("b.token").Equal([]byte(b)) || snap.String("host") != "h1" {
		t.Error("an unchanged secret or a plain value of the snapshot stopped reading")
	}
	cfg.Close()
	if err := snap.Secret("b.token").Use(func([]byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	var zero Snapshot
	if err := zero.Secret("x").Use(func([]byte) error { return nil }); !errors.Is(err, ErrMissing) || zero.String("x") != "" {
		t.Errorf("the zero Snapshot: %v", err)
	}
}

// Taking a Snapshot and its secrets allocates nothing. (Plain getters
// allocate what koanf's own do: one allocation for Int or String.)
func TestASnapshotAllocatesNothing(t *testing.T) {
	cfg := userAndKeys(t)
	var n int
	allocs := testalloc.PerRun(1000, func() {
		snap := cfg.Snapshot()
		n += snap.Secret("db.password").Len() + snap.Secret("api.key").Len()
	})
	if allocs != 0 {
		t.Errorf("Snapshot + two Secrets: %.1f allocations, want 0", allocs)
	}
}

// BenchmarkSnapshot is what a handler pays per request for a consistent
// view: a Snapshot and two secrets, and the same with a plain value
// (koanf's String: one allocation).
func BenchmarkSnapshot(b *testing.B) {
	cfg := userAndKeys(b)
	var n int
	b.Run("two secrets", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			snap := cfg.Snapshot()
			n += snap.Secret("db.password").Len() + snap.Secret("api.key").Len()
		}
	})
	b.Run("two secrets and a plain value", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			snap := cfg.Snapshot()
			n += len(snap.String("db.user")) + snap.Secret("db.password").Len() + snap.Secret("api.key").Len()
		}
	})
	_ = n
}

// userAndKeys is a Config with a plain db.user and two secrets, closed
// when the test ends.
func userAndKeys(t testing.TB) *Config {
	p := writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), "db:\n  user: u\n  password: "+marker(t)+"\napi:\n  key: "+marker(t)+"\n", 0o600)
	cfg, err := Load(File(p))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cfg.Close() })
	return cfg
}
