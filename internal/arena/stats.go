package arena

import (
	"sync/atomic"

	"github.com/secretmem/secretmem/internal/memory"
)

type counters struct {
	live           atomic.Int64
	bytes          atomic.Int64
	guarded        atomic.Int64
	chunks         atomic.Int64
	canaryFailures atomic.Int64
	// Mapped bytes per backend: Weakest, and Locked and Unlocked are their
	// sums (memory.Region.Locked draws the same line).
	memfdSecret, mlock, unlockedAnon, heap atomic.Int64
}

var stats counters

// mapped counts a region coming (delta 1) or going (delta -1).
func (c *counters) mapped(mem *memory.Region, delta int64) {
	c.chunks.Add(delta)
	n := delta * int64(mem.Size())
	switch mem.Backend() {
	case memory.MemfdSecret:
		c.memfdSecret.Add(n)
	case memory.Mlock:
		c.mlock.Add(n)
	case memory.Unlocked:
		c.unlockedAnon.Add(n)
	default:
		c.heap.Add(n)
	}
}

// weakest names the weakest backend any mapped region uses, or "" when
// nothing is mapped.
func (c *counters) weakest() memory.Backend {
	switch {
	case c.heap.Load() > 0:
		return memory.Heap
	case c.unlockedAnon.Load() > 0:
		return memory.Unlocked
	case c.mlock.Load() > 0:
		return memory.Mlock
	case c.memfdSecret.Load() > 0:
		return memory.MemfdSecret
	}
	return ""
}

// Stats is a snapshot of the arena.
type Stats struct {
	Live           int // live cells
	Bytes          int // bytes held by live cells
	Guarded        int // live guarded cells
	Chunks         int // mapped blocks (chunks and guarded runs, cached ones included)
	Locked         int // bytes of mapped memory locked in RAM
	Unlocked       int // bytes of mapped memory that could not be locked
	CanaryFailures int // canaries found overwritten
	// Weakest is the weakest kind of memory any mapped block lives in
	// (heap, then unlocked, mlock, memfd_secret), or "" when none is
	// mapped.
	Weakest memory.Backend
}

// Snapshot reads the counters.
func Snapshot() Stats {
	return Stats{
		Live:           int(stats.live.Load()),
		Bytes:          int(stats.bytes.Load()),
		Guarded:        int(stats.guarded.Load()),
		Chunks:         int(stats.chunks.Load()),
		Locked:         int(stats.memfdSecret.Load() + stats.mlock.Load()),
		Unlocked:       int(stats.unlockedAnon.Load() + stats.heap.Load()),
		CanaryFailures: int(stats.canaryFailures.Load()),
		Weakest:        stats.weakest(),
	}
}
