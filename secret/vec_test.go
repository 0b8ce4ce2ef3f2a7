package secret_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/secretmem/secretmem/secret"
)

func TestVecGrowsWithoutLeavingPlaintextBehind(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			counts := watchFrees(t)
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
			freed, dirty := counts()
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
	// Destroyed here, not left to the finalizer: a finalizer ends a cell
	// at some later collection, under another test's count of live cells.
	defer v.Destroy()
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

func TestVecTruncateWipesTheDroppedTail(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			v, err := secret.NewVec[uint32](8, p.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Destroy()
			for i := range uint32(8) {
				if err := v.Push(0xA5A5A500 | i); err != nil {
					t.Fatal(err)
				}
			}
			zero := func(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }
			for _, n := range []int{5, 3, 0} {
				if err := v.Truncate(n); err != nil {
					t.Fatal(err)
				}
				region := secret.VecRegionForTest(t, v)
				if !zero(region[n*4:]) {
					t.Errorf("after Truncate(%d) the memory beyond the length is not zero", n)
				}
				err := v.Use(func(s []uint32) error {
					for i, x := range s {
						if x != 0xA5A5A500|uint32(i) {
							return errors.New("Truncate changed a kept element")
						}
					}
					if len(s) != n {
						return fmt.Errorf("Use sees %d elements after Truncate(%d)", len(s), n)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestVecLifetimeOptions(t *testing.T) {
	t.Run("volatile", func(t *testing.T) {
		v, err := secret.NewVec[byte](0, secret.Volatile())
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Append([]byte("ab")); err != nil {
			t.Fatal(err)
		}
		if err := v.Use(func(b []byte) error {
			if string(b) != "ab" {
				return errors.New("the volatile Vec does not hold what was appended")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := v.Use(func([]byte) error { return nil }); !errors.Is(err, secret.ErrConsumed) {
			t.Errorf("second Use of a volatile Vec: %v", err)
		}
		if err := v.Push('c'); !errors.Is(err, secret.ErrConsumed) {
			t.Errorf("Push after a volatile Vec was read: %v", err)
		}
		if v.Len() != 0 {
			t.Errorf("a consumed Vec has Len %d", v.Len())
		}
	})
	t.Run("TTL, across a growth", func(t *testing.T) {
		var m string
		var v secret.Vec[byte]
		var life time.Duration
		beforeTTL(t, 50*time.Millisecond, func(ttl time.Duration) bool {
			m, life = marker(t), ttl
			made := time.Now()
			var err error
			v, err = secret.NewVec[byte](0, secret.TTL(ttl))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(v.Destroy)
			// early says whether err came before the TTL ran out.
			early := func(err error) bool { return !errors.Is(err, secret.ErrExpired) || time.Since(made) < ttl }
			for i := range 4 * len(m) { // grows several times; the timer must follow
				if err := v.Push(m[i%len(m)]); err != nil {
					if early(err) {
						t.Fatal(err)
					}
					return false
				}
			}
			if err := v.Use(func([]byte) error { return nil }); err != nil {
				if early(err) {
					t.Fatalf("Use before the TTL: %v", err)
				}
				return false
			}
			return true
		})
		time.Sleep(life + 10*time.Millisecond)
		if err := v.Use(func([]byte) error {
			t.Error("Use called back after the TTL")
			return nil
		}); !errors.Is(err, secret.ErrExpired) {
			t.Errorf("Use after the TTL: %v", err)
		}
		if err := v.Push('x'); !errors.Is(err, secret.ErrExpired) {
			t.Errorf("Push after the TTL: %v", err)
		}
		if v.Len() != 0 {
			t.Errorf("an expired Vec has Len %d", v.Len())
		}
		// The timer, re-armed for the grown region, wiped it.
		for deadline := time.Now().Add(10 * time.Second); inArena(m) && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		if inArena(m) {
			t.Error("the expired Vec's bytes are still in protected memory")
		}
	})
	t.Run("label", func(t *testing.T) {
		v, err := secret.NewVec[byte](0, secret.Label("pin"))
		if err != nil {
			t.Fatal(err)
		}
		defer v.Destroy()
		_ = v.Append([]byte("1234"))
		if s := v.String(); s != "[REDACTED pin]" {
			t.Errorf("a labelled Vec prints as %q", s)
		}
		val, err := v.Freeze()
		if err != nil {
			t.Fatal(err)
		}
		if s := val.String(); s != "[REDACTED pin]" {
			t.Errorf("the Value a labelled Vec froze into prints as %q", s)
		}
	})
}
