package secret_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unsafe"

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

// vecLimitCase checks one element type against MaxSize: construction,
// the capacity floor, and growth up to and past the limit.
type vecLimitCase struct {
	name  string
	heavy bool // maps tens of MiB: skipped with -short
	run   func(t *testing.T)
}

func vecLimits[T any](t *testing.T) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	opts := []secret.Option{secret.AllowUnlocked()} // big runs must not hinge on RLIMIT_MEMLOCK
	limit := secret.MaxSize / size

	v, err := secret.NewVec[T](0, opts...)
	if size > secret.MaxSize {
		if !errors.Is(err, secret.ErrSize) || !strings.HasPrefix(err.Error(), "secret: ") {
			t.Fatalf("an element over MaxSize: %v, want ErrSize", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("NewVec(0): %v", err)
	}
	defer v.Destroy()
	if v.Cap() < 1 || v.Cap() > limit {
		t.Fatalf("NewVec(0) has Cap %d of %d-byte elements; want 1..%d", v.Cap(), size, limit)
	}
	one, err := secret.NewVec[T](1, opts...)
	if err != nil {
		t.Fatalf("NewVec(1): %v", err)
	}
	if c := one.Cap(); c*size > secret.MaxSize || (size > 2048 && c != 1) {
		t.Errorf("NewVec(1) has Cap %d of %d-byte elements (%d bytes)", c, size, c*size)
	}
	one.Destroy()
	if _, err := secret.NewVec[T](limit+1, opts...); !errors.Is(err, secret.ErrSize) {
		t.Errorf("NewVec(%d), one over the limit: %v, want ErrSize", limit+1, err)
	}
	if limit > 64 {
		return // growth to the limit is tested with the big elements
	}

	// Grow one element at a time to the limit, each element tagged with
	// its index in its first and last byte.
	tagged := func(i int) []T {
		s := make([]T, 1)
		b := unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), size)
		b[0], b[size-1] = byte(i+1), byte(0x80|i)
		return s
	}
	intact := func(n int) error {
		return v.Use(func(s []T) error {
			if len(s) != n {
				return fmt.Errorf("Use sees %d elements, want %d", len(s), n)
			}
			for i := range s {
				b := unsafe.Slice((*byte)(unsafe.Pointer(&s[i])), size)
				if b[0] != byte(i+1) || b[size-1] != byte(0x80|i) {
					return fmt.Errorf("element %d changed", i)
				}
			}
			return nil
		})
	}
	for i := range limit {
		if err := v.Append(tagged(i)); err != nil {
			t.Fatalf("Append of element %d of %d: %v", i+1, limit, err)
		}
		if c := v.Cap(); c*size > secret.MaxSize {
			t.Fatalf("growing to %d elements gave Cap %d (%d bytes)", i+1, c, c*size)
		}
	}
	src := tagged(limit)
	if err := v.Append(src); !errors.Is(err, secret.ErrSize) || !strings.HasPrefix(err.Error(), "secret: ") {
		t.Errorf("Append past MaxSize: %v, want ErrSize", err)
	}
	if b := unsafe.Slice((*byte)(unsafe.Pointer(&src[0])), size); b[0] == 0 {
		t.Error("a refused Append wiped its source: the caller lost it")
	}
	if err := v.Push(zero); !errors.Is(err, secret.ErrSize) {
		t.Errorf("Push past MaxSize: %v, want ErrSize", err)
	}
	if v.Len() != limit {
		t.Errorf("after the refusals Len is %d, want %d", v.Len(), limit)
	}
	if err := intact(limit); err != nil {
		t.Error(err)
	}
}

func TestVecStaysWithinMaxSize(t *testing.T) {
	const maxSize = secret.MaxSize
	cases := []vecLimitCase{
		{"1-byte elements", false, vecLimits[byte]},
		{"4 KiB elements", false, vecLimits[[4 << 10]byte]},
		{"1 MiB elements", true, vecLimits[[1 << 20]byte]},
		// The audit's cases: NewVec(1) used to take 16 of them (80 MiB).
		{"5 MiB elements", true, vecLimits[[5 << 20]byte]},
		// Growth is clamped: 1, 2, then 3 (not 4) elements fill MaxSize.
		{"a third of MaxSize", true, vecLimits[[maxSize / 3]byte]},
		{"just over half of MaxSize", true, vecLimits[[maxSize/2 + 1]byte]},
		{"exactly MaxSize", true, vecLimits[[maxSize]byte]},
		// Used to fail with the memory layer's bare "invalid region size".
		{"over MaxSize", false, vecLimits[[maxSize + 1]byte]},
		{"65 MiB elements", false, vecLimits[[65 << 20]byte]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.heavy && testing.Short() {
				t.Skip("maps tens of MiB")
			}
			c.run(t)
		})
	}
}
