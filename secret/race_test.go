package secret_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/wine"
	"github.com/secretmem/secretmem/secret"
)

// TestSixtyFourGoroutinesCreateUseExpireAndDestroy runs every operation at
// once on private and shared cells. Under -race it proves the state machine
// has no data race; in any mode it proves a reader never sees bytes other
// than its cell's, and that ended cells fail with the right error.
func TestSixtyFourGoroutinesCreateUseExpireAndDestroy(t *testing.T) {
	shared := make([]secret.Value, 16)
	sharedWant := make([]string, len(shared))
	for i := range shared {
		sharedWant[i] = fmt.Sprintf("shared-cell-%02d-xxxxxxxxxxxxxxxx", i)
		opts := []secret.Option{}
		if i%4 == 0 {
			opts = append(opts, secret.Guarded())
		}
		shared[i] = mustNew(t, sharedWant[i], opts...)
	}
	iters := 300
	if testing.Short() {
		iters = 50
	}
	errc := make(chan error, 64)
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range iters {
				want := fmt.Sprintf("g%02d-i%04d-private-secret", g, i)
				var opts []secret.Option
				switch i % 5 {
				case 1:
					opts = append(opts, secret.Guarded())
				case 2:
					opts = append(opts, secret.Volatile())
				case 3:
					opts = append(opts, secret.TTL(time.Duration(i%3)*time.Millisecond+time.Microsecond))
				}
				v, err := secret.New([]byte(want), opts...)
				if err != nil {
					errc <- err
					return
				}
				err = v.Use(func(b []byte) error {
					if string(b) != want {
						return errors.New("a reader saw bytes of another cell")
					}
					return nil
				})
				if err != nil && !errors.Is(err, secret.ErrExpired) {
					errc <- err
					return
				}
				v.Destroy()
				k := (g + i) % len(shared)
				err = shared[k].Use(func(b []byte) error {
					if string(b) != sharedWant[k] {
						return errors.New("a shared reader saw other bytes")
					}
					return nil
				})
				if err != nil && !errors.Is(err, secret.ErrDestroyed) {
					errc <- err
					return
				}
				if g == 63 && i == iters/2 {
					// Destroy shared cells while the others read them.
					for j := 0; j < len(shared); j += 2 {
						shared[j].Destroy()
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

// A read that passes the deadline check just before the TTL timer wipes the
// cell must still say ErrExpired: the cell expired, nobody destroyed it.
// Each cell is read in a tight loop until the first error, so many reads
// straddle the moment the timer fires.
func TestAReadRacingTheTTLTimerSaysExpired(t *testing.T) {
	rounds := 1000
	if wine.Running() {
		// Wine advances the clock Go reads (KUSER_SHARED_DATA) from a
		// thread of its own, which 32 spinning readers starve: each
		// expiry waits ~50 ms there, 1000 rounds take a minute.
		rounds = 50
		t.Logf("Wine %s: %d rounds, not 1000: the readers starve Wine's clock", wine.Version(), rounds)
	}
	var wg sync.WaitGroup
	var wrong atomic.Int64
	var last atomic.Value
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				v, err := secret.New([]byte("a secret that expires very soon"),
					secret.TTL(time.Duration(i%20+1)*time.Microsecond))
				if err != nil {
					t.Error(err)
					return
				}
				for err == nil {
					err = v.Use(func([]byte) error { return nil })
				}
				if !errors.Is(err, secret.ErrExpired) {
					wrong.Add(1)
					last.Store(err.Error())
				}
				v.Destroy()
			}
		}()
	}
	wg.Wait()
	if n := wrong.Load(); n > 0 {
		t.Errorf("%d of %d expiring cells first failed with something else: %v", n, 32*rounds, last.Load())
	}
}
