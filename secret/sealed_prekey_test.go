package secret_test

import (
	"errors"
	"testing"
	"time"

	"github.com/secretmem/secretmem/secret"
)

func sealedCells(t *testing.T, n int, opts ...secret.Option) []secret.Value {
	t.Helper()
	cells := make([]secret.Value, n)
	for i := range cells {
		cells[i] = mustNew(t, marker(t), append([]secret.Option{secret.Sealed()}, opts...)...)
	}
	return cells
}

// A pre-key serves a fixed number of cells; the next cell gets a new one,
// and the old one is destroyed with the last cell it sealed, not before.
func TestAPrekeyServesBoundedCellsAndEndsWithTheLast(t *testing.T) {
	secret.Purge() // start a fresh pre-key
	n := secret.CellsPerPrekeyForTest
	first := sealedCells(t, n)
	pk := secret.PrekeyForTest(first[0])
	for _, c := range first {
		if secret.PrekeyForTest(c) != pk {
			t.Fatalf("the first %d cells after Purge do not share one pre-key", n)
		}
	}
	next := sealedCells(t, 1)[0]
	if secret.PrekeyForTest(next) == pk {
		t.Fatalf("cell %d was sealed under the same pre-key as the %d before it", n+1, n)
	}
	for _, c := range first[:n-1] {
		c.Destroy()
	}
	if !pk.Alive() {
		t.Fatal("the pre-key was destroyed while a cell sealed under it lived")
	}
	last := first[n-1]
	if err := last.Use(func([]byte) error { return nil }); err != nil {
		t.Fatalf("the last cell of a retired pre-key: %v", err)
	}
	last.Destroy()
	if pk.Alive() {
		t.Error("the retired pre-key outlived its last cell")
	}
	if err := next.Use(func([]byte) error { return nil }); err != nil {
		t.Errorf("a cell under the newer pre-key: %v", err)
	}
}

// Every way a cell ends lets its pre-key go: Destroy, a volatile read, an
// expired TTL, Purge.
func TestEveryEndOfACellLetsItsPrekeyGo(t *testing.T) {
	var pk, ttl secret.Value
	var life time.Duration
	beforeTTL(t, 20*time.Millisecond, func(d time.Duration) bool {
		secret.Purge()
		cells := sealedCells(t, secret.CellsPerPrekeyForTest-2)
		vol := mustNew(t, marker(t), secret.Sealed(), secret.Volatile())
		made := time.Now()
		ttl, life = mustNew(t, marker(t), secret.Sealed(), secret.TTL(d)), d
		pk = secret.PrekeyForTest(vol)
		if secret.PrekeyForTest(ttl) != pk || secret.PrekeyForTest(cells[0]) != pk {
			if time.Since(made) >= d {
				return false
			}
			t.Fatal("the cells do not share a pre-key")
		}
		_ = sealedCells(t, 1) // retires pk
		for _, c := range cells {
			c.Destroy()
		}
		if err := vol.Use(func([]byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if !pk.Alive() {
			if time.Since(made) < d {
				t.Fatal("the pre-key ended while a TTL cell sealed under it lived")
			}
			return false
		}
		return true
	})
	deadline := time.Now().Add(life + 5*time.Second)
	for pk.Alive() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if pk.Alive() {
		t.Error("the pre-key outlived its last cell's TTL")
	}
	if err := ttl.Use(func([]byte) error { return nil }); !errors.Is(err, secret.ErrExpired) {
		t.Errorf("the expired cell: %v, want ErrExpired", err)
	}

	live := sealedCells(t, 1)[0]
	pk = secret.PrekeyForTest(live)
	secret.Purge()
	if pk.Alive() || live.Alive() {
		t.Error("Purge left a sealed cell or its pre-key alive")
	}
	if !holds(mustNew(t, "after the purge", secret.Sealed()), "after the purge") {
		t.Error("sealing does not work after Purge")
	}
}

// A failed seal takes nothing from a pre-key's count of live cells: the
// pre-key still ends with the last cell that exists.
func TestAFailedSealHoldsNoPrekey(t *testing.T) {
	secret.Purge()
	c := sealedCells(t, 1)[0]
	pk := secret.PrekeyForTest(c)
	restore := secret.FailSealsForTest(errInjected)
	for range 3 {
		if _, err := secret.New([]byte(marker(t)), secret.Sealed()); !errors.Is(err, errInjected) {
			t.Fatalf("a failing seal: %v", err)
		}
	}
	restore()
	for { // seal until a cell gets a new pre-key, keeping none under pk
		n := sealedCells(t, 1)[0]
		if secret.PrekeyForTest(n) != pk {
			break
		}
		n.Destroy()
	}
	c.Destroy()
	if pk.Alive() {
		t.Error("failed seals kept the pre-key alive after its only cell ended")
	}
}
