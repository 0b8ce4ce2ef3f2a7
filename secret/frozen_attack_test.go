package secret_test

import (
	"runtime/debug"
	"testing"
	"unsafe"

	"github.com/secretmem/secretmem/secret"
)

// Purge while goroutines read frozen boxes in a loop: as with Destroy
// (TestDestroyingFrozenBoxesUnderAStormOfReads), every read sees the whole
// value or says ErrDestroyed, and the purged box's bytes are gone once its
// readers left (run it with -race too).
func TestPurgingFrozenBoxesUnderAStormOfReads(t *testing.T) {
	stormFrozenBoxes(t, "purged", func(int, secret.Box[[28]byte]) { secret.Purge() })
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
