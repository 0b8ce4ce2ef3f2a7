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
// With [Sealed] a cell holds ciphertext at rest, the way OpenSSH shields
// private keys:
//
//	key        = SHA-256(pre-key)          a 16 KiB random pre-key in a guarded run
//	nonce      = 24 random bytes, fresh for every seal
//	ad         = cell id || seal count     kept in the Value, not beside the ciphertext
//	ct, tag    = XChaCha20-Poly1305(key, nonce, ad, plaintext)
//
// Each read hashes the whole pre-key again, so an attacker who reads
// memory only in part (Spectre, Rowhammer, cold boot) must recover every
// bit of it; the plaintext exists only in a scratch cell for the length
// of the callback. The key, the cipher's state and the pre-key's hash
// state exist only while a seal or open runs, in protected memory and on
// a stack that is zeroed, with the registers, before the call returns
// (by runtime/secret with GOEXPERIMENT=runtimesecret on linux/amd64 and
// linux/arm64). Without runtime/secret three gaps remain: registers are
// zeroed on amd64 and arm64 only; a garbage collection that shrinks the
// goroutine's stack while a seal runs leaves a copy of its frames in the
// old stack; and a signal (the runtime's preemption signal, most often)
// that arrives while a seal runs saves the registers on the thread's
// signal stack, where they stay until the next signal on that thread. A
// sealed read or write starts no goroutine.
//
// The tag binds the ciphertext to its cell and to its number of
// Box.Updates. Any change to a sealed cell's bytes makes reads fail with
// [ErrCorrupted] before a byte is decrypted: a flipped bit, another
// sealed cell's bytes copied over it (also a Value's into a Box of the
// same size), or its own older bytes written back after an Update. A
// read that succeeds returns the bytes last written to that cell, short
// of a forged 128-bit Poly1305 tag. This covers writes to protected
// memory only: the cell id and count live in the Value's handle on the
// Go heap, and code that can rewrite the Go heap is code running inside
// the process.
//
// A pre-key serves 32 cells and is destroyed with the last of them, so
// none lives for the whole process and retiring one loses no cell. One
// pre-key costs about 42 µs (most of it reading 16 KiB from crypto/rand)
// and 16 KiB of locked memory; one per cell, as OpenSSH makes one per
// key, would cost a cell 20 KiB of locked memory, and three sealed cells
// would fill the 64 KiB RLIMIT_MEMLOCK many systems give unprivileged
// processes. Shared by 32, it adds about 1.3 µs and 512 bytes to a
// sealed cell.
//
// Why XChaCha20-Poly1305, measured on this repository's machine (2 vCPU,
// go1.26; fastest of 6 runs while other work ran): the cipher alone
// costs 0.46 µs for 32 bytes and 2.5 µs for 1 KiB, where the HMAC-SHA256
// counter mode this package used before costs 1.9 and 9.0 µs, both with
// their state in protected memory and on the erased stack. Hashing the
// pre-key dominates a read: sealed Use costs about 16.5 µs for 32 bytes
// (before: 16.7) and 18.6 µs for 1 KiB (before: 28.1), against 73 to 78
// µs for memguard's Enclave.Open and Destroy. It is a standard AEAD with
// a published test vector and 192-bit nonces that are safe to draw at
// random. It is built from golang.org/x/crypto's chacha20 and poly1305
// packages rather than its AEAD, whose constructor copies the key into a
// heap object no wipe reaches. Box.Update hashes the pre-key twice (about
// 33 µs), once to open and once to seal, so that no key exists while the
// callback runs.
//
// What this package cannot do: protect against code running inside the
// process, copies the caller makes ([Value.Reveal] and what a Use callback
// copies), and bytes other code held before they reached a cell (a
// request buffer, a string from a parser).
package secret
