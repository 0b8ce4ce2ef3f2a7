package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"sync"
	"unsafe"

	"github.com/secretmem/secretmem/internal/arena"
)

// A sealed cell holds [salt 16][tag 32][ciphertext n]. Its keys are derived
// at every seal and open from the process pre-key:
//
//	master = SHA-256(pre-key)                 (16 KiB: every bit counts)
//	kEnc   = SHA-256(master || salt || 0x01)
//	kMac   = SHA-256(master || salt || 0x02)
//	ct     = pt XOR SHA-256(kEnc || counter) blocks
//	tag    = HMAC-SHA256(kMac, salt || ct)
//
// Everything is built on sha256.Sum256, whose state lives on the stack, and
// on buffers in protected memory: unlike crypto/aes or hmac.New, no key
// schedule or hash state is left on the Go heap where a wipe cannot reach.
// The salt is fresh for every seal, so a key stream is never reused.
const (
	prekeySize   = 16 << 10
	saltSize     = 16
	tagSize      = sha256.Size
	sealOverhead = saltSize + tagSize
)

var prekey struct {
	mu sync.Mutex
	v  Value
}

// currentPrekey returns the process pre-key, creating it on first use and
// again after Purge destroyed it (together with every cell sealed by it).
func currentPrekey() (Value, error) {
	prekey.mu.Lock()
	defer prekey.mu.Unlock()
	if prekey.v.Alive() {
		return prekey.v, nil
	}
	v, err := Random(prekeySize, Guarded(), Label("seal pre-key"))
	if err != nil {
		return Value{}, err
	}
	prekey.v = v
	return v, nil
}

type sealKeys struct{ enc, mac [32]byte }

func deriveKeys(salt []byte, k *sealKeys) error {
	pk, err := currentPrekey()
	if err != nil {
		return err
	}
	var buf [32 + saltSize + 1]byte
	err = pk.Use(func(b []byte) error {
		m := sha256.Sum256(b)
		copy(buf[:32], m[:])
		wipeArray(unsafe.Pointer(&m), len(m))
		return nil
	})
	if err != nil {
		return err
	}
	copy(buf[32:], salt)
	buf[len(buf)-1] = 1
	k.enc = sha256.Sum256(buf[:])
	buf[len(buf)-1] = 2
	k.mac = sha256.Sum256(buf[:])
	wipeArray(unsafe.Pointer(&buf), len(buf))
	return nil
}

// xorKeyStream XORs data with the key stream of kEnc.
func xorKeyStream(data []byte, kEnc *[32]byte) {
	var in [32 + 8]byte
	copy(in[:32], kEnc[:])
	for off, ctr := 0, uint64(0); off < len(data); off, ctr = off+sha256.Size, ctr+1 {
		binary.LittleEndian.PutUint64(in[32:], ctr)
		ks := sha256.Sum256(in[:])
		subtle.XORBytes(data[off:], data[off:], ks[:])
		wipeArray(unsafe.Pointer(&ks), len(ks))
	}
	wipeArray(unsafe.Pointer(&in), len(in))
}

// mac computes HMAC-SHA256(kMac, salt || ct) into tag, hashing from a
// protected scratch cell rather than a heap hash state.
func mac(kMac *[32]byte, salt, ct []byte, tag *[32]byte) error {
	const block = 64
	ref, _, err := arena.Alloc(block+len(salt)+len(ct), arena.Options{}, func(s []byte) (int, error) {
		for i := range block {
			s[i] = 0x36
		}
		subtle.XORBytes(s[:32], s[:32], kMac[:])
		copy(s[block+copy(s[block:], salt):], ct)
		inner := sha256.Sum256(s)
		var outer [block + 32]byte
		for i := range block {
			outer[i] = 0x5c
		}
		subtle.XORBytes(outer[:32], outer[:32], kMac[:])
		copy(outer[block:], inner[:])
		*tag = sha256.Sum256(outer[:])
		wipeArray(unsafe.Pointer(&outer), len(outer))
		wipeArray(unsafe.Pointer(&inner), len(inner))
		return len(s), nil
	})
	if err != nil {
		return err
	}
	ref.Destroy()
	return nil
}

// seal encrypts cell[sealOverhead:] in place under a fresh salt and writes
// the salt and tag in front of it.
func seal(cell []byte) error {
	if _, err := rand.Read(cell[:saltSize]); err != nil {
		return err
	}
	var k sealKeys
	defer wipeArray(unsafe.Pointer(&k), int(unsafe.Sizeof(k)))
	if err := deriveKeys(cell[:saltSize], &k); err != nil {
		return err
	}
	xorKeyStream(cell[sealOverhead:], &k.enc)
	var tag [tagSize]byte
	err := mac(&k.mac, cell[:saltSize], cell[sealOverhead:], &tag)
	copy(cell[saltSize:sealOverhead], tag[:])
	return err
}

// unseal checks the tag of a sealed cell and decrypts it into out, which
// must be len(cell)-sealOverhead bytes of protected memory.
func unseal(cell, out []byte) error {
	var k sealKeys
	defer wipeArray(unsafe.Pointer(&k), int(unsafe.Sizeof(k)))
	if err := deriveKeys(cell[:saltSize], &k); err != nil {
		return err
	}
	var tag [tagSize]byte
	if err := mac(&k.mac, cell[:saltSize], cell[sealOverhead:], &tag); err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(tag[:], cell[saltSize:sealOverhead]) != 1 {
		return ErrCorrupted
	}
	copy(out, cell[sealOverhead:])
	xorKeyStream(out, &k.enc)
	return nil
}

// allocSealed creates a sealed cell for n bytes of plaintext written by fill.
func allocSealed(n int, ao arena.Options, trim bool, fill func([]byte) (int, error)) (arena.Ref, int, error) {
	ref, used, err := arena.Alloc(n+sealOverhead, ao, func(dst []byte) (int, error) {
		pt := dst[sealOverhead:]
		used, err := fill(pt)
		if err != nil {
			return 0, err
		}
		if trim {
			used = trimNewline(pt, used)
		}
		if err := seal(dst[:sealOverhead+used]); err != nil {
			return 0, err
		}
		return sealOverhead + used, nil
	})
	return ref, used - sealOverhead, err
}

// useSealed decrypts the cell into a scratch cell, calls fn with it, and
// destroys the scratch cell.
func (h *handle) useSealed(consume bool, fn func([]byte) error) error {
	p, err := h.acquire(consume)
	if err != nil {
		return err
	}
	if h.n == 0 {
		h.release(consume)
		return run(fn, nil)
	}
	scratch, pt, err := openScratch(unsafe.Slice((*byte)(p), h.n+sealOverhead))
	h.release(consume)
	if err != nil {
		return err
	}
	defer closeScratch(scratch)
	return run(fn, pt)
}

// openScratch decrypts a sealed cell into a new scratch cell and opens it;
// closeScratch releases and wipes it.
func openScratch(raw []byte) (arena.Ref, []byte, error) {
	scratch, _, err := arena.Alloc(len(raw)-sealOverhead, arena.Options{}, func(dst []byte) (int, error) {
		return len(dst), unseal(raw, dst)
	})
	if err != nil {
		return arena.Ref{}, nil, err
	}
	sp, err := scratch.Acquire()
	if err != nil {
		scratch.Destroy()
		return arena.Ref{}, nil, err
	}
	return scratch, unsafe.Slice((*byte)(sp), len(raw)-sealOverhead), nil
}

func closeScratch(scratch arena.Ref) {
	scratch.Release()
	scratch.Destroy()
}

// wipeArray zeroes n bytes at p. It is not inlined, so the compiler cannot
// drop the stores as dead even when p is a stack variable nobody reads
// again.
//
//go:noinline
func wipeArray(p unsafe.Pointer, n int) {
	clear(unsafe.Slice((*byte)(p), n))
}

// updateSealed decrypts into a scratch cell, lets fn change the plaintext,
// and seals the result back under a fresh salt.
func (h *handle) updateSealed(fn func([]byte) error) error {
	p, err := h.acquireWrite()
	if err != nil {
		return err
	}
	defer h.releaseWrite()
	raw := unsafe.Slice((*byte)(p), h.n+sealOverhead)
	scratch, pt, err := openScratch(raw)
	if err != nil {
		return err
	}
	defer closeScratch(scratch)
	ferr := fn(pt)
	copy(raw[sealOverhead:], pt)
	if err := seal(raw); err != nil {
		return err
	}
	return ferr
}
