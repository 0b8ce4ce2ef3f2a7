package secret_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/secretmem/secretmem/secret"
)

// noHang runs f and fails the test if it has not returned after 30 s: a
// deadlock detector, not a timing assertion.
func noHang(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the calls deadlocked")
	}
}

var boxKinds = []struct {
	name string
	opts []secret.Option
}{
	{"pooled", nil},
	{"guarded", []secret.Option{secret.Guarded()}},
	{"sealed", []secret.Option{secret.Sealed()}},
}

type pair struct{ A, B uint64 }

func newPair(t *testing.T, opts []secret.Option) secret.Box[pair] {
	t.Helper()
	b, err := secret.NewBox(pair{1, 2}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Destroy)
	return b
}

// call runs Use or Update of b with fn.
func call(b secret.Box[pair], op string, fn func(*pair) error) error {
	if op == "Use" {
		return b.Use(fn)
	}
	return b.Update(fn)
}

// nest calls inner inside outer's callback, both on b, and returns both
// errors. The inner callback checks the value and changes nothing.
func nest(b secret.Box[pair], outer, inner string) error {
	var innerErr error
	err := call(b, outer, func(*pair) error {
		innerErr = call(b, inner, func(p *pair) error {
			if p.A != 1 {
				return errors.New("wrong value")
			}
			return nil
		})
		return nil
	})
	return errors.Join(err, innerErr)
}

// TestReentrantCallsNeverDeadlock pins the Box.Update-inside-Use deadlock
// and its relatives: every call made inside a callback of the same box
// returns at once, with ErrBusy where it conflicts.
func TestReentrantCallsNeverDeadlock(t *testing.T) {
	for _, k := range boxKinds {
		t.Run(k.name, func(t *testing.T) {
			for _, c := range []struct {
				name         string
				outer, inner string
				want         error // from the inner call
			}{
				{"Update inside Use returns ErrBusy", "Use", "Update", secret.ErrBusy},
				{"Update inside Update returns ErrBusy", "Update", "Update", secret.ErrBusy},
				{"Use inside Update returns ErrBusy", "Update", "Use", secret.ErrBusy},
				{"Use inside Use reads", "Use", "Use", nil},
			} {
				t.Run(c.name, func(t *testing.T) {
					b := newPair(t, k.opts)
					var err error
					noHang(t, func() { err = nest(b, c.outer, c.inner) })
					if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
						t.Fatalf("got %v, want %v", err, c.want)
					}
					// The box is intact and usable afterwards.
					noHang(t, func() {
						err = b.Use(func(p *pair) error {
							if *p != (pair{1, 2}) {
								return errors.New("the value changed")
							}
							return nil
						})
					})
					if err != nil {
						t.Fatal(err)
					}
					noHang(t, func() { err = b.Update(func(p *pair) error { p.B = 3; return nil }) })
					if err != nil {
						t.Fatalf("Update after the nested calls: %v", err)
					}
				})
			}
			t.Run("Destroy inside Use and inside Update", func(t *testing.T) {
				for _, outer := range []string{"Use", "Update"} {
					b := newPair(t, k.opts)
					var err error
					noHang(t, func() { err = call(b, outer, func(*pair) error { b.Destroy(); return nil }) })
					if err != nil {
						t.Errorf("%s: %v", outer, err)
					}
					if b.Alive() {
						t.Errorf("Destroy inside %s left the box alive", outer)
					}
					if err := b.Use(func(*pair) error { return nil }); !errors.Is(err, secret.ErrDestroyed) {
						t.Errorf("after Destroy inside %s, Use says %v", outer, err)
					}
				}
			})
		})
	}
}

// TestNestedUseWithAWaitingWriterDoesNotDeadlock: with sync.RWMutex a
// nested read queues behind a writer that waits for the outer read.
func TestNestedUseWithAWaitingWriterDoesNotDeadlock(t *testing.T) {
	b := newPair(t, nil)
	writerWaiting := make(chan struct{})
	var wg sync.WaitGroup
	var inner, update error
	noHang(t, func() {
		_ = b.Use(func(*pair) error {
			wg.Add(1)
			go func() {
				defer wg.Done()
				close(writerWaiting)
				update = b.Update(func(p *pair) error { p.A++; return nil })
			}()
			<-writerWaiting
			time.Sleep(20 * time.Millisecond) // let the writer queue up; the result does not depend on it
			inner = b.Use(func(*pair) error { return nil })
			return nil
		})
		wg.Wait()
	})
	if inner != nil || update != nil {
		t.Fatalf("nested Use: %v; Update from another goroutine: %v", inner, update)
	}
	if err := b.Use(func(p *pair) error {
		if p.A != 2 {
			return errors.New("the waiting Update did not apply")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestCrossedNestedUsesDoNotDeadlock nests Use of two boxes in opposite
// orders on two goroutines while two others update them: sync.RWMutex's
// writer preference deadlocks this; here a nested call that would wait
// returns ErrBusy instead.
func TestCrossedNestedUsesDoNotDeadlock(t *testing.T) {
	a, b := newPair(t, nil), newPair(t, nil)
	var busy, ok sync.Map
	noHang(t, func() {
		var wg sync.WaitGroup
		nest := func(x, y secret.Box[pair], name string) {
			defer wg.Done()
			for range 2000 {
				err := x.Use(func(*pair) error {
					return y.Use(func(*pair) error { return nil })
				})
				switch {
				case errors.Is(err, secret.ErrBusy):
					busy.Store(name, true)
				case err != nil:
					t.Errorf("%s: %v", name, err)
					return
				default:
					ok.Store(name, true)
				}
			}
		}
		update := func(x secret.Box[pair]) {
			defer wg.Done()
			for range 2000 {
				if err := x.Update(func(p *pair) error { p.A++; return nil }); err != nil {
					t.Errorf("Update from outside any callback: %v", err)
					return
				}
			}
		}
		wg.Add(4)
		go nest(a, b, "a then b")
		go nest(b, a, "b then a")
		go update(a)
		go update(b)
		wg.Wait()
	})
	// Under load the updaters can win every race, so whether the crossed
	// uses above ever got through is the scheduler's business; with the
	// updaters gone, both orders must.
	for _, c := range []struct {
		x, y secret.Box[pair]
		name string
	}{{a, b, "a then b"}, {b, a, "b then a"}} {
		if _, done := ok.Load(c.name); done {
			continue
		}
		if err := c.x.Use(func(*pair) error { return c.y.Use(func(*pair) error { return nil }) }); err != nil {
			t.Errorf("%s, with no update in flight: %v", c.name, err)
		}
	}
}

// TestUpdateFromAnotherGoroutineWaitsForReaders: outside callbacks the
// box is still a readers-writer lock.
func TestUpdateFromAnotherGoroutineWaitsForReaders(t *testing.T) {
	b := newPair(t, nil)
	var sawTorn bool
	noHang(t, func() {
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = b.Use(func(p *pair) error {
					if p.A+1 != p.B {
						sawTorn = true
					}
					return nil
				})
			}
		}()
		for range 5000 {
			if err := b.Update(func(p *pair) error { p.A++; p.B = p.A + 1; return nil }); err != nil {
				t.Error(err)
				break
			}
		}
		close(stop)
		wg.Wait()
	})
	if sawTorn {
		t.Fatal("a reader saw a half-done Update")
	}
}

// TestVecChangesInsideUseAreRefused: Push inside Use used to move the
// elements out from under the callback and release the wrong region.
func TestVecChangesInsideUseAreRefused(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(v secret.Vec[byte]) error
	}{
		{"Push", func(v secret.Vec[byte]) error { return v.Push('x') }},
		{"Append that grows", func(v secret.Vec[byte]) error { return v.Append(make([]byte, 4096)) }},
		{"Truncate", func(v secret.Vec[byte]) error { return v.Truncate(1) }},
		{"Freeze", func(v secret.Vec[byte]) error { _, err := v.Freeze(); return err }},
	} {
		t.Run(c.name+" inside Use returns ErrBusy", func(t *testing.T) {
			v, err := secret.NewVec[byte](4)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Destroy()
			if err := v.Append([]byte("abc")); err != nil {
				t.Fatal(err)
			}
			var inner error
			noHang(t, func() {
				err = v.Use(func(b []byte) error {
					inner = c.change(v)
					if string(b) != "abc" {
						return errors.New("the elements changed under the callback")
					}
					return nil
				})
			})
			if err != nil || !errors.Is(inner, secret.ErrBusy) {
				t.Fatalf("Use: %v; %s inside it: %v, want ErrBusy", err, c.name, inner)
			}
			if err := c.change(v); err != nil {
				t.Fatalf("%s after Use: %v", c.name, err)
			}
		})
	}
	t.Run("Destroy inside Use wipes it afterwards", func(t *testing.T) {
		v, err := secret.NewVec[byte](4)
		if err != nil {
			t.Fatal(err)
		}
		_ = v.Push(1)
		noHang(t, func() { err = v.Use(func([]byte) error { v.Destroy(); return nil }) })
		if err != nil || v.Len() != 0 {
			t.Fatalf("Use: %v, Len afterwards %d", err, v.Len())
		}
	})
}

func TestValueDestroyInsideUse(t *testing.T) {
	for _, k := range boxKinds {
		t.Run(k.name, func(t *testing.T) {
			v, err := secret.New([]byte("0123456789abcdef"), k.opts...)
			if err != nil {
				t.Fatal(err)
			}
			var inner error
			noHang(t, func() {
				err = v.Use(func(b []byte) error {
					v.Destroy()
					inner = v.Use(func([]byte) error { return nil })
					if string(b) != "0123456789abcdef" {
						return errors.New("the bytes were wiped under the callback")
					}
					return nil
				})
			})
			if err != nil || !errors.Is(inner, secret.ErrDestroyed) || v.Alive() {
				t.Fatalf("Use: %v; Use after Destroy inside it: %v; alive %v", err, inner, v.Alive())
			}
		})
	}
}

// BenchmarkBoxUse and BenchmarkBoxUpdate are the uncontended paths the
// reentrancy-safe lock must keep as cheap as sync.RWMutex's.
func BenchmarkBoxUse(b *testing.B) {
	x, err := secret.NewBox(pair{1, 2})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Destroy()
	b.ReportAllocs()
	for b.Loop() {
		_ = x.Use(func(p *pair) error { return nil })
	}
}

func BenchmarkBoxUpdate(b *testing.B) {
	x, err := secret.NewBox(pair{1, 2})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Destroy()
	b.ReportAllocs()
	for b.Loop() {
		_ = x.Update(func(p *pair) error { p.A++; return nil })
	}
}
