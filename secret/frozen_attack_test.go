package secret_test

import (
	"errors"
	"runtime/debug"
	"sync"
	"testing"
	"unsafe"

	"github.com/secretmem/secretmem/secret"
)

// Purge while goroutines read frozen boxes in a loop: as with Destroy
// (TestDestroyingFrozenBoxesUnderAStormOfReads), every read sees the whole
// value or says ErrDestroyed, and the purged box's bytes are gone once its
// readers left (run it with -race too).
func TestPurgingFrozenBoxesUnderAStormOfReads(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			for round := range 20 {
				m := marker(t)
				var v [28]byte
				copy(v[:], m)
				b, err := secret.NewBox(v, p.opts...)
				if err != nil {
					t.Fatal(err)
				}
				if err := b.Freeze(); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				errc := make(chan error, 8)
				start := make(chan struct{})
				for range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						for {
							err := b.Use(func(p *[28]byte) error {
								if string(p[:]) != m {
									return errors.New("a reader saw the value change")
								}
								return nil
							})
							if errors.Is(err, secret.ErrDestroyed) {
								return
							}
							if err != nil {
								errc <- err
								return
							}
						}
					}()
				}
				close(start)
				secret.Purge()
				wg.Wait()
				close(errc)
				for err := range errc {
					t.Fatal(err)
				}
				if inArena(m) {
					t.Fatalf("round %d: a purged frozen box is still in the arena", round)
				}
				if b.Alive() {
					t.Fatal("a purged frozen box is alive")
				}
			}
		})
	}
}

// A frozen guarded box's read (Ref.Read falls back to acquire, which opens
// the run) closes the run again: Unread must close what Read opened.
func TestAFrozenGuardedBoxIsInaccessibleAfterItsReads(t *testing.T) {
	if onHeap() {
		t.Skip("the heap backend has no guard pages: a guarded box stays readable")
	}
	b, err := secret.NewBox([32]byte{7}, secret.Guarded())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	_ = b.Freeze()
	var leaked unsafe.Pointer
	for range 3 {
		if err := b.Use(func(p *[32]byte) error { leaked = unsafe.Pointer(p); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	faulted := func() (f bool) {
		defer func() { f = recover() != nil }()
		_ = *(*byte)(leaked)
		return false
	}()
	if !faulted {
		t.Fatal("the guarded run stayed readable after a frozen box's reads")
	}
}
