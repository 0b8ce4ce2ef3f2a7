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
	// refused checks that err is ErrType and that its message names what
	// is wrong: the offending kind and the path of fields to it.
	refused := func(name string, err error, names ...string) {
		t.Run(name, func(t *testing.T) {
			if !errors.Is(err, secret.ErrType) {
				t.Fatalf("got %v, want ErrType", err)
			}
			for _, n := range names {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("the error does not name %q: %v", n, err)
				}
			}
		})
	}
	x := 1
	_, err := secret.NewBox(&x)
	refused("a pointer is refused", err, "*int is a pointer")
	_, err = secret.NewBox("text")
	refused("a string is refused", err, "string is a string")
	_, err = secret.NewBox([]byte("b"))
	refused("a slice is refused", err, "[]uint8 is a slice")
	_, err = secret.NewBox(map[string]int{})
	refused("a map is refused", err, "is a map")
	_, err = secret.NewBox[any](1)
	refused("an interface is refused", err, "interface {} is an interface")
	_, err = secret.NewBox(make(chan int))
	refused("a channel is refused", err, "chan int is a channel")
	_, err = secret.NewBox(func() {})
	refused("a function is refused", err, "func() is a function")
	_, err = secret.NewBox(unsafe.Pointer(&x))
	refused("an unsafe.Pointer is refused", err, "unsafe.Pointer is an unsafe.Pointer")
	_, err = secret.NewBox(withString{})
	refused("a struct with a string field is refused", err, "string is a string", "field S of secret_test.withString")
	_, err = secret.NewBox(nested{})
	refused("a slice nested in an array of structs is refused", err,
		"[]uint8 is a slice", "field Bad of", "(in [2]struct", "field Inner of secret_test.nested")
	_, err = secret.NewBox([3]*int{})
	refused("an array of pointers is refused", err, "*int is a pointer", "(in [3]*int)")
	_, err = secret.NewBox(empty{})
	refused("a zero-size type is refused", err, "secret_test.empty has size zero")
	_, err = secret.NewVec[withString](1)
	refused("a Vec of them is refused too", err, "field S of secret_test.withString")

	b, err := secret.NewBox(signingKey{})
	if err != nil {
		t.Errorf("a struct of numbers and arrays: %v", err)
	}
	b.Destroy()
	f, err := secret.NewBox(struct {
		F float64
		C complex128
		B bool
	}{})
	if err != nil {
		t.Errorf("floats, complex numbers and bools: %v", err)
	}
	f.Destroy()
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
	for name, opts := range map[string][]secret.Option{"pooled": nil, "sealed": {secret.Sealed()}} {
		e, err := secret.NewBox(uint64(42), append(opts, secret.TTL(time.Millisecond))...)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		if err := e.Use(func(*uint64) error {
			t.Errorf("%s: Use called back after the TTL", name)
			return nil
		}); !errors.Is(err, secret.ErrExpired) {
			t.Errorf("%s: Use after the TTL: %v", name, err)
		}
		if err := e.Update(func(*uint64) error { return nil }); !errors.Is(err, secret.ErrExpired) {
			t.Errorf("%s: Update after the TTL: %v", name, err)
		}
		if e.Alive() {
			t.Errorf("%s: an expired box is alive", name)
		}
	}
}

// A frozen box whose TTL has run out says so, before its timer has wiped
// it too: Update and Freeze answer ErrExpired, not ErrFrozen.
func TestAFrozenBoxPastItsTTLSaysExpired(t *testing.T) {
	b, err := secret.NewBox(uint64(42), secret.TTL(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	if err := b.Freeze(); err != nil {
		t.Fatal(err)
	}
	secret.ExpireForTest(secret.BoxValueForTest(b))
	if err := b.Update(func(*uint64) error { return nil }); !errors.Is(err, secret.ErrExpired) {
		t.Errorf("Update of a frozen box past its TTL: %v, want ErrExpired", err)
	}
	if err := b.Use(func(*uint64) error { return nil }); !errors.Is(err, secret.ErrExpired) {
		t.Errorf("Use of a frozen box past its TTL: %v, want ErrExpired", err)
	}
	e, err := secret.NewBox(uint64(42), secret.TTL(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Destroy()
	secret.ExpireForTest(secret.BoxValueForTest(e))
	if err := e.Freeze(); !errors.Is(err, secret.ErrExpired) {
		t.Errorf("Freeze of a box past its TTL: %v, want ErrExpired", err)
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

// A frozen box keeps its value: Updates fail with ErrFrozen and change
// nothing, readers still see it, in every placement; Freeze inside a
// callback of the box is ErrBusy, and on a destroyed box ErrDestroyed.
func TestFreezeMakesABoxFinal(t *testing.T) {
	for _, p := range append(placements, struct {
		name string
		opts []secret.Option
	}{"sealed", []secret.Option{secret.Sealed()}}) {
		t.Run(p.name, func(t *testing.T) {
			b, err := secret.NewBox([2]uint64{4, 4}, p.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Destroy()
			if err := b.Use(func(*[2]uint64) error { return b.Freeze() }); !errors.Is(err, secret.ErrBusy) {
				t.Errorf("Freeze inside Use: %v, want ErrBusy", err)
			}
			if err := b.Update(func(*[2]uint64) error { return b.Freeze() }); !errors.Is(err, secret.ErrBusy) {
				t.Errorf("Freeze inside Update: %v, want ErrBusy", err)
			}
			if err := b.Freeze(); err != nil {
				t.Fatal(err)
			}
			if err := b.Freeze(); err != nil {
				t.Errorf("a second Freeze: %v", err)
			}
			called := false
			err = b.Update(func(v *[2]uint64) error { called = true; v[0] = 9; return nil })
			if !errors.Is(err, secret.ErrFrozen) || called {
				t.Errorf("Update of a frozen box: %v (callback ran: %v)", err, called)
			}
			err = b.Use(func(v *[2]uint64) error {
				if *v != [2]uint64{4, 4} {
					return errors.New("the frozen value changed")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			b.Destroy()
			if err := b.Use(func(*[2]uint64) error { return nil }); !errors.Is(err, secret.ErrDestroyed) {
				t.Errorf("Use of a destroyed frozen box: %v", err)
			}
			// Why the box cannot change now is that it is gone.
			if err := b.Update(func(*[2]uint64) error { return nil }); !errors.Is(err, secret.ErrDestroyed) {
				t.Errorf("Update of a destroyed frozen box: %v, want ErrDestroyed", err)
			}
		})
	}
	d, _ := secret.NewBox([2]uint64{})
	d.Destroy()
	if err := d.Freeze(); !errors.Is(err, secret.ErrDestroyed) {
		t.Errorf("Freeze of a destroyed box: %v", err)
	}
	var zero secret.Box[[2]uint64]
	if err := zero.Freeze(); !errors.Is(err, secret.ErrDestroyed) {
		t.Errorf("Freeze of the zero Box: %v", err)
	}
}

// Freeze waits for an Update in flight, so no reader that skips the lock
// sees half an update: Freeze is called while an Update is halfway
// through its change, and the first read after it must see the whole.
func TestFreezeWaitsForAnUpdateInFlight(t *testing.T) {
	b, err := secret.NewBox([2]uint64{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	inside := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- b.Update(func(p *[2]uint64) error {
			p[0]++
			close(inside)
			time.Sleep(50 * time.Millisecond)
			p[1]++
			return nil
		})
	}()
	<-inside
	if err := b.Freeze(); err != nil {
		t.Fatal(err)
	}
	_ = b.Use(func(p *[2]uint64) error {
		if *p != [2]uint64{1, 1} {
			t.Errorf("the first read after Freeze saw %v, want [1 1]", *p)
		}
		return nil
	})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A frozen box is read under the arena's pin alone (no lock, no state
// check of its own): a Destroy while a read is in flight still waits for
// it, the reader sees its bytes intact and the cell is wiped as it
// leaves; later reads say ErrDestroyed; and a damaged canary is still
// found on every read.
func TestAFrozenBoxIsReadUnderItsPin(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			m := marker(t)
			var v [28]byte
			copy(v[:], m)
			b, err := secret.NewBox(v, p.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Freeze(); err != nil {
				t.Fatal(err)
			}
			inside := make(chan struct{})
			destroyed := make(chan struct{})
			errc := make(chan error, 1)
			go func() {
				errc <- b.Use(func(p *[28]byte) error {
					close(inside)
					<-destroyed
					if string(p[:]) != m {
						return errors.New("the bytes changed under a reader")
					}
					return nil
				})
			}()
			<-inside
			b.Destroy()
			if b.Alive() {
				t.Error("the box is alive after Destroy")
			}
			if !inArena(m) {
				t.Error("Destroy wiped the cell under a reader")
			}
			close(destroyed)
			if err := <-errc; err != nil {
				t.Error(err)
			}
			if inArena(m) {
				t.Error("the last reader did not wipe the destroyed box")
			}
			if err := b.Use(func(*[28]byte) error { return nil }); !errors.Is(err, secret.ErrDestroyed) {
				t.Errorf("Use of a destroyed frozen box: %v, want ErrDestroyed", err)
			}
		})
	}
	t.Run("canary", func(t *testing.T) {
		b, err := secret.NewBox([32]byte{1})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Destroy()
		if err := b.Freeze(); err != nil {
			t.Fatal(err)
		}
		before := secret.Stats().CanaryFailures
		err = b.Use(func(p *[32]byte) error {
			// A bug that writes one byte past the end.
			*(*byte)(unsafe.Add(unsafe.Pointer(p), len(p))) ^= 0xff
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Use(func(*[32]byte) error { return nil }); !errors.Is(err, secret.ErrCorrupted) {
			t.Errorf("reading a frozen box whose canary was hit: %v, want ErrCorrupted", err)
		}
		if got := secret.Stats().CanaryFailures; got <= before {
			t.Error("Stats does not count the canary failure")
		}
	})
}

// Destroying frozen boxes while goroutines read them in a loop: every
// read sees the whole value or says ErrDestroyed, and every destroyed
// box's bytes are gone from the arena once its readers left (run it with
// -race too).
func TestDestroyingFrozenBoxesUnderAStormOfReads(t *testing.T) {
	stormFrozenBoxes(t, "destroyed", func(round int, b secret.Box[[28]byte]) {
		time.Sleep(time.Duration(round%4) * 100 * time.Microsecond)
		b.Destroy()
	})
}

// stormFrozenBoxes makes a frozen box per round, lets 4 goroutines read
// it in a loop, ends it with end while they read, and checks that every
// read saw the whole value or ErrDestroyed and that the box's bytes left
// the arena with its last reader.
func stormFrozenBoxes(t *testing.T, ended string, end func(round int, b secret.Box[[28]byte])) {
	t.Helper()
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			for round := range 20 {
				m := marker(t)
				var v [28]byte
				copy(v[:], m)
				b, err := secret.NewBox(v, p.opts...)
				if err != nil {
					t.Fatal(err)
				}
				if err := b.Freeze(); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				errc := make(chan error, 8)
				start := make(chan struct{})
				for range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						for {
							err := b.Use(func(p *[28]byte) error {
								if string(p[:]) != m {
									return errors.New("a reader saw the value change")
								}
								return nil
							})
							if errors.Is(err, secret.ErrDestroyed) {
								return
							}
							if err != nil {
								errc <- err
								return
							}
						}
					}()
				}
				close(start)
				end(round, b)
				wg.Wait()
				close(errc)
				for err := range errc {
					t.Fatal(err)
				}
				if inArena(m) {
					t.Fatalf("round %d: a %s frozen box is still in the arena", round, ended)
				}
				if b.Alive() {
					t.Fatalf("a %s frozen box is alive", ended)
				}
			}
		})
	}
}
