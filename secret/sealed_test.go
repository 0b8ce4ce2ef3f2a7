package secret_test

import (
	"bytes"
	"errors"
	"testing"

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
	if !errors.Is(err, secret.ErrCorrupted) {
		t.Fatalf("Use of a tampered cell: %v, want ErrCorrupted", err)
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
