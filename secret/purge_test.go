package secret_test

import (
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/secretmem/secretmem/secret"
)

// startedReader closes started when the first Read into the cell begins.
type startedReader struct {
	r       io.Reader
	once    sync.Once
	started chan struct{}
}

func (s *startedReader) Read(p []byte) (int, error) {
	s.once.Do(func() { close(s.started) })
	return s.r.Read(p)
}

type readResult struct {
	v   secret.Value
	err error
}

// checkPurgedCleanly checks what is left after a Purge raced a cell being
// filled: nothing live, no bytes counted, and new cells work.
func checkPurgedCleanly(t *testing.T) {
	t.Helper()
	if s := secret.Stats(); s.Live != 0 || s.Bytes != 0 {
		t.Errorf("after Purge and Destroy: live %d, bytes %d; want 0, 0", s.Live, s.Bytes)
	}
	// A full chunk's worth of later cells of the same size: each gets a slot
	// of its own (a slot freed twice would be handed out twice).
	seen := map[uintptr]bool{}
	for range 64 {
		m := marker(t) + marker(t) + marker(t)
		v := mustNew(t, m)
		if !holds(v, m) {
			t.Fatal("a cell made after the Purge does not hold its secret")
		}
		addr := slotAddr(t, v)
		if seen[addr] {
			t.Fatal("two live cells were given the same slot")
		}
		seen[addr] = true
	}
}

func slotAddr(t *testing.T, v secret.Value) uintptr {
	t.Helper()
	var addr uintptr
	if err := v.Use(func(b []byte) error { addr = uintptr(unsafe.Pointer(&b[0])); return nil }); err != nil {
		t.Fatal(err)
	}
	return addr
}

// A Purge while Read is blocked filling a new cell must neither free the
// cell under the reader (the chunk would be unmapped while read(2) writes
// into it) nor leave the accounting or the free list damaged.
func TestPurgeWhileReadFillsACell(t *testing.T) {
	for _, p := range placements {
		for _, writes := range []bool{true, false} {
			name := p.name + "/the read then succeeds"
			if !writes {
				name = p.name + "/the read then fails"
			}
			t.Run(name, func(t *testing.T) {
				// 84 bytes: a size class no other test damages a canary in,
				// so Purge leaves its chunk empty.
				m := marker(t) + marker(t) + marker(t)
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				sr := &startedReader{r: r, started: make(chan struct{})}
				done := make(chan readResult, 1)
				go func() {
					v, err := secret.Read(sr, len(m), p.opts...)
					done <- readResult{v, err}
				}()
				<-sr.started
				secret.Purge()
				if writes {
					_, _ = io.WriteString(w, m)
				}
				w.Close()
				res := <-done
				switch {
				case !writes:
					if !errors.Is(res.err, io.EOF) && !errors.Is(res.err, io.ErrUnexpectedEOF) {
						t.Errorf("a read that found nothing: %v", res.err)
					}
				case res.err == nil:
					if !holds(res.v, m) {
						t.Error("the cell does not hold what was read")
					}
				case !errors.Is(res.err, secret.ErrDestroyed):
					t.Errorf("Read returned %v, want a cell or ErrDestroyed", res.err)
				}
				res.v.Destroy()
				checkPurgedCleanly(t)
			})
		}
	}
}

// Under a Purge at any moment, the public API reports an ended cell as
// ErrDestroyed: never as an error of the package's internals.
func TestPurgeAtAnyMomentGivesOnlyPackageErrors(t *testing.T) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				secret.Purge()
			}
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()
	check := func(what string, err error) {
		t.Helper()
		if err != nil && !errors.Is(err, secret.ErrDestroyed) {
			t.Fatalf("%s under Purge: %v, want nil or ErrDestroyed", what, err)
		}
	}
	short := []byte(marker(t))
	long := []byte(strings.Repeat(marker(t), 100)) // 2800 bytes: pooled scratch cells, then a run
	for range 300 {
		for _, content := range [][]byte{short, long} {
			v, err := secret.ReadAll(pipe(t, content))
			check("ReadAll through a pipe", err)
			v.Destroy()
		}
		// Sealing opens a work cell a Purge can end before it is used, and
		// a cell sealed while a Purge replaced the pre-key reads as
		// destroyed.
		v, err := secret.New([]byte(marker(t)), secret.Sealed())
		check("New(Sealed)", err)
		check("Use of a sealed cell", v.Use(func([]byte) error { return nil }))
		v.Destroy()
		// Freeze records the frozen length while Purge may free the cell.
		vec, err := secret.NewVec[byte](16)
		check("NewVec", err)
		check("Push", vec.Push('x'))
		frozen, err := vec.Freeze()
		check("Freeze", err)
		frozen.Destroy()
	}
}

// panicReader panics on its first Read, after writing part of the secret
// into the buffer it was given.
type panicReader struct{ secret string }

func (r panicReader) Read(b []byte) (int, error) {
	copy(b, r.secret)
	panic("reader gave up")
}

// A fill that panics (here a caller's io.Reader, recovered by the caller)
// must not leave its half-written cell where no Purge can reach it.
func TestAPanickingReaderLeavesNothingBehind(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			counts := watchFrees(t)
			m := marker(t)
			func() {
				defer func() {
					if recover() == nil {
						t.Fatal("the reader's panic did not reach the caller")
					}
				}()
				_, _ = secret.Read(panicReader{m}, len(m), p.opts...)
			}()
			if freed, dirty := counts(); freed == 0 || dirty != 0 {
				t.Errorf("%d regions freed, %d of them holding data; want the cell wiped and freed", freed, dirty)
			}
			if inArena(m) {
				t.Error("the half-read secret is still in protected memory")
			}
			secret.Purge()
			if s := secret.Stats(); s.Chunks != 0 || s.LockedBytes != 0 || s.Live != 0 {
				t.Errorf("after Purge: %d chunks, %d bytes locked, %d live cells; want none", s.Chunks, s.LockedBytes, s.Live)
			}
		})
	}
}
