package arena

import (
	"errors"
	"math"
	"testing"
)

// A slot's generation is 32 bits, and a busy slot (a per-request cell's,
// taken and freed on every request) goes through 2^32 of them in days.
// Were it then handed out again, its generation would start over, and a
// Ref held since the slot's first cell (a destroyed box someone still
// reads: a frozen box's read checks nothing but the generation) would
// open whatever cell the slot holds then. The slot is retired instead:
// here the last generation is set, as 2^32 - 1 reuses would leave it.
func TestASlotIsRetiredBeforeItsGenerationWrapsAround(t *testing.T) {
	for _, o := range []Options{{}, {Own: true}} {
		first := alloc(t, "first-occupant-of-the-slot-xxxxx", o)
		stale := Ref{b: first.b, idx: first.idx, gen: 0}
		first.Destroy()
		// 2^32 - 1 - first.gen cells later.
		first.b.states[first.idx].Store(uint64(math.MaxUint32)<<32 | deadBit)
		last := alloc(t, "last-occupant-of-the-slot-yyyyyy", o)
		if last.b != first.b || last.idx != first.idx || last.gen != math.MaxUint32 {
			t.Fatalf("%+v: the slot was not reused at its last generation: the test cannot see", o)
		}
		last.Destroy()
		next := alloc(t, "after-the-wrap-zzzzzzzzzzzzzzzzz", o)
		if next.b == first.b && next.idx == first.idx {
			t.Errorf("%+v: a slot went back to generation %d after its last one", o, next.gen)
		}
		if p, err := stale.Acquire(); !errors.Is(err, ErrGone) {
			if err == nil {
				stale.Release()
				_ = p
			}
			t.Errorf("%+v: a Ref from the slot's generation 0 opens the cell after the wrap: %v, want ErrGone", o, err)
		}
		next.Destroy()
	}
}
