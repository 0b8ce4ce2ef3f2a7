package secret_test

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/secretmem/secretmem/internal/arena"
	"github.com/secretmem/secretmem/secret"
)

func TestVecGrowsWithoutLeavingPlaintextBehind(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			var mu sync.Mutex
			var freed, dirty int
			arena.SetFreeHookForTest(func(b []byte) {
				mu.Lock()
				defer mu.Unlock()
				freed++
				if !bytes.Equal(b, make([]byte, len(b))) {
					dirty++
				}
			})
			defer arena.SetFreeHookForTest(nil)

			m := marker(t)
			v, err := secret.NewVec[byte](0, p.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Destroy()
			want := strings.Repeat(m, 200) // 7,200 bytes: several growths, past the pooled sizes
			for i := 0; i < len(want); i++ {
				if err := v.Push(want[i]); err != nil {
					t.Fatal(err)
				}
			}
			if v.Len() != len(want) || v.Cap() < len(want) {
				t.Fatalf("Len %d Cap %d, want %d", v.Len(), v.Cap(), len(want))
			}
			err = v.Use(func(b []byte) error {
				if string(b) != want {
					return errors.New("the Vec does not hold what was pushed")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if freed < 5 {
				t.Errorf("only %d old regions were freed while growing", freed)
			}
			if dirty != 0 {
				t.Errorf("%d of %d old regions held data after they were freed", dirty, freed)
			}
		})
	}
}

func TestVecAppendTruncateAndFreeze(t *testing.T) {
	v, err := secret.NewVec[uint32](2)
	if err != nil {
		t.Fatal(err)
	}
	src := []uint32{1, 2, 3, 4, 5}
	if err := v.Append(src); err != nil {
		t.Fatal(err)
	}
	for _, x := range src {
		if x != 0 {
			t.Fatal("Append did not wipe its source")
		}
	}
	if err := v.Truncate(3); err != nil {
		t.Fatal(err)
	}
	err = v.Use(func(s []uint32) error {
		if len(s) != 3 || s[0] != 1 || s[2] != 3 {
			return errors.New("truncate kept the wrong elements")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Truncate(4); !errors.Is(err, secret.ErrSize) {
		t.Errorf("truncating beyond the length: %v", err)
	}

	pw, err := secret.NewVec[byte](4)
	if err != nil {
		t.Fatal(err)
	}
	m := marker(t)
	for i := range len(m) {
		_ = pw.Push(m[i])
	}
	val, err := pw.Freeze()
	if err != nil {
		t.Fatal(err)
	}
	defer val.Destroy()
	if !holds(val, m) || val.Len() != len(m) {
		t.Error("the frozen Value does not hold the pushed bytes")
	}
	if err := pw.Push('x'); !errors.Is(err, secret.ErrFrozen) {
		t.Errorf("Push after Freeze: %v", err)
	}
	val.Destroy()
	if pw.Len() != 0 {
		t.Error("destroying the Value did not end the Vec")
	}
}

func TestVecRefusesBadInput(t *testing.T) {
	if _, err := secret.NewVec[byte](-1); !errors.Is(err, secret.ErrSize) {
		t.Errorf("negative capacity: %v", err)
	}
	if _, err := secret.NewVec[byte](secret.MaxSize + 1); !errors.Is(err, secret.ErrSize) {
		t.Errorf("huge capacity: %v", err)
	}
	if _, err := secret.NewVec[string](1); !errors.Is(err, secret.ErrType) {
		t.Errorf("a pointer type: %v", err)
	}
	if _, err := secret.NewVec[struct{}](1); !errors.Is(err, secret.ErrType) {
		t.Errorf("a zero-size type: %v", err)
	}
	if _, err := secret.NewVec[byte](1, secret.Sealed()); !errors.Is(err, secret.ErrOption) {
		t.Errorf("a sealed Vec: %v", err)
	}
	var zero secret.Vec[byte]
	if err := zero.Push(1); !errors.Is(err, secret.ErrDestroyed) {
		t.Errorf("Push on the zero Vec: %v", err)
	}
	v, _ := secret.NewVec[byte](4)
	v.Destroy()
	if err := v.Push(1); !errors.Is(err, secret.ErrDestroyed) {
		t.Errorf("Push after Destroy: %v", err)
	}
}
