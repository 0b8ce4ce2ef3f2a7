package secret

import (
	"github.com/secretmem/secretmem/internal/arena"
	"github.com/secretmem/secretmem/internal/memory"
)

// MemStats is a snapshot of this process's protected memory.
type MemStats struct {
	// Backend is the weakest protection any memory this process has mapped
	// for cells actually has, weakest first: "heap" (targets without memory
	// protection, or the secretmem_heap build tag), "unlocked" (memory
	// AllowUnlocked took after the system refused to lock more), "mlock"
	// (mlock or VirtualLock: also a region that fell back from memfd_secret),
	// "memfd_secret". It is computed from mapped memory, not from live
	// cells: memory kept for reuse after its cells ended counts until it
	// is released. Purge releases all of it; locked memory also goes when
	// the lock limit refuses a new mapping, unlocked memory only at Purge.
	// With nothing mapped it is the strongest backend the process can use.
	Backend string `json:"backend"`
	// Protected is false when the backend is "heap" or any unlocked memory
	// is mapped (UnlockedBytes > 0): memory AllowUnlocked took after the
	// system refused to lock more. Like Backend it counts that memory while
	// it is kept for reuse, so it stays false after the last such cell
	// ended, until Purge.
	Protected bool `json:"protected"`
	// Live counts cells not yet destroyed, expired or consumed (empty cells,
	// which hold no memory, are not counted).
	Live int `json:"live"`
	// Bytes is the secret bytes those cells hold.
	Bytes int `json:"bytes"`
	// Guarded counts live cells with pages of their own behind guard pages
	// (Guarded); always 0 on the heap backend, which has no guard pages.
	Guarded int `json:"guarded"`
	// Chunks counts mapped regions: shared chunks and guarded page runs,
	// including runs cached for reuse.
	Chunks int `json:"chunks"`
	// LockedBytes is mapped memory locked in RAM.
	LockedBytes int `json:"locked_bytes"`
	// UnlockedBytes is mapped memory that could not be locked.
	UnlockedBytes int `json:"unlocked_bytes"`
	// CanaryFailures counts overwritten canaries found since start. The
	// memory next to a damaged canary is never given to another cell.
	CanaryFailures int `json:"canary_failures"`
}

// Stats returns a snapshot of the process's protected memory.
func Stats() MemStats {
	s := arena.Snapshot()
	b := s.Weakest
	if b == "" {
		b = memory.Best()
	}
	return MemStats{
		Backend:        string(b),
		Protected:      b != memory.Heap && s.Unlocked == 0,
		Live:           s.Live,
		Bytes:          s.Bytes,
		Guarded:        s.Guarded,
		Chunks:         s.Chunks,
		LockedBytes:    s.Locked,
		UnlockedBytes:  s.Unlocked,
		CanaryFailures: s.CanaryFailures,
	}
}

// Purge destroys every live cell in the process, for shutdown. Values that
// still refer to purged cells report ErrDestroyed. It returns how many
// cells it ended.
func Purge() int { return arena.Purge() }
