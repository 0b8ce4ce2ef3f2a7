package secret

import (
	"github.com/secretmem/secretmem/internal/arena"
	"github.com/secretmem/secretmem/internal/memory"
)

// MemStats is a snapshot of this process's protected memory.
type MemStats struct {
	// Backend is the strongest memory this process can lock:
	// "memfd_secret", "mlock" (mlock or VirtualLock), or "heap" on targets
	// without memory protection.
	Backend string `json:"backend"`
	// Protected is false when any cell lives in unlocked memory
	// (AllowUnlocked after a refusal) or the backend is "heap".
	Protected bool `json:"protected"`
	// Live counts cells not yet destroyed, expired or consumed (empty cells,
	// which hold no memory, are not counted).
	Live int `json:"live"`
	// Bytes is the secret bytes those cells hold.
	Bytes int `json:"bytes"`
	// Guarded counts live cells with pages of their own.
	Guarded int `json:"guarded"`
	// Chunks counts mapped regions: shared chunks and guarded page runs,
	// including runs cached for reuse.
	Chunks int `json:"chunks"`
	// LockedBytes is mapped memory locked in RAM.
	LockedBytes int `json:"locked_bytes"`
	// UnlockedBytes is mapped memory that could not be locked.
	UnlockedBytes int `json:"unlocked_bytes"`
	// CanaryFailures counts overwritten canaries found since start.
	CanaryFailures int `json:"canary_failures"`
}

// Stats returns a snapshot of the process's protected memory.
func Stats() MemStats {
	s := arena.Snapshot()
	b := memory.Best()
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
