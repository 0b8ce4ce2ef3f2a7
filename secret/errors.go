package secret

import (
	"errors"
	"fmt"

	"github.com/secretmem/secretmem/internal/memory"
)

// Errors returned by cells. Test them with errors.Is; their messages never
// contain secret bytes.
var (
	// ErrDestroyed: the cell was destroyed (or purged, or is the zero Value).
	ErrDestroyed = errors.New("secret: cell destroyed")
	// ErrExpired: the cell's TTL ran out and it was wiped.
	ErrExpired = errors.New("secret: cell expired (its TTL has passed)")
	// ErrConsumed: the cell is volatile and was already read once.
	ErrConsumed = errors.New("secret: volatile cell already read once")
	// ErrMemoryLock: the system refused to lock more memory. Raise
	// RLIMIT_MEMLOCK (`ulimit -l`, systemd LimitMEMLOCK=, docker --ulimit
	// memlock), grant CAP_IPC_LOCK, or opt into AllowUnlocked. Earlier cells
	// are untouched.
	ErrMemoryLock = memory.ErrLockLimit
	// ErrCorrupted: the cell's memory was changed behind its back. Either a
	// canary beside it was overwritten (something wrote outside its
	// bounds), or a sealed cell's ciphertext failed its authentication tag.
	// The cell refuses to be read; the error wrapping it says which.
	ErrCorrupted = errors.New("secret: cell corrupted")
	// ErrSize: a negative size, or one above MaxSize.
	ErrSize = errors.New("secret: invalid size")
	// ErrOption: an option with a value that cannot work (a TTL of zero).
	ErrOption = errors.New("secret: invalid option")
)

// MaxSize is the largest cell this package creates (64 MiB). Secrets are
// keys, passwords, tokens and certificates; anything larger is a mistake or
// hostile input.
const MaxSize = 64 << 20

// The two ways a cell is corrupted, each an ErrCorrupted for errors.Is.
var (
	errCanary = fmt.Errorf("%w: a canary next to it was overwritten", ErrCorrupted)
	errTag    = fmt.Errorf("%w: the sealed ciphertext failed its authentication tag", ErrCorrupted)
)
