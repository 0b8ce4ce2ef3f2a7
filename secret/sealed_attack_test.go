package secret_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/secretmem/secretmem/secret"
)

// An attacker's review of sealed cells, beyond the swap, cross-type swap
// and rollback tests: races between the seal count and the ciphertext,
// Updates that fail half-way, and cells that end while being written.

// The seal count lives in the handle and the ciphertext in the cell: a
// reader that saw one before an Update and the other after would read
// ErrCorrupted (or, with a reused count, the wrong bytes). Readers and
// writers of one box, hammered together, must only ever see whole values.
func TestConcurrentUpdatesAndReadsOfASealedBoxNeverTear(t *testing.T) {
	type pair struct{ a, b uint64 } // always equal
	box, err := secret.NewBox(pair{}, secret.Sealed())
	if err != nil {
		t.Fatal(err)
	}
	defer box.Destroy()
	const writers, readers, rounds = 3, 3, 150
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for range writers {
		spawn(&wg, func() {
			for range rounds {
				if err := box.Update(func(p *pair) error {
					p.a++
					p.b = p.a
					return nil
				}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for range readers {
		spawn(&wg, func() {
			for range rounds {
				if err := box.Use(func(p *pair) error {
					if p.a != p.b {
						return errors.New("a torn value")
					}
					return nil
				}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a concurrent reader or writer: %v", err)
	}
	if err := box.Use(func(p *pair) error {
		if p.a != writers*rounds {
			return errors.New("an Update was lost")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if _, count := secret.CellIdentityForTest(secret.BoxValueForTest(box)); count != writers*rounds {
		t.Errorf("after %d Updates the seal count is %d", writers*rounds, count)
	}
}

// An Update whose callback panics writes nothing: the cell keeps its old
// ciphertext and count, and the snapshot taken before it is still the
// current state (so a later rollback test of it would prove nothing: the
// box still opens).
func TestAPanickingUpdateLeavesTheSealedBoxAsItWas(t *testing.T) {
	box, err := secret.NewBox([16]byte{1}, secret.Sealed())
	if err != nil {
		t.Fatal(err)
	}
	defer box.Destroy()
	bv := secret.BoxValueForTest(box)
	before := secret.SealedCellForTest(t, bv)
	_, countBefore := secret.CellIdentityForTest(bv)
	func() {
		defer func() { _ = recover() }()
		_ = box.Update(func(p *[16]byte) error {
			p[0] = 2
			panic("callback failed")
		})
	}()
	if after := secret.SealedCellForTest(t, bv); string(after) != string(before) {
		t.Error("a panicking Update changed the sealed cell")
	}
	if _, count := secret.CellIdentityForTest(bv); count != countBefore {
		t.Errorf("a panicking Update moved the seal count from %d to %d", countBefore, count)
	}
	if err := box.Use(func(p *[16]byte) error {
		if p[0] != 1 {
			return errors.New("the box holds the panicking Update's change")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if err := box.Update(func(p *[16]byte) error { p[0] = 3; return nil }); err != nil {
		t.Errorf("an Update after a panicking one: %v", err)
	}
}

// A sealed box whose TTL ends while Updates and reads run: each call
// either works or reports that the cell expired; none reads as
// corrupted, none crashes.
func TestASealedBoxExpiringUnderUpdatesFailsCleanly(t *testing.T) {
	for range 20 {
		box, err := secret.NewBox(uint64(0), secret.Sealed(), secret.TTL(2*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 2 {
			spawn(&wg, func() {
				for range 200 {
					err := box.Update(func(p *uint64) error { *p++; return nil })
					if err == nil {
						err = box.Use(func(*uint64) error { return nil })
					}
					if err != nil {
						if !errors.Is(err, secret.ErrExpired) && !errors.Is(err, secret.ErrDestroyed) {
							t.Errorf("a call on an expiring sealed box: %v", err)
						}
						return
					}
				}
			})
		}
		wg.Wait()
		box.Destroy()
	}
}

// After Destroy nothing reads or writes a sealed cell, and a copy of its
// ciphertext taken before is worthless: its pre-key may be gone, and its
// identity belongs to no live cell.
func TestADestroyedSealedCellStaysDestroyed(t *testing.T) {
	m := marker(t)
	v := mustNew(t, m, secret.Sealed())
	box, err := secret.NewBox([4]byte{9}, secret.Sealed())
	if err != nil {
		t.Fatal(err)
	}
	v.Destroy()
	box.Destroy()
	if err := v.Use(func([]byte) error { t.Error("Use called back"); return nil }); !errors.Is(err, secret.ErrDestroyed) {
		t.Errorf("Use after Destroy: %v", err)
	}
	if v.Equal([]byte(m)) {
		t.Error("Equal after Destroy accepts the plaintext")
	}
	if err := box.Update(func(*[4]byte) error { t.Error("Update called back"); return nil }); !errors.Is(err, secret.ErrDestroyed) {
		t.Errorf("Update after Destroy: %v", err)
	}
}

// spawn runs f in a goroutine counted by wg (sync.WaitGroup.Go needs Go
// 1.25; the module supports 1.24).
func spawn(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
}
