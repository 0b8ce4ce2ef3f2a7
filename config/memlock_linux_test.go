package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/secretmem/secretmem/secret"
)

const memlockChildEnv = "CONFIG_MEMLOCK_CHILD"

// memlockResult is what a child under a memory-lock limit reports.
type memlockResult struct {
	Euid        int    `json:"euid"`
	Loaded      bool   `json:"loaded"`
	MemoryLock  bool   `json:"memory_lock"` // errors.Is(err, secret.ErrMemoryLock)
	Msg         string `json:"msg"`
	LockedBytes int    `json:"locked_bytes"`
	Backend     string `json:"backend"`
}

// underMemlock runs this test binary again as nobody (root ignores
// RLIMIT_MEMLOCK), lets it lower its limit to limit bytes and load a YAML
// file of n secrets with or without Guarded, and returns what it saw.
func underMemlock(t *testing.T, limit, n int, guarded bool) memlockResult {
	t.Helper()
	out := runUnprivileged(t, "", "-test.run=^TestMemlockChild$", fmt.Sprintf("%s=%d:%d:%v", memlockChildEnv, limit, n, guarded))
	for _, line := range bytes.Split(out, []byte("\n")) {
		var r memlockResult
		if bytes.HasPrefix(line, []byte("{")) && json.Unmarshal(line, &r) == nil {
			if r.Euid == 0 {
				t.Skip("the child ran as root, which ignores RLIMIT_MEMLOCK")
			}
			return r
		}
	}
	t.Fatalf("the child reported nothing:\n%s", out)
	return memlockResult{}
}

// TestMemlockChild is the child's side of underMemlock.
func TestMemlockChild(t *testing.T) {
	spec := os.Getenv(memlockChildEnv)
	if spec == "" {
		t.Skip("runs only as underMemlock's child")
	}
	var limit, n int
	var guarded bool
	if _, err := fmt.Sscanf(strings.ReplaceAll(spec, ":", " "), "%d %d %t", &limit, &n, &guarded); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: uint64(limit), Max: uint64(limit)}); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "memlock-child")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "svc%04d:\n  token: %s\n", i, marker(t))
	}
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := []Option{File(p)}
	if guarded {
		opts = append(opts, Guarded())
	}
	cfg, err := Load(opts...)
	st := secret.Stats()
	r := memlockResult{Euid: os.Geteuid(), Loaded: err == nil, LockedBytes: st.LockedBytes, Backend: string(st.Backend)}
	if err != nil {
		r.MemoryLock, r.Msg = errors.Is(err, secret.ErrMemoryLock), err.Error()
	} else {
		cfg.Close()
	}
	b, _ := json.Marshal(r)
	fmt.Printf("%s\n", b)
}

// Under a small lock limit the default placement still loads a hundred
// secrets, and when the limit is met the error says how to raise it.
func TestAMemoryLockLimitIsMetWithAdviceNotASilentFailure(t *testing.T) {
	const limit = 64 << 10
	if r := underMemlock(t, limit, 100, false); !r.Loaded {
		t.Errorf("100 secrets in pooled cells under a 64 KiB limit: %s", r.Msg)
	}
	r := underMemlock(t, limit, 100, true)
	if r.Loaded {
		t.Fatal("100 guarded secrets loaded under a 64 KiB limit: the test proves nothing")
	}
	if !r.MemoryLock {
		t.Fatalf("the error is not ErrMemoryLock: %s", r.Msg)
	}
	for _, want := range []string{"RLIMIT_MEMLOCK", "ulimit -l", "LimitMEMLOCK=", "--ulimit memlock", "Kubernetes", "Guarded()"} {
		if !strings.Contains(r.Msg, want) {
			t.Errorf("the error does not say %q: %s", want, r.Msg)
		}
	}
}

// The measurement behind the default placement: a service with 1,000
// secrets under the common 8 MiB limit, each placement in its own child.
// Guarded cells lock a page each (half the limit for 1,000 secrets, and
// the rest of the process shares it); pooled cells share pages. The cost
// of a read is BenchmarkReadASecret's.
func TestTheDefaultPlacementFitsTheCommonLimitWithRoomToSpare(t *testing.T) {
	const limit, n = 8 << 20, 1000
	pooled := underMemlock(t, limit, n, false)
	guarded := underMemlock(t, limit, n, true)
	t.Logf("%d secrets under RLIMIT_MEMLOCK=8 MiB (%s): pooled loaded=%v locked=%d KiB; guarded loaded=%v locked=%d KiB",
		n, pooled.Backend, pooled.Loaded, pooled.LockedBytes>>10, guarded.Loaded, guarded.LockedBytes>>10)
	if !pooled.Loaded {
		t.Fatalf("the default placement failed: %s", pooled.Msg)
	}
	if pooled.LockedBytes > 1<<20 {
		t.Errorf("pooled cells locked %d KiB for %d secrets, want under 1 MiB", pooled.LockedBytes>>10, n)
	}
	if guarded.Loaded && guarded.LockedBytes < n*4096 {
		t.Errorf("guarded cells locked %d KiB, less than a page per secret: the documented cost is wrong", guarded.LockedBytes>>10)
	}
}
