package secret_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/secretmem/secretmem/secret"
)

type signingKey struct {
	ID      uint32
	Version uint16
	Key     [32]byte
	Nonce   [3]uint64
}

func TestNewBoxRejectsTypesWithPointers(t *testing.T) {
	type withString struct {
		A int
		S string
	}
	type nested struct {
		Inner [2]struct {
			Ok  [4]byte
			Bad []byte
		}
	}
	type empty struct{}
	check := func(name string, err error, wantType bool) {
		t.Run(name, func(t *testing.T) {
			switch {
			case wantType && !errors.Is(err, secret.ErrType):
				t.Errorf("got %v, want ErrType", err)
			case !wantType && err != nil:
				t.Errorf("got %v, want no error", err)
			}
		})
	}
	x := 1
	_, err := secret.NewBox(&x)
	check("a pointer is refused", err, true)
	_, err = secret.NewBox("text")
	check("a string is refused", err, true)
	_, err = secret.NewBox([]byte("b"))
	check("a slice is refused", err, true)
	_, err = secret.NewBox(map[string]int{})
	check("a map is refused", err, true)
	_, err = secret.NewBox[any](1)
	check("an interface is refused", err, true)
	_, err = secret.NewBox(make(chan int))
	check("a channel is refused", err, true)
	_, err = secret.NewBox(func() {})
	check("a function is refused", err, true)
	_, err = secret.NewBox(unsafe.Pointer(&x))
	check("an unsafe.Pointer is refused", err, true)
	_, err = secret.NewBox(withString{})
	check("a struct with a string field is refused", err, true)
	_, err = secret.NewBox(nested{})
	check("a slice nested in an array of structs is refused", err, true)
	_, err = secret.NewBox([3]*int{})
	check("an array of pointers is refused", err, true)
	_, err = secret.NewBox(empty{})
	check("a zero-size type is refused", err, true)
	b, err := secret.NewBox(signingKey{})
	check("a struct of numbers and arrays is accepted", err, false)
	b.Destroy()
	f, err := secret.NewBox(struct {
		F float64
		C complex128
		B bool
	}{})
	check("floats, complex numbers and bools are accepted", err, false)
	f.Destroy()
	if err != nil && strings.Contains(err.Error(), "nested") {
		t.Log(err)
	}
}

func TestBoxHoldsAndUpdatesAValue(t *testing.T) {
	for _, p := range append(placements, struct {
		name string
		opts []secret.Option
	}{"sealed", []secret.Option{secret.Sealed()}}, struct {
		name string
		opts []secret.Option
	}{"sealed and guarded", []secret.Option{secret.Sealed(), secret.Guarded()}}) {
		t.Run(p.name, func(t *testing.T) {
			k := signingKey{ID: 7, Version: 2, Nonce: [3]uint64{1, 2, 3}}
			copy(k.Key[:], "0123456789abcdef0123456789abcdef")
			b, err := secret.NewBox(k, p.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Destroy()
			err = b.Use(func(v *signingKey) error {
				if *v != k {
					return errors.New("the box does not hold the value")
				}
				if uintptr(unsafe.Pointer(v))%unsafe.Alignof(k) != 0 {
					return errors.New("the value is misaligned")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			err = b.Update(func(v *signingKey) error {
				v.Version++
				v.Key[0] = 'X'
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			err = b.Use(func(v *signingKey) error {
				if v.Version != 3 || v.Key[0] != 'X' || v.Key[1] != '1' {
					return errors.New("the update did not stick")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if s := fmt.Sprintf("%v %+v %#v %s %x", b, b, b, b, b); strings.Contains(s, "0123456789") || !strings.Contains(s, "[REDACTED]") {
				t.Errorf("a Box prints as %q", s)
			}
			b.Destroy()
			if err := b.Use(func(*signingKey) error { return nil }); !errors.Is(err, secret.ErrDestroyed) {
				t.Errorf("Use after Destroy: %v", err)
			}
			if err := b.Update(func(*signingKey) error { return nil }); !errors.Is(err, secret.ErrDestroyed) {
				t.Errorf("Update after Destroy: %v", err)
			}
		})
	}
}

func TestBoxLifetimeOptions(t *testing.T) {
	v, err := secret.NewBox([16]byte{1, 2, 3}, secret.Volatile())
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Update(func(p *[16]byte) error { p[0] = 9; return nil }); err != nil {
		t.Fatalf("Update consumed or failed: %v", err)
	}
	if err := v.Use(func(p *[16]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := v.Use(func(p *[16]byte) error { return nil }); !errors.Is(err, secret.ErrConsumed) {
		t.Errorf("second Use of a volatile box: %v", err)
	}
	e, err := secret.NewBox(uint64(42), secret.TTL(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if err := e.Update(func(*uint64) error { return nil }); !errors.Is(err, secret.ErrExpired) {
		t.Errorf("Update after the TTL: %v", err)
	}
}

func TestBoxUpdatesExcludeReaders(t *testing.T) {
	b, err := secret.NewBox([2]uint64{}, secret.Guarded())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				var err error
				if g%2 == 0 {
					err = b.Update(func(p *[2]uint64) error { p[0]++; p[1]++; return nil })
				} else {
					err = b.Use(func(p *[2]uint64) error {
						if p[0] != p[1] {
							return errors.New("a reader saw half an update")
						}
						return nil
					})
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	_ = b.Use(func(p *[2]uint64) error {
		if p[0] != 800 {
			t.Errorf("lost updates: %d, want 800", p[0])
		}
		return nil
	})
}
