package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/secretmem/secretmem/internal/arena"
)

// Sealed cells: the construction.
//
// A sealed cell holds [salt 16][tag 32][ciphertext n]. Every part is a
// standard construction built on one primitive, HMAC-SHA256 (RFC 2104):
//
//	master = SHA-256(pre-key)                 16 KiB: an attacker needs every bit
//	kEnc   = HMAC-SHA256(master, "enc" || salt)
//	kMac   = HMAC-SHA256(master, "mac" || salt)
//	block i of the key stream = HMAC-SHA256(kEnc, salt || uint64be(i))
//	ct     = pt XOR key stream                HMAC as a PRF in counter mode
//	tag    = HMAC-SHA256(kMac, salt || ct)    encrypt-then-MAC
//
// The key derivation is HMAC as a PRF keyed with the master secret, as in
// HKDF-Expand and NIST SP 800-108's KDF in counter mode; the labels have
// one length and the salt a fixed one, so the inputs cannot collide. The
// key stream is a PRF in counter mode (SP 800-108 again, used as a stream
// cipher). The salt is 128 random bits, fresh for every seal, so a
// (kEnc, counter) pair never repeats. The tag is checked in constant time
// before a single byte is decrypted.
//
// Why not crypto/cipher: every AEAD in the standard library and x/crypto
// keeps key material on the Go heap, in objects no wipe can reach that
// stay until their memory is reused: aes.NewCipher's round keys,
// chacha20poly1305's HChaCha20 subkey (a make([]byte, 32)), hmac.New's two
// hash states. Here
// all key material lives in protected memory or on the stack, because
// sha256.Sum256 keeps its state on the stack and hmacSHA256 below hashes
// from a caller's buffer instead of a hash.Hash. With
// GOEXPERIMENT=runtimesecret the derivations run inside runtime/secret.Do,
// which also erases the stack frames and registers they used. Without it,
// dead stack frames (and the old copy a stack leaves behind when it grows)
// may hold derived keys until overwritten: the same limit as every Use.
//
// Tests pin hmacSHA256 and the key stream to crypto/hmac and the whole
// cell to a known answer computed independently.
const (
	prekeySize   = 16 << 10
	saltSize     = 16
	tagSize      = sha256.Size
	sealOverhead = saltSize + tagSize

	hmacBlock = sha256.BlockSize
	// A work buffer is [HMAC headroom 64][salt 16][data n], so the MAC over
	// salt || data needs no copy.
	workOff = hmacBlock + saltSize
)

var prekey struct {
	mu  sync.Mutex
	v   Value
	gen uint64 // counts pre-keys made; a sealed cell records the one it used
}

// currentPrekey returns the process pre-key, creating it on first use and
// again after Purge destroyed it (together with every cell sealed by it).
func currentPrekey() (Value, uint64, error) {
	prekey.mu.Lock()
	defer prekey.mu.Unlock()
	if prekey.v.Alive() {
		return prekey.v, prekey.gen, nil
	}
	v, err := Random(prekeySize, Guarded(), Label("seal pre-key"))
	if err != nil {
		return Value{}, 0, err
	}
	prekey.v = v
	prekey.gen++
	return v, prekey.gen, nil
}

// wipe zeroes *p.
func wipe[T any](p *T) { wipeArray(unsafe.Pointer(p), int(unsafe.Sizeof(*p))) }

// hmacSHA256 computes HMAC-SHA256(key, buf[hmacBlock:]) into out. The
// first hmacBlock bytes of buf are headroom: the padded key is written
// there and wiped again, so the message is hashed where it lies, with no
// copy and no hash state on the heap. Callers pass a stack array for short
// messages and a protected scratch cell for long ones. This is the one
// HMAC of the package; tests compare it with crypto/hmac.
func hmacSHA256(key, buf []byte, out *[sha256.Size]byte) {
	var k [hmacBlock]byte
	if len(key) > hmacBlock {
		h := sha256.Sum256(key)
		copy(k[:], h[:])
		wipe(&h)
	} else {
		copy(k[:], key)
	}
	pad := buf[:hmacBlock]
	for i := range pad {
		pad[i] = k[i] ^ 0x36
	}
	inner := sha256.Sum256(buf)
	clear(pad)
	var outer [hmacBlock + sha256.Size]byte
	for i := range hmacBlock {
		outer[i] = k[i] ^ 0x5c
	}
	copy(outer[hmacBlock:], inner[:])
	*out = sha256.Sum256(outer[:])
	wipe(&outer)
	wipe(&inner)
	wipe(&k)
}

type sealKeys struct{ enc, mac [32]byte }

// deriveMaster hashes the pre-key into m and returns which pre-key it was.
func deriveMaster(m *[32]byte) (uint64, error) {
	pk, gen, err := currentPrekey()
	if err != nil {
		return 0, err
	}
	return gen, pk.Use(func(b []byte) error {
		h := sha256.Sum256(b)
		*m = h
		wipe(&h)
		return nil
	})
}

// deriveKeys derives a seal's encryption and MAC keys from the master key
// and the salt.
func deriveKeys(master *[32]byte, salt []byte, k *sealKeys) {
	var buf [hmacBlock + 3 + saltSize]byte
	copy(buf[hmacBlock+3:], salt)
	copy(buf[hmacBlock:], "enc")
	hmacSHA256(master[:], buf[:], &k.enc)
	copy(buf[hmacBlock:], "mac")
	hmacSHA256(master[:], buf[:], &k.mac)
	wipe(&buf)
}

// xorKeyStream XORs data with the key stream of kEnc and salt.
func xorKeyStream(data []byte, kEnc *[32]byte, salt []byte) {
	var in [hmacBlock + saltSize + 8]byte
	copy(in[hmacBlock:], salt)
	var ks [sha256.Size]byte
	for off, i := 0, uint64(0); off < len(data); off, i = off+len(ks), i+1 {
		binary.BigEndian.PutUint64(in[hmacBlock+saltSize:], i)
		hmacSHA256(kEnc[:], in[:], &ks)
		subtle.XORBytes(data[off:], data[off:], ks[:])
	}
	wipe(&ks)
	wipe(&in)
}

// sealWork encrypts w[workOff:] in place under the salt in
// w[hmacBlock:workOff] and computes the tag. It cannot fail.
func sealWork(master *[32]byte, w []byte, tag *[tagSize]byte) {
	erase(func() {
		var k sealKeys
		salt := w[hmacBlock:workOff]
		deriveKeys(master, salt, &k)
		xorKeyStream(w[workOff:], &k.enc, salt)
		hmacSHA256(k.mac[:], w, tag)
		wipe(&k)
	})
}

// openWork checks tag against w (laid out as sealWork leaves it) and
// decrypts w[workOff:] in place. A wrong tag leaves the ciphertext as it
// was and returns ErrCorrupted.
func openWork(master *[32]byte, w []byte, tag *[tagSize]byte) error {
	ok := false
	erase(func() {
		var k sealKeys
		var got [tagSize]byte
		salt := w[hmacBlock:workOff]
		deriveKeys(master, salt, &k)
		hmacSHA256(k.mac[:], w, &got)
		if ok = subtle.ConstantTimeCompare(got[:], tag[:]) == 1; ok {
			xorKeyStream(w[workOff:], &k.enc, salt)
		}
		wipe(&k)
	})
	if !ok {
		return errTag
	}
	return nil
}

// A work cell is a protected scratch cell laid out for sealing: plaintext
// exists only in one, for the length of a fill, Use or Update, and it is
// wiped when closed.
type work struct {
	ref arena.Ref
	b   []byte // [headroom][salt][data]
}

func newWork(n int) (work, error) {
	ref, _, err := arena.Alloc(workOff+n, arena.Options{}, func(dst []byte) (int, error) {
		return len(dst), nil
	})
	if err != nil {
		return work{}, err
	}
	p, err := ref.AcquireWrite()
	if err != nil {
		// Purged between the two calls, most likely.
		ref.Destroy()
		return work{}, arenaErr(err)
	}
	return work{ref: ref, b: unsafe.Slice((*byte)(p), workOff+n)}, nil
}

func (w work) data() []byte { return w.b[workOff:] }

func (w work) close() {
	w.ref.ReleaseWrite()
	w.ref.Destroy()
}

// sealHook, when set by a test, fails a seal after every other fallible
// step succeeded and before the cell is written.
var sealHook atomic.Pointer[func() error]

// reseal encrypts the first n data bytes of w under a fresh salt. It
// changes nothing but w, so a failure leaves every cell as it was.
func (w work) reseal(master *[32]byte, n int, tag *[tagSize]byte) error {
	if _, err := rand.Read(w.b[hmacBlock:workOff]); err != nil {
		return err
	}
	if f := sealHook.Load(); f != nil {
		if err := (*f)(); err != nil {
			return err
		}
	}
	sealWork(master, w.b[:workOff+n], tag)
	return nil
}

// store writes the sealed contents of w (n data bytes) into a cell.
func (w work) store(cell []byte, n int, tag *[tagSize]byte) {
	copy(cell[:saltSize], w.b[hmacBlock:workOff])
	copy(cell[saltSize:sealOverhead], tag[:])
	copy(cell[sealOverhead:], w.b[workOff:workOff+n])
}

// allocSealed creates a sealed cell for n bytes of plaintext written by
// fill. The plaintext is written and sealed in a work cell; the cell is
// allocated and written only after everything that can fail succeeded,
// and the work cell is wiped on every path.
// gen is the pre-key the cell was sealed under.
func allocSealed(n int, ao arena.Options, trim bool, fill func([]byte) (int, error), gen *uint64) (arena.Ref, int, error) {
	w, err := newWork(n)
	if err != nil {
		return arena.Ref{}, 0, err
	}
	defer w.close()
	used, err := fill(w.data())
	if err != nil {
		return arena.Ref{}, 0, err
	}
	if trim {
		used = trimNewline(w.data(), used)
	}
	var master [32]byte
	defer wipe(&master)
	g, err := deriveMaster(&master)
	if err != nil {
		return arena.Ref{}, 0, err
	}
	*gen = g
	var tag [tagSize]byte
	if err := w.reseal(&master, used, &tag); err != nil {
		return arena.Ref{}, 0, err
	}
	ref, _, err := arena.Alloc(sealOverhead+used, ao, func(cell []byte) (int, error) {
		w.store(cell, used, &tag)
		return len(cell), nil
	})
	if err != nil {
		return arena.Ref{}, 0, err
	}
	return ref, used, nil
}

// openCell copies a sealed cell into a new work cell and decrypts it there.
func openCell(cell []byte, master *[32]byte) (work, error) {
	n := len(cell) - sealOverhead
	w, err := newWork(n)
	if err != nil {
		return work{}, err
	}
	var tag [tagSize]byte
	copy(w.b[hmacBlock:], cell[:saltSize])
	copy(tag[:], cell[saltSize:sealOverhead])
	copy(w.data(), cell[sealOverhead:])
	if err := openWork(master, w.b, &tag); err != nil {
		w.close()
		return work{}, err
	}
	return w, nil
}

// useSealed decrypts the cell into a work cell, calls fn with it, and
// wipes the work cell.
func (h *handle) useSealed(consume bool, fn func([]byte) error) error {
	p, err := h.acquire(consume)
	if err != nil {
		return err
	}
	if h.n == 0 {
		h.release(consume)
		return run(fn, nil)
	}
	if !prekeyLive(h.prekeyGen) {
		h.release(consume)
		return h.endStale()
	}
	var master [32]byte
	defer wipe(&master)
	gen, err := deriveMaster(&master)
	stale := err == nil && gen != h.prekeyGen // Purge ran since the check
	var w work
	if err == nil && !stale {
		w, err = openCell(unsafe.Slice((*byte)(p), h.n+sealOverhead), &master)
	}
	h.release(consume)
	if stale {
		return h.endStale()
	}
	if err != nil {
		return err
	}
	defer w.close()
	return run(fn, w.data())
}

// prekeyLive reports whether the pre-key a cell was sealed under is still
// the process's. Checked before deriving anything, so a stale cell never
// makes a new pre-key (which may not even fit under the lock limit) only
// to find it cannot be opened with it.
func prekeyLive(gen uint64) bool {
	prekey.mu.Lock()
	defer prekey.mu.Unlock()
	return gen == prekey.gen && prekey.v.Alive()
}

// endStale ends a cell sealed under a pre-key Purge has since destroyed:
// Purge ends every sealed cell with its pre-key, but a cell still being
// sealed while Purge ran survives it. Such a cell can never be opened
// again, so it reads as destroyed (and is), not as corrupted. Callers end
// it after giving up their own access, as every other end of a cell does.
func (h *handle) endStale() error {
	h.end(endedDestroyed)
	return ErrDestroyed
}

// wipeArray zeroes n bytes at p. It is not inlined, so the compiler cannot
// drop the stores as dead even when p is a stack variable nobody reads
// again.
//
//go:noinline
func wipeArray(p unsafe.Pointer, n int) {
	clear(unsafe.Slice((*byte)(p), n))
}

// updateSealed decrypts into a work cell, lets fn change the plaintext,
// and seals the result back under a fresh salt. Every step that can fail
// happens before the cell is written, so a failure leaves the old sealed
// contents intact; the plaintext is only ever in the work cell, which is
// wiped on every path.
func (h *handle) updateSealed(fn func([]byte) error) error {
	p, err := h.acquireWrite()
	if err != nil {
		return err
	}
	stale := false
	defer func() {
		if stale { // runs after releaseWrite below
			h.endStale()
		}
	}()
	defer h.releaseWrite()
	if stale = !prekeyLive(h.prekeyGen); stale {
		return ErrDestroyed
	}
	cell := unsafe.Slice((*byte)(p), h.n+sealOverhead)
	var master [32]byte
	defer wipe(&master)
	gen, err := deriveMaster(&master)
	if err != nil {
		return err
	}
	if stale = gen != h.prekeyGen; stale { // Purge ran since the check
		return ErrDestroyed
	}
	w, err := openCell(cell, &master)
	if err != nil {
		return err
	}
	defer w.close()
	ferr := run(fn, w.data())
	var tag [tagSize]byte
	if err := w.reseal(&master, h.n, &tag); err != nil {
		return err
	}
	w.store(cell, h.n, &tag)
	return ferr
}
