//go:build windows && !secretmem_heap

package secret_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/secretmem/secretmem/internal/wine"
	"github.com/secretmem/secretmem/secret"
)

// At the limit, constructors refuse with ErrMemoryLock, every earlier cell
// is intact, a freed slot is reused, and AllowUnlocked degrades visibly.
func TestCellsAtTheLockLimit(t *testing.T) {
	limit := wine.LockLimit(t)
	cell := func(i int) []byte { return []byte(fmt.Sprintf("cell-%08d-0123456789abcdefgh", i)) }
	var vs []secret.Value
	defer func() {
		for _, v := range vs {
			v.Destroy()
		}
		secret.Purge()
	}()
	var err error
	for i := 0; i < 4*limit/32; i++ {
		var v secret.Value
		if v, err = secret.New(cell(i)); err != nil {
			break
		}
		vs = append(vs, v)
	}
	t.Logf("%d live 32-byte cells under a limit of %d bytes", len(vs), limit)
	if !errors.Is(err, secret.ErrMemoryLock) {
		t.Fatalf("the error at the limit is %v, want ErrMemoryLock", err)
	}
	if len(vs) < limit/64 {
		t.Errorf("only %d cells fit in %d bytes", len(vs), limit)
	}
	for i, v := range vs {
		if !v.Equal(cell(i)) {
			t.Fatalf("cell %d changed when a later one was refused", i)
		}
	}
	if _, err := secret.New(cell(-1), secret.Guarded()); !errors.Is(err, secret.ErrMemoryLock) {
		t.Errorf("a guarded cell past the limit: %v, want ErrMemoryLock", err)
	}
	vs[0].Destroy()
	if v, err := secret.New(cell(-2)); err != nil || !v.Equal(cell(-2)) {
		t.Errorf("a slot freed at the limit was not reused: %v", err)
	} else {
		vs[0] = v
	}
	u, err := secret.New(cell(-3), secret.AllowUnlocked())
	if err != nil || !u.Equal(cell(-3)) {
		t.Fatalf("AllowUnlocked at the limit: %v", err)
	}
	defer u.Destroy()
	if s := secret.Stats(); s.Protected || s.Backend != "unlocked" || s.UnlockedBytes == 0 {
		t.Errorf("with an unlocked cell, Stats says protected %v, backend %q, %d unlocked bytes", s.Protected, s.Backend, s.UnlockedBytes)
	}
}
