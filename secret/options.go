package secret

import (
	"fmt"
	"time"
)

// Option configures a cell at creation. Options are plain values (not
// closures), so passing them costs no allocation.
type Option struct {
	kind  optionKind
	ttl   time.Duration
	label string
}

type optionKind uint8

const (
	optNone optionKind = iota
	optVolatile
	optTTL
	optGuarded
	optLabel
	optAllowUnlocked
	optTrimNewline
	optSealed
	optScoped
	optUnregistered
)

type options struct {
	volatile      bool
	guarded       bool
	allowUnlocked bool
	trimNewline   bool
	sealed        bool
	own           bool // internal: an own run that stays writable (Vec)
	scoped        bool
	unregistered  bool // internal: never entered in the live-secret registry
	ttl           time.Duration
	label         string
}

// Volatile makes the cell burn after one read: the first successful Use or
// Reveal consumes it and wipes it; later reads fail with ErrConsumed.
// Equal, EqualValue and Masked do not consume it. Volatile cells are meant
// for per-request tokens and skip the logging package's live-secret
// registration, which would cost every request.
func Volatile() Option { return Option{kind: optVolatile} }

// TTL wipes the cell when d has passed; reads after that fail with
// ErrExpired. A timer does the wiping, and every read checks the clock too,
// so a late timer never lets an expired cell be read. d must be positive.
func TTL(d time.Duration) Option { return Option{kind: optTTL, ttl: d} }

// Guarded places the cell in a page run of its own with inaccessible guard
// pages on both sides; the pages are inaccessible whenever no Use is in
// flight. For long-lived, high-value secrets: it costs a few system calls
// per read where a pooled cell costs none. On the heap backend (targets
// without virtual memory control) there are no guard pages: the cell gets
// memory of its own and nothing more, and Stats does not count it guarded.
func Guarded() Option { return Option{kind: optGuarded} }

// Label names the cell in redacted output ("[REDACTED db.password]"), to
// help debugging. The label itself must not be secret.
func Label(name string) Option { return Option{kind: optLabel, label: name} }

// AllowUnlocked lets the cell live in memory that is not locked in RAM when
// the system refuses to lock more (see ErrMemoryLock). Such memory can be
// swapped out; Stats reports it, so the degradation is visible. Without
// this option the constructor returns ErrMemoryLock instead.
func AllowUnlocked() Option { return Option{kind: optAllowUnlocked} }

// TrimNewline removes one trailing "\n" or "\r\n" inside the cell, for
// secrets read from files and readers (Read, ReadFile). Editors and `echo`
// add one; the plaintext never leaves protected memory to be trimmed.
func TrimNewline() Option { return Option{kind: optTrimNewline} }

func collect(opts []Option) (options, error) {
	var o options
	for _, opt := range opts {
		switch opt.kind {
		case optVolatile:
			o.volatile = true
		case optTTL:
			if opt.ttl <= 0 {
				return o, fmt.Errorf("%w: TTL must be positive, got %v", ErrOption, opt.ttl)
			}
			o.ttl = opt.ttl
		case optGuarded:
			o.guarded = true
		case optLabel:
			o.label = opt.label
		case optAllowUnlocked:
			o.allowUnlocked = true
		case optTrimNewline:
			o.trimNewline = true
		case optSealed:
			o.sealed = true
		case optScoped:
			o.scoped = true
		case optUnregistered:
			o.unregistered = true
		}
	}
	return o, nil
}

// Sealed keeps the cell encrypted at rest, the way OpenSSH shields private
// keys: the bytes in memory are XChaCha20-Poly1305 ciphertext, and the key
// is hashed at each read from a 16 KiB random pre-key held in a guarded
// region, so an attacker who reads memory partially (Spectre, Rowhammer,
// cold boot) must recover every bit of the pre-key. Plaintext exists only
// in a scratch cell for the duration of Use, then is wiped; the key exists
// only while a read or write decrypts or encrypts, and is erased from the
// stack and registers before it returns.
//
// A read of a sealed cell whose bytes changed fails with ErrCorrupted and
// decrypts nothing: a flipped bit, another sealed cell's bytes copied over
// it, or its own bytes from before the last Box.Update written back. So a
// read that succeeds returns the bytes last written to the cell (short of
// a forged 128-bit Poly1305 tag). A read costs about 17 µs for 32 bytes
// and 19 µs for 1 KiB, a sealed New about 19 µs, Box.Update about 33 µs;
// the package documentation has the numbers and the reasons. Sealed cells,
// like Volatile ones, are not registered for the logging package's
// live-secret recognition: their plaintext is not in memory to fingerprint
// at rest.
func Sealed() Option { return Option{kind: optSealed} }

// Scoped declares that the caller destroys the cell on every path, the way
// a request scope's deferred cleanup does, so the finalizer that wipes
// forgotten cells is not armed. That saves about a quarter of a pooled
// cell's create-and-destroy cost on a request path. A Scoped cell that is
// never destroyed stays in protected memory until Purge.
func Scoped() Option { return Option{kind: optScoped} }
