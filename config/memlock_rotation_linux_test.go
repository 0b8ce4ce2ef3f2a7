package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/secretmem/secretmem/secret"
)

const memlockRotationEnv = "CONFIG_MEMLOCK_ROTATION_CHILD"

// memlockRotation is what the child of the memory-lock rotation test saw.
type memlockRotation struct {
	Euid       int    `json:"euid"`
	MemoryLock bool   `json:"memory_lock"` // the first reload failed with secret.ErrMemoryLock
	Recovered  bool   `json:"recovered"`   // every key then reached its new value, no file touched
	Failures   uint64 `json:"failures"`
	Msg        string `json:"msg"`
}

// The case: a reload refused by the memory-lock limit while the
// cells it replaces wait out their grace period kept the old secrets for
// 90 polls, until a file was touched. Now it is retried with backoff and
// succeeds once the grace period has freed the memory. It runs in a child
// as nobody, since root ignores RLIMIT_MEMLOCK.
func TestARefusedMemoryLockIsRetriedOnceTheGracePeriodFreesIt(t *testing.T) {
	out := runUnprivileged(t, "", "-test.run=^TestMemlockRotationChild$", memlockRotationEnv+"=1")
	var r memlockRotation
	for _, line := range bytes.Split(out, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("{")) && json.Unmarshal(line, &r) == nil {
			break
		}
	}
	switch {
	case r.Euid == 0:
		t.Skip("the child ran as root, which ignores RLIMIT_MEMLOCK")
	case !r.MemoryLock:
		t.Fatalf("the reload was not refused for the memory lock, so the test proves nothing: %s", r.Msg)
	case !r.Recovered:
		t.Fatalf("after %d failures the reload was not retried into success: %s", r.Failures, r.Msg)
	}
}

// TestMemlockRotationChild is the child's side: a Kubernetes volume of
// eight guarded secrets under a limit that leaves room for eight more
// pages and one spare. A first swap fits; a second one, while the first
// one's old cells wait out their grace period, does not, until they are
// gone.
func TestMemlockRotationChild(t *testing.T) {
	if os.Getenv(memlockRotationEnv) == "" {
		t.Skip("runs only as a child of TestARefusedMemoryLockIsRetriedOnceTheGracePeriodFreesIt")
	}
	r := memlockRotation{Euid: os.Geteuid()}
	defer func() {
		b, _ := json.Marshal(r)
		fmt.Printf("%s\n", b)
	}()
	const n = 8
	k := newKubelet(t, t.TempDir(), n)
	cfg, err := Load(SecretDir(k.vol), Guarded(), GracePeriod(time.Second),
		PollInterval(5*time.Millisecond), RetryBackoff(20*time.Millisecond, 40*time.Millisecond))
	if err != nil {
		r.Msg = err.Error()
		return
	}
	defer cfg.Close()
	limit := uint64(secret.Stats().LockedBytes + (n+1)*os.Getpagesize())
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: limit, Max: limit}); err != nil {
		r.Msg = err.Error()
		return
	}
	errs := make(chan error, 64)
	if err := cfg.Watch(context.Background(), notify(errs)); err != nil {
		r.Msg = err.Error()
		return
	}
	next := func() (bool, error) {
		k.prepare(t)
		k.swap(t)
		select {
		case err := <-errs:
			g, ok := k.check(cfg.Snapshot())
			return ok && g == k.gen, err
		case <-time.After(10 * time.Second):
			return false, errors.New("no reload within 10 s")
		}
	}
	if installed, err := next(); err != nil || !installed {
		r.Msg = fmt.Sprintf("the first swap, which fits, was not installed: %v", err)
		return
	}
	_, err = next()
	r.MemoryLock = errors.Is(err, secret.ErrMemoryLock)
	if err != nil {
		r.Msg = err.Error()
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if g, ok := k.check(cfg.Snapshot()); ok && g == k.gen {
			r.Recovered = true
			break
		}
	}
	r.Failures = cfg.Status().Failed
}
