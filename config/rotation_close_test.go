package config

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/wine"
)

// hangingProvider is a koanf provider whose Read blocks, after its first
// calls, until release: a read of a hung NFS or FUSE mount, or a network
// source that never answers. Its map holds one plain key.
type hangingProvider struct {
	free     atomic.Int32 // calls that return at once
	calls    atomic.Int32
	hanging  chan struct{}
	once     sync.Once
	hung     chan struct{} // closed when the first call hangs
	hungOnce sync.Once
}

func newHangingProvider(free int32) *hangingProvider {
	p := &hangingProvider{hanging: make(chan struct{}), hung: make(chan struct{})}
	p.free.Store(free)
	return p
}

func (p *hangingProvider) Read() (map[string]any, error) {
	if p.calls.Add(1) > p.free.Load() {
		p.hungOnce.Do(func() { close(p.hung) })
		<-p.hanging
	}
	return map[string]any{"region": "eu"}, nil
}

// deadlineAtHang is a context whose deadline passes the moment a call of
// p hangs: a caller's timeout that ends while p hangs, and never before a
// load got to p, however slow the machine. A fixed timeout that a stalled
// load outlived before it reached p gave up while reading something else.
func (p *hangingProvider) deadlineAtHang() context.Context { return hangDeadline{p.hung} }

type hangDeadline struct{ hung <-chan struct{} }

func (hangDeadline) Deadline() (time.Time, bool) { return time.Time{}, false }
func (d hangDeadline) Done() <-chan struct{}     { return d.hung }
func (hangDeadline) Value(any) any               { return nil }
func (d hangDeadline) Err() error {
	select {
	case <-d.hung:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

func (p *hangingProvider) ReadBytes() ([]byte, error) { return nil, errors.New("maps only") }

func (p *hangingProvider) release() { p.once.Do(func() { close(p.hanging) }) }

// waitErr waits for a reload error that wraps want (nil: any error).
func waitErr(t *testing.T, ch chan error, want error) error {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case err := <-ch:
			if err != nil && (want == nil || errors.Is(err, want)) {
				return err
			}
		case <-deadline:
			if want == nil {
				t.Fatal("no reload failed within 20 s")
			}
			t.Fatalf("no reload failed with %v within 20 s", want)
		}
	}
}

// waitSettled waits until the live cells and goroutines are back to
// what they were.
func waitSettled(t *testing.T, cells, goroutines int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for (liveCells() != cells || runtime.NumGoroutine() > goroutines) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := liveCells(); n != cells {
		t.Errorf("live cells: %d before Load, %d at the end", cells, n)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("goroutines: %d before Load, %d at the end", goroutines, n)
	}
}

// A reload stuck in a read used to block Close (and with it SIGTERM)
// without limit, and every later reload. Now the reload is abandoned
// after ReloadTimeout and reported; Close returns at once, saying so; and
// once the read returns, what it made is destroyed.
func TestAReloadStuckInAReadDoesNotHoldUpCloseOrLaterReloads(t *testing.T) {
	setup := func(t *testing.T) (cfg *Config, p string, hp *hangingProvider, errs chan error, cells, goroutines int) {
		dir := wine.TempDir(t)
		p = writeFile(t, filepath.Join(dir, "secrets", "token"), marker(t), 0o600)
		cells, goroutines = liveCells(), runtime.NumGoroutine()
		hp = newHangingProvider(1)
		cfg, err := Load(SecretDir(filepath.Dir(p)), Source(hp, nil), PollInterval(time.Millisecond),
			SettleTime(0), ReloadTimeout(50*time.Millisecond), RetryBackoff(5*time.Millisecond, 20*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		errs = make(chan error, 64)
		if err := cfg.Watch(context.Background(), notify(errs)); err != nil {
			t.Fatal(err)
		}
		renameWriter.write(t, p, []byte(marker(t)))
		// A reload that a loaded machine stalls for the 50 ms times out
		// before it reaches the provider, naming what it was reading then;
		// the reload that matters is the one stuck in the provider.
		// (Retries refused meanwhile, "not reloading", say what the stuck
		// reload reads; this is about the timeout's own message.)
		var timeout error // the last timeout seen
		for deadline := time.Now().Add(20 * time.Second); ; {
			err = waitErr(t, errs, ErrReloadTimeout)
			if strings.Contains(err.Error(), "did not finish within") {
				if strings.Contains(err.Error(), "hangingProvider") {
					break
				}
				timeout = err
				t.Logf("a reload timed out before it reached the provider that hangs: %v", err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("no timeout in 20 s says what hangs; the last: %v", timeout)
			}
		}
		// Tried again, with backoff, and refused while the read hangs.
		if err := waitErr(t, errs, ErrReloadTimeout); !strings.Contains(err.Error(), "still reading") {
			t.Errorf("a retry while the read hangs says %v", err)
		}
		if st := cfg.Status(); st.Failures < 2 || st.NextRetry.IsZero() {
			t.Errorf("status %v: want two failures or more and a retry planned", st.LogValue())
		}
		return cfg, p, hp, errs, cells, goroutines
	}
	t.Run("reloads resume once the read returns", func(t *testing.T) {
		cfg, p, hp, _, cells, goroutines := setup(t)
		hp.release()
		want := []byte(marker(t))
		renameWriter.write(t, p, want)
		waitSecret(t, cfg, "token", want)
		if err := cfg.Health(); err != nil {
			t.Errorf("Health after recovering: %v", err)
		}
		if err := cfg.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		waitSettled(t, cells, goroutines)
	})
	t.Run("Close returns at once and the read's cells die when it returns", func(t *testing.T) {
		cfg, _, hp, _, cells, goroutines := setup(t)
		closed := make(chan error, 1)
		go func() { closed <- cfg.Close() }()
		select {
		case err := <-closed:
			if !errors.Is(err, ErrReloadTimeout) {
				t.Errorf("Close said %v, want a word about the abandoned reload", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Close hangs behind a read that hangs")
		}
		if err := cfg.Reload(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("Reload after Close: %v", err)
		}
		hp.release()
		waitSettled(t, cells, goroutines)
	})
}

// LoadContext gives up on a source that hangs when its context ends.
func TestLoadContextGivesUpOnASourceThatHangs(t *testing.T) {
	cells, goroutines := liveCells(), runtime.NumGoroutine()
	hp := newHangingProvider(0)
	_, err := LoadContext(hp.deadlineAtHang(), Env("LC_"), Source(hp, nil))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "hangingProvider") {
		t.Errorf("LoadContext said %v, want the deadline and what it was reading", err)
	}
	hp.release()
	waitSettled(t, cells, goroutines)
}

// The Watch callback ran after Close returned in 5 of 260 runs. Close
// now waits for a callback in flight and no callback starts after it;
// repeated many times, with reloads in flight, under -race in CI.
func TestNoCallbackRunsAfterClose(t *testing.T) {
	runs := 200
	if testing.Short() {
		runs = 20
	}
	dir := wine.TempDir(t)
	p := writeFile(t, filepath.Join(dir, "c.yaml"), "db:\n  password: "+marker(t)+"\n", 0o600)
	cells, goroutines := liveCells(), runtime.NumGoroutine()
	var late, calls atomic.Int64
	for i := range runs {
		cfg, err := Load(File(p), PollInterval(time.Millisecond), SettleTime(0), GracePeriod(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var closed atomic.Bool
		err = cfg.Watch(context.Background(), func(error) {
			calls.Add(1)
			time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
			if closed.Load() {
				late.Add(1)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				renameWriter.write(t, p, fmt.Appendf(nil, "db:\n  password: %s\nn: %d-%d\n", marker(t), i, j))
				time.Sleep(200 * time.Microsecond)
			}
		}()
		time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
		if err := cfg.Close(); err != nil {
			t.Errorf("run %d: Close: %v", i, err)
		}
		closed.Store(true)
		close(stop)
		wg.Wait()
	}
	time.Sleep(10 * time.Millisecond) // a late callback would show now
	if n := late.Load(); n > 0 {
		t.Errorf("%d callbacks (of %d) ran after Close returned", n, calls.Load())
	}
	t.Logf("%d runs, %d callbacks before Close", runs, calls.Load())
	waitSettled(t, cells, goroutines)
}
