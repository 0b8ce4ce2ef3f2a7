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
	locked         atomic.Int64
	unlocked       atomic.Int64
	canaryFailures atomic.Int64
}

var stats counters

// mapped counts a region coming (delta 1) or going (delta -1).
func (c *counters) mapped(mem *memory.Region, delta int64) {
	c.chunks.Add(delta)
	if mem.Locked() {
		c.locked.Add(delta * int64(mem.Size()))
	} else {
		c.unlocked.Add(delta * int64(mem.Size()))
	}
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
}

// Snapshot reads the counters.
func Snapshot() Stats {
	return Stats{
		Live:           int(stats.live.Load()),
		Bytes:          int(stats.bytes.Load()),
		Guarded:        int(stats.guarded.Load()),
		Chunks:         int(stats.chunks.Load()),
		Locked:         int(stats.locked.Load()),
		Unlocked:       int(stats.unlocked.Load()),
		CanaryFailures: int(stats.canaryFailures.Load()),
	}
}
