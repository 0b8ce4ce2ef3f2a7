package secret_test

import (
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
