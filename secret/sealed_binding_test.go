package secret_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/secretmem/secretmem/secret"
)

// samePrekey makes two cells with mk until both are sealed under one
// pre-key, so that only the binding can tell their ciphertexts apart. (A
// pre-key serves a bounded number of cells; a pair may straddle two.)
func samePrekey[A, B any](t *testing.T, mk func() (A, B), va func(A) secret.Value, vb func(B) secret.Value) (A, B) {
	t.Helper()
	for range 3 {
		a, b := mk()
		if secret.PrekeyForTest(va(a)) == secret.PrekeyForTest(vb(b)) {
			return a, b
		}
	}
	t.Fatal("three pairs of cells in a row got different pre-keys")
	panic("unreachable")
}

func self(v secret.Value) secret.Value { return v }

// readsCorrupted checks that a read of v fails with ErrCorrupted without
// calling back, and that Equal and Masked refuse it too.
func readsCorrupted(t *testing.T, what string, v secret.Value, plaintexts ...string) {
	t.Helper()
	err := v.Use(func([]byte) error {
		t.Errorf("%s: Use called back", what)
		return nil
	})
	if !errors.Is(err, secret.ErrCorrupted) {
		t.Errorf("%s: Use gives %v, want ErrCorrupted", what, err)
	}
	for _, p := range plaintexts {
		if v.Equal([]byte(p)) {
			t.Errorf("%s: Equal accepts a plaintext", what)
		}
	}
	if m := v.Masked(4); m != v.String() {
		t.Errorf("%s: Masked shows something", what)
	}
}

// Another cell's nonce, tag and ciphertext, copied over a cell of the same
// length, are genuine (they open as the cell they came from) but fail as
// this one's.
func TestASwappedCellReadsAsCorrupted(t *testing.T) {
	ma, mb := marker(t), marker(t)
	a, b := samePrekey(t, func() (secret.Value, secret.Value) {
		return mustNew(t, ma, secret.Sealed()), mustNew(t, mb, secret.Sealed())
	}, self, self)
	fromA := secret.SealedCellForTest(t, a)
	pre, err := secret.PrekeyForTest(a).Reveal()
	if err != nil {
		t.Fatal(err)
	}
	defer secret.Wipe(pre)
	id, count := secret.CellIdentityForTest(a)
	if pt, ok := refOpen(pre, fromA, id, count); !ok || string(pt) != ma {
		t.Error("the copied bytes do not open as their own cell: the test proves nothing")
	}

	secret.WriteSealedCellForTest(t, b, fromA)
	readsCorrupted(t, "a cell holding another's ciphertext", b, ma, mb)
	if !holds(a, ma) {
		t.Error("the cell the bytes came from no longer reads")
	}
}

// A sealed Box[[32]byte] fed the sealed bytes of a 32-byte Value.
func TestACrossTypeSwapReadsAsCorrupted(t *testing.T) {
	var k [32]byte
	copy(k[:], marker(t))
	m := marker(t) + "0123"
	v, box := samePrekey(t, func() (secret.Value, secret.Box[[32]byte]) {
		box, err := secret.NewBox(k, secret.Sealed())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(box.Destroy)
		return mustNew(t, m, secret.Sealed()), box
	}, self, secret.BoxValueForTest[[32]byte])
	if len(m) != 32 {
		t.Fatalf("the marker is %d bytes, want 32", len(m))
	}
	bv := secret.BoxValueForTest(box)
	secret.WriteSealedCellForTest(t, bv, secret.SealedCellForTest(t, v))
	err := box.Use(func(*[32]byte) error {
		t.Error("Box.Use called back with a Value's bytes")
		return nil
	})
	if !errors.Is(err, secret.ErrCorrupted) {
		t.Errorf("Box.Use of a Value's sealed bytes: %v, want ErrCorrupted", err)
	}
	swapped := secret.SealedCellForTest(t, bv)
	err = box.Update(func(*[32]byte) error {
		t.Error("Box.Update called back with a Value's bytes")
		return nil
	})
	if !errors.Is(err, secret.ErrCorrupted) {
		t.Errorf("Box.Update of a Value's sealed bytes: %v, want ErrCorrupted", err)
	}
	if !bytes.Equal(secret.SealedCellForTest(t, bv), swapped) {
		t.Error("a refused Update rewrote the cell")
	}
}

// A snapshot of a box, written back after Update, is the box's own
// genuine ciphertext, one seal old.
func TestARolledBackCellReadsAsCorrupted(t *testing.T) {
	old, next := marker(t), marker(t)
	var k [28]byte
	copy(k[:], old)
	box, err := secret.NewBox(k, secret.Sealed())
	if err != nil {
		t.Fatal(err)
	}
	defer box.Destroy()
	bv := secret.BoxValueForTest(box)
	snapshot := secret.SealedCellForTest(t, bv)
	if err := box.Update(func(p *[28]byte) error { copy(p[:], next); return nil }); err != nil {
		t.Fatal(err)
	}
	pre, err := secret.PrekeyForTest(bv).Reveal()
	if err != nil {
		t.Fatal(err)
	}
	defer secret.Wipe(pre)
	id, count := secret.CellIdentityForTest(bv)
	if count != 1 {
		t.Fatalf("after one Update the seal count is %d, want 1", count)
	}
	if pt, ok := refOpen(pre, snapshot, id, count-1); !ok || string(pt) != old {
		t.Error("the snapshot does not open as the box's first seal: the test proves nothing")
	}

	secret.WriteSealedCellForTest(t, bv, snapshot)
	readsCorrupted(t, "a box rolled back one Update", bv, old, next)
	err = box.Update(func(*[28]byte) error {
		t.Error("Update called back with the old value")
		return nil
	})
	if !errors.Is(err, secret.ErrCorrupted) {
		t.Errorf("Update of a rolled-back box: %v, want ErrCorrupted", err)
	}
}

// A flipped bit, a swap and a rollback are the ways a sealed cell's bytes
// can change; none reads back as anything but ErrCorrupted (the tests
// above), and a read that succeeds returns exactly the last bytes
// written: through many Updates, the box holds what the last one wrote.
func TestASealedBoxReadsItsLastUpdate(t *testing.T) {
	box, err := secret.NewBox(uint64(0), secret.Sealed())
	if err != nil {
		t.Fatal(err)
	}
	defer box.Destroy()
	for i := range uint64(50) {
		if err := box.Update(func(p *uint64) error {
			if *p != i {
				t.Fatalf("Update %d saw %d", i, *p)
			}
			*p = i + 1
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, count := secret.CellIdentityForTest(secret.BoxValueForTest(box)); count != 50 {
		t.Errorf("after 50 Updates the seal count is %d", count)
	}
	if err := box.Use(func(p *uint64) error {
		if *p != 50 {
			return errors.New("the box does not hold its last update")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}
