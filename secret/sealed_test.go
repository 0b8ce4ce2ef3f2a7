package secret_test

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/secretmem/secretmem/secret"
)

func TestSealedCellsHoldNoPlaintextAtRest(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			m := marker(t)
			v := mustNew(t, m, append([]secret.Option{secret.Sealed()}, p.opts...)...)
			if inArena(m) {
				t.Fatal("the plaintext of a sealed cell is in protected memory at rest")
			}
			if !holds(v, m) || v.Len() != len(m) || v.Masked(4) != "************************"+m[len(m)-4:] {
				t.Fatal("the sealed cell does not read back")
			}
			if inArena(m) {
				t.Error("the scratch plaintext of a read was not wiped")
			}
			// A plain cell with the same marker is found by the same scan.
			plain := mustNew(t, m)
			if !inArena(m) {
				t.Fatal("the scan cannot see plaintext, so it proves nothing")
			}
			plain.Destroy()
		})
	}
}

func TestTamperingWithASealedCellFailsReads(t *testing.T) {
	m := marker(t)
	v := mustNew(t, m, secret.Sealed())
	flipCiphertextBit(t, v)
	err := v.Use(func([]byte) error {
		t.Error("Use called back with bytes of a tampered cell")
		return nil
	})
	if !errors.Is(err, secret.ErrCorrupted) || !strings.Contains(err.Error(), "authentication tag") {
		t.Fatalf("Use of a tampered cell: %v, want ErrCorrupted naming the authentication tag", err)
	}
	if v.Equal([]byte(m)) {
		t.Error("a tampered cell still compares equal")
	}
}

func TestSealedReadsAndFlagsWorkTogether(t *testing.T) {
	v := mustNew(t, "sealed-and-volatile", secret.Sealed(), secret.Volatile())
	if err := v.Use(func(b []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := v.Use(func([]byte) error { return nil }); !errors.Is(err, secret.ErrConsumed) {
		t.Errorf("second read of a sealed volatile cell: %v", err)
	}
	e := mustNew(t, "", secret.Sealed())
	if !e.Equal(nil) || !e.Alive() {
		t.Error("an empty sealed cell does not work")
	}
	secret.Purge() // destroys the pre-key too; new sealed cells get a new one
	n := mustNew(t, "after the purge", secret.Sealed())
	if !holds(n, "after the purge") {
		t.Error("sealing does not work after Purge")
	}
}

var errInjected = errors.New("injected seal failure")

// A seal that fails after every other step succeeded must change nothing:
// the old sealed contents stay readable and no plaintext stays behind.
func TestAFailedSealChangesNothing(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			opts := append([]secret.Option{secret.Sealed()}, p.opts...)
			old, next := marker(t), marker(t)
			var k [28]byte
			copy(k[:], old)
			b, err := secret.NewBox(k, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Destroy()
			before := secret.SealedCellForTest(t, secret.BoxValueForTest(b))

			restore := secret.FailSealsForTest(errInjected)
			err = b.Update(func(v *[28]byte) error {
				copy(v[:], next)
				return nil
			})
			fresh := []byte(marker(t))
			keep := bytes.Clone(fresh)
			_, nerr := secret.New(fresh, opts...)
			restore()

			if !errors.Is(err, errInjected) {
				t.Fatalf("Update with a failing seal: %v, want the injected error", err)
			}
			if !bytes.Equal(secret.SealedCellForTest(t, secret.BoxValueForTest(b)), before) {
				t.Error("a failed Update changed the sealed cell")
			}
			err = b.Use(func(v *[28]byte) error {
				if string(v[:]) != old {
					return errors.New("the box no longer holds its old value")
				}
				return nil
			})
			if err != nil {
				t.Errorf("after a failed Update: %v", err)
			}
			if inArena(old) || inArena(next) {
				t.Error("a failed Update left plaintext in protected memory")
			}

			if !errors.Is(nerr, errInjected) {
				t.Fatalf("New with a failing seal: %v, want the injected error", nerr)
			}
			if inArena(string(keep)) {
				t.Error("a failed sealed New left plaintext in protected memory")
			}
			if !bytes.Equal(fresh, keep) {
				t.Error("a failed New wiped its input: the caller cannot retry")
			}
			secret.Wipe(fresh)
			secret.Wipe(keep)
		})
	}
}

func TestSealedBoxesHoldNoPlaintextAtRest(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			m, m2 := marker(t), marker(t)
			var k [28]byte
			copy(k[:], m)
			b, err := secret.NewBox(k, append([]secret.Option{secret.Sealed()}, p.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Destroy()
			if inArena(m) {
				t.Fatal("the plaintext of a sealed box is in protected memory after New")
			}
			holdsBox := func(want string) error {
				return b.Use(func(v *[28]byte) error {
					if string(v[:]) != want {
						return errors.New("the sealed box does not read back")
					}
					return nil
				})
			}
			if err := holdsBox(m); err != nil {
				t.Fatal(err)
			}
			if inArena(m) {
				t.Error("the scratch plaintext of a Use was not wiped")
			}
			if err := b.Update(func(v *[28]byte) error { copy(v[:], m2); return nil }); err != nil {
				t.Fatal(err)
			}
			if inArena(m) || inArena(m2) {
				t.Error("plaintext is in protected memory after Update")
			}
			if err := holdsBox(m2); err != nil {
				t.Fatal(err)
			}
			// A plain box with the marker is found by the same scan.
			plain, err := secret.NewBox(k)
			if err != nil {
				t.Fatal(err)
			}
			if !inArena(m) {
				t.Fatal("the scan cannot see plaintext, so it proves nothing")
			}
			plain.Destroy()
		})
	}
}

func TestTamperingWithASealedBoxFailsReads(t *testing.T) {
	b, err := secret.NewBox([32]byte{1, 2, 3}, secret.Sealed())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	flipCiphertextBit(t, secret.BoxValueForTest(b))
	err = b.Use(func(*[32]byte) error {
		t.Error("Use called back with bytes of a tampered box")
		return nil
	})
	if !errors.Is(err, secret.ErrCorrupted) {
		t.Fatalf("Use of a tampered box: %v, want ErrCorrupted", err)
	}
	err = b.Update(func(*[32]byte) error {
		t.Error("Update called back with bytes of a tampered box")
		return nil
	})
	if !errors.Is(err, secret.ErrCorrupted) {
		t.Fatalf("Update of a tampered box: %v, want ErrCorrupted", err)
	}
	if err := b.Use(func(*[32]byte) error { return nil }); !errors.Is(err, secret.ErrCorrupted) {
		t.Errorf("a failed Update resealed a tampered box: Use gives %v", err)
	}
}

// Every seal draws a fresh nonce, so equal plaintexts never share a key
// stream: not across cells, and not across the seals of one cell.
func TestEverySealUsesAFreshNonce(t *testing.T) {
	const n = 24 // nonce bytes
	differ := func(what string, a, b []byte) {
		t.Helper()
		if bytes.Equal(a[:n], b[:n]) {
			t.Errorf("%s: the same nonce", what)
		}
		if bytes.Equal(a[secret.SealOverheadForTest:], b[secret.SealOverheadForTest:]) {
			t.Errorf("%s: the same ciphertext", what)
		}
	}
	m := marker(t)
	v1, v2 := mustNew(t, m, secret.Sealed()), mustNew(t, m, secret.Sealed())
	differ("two cells sealed from one plaintext", secret.SealedCellForTest(t, v1), secret.SealedCellForTest(t, v2))

	b, err := secret.NewBox([32]byte{7}, secret.Sealed())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	bv := secret.BoxValueForTest(b)
	c0 := secret.SealedCellForTest(t, bv)
	if err := b.Update(func(*[32]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	c1 := secret.SealedCellForTest(t, bv)
	differ("a box resealed unchanged", c0, c1)
	if err := b.Update(func(p *[32]byte) error { p[1] = 9; return nil }); err != nil {
		t.Fatal(err)
	}
	c2 := secret.SealedCellForTest(t, bv)
	differ("a box resealed after a change", c1, c2)
	differ("a box two seals apart", c0, c2)
}

// Sealing starts no goroutine (memguard's enclave re-keys forever in one).
func TestSealedCellsStartNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := range 200 {
		v, err := secret.New([]byte("sealed"), secret.Sealed())
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Use(func([]byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
		b, err := secret.NewBox(uint64(i), secret.Sealed(), secret.Guarded())
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Update(func(p *uint64) error { *p++; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := b.Use(func(*uint64) error { return nil }); err != nil {
			t.Fatal(err)
		}
		v.Destroy()
		b.Destroy()
	}
	// Goroutines earlier tests left may end meanwhile; none may be added.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines before sealing, %d after", before, after)
	}
}

// The pre-key is 16 KiB, in a guarded run of its own.
func TestThePrekeyIsLargeAndGuarded(t *testing.T) {
	secret.Purge() // the pre-key goes too; the next seal makes a new one
	guarded := secret.Stats().Guarded
	v := mustNew(t, "seal me", secret.Sealed())
	want := 1
	if onHeap() {
		want = 0 // the heap backend has no guard pages and counts no guarded cell
	}
	if g := secret.Stats().Guarded; g != guarded+want {
		t.Errorf("sealing the first cell after Purge made %d guarded cells, want %d (the pre-key)", g-guarded, want)
	}
	if n := secret.PrekeyForTest(v).Len(); n != 16<<10 {
		t.Errorf("the pre-key holds %d bytes, want 16 KiB", n)
	}
}

func TestACellSealedUnderAPurgedPrekeyReadsAsDestroyed(t *testing.T) {
	v := mustNew(t, "sealed-before-the-purge", secret.Sealed())
	b, err := secret.NewBox([16]byte{1, 2, 3}, secret.Sealed())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	// As Purge does, but the cells escape it.
	secret.DropPrekeyForTest(v)
	secret.DropPrekeyForTest(secret.BoxValueForTest(b))
	guarded := secret.Stats().Guarded

	called := false
	err = v.Use(func([]byte) error { called = true; return nil })
	if !errors.Is(err, secret.ErrDestroyed) {
		t.Errorf("Use of a cell whose pre-key is gone: %v, want ErrDestroyed", err)
	}
	if called || v.Alive() {
		t.Errorf("callback called: %v, cell alive: %v; want neither", called, v.Alive())
	}
	err = b.Update(func(*[16]byte) error { called = true; return nil })
	if !errors.Is(err, secret.ErrDestroyed) || called {
		t.Errorf("Box.Update: %v (callback called: %v), want ErrDestroyed and no call", err, called)
	}
	if err := b.Use(func(*[16]byte) error { return nil }); !errors.Is(err, secret.ErrDestroyed) {
		t.Errorf("Box.Use after that: %v, want ErrDestroyed", err)
	}
	if g := secret.Stats().Guarded; g != guarded {
		t.Errorf("reading stale cells made %d new guarded cells; a stale cell must not make a pre-key", g-guarded)
	}

	// A cell sealed under the new pre-key works.
	w := mustNew(t, "sealed-after-the-purge", secret.Sealed())
	if err := w.Use(func([]byte) error { return nil }); err != nil {
		t.Errorf("a cell sealed under the new pre-key: %v", err)
	}
}
