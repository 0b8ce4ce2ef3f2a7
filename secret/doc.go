// Package secret keeps secrets in protected memory cells.
//
// A [Value] is a handle to a cell: bytes locked in RAM, kept out of core
// dumps and forked children, and on Linux with memfd_secret removed from
// the kernel's direct map so that not even root can read them through
// /proc/PID/mem. Every printing path (fmt with any verb, slog, JSON, text
// encoders, reflection-based printers) shows "[REDACTED]".
//
//	key, err := secret.New([]byte("sk-live-1234")) // copies, then wipes the input
//	if err != nil { ... }
//	defer key.Destroy()
//	err = key.Use(func(b []byte) error { return sign(b) })
//	fmt.Println(key)   // [REDACTED]
//	key.Masked(4)      // "********1234"
//
// # Placement
//
// By default a cell is pooled: a slot in a shared locked chunk, created and
// destroyed without a system call (about 170 ns). [Guarded] gives a cell a
// page run of its own, ending flush against an inaccessible guard page and
// itself inaccessible whenever no [Value.Use] is in flight; use it for
// long-lived, high-value secrets.
//
// # Lifetimes
//
// [Value.Destroy] wipes a cell at once, or as the last reader in flight
// leaves. [Volatile] cells burn after one read; [TTL] cells are wiped when
// their time is up. Reading an ended cell returns [ErrDestroyed],
// [ErrExpired] or [ErrConsumed], never a fault. A finalizer wipes cells
// whose Values became unreachable, as a safety net only: call Destroy.
//
// # Limits
//
// Locked memory is limited by RLIMIT_MEMLOCK. At the limit constructors
// return [ErrMemoryLock] and every earlier cell stays intact; with
// [AllowUnlocked] a cell may instead live in unlocked memory, which
// [Stats] reports. One 32-byte cell costs 40 bytes of locked memory, so
// the common 8 MiB limit holds about 200,000 of them.
//
// # Sealed cells
//
// With [Sealed] a cell holds ciphertext at rest. Each seal draws a fresh
// 128-bit salt and derives its keys from a 16 KiB random pre-key in a
// guarded run; everything is HMAC-SHA256:
//
//	master = SHA-256(pre-key)
//	kEnc   = HMAC-SHA256(master, "enc" || salt)
//	kMac   = HMAC-SHA256(master, "mac" || salt)
//	ct     = pt XOR HMAC-SHA256(kEnc, salt || uint64be(i)) for blocks i = 0, 1, ...
//	tag    = HMAC-SHA256(kMac, salt || ct)      (encrypt-then-MAC)
//
// That is HMAC as a key derivation function (HKDF-Expand, NIST SP 800-108)
// and as a PRF in counter mode. It is used instead of an AEAD from
// crypto/cipher because every AEAD in the standard library and x/crypto
// keeps key material on the Go heap (AES round keys, the ChaCha20 subkey,
// HMAC hash states), beyond the reach of any wipe; here keys live only in
// protected memory and on the stack. A tampered cell fails with
// [ErrCorrupted] before a byte is decrypted. Sealing runs in the calling
// goroutine: there is no re-keying goroutine.
//
// What this package cannot do: protect against code running inside the
// process, copies the caller makes ([Value.Reveal] and what a Use callback
// copies), and bytes other code held before they reached a cell (a
// request buffer, a string from a parser).
package secret
