//go:build linux && !secretmem_heap

package memory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const childEnv = "SECRETMEM_MEMORY_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(m.Run())
}

// A refused map at the lock limit must leave every other mapping in the
// process alone. The child fills RLIMIT_MEMLOCK, then keeps asking for more
// while another thread maps, writes and unmaps memory of the same size as
// fast as it can, as the Go runtime does for its own metadata. If a refused
// Map ever released address space it no longer owned, the other thread
// would fault on its own mapping and the child would die.
func TestARefusedMapLeavesOtherMappingsAlone(t *testing.T) {
	for _, backend := range []string{"memfd_secret", "mlock"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "memfd_secret" && ProbeMemfdSecret() != nil {
				t.Skip("the kernel offers no memfd_secret")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"=refused-map")
			if backend == "mlock" {
				cmd.Env = append(cmd.Env, DisableMemfdSecretEnv+"=1")
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%.4000s", err, out)
			}
			t.Logf("%s", out)
		})
	}
}

func runChild(mode string) int {
	if mode != "refused-map" {
		fmt.Fprintln(os.Stderr, "unknown child mode", mode)
		return 3
	}
	const limit = 64 << 10
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: limit, Max: limit}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		return 3
	}
	// Root ignores RLIMIT_MEMLOCK: become nobody (all threads, since Go 1.16).
	if os.Geteuid() == 0 {
		if err := syscall.Setgid(65534); err != nil {
			fmt.Fprintln(os.Stderr, "setgid:", err)
			return 3
		}
		if err := syscall.Setuid(65534); err != nil {
			fmt.Fprintln(os.Stderr, "setuid:", err)
			return 3
		}
	}
	ps := PageSize()
	const pages = 4
	var held []*Region
	var err error
	for err == nil {
		var r *Region
		r, err = Map(pages*ps, MustLock)
		if err == nil {
			held = append(held, r)
		}
	}
	if !errors.Is(err, ErrLockLimit) {
		fmt.Fprintln(os.Stderr, "filling the limit ended with", err)
		return 3
	}

	var stop atomic.Bool
	done := make(chan int)
	go func() {
		runtime.LockOSThread()
		n := 0
		for !stop.Load() {
			p, err := unix.MmapPtr(-1, 0, nil, uintptr(pages*ps),
				unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
			if err != nil {
				continue
			}
			b := unsafe.Slice((*byte)(p), pages*ps)
			for i := 0; i < 64; i++ {
				for off := 0; off < len(b); off += ps {
					b[off] = byte(i)
				}
			}
			_ = unix.MunmapPtr(p, uintptr(pages*ps))
			n++
		}
		done <- n
	}()
	refused := 0
	for i := 0; i < 20000; i++ {
		r, err := Map(pages*ps, MustLock)
		if err == nil {
			held = append(held, r)
			continue
		}
		if !errors.Is(err, ErrLockLimit) {
			stop.Store(true)
			fmt.Fprintln(os.Stderr, "at the limit, Map failed with", err)
			return 3
		}
		refused++
	}
	stop.Store(true)
	others := <-done
	for _, r := range held {
		for _, c := range r.Bytes() {
			if c != 0 {
				fmt.Fprintln(os.Stderr, "a held region changed")
				return 3
			}
		}
		if err := r.Unmap(); err != nil {
			fmt.Fprintln(os.Stderr, "unmap:", err)
			return 3
		}
	}
	fmt.Printf("backend %s: %d regions held, %d maps refused while another thread made %d mappings\n",
		Best(), len(held), refused, others)
	if refused == 0 {
		fmt.Fprintln(os.Stderr, "no map was refused")
		return 3
	}
	return 0
}

// abandon releases a reservation whose middle may be gone: all of it when
// the middle is free, and only the guard pages when something else has
// mapped into the middle, which must survive untouched.
func TestAbandonNeverUnmapsSomeoneElsesMapping(t *testing.T) {
	ps := PageSize()
	reserve := func(t *testing.T) *Region {
		t.Helper()
		n := 4 * ps
		base, err := unix.MmapPtr(-1, 0, nil, uintptr(n+2*ps), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			t.Fatal(err)
		}
		return &Region{data: unsafe.Add(base, ps), size: n, mapping: base, mapLen: n + 2*ps}
	}
	// madvise fails with ENOMEM on any unmapped page of its range.
	mapped := func(p unsafe.Pointer, n int) bool {
		return unix.Madvise(unsafe.Slice((*byte)(p), n), unix.MADV_NORMAL) == nil
	}
	t.Run("an empty middle is taken back and everything released", func(t *testing.T) {
		r := reserve(t)
		if err := unix.MunmapPtr(r.data, uintptr(r.size)); err != nil {
			t.Fatal(err)
		}
		abandon(r)
		for _, p := range []unsafe.Pointer{r.mapping, r.data, unsafe.Add(r.data, r.size)} {
			if mapped(p, ps) {
				t.Fatalf("page at +%d of the reservation is still mapped", uintptr(p)-uintptr(r.mapping))
			}
		}
	})
	t.Run("a foreign mapping in the middle survives", func(t *testing.T) {
		r := reserve(t)
		if err := unix.MunmapPtr(r.data, uintptr(r.size)); err != nil {
			t.Fatal(err)
		}
		// Another thread's mapping lands in the hole.
		other, err := unix.MmapPtr(-1, 0, r.data, uintptr(r.size), unix.PROT_READ|unix.PROT_WRITE,
			unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED_NOREPLACE)
		if err != nil || other != r.data {
			t.Fatalf("could not map into the hole: %v", err)
		}
		b := unsafe.Slice((*byte)(other), r.size)
		b[0], b[len(b)-1] = 7, 9
		abandon(r)
		if !mapped(other, r.size) || b[0] != 7 || b[len(b)-1] != 9 {
			t.Fatal("abandon took the foreign mapping away")
		}
		if mapped(r.mapping, ps) || mapped(unsafe.Add(r.data, r.size), ps) {
			t.Error("the guard pages are still mapped")
		}
		_ = unix.MunmapPtr(other, uintptr(r.size))
	})
}
