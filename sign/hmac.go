package sign

import (
	"errors"
	"fmt"
	"sync"

	"github.com/secretmem/secretmem/internal/keyed"
	"github.com/secretmem/secretmem/secret"
)

// Hash selects the hash function of an HMAC.
type Hash uint8

// The hashes an HMAC can use.
const (
	SHA256 Hash = Hash(keyed.SHA256) // HMAC-SHA256: 32-byte tags
	SHA512 Hash = Hash(keyed.SHA512) // HMAC-SHA512: 64-byte tags
)

// Size returns the length of the hash's HMAC in bytes (0 for an unknown
// Hash).
func (h Hash) Size() int { return keyed.Hash(h).Size() }

// String returns "HMAC-SHA256" or "HMAC-SHA512".
func (h Hash) String() string {
	switch h {
	case SHA256, SHA512:
		return "HMAC-" + keyed.Hash(h).String()
	}
	return fmt.Sprintf("sign.Hash(%d)", uint8(h))
}

// ErrInvalid reports a MAC or signature that does not verify. It says
// nothing more on purpose.
var ErrInvalid = errors.New("sign: invalid MAC or signature")

// HMAC computes and verifies HMACs (RFC 2104) with a key held in a cell,
// so that neither the key nor what HMAC derives from it is ever on the Go
// heap: the key's padded blocks are hashed once, when the key is loaded,
// and the hash states after them (which compute the HMAC as well as the
// key does) live in a cell of their own. Each computation restores them
// into a reused hash object, runs the standard library's SHA-256 or
// SHA-512 over the message, and wipes the hash object, the stack it used
// and the registers before it returns.
//
// The key is read through a secret.Source at each call, so a rotated key
// is used from the next call on (see NewHMAC). An HMAC is safe for
// concurrent use.
type HMAC struct {
	hash    keyed.Hash
	minKey  int // MinKeySize
	f       follower[*hmacKey]
	digests sync.Pool // *keyed.Digest, holding nothing between calls
}

type hmacKey struct {
	box secret.Box[keyed.Key]
}

func (k *hmacKey) destroy() { k.box.Destroy() }

// NewHMAC returns an HMAC keyed with the secret src holds under key (a
// *config.Config is a Source; Static adapts a cell of your own). It loads
// the key now, so that a missing or empty key is reported at start-up.
//
// At each call the HMAC asks src for the key's cell. The first time it
// sees a cell it derives the hash states from it into a new cell (about 2
// µs); while src keeps returning that cell, that is all. After a rotation
// the states of the old key are kept until its cell dies (a config
// destroys replaced cells after its grace period), for calls in flight,
// and then destroyed.
func NewHMAC(h Hash, src secret.Source, key string, opts ...HMACOption) (*HMAC, error) {
	kh := keyed.Hash(h)
	if kh.Size() == 0 {
		return nil, fmt.Errorf("sign: unknown HMAC hash %d", uint8(h))
	}
	if src == nil {
		return nil, fmt.Errorf("sign: no secret.Source to read %q from", key)
	}
	m := &HMAC{hash: kh}
	for _, o := range opts {
		o(m)
	}
	m.f = follower[*hmacKey]{src: src, name: key, load: m.load}
	if _, err := m.f.get(); err != nil {
		return nil, err
	}
	return m, nil
}

// An HMACOption configures NewHMAC.
type HMACOption func(*HMAC)

// MinKeySize makes the HMAC refuse a key shorter than n bytes: NewHMAC
// reports it at start-up, and after a rotation to one every call fails
// with ErrShortKey until the source holds a key long enough. It fails
// closed: the replaced key is not used instead, and a short key never
// signs. RFC 2104 discourages keys shorter than the hash's output; RFC
// 7518 forbids them for JWTs.
func MinKeySize(n int) HMACOption { return func(m *HMAC) { m.minKey = n } }

// ErrShortKey reports a key shorter than MinKeySize. The message gives
// the lengths, never the key.
var ErrShortKey = errors.New("sign: the key is shorter than the HMAC requires")

// Hash returns the HMAC's hash function.
func (m *HMAC) Hash() Hash { return Hash(m.hash) }

// Size returns the length of a MAC in bytes.
func (m *HMAC) Size() int { return m.hash.Size() }

func (m *HMAC) digest() *keyed.Digest {
	if d, ok := m.digests.Get().(*keyed.Digest); ok {
		return d
	}
	// The hash was checked in NewHMAC; the standard library's SHA-2 can
	// always save and restore its state.
	d, _ := keyed.NewDigest(m.hash)
	return d
}

var errEmptyKey = errors.New("the key is empty")

// load derives the hash states of the key in v into a new cell.
func (m *HMAC) load(v secret.Value) (*hmacKey, error) {
	box, err := secret.NewBox(keyed.Key{})
	if err != nil {
		return nil, err
	}
	d := m.digest()
	defer m.digests.Put(d)
	err = v.Use(func(b []byte) error {
		if len(b) == 0 {
			return errEmptyKey
		}
		if len(b) < m.minKey {
			return fmt.Errorf("%w: %d bytes, at least %d", ErrShortKey, len(b), m.minKey)
		}
		return box.Update(func(k *keyed.Key) error {
			k.Set(d, b)
			return nil
		})
	})
	if err == nil {
		// The states never change again: calls read them without the
		// box's lock.
		err = box.Freeze()
	}
	if err != nil {
		box.Destroy()
		return nil, err
	}
	return &hmacKey{box: box}, nil
}

// Sum appends the HMAC of the concatenated parts of the message to b and
// returns the result; give b room for Size more bytes to save an
// allocation. It fails only when the key cannot be read (ErrNoKey,
// ErrClosed, or the cell's own error).
func (m *HMAC) Sum(b []byte, msg ...[]byte) ([]byte, error) {
	k, err := m.f.get()
	if err != nil {
		return b, err
	}
	return m.sum(k, b, msg)
}

// sum is Sum under k, for HMAC.Sum and a Stream's short messages: the
// closures and calls every MAC goes through, spelt out once.
func (m *HMAC) sum(k *hmacKey, b []byte, msg [][]byte) ([]byte, error) {
	d := m.digest()
	err := k.box.Use(func(key *keyed.Key) error {
		var err error
		b, err = key.Sum(d, b, msg...)
		return err
	})
	m.digests.Put(d)
	return b, err
}

// verify is Verify under k.
func (m *HMAC) verify(k *hmacKey, tag []byte, msg [][]byte) error {
	d := m.digest()
	ok := false
	err := k.box.Use(func(key *keyed.Key) error {
		var err error
		ok, err = key.Verify(d, tag, msg...)
		return err
	})
	m.digests.Put(d)
	return verdict(ok, err)
}

// use runs fn with the current key, in its cell, and a digest from the
// pool.
func (m *HMAC) use(fn func(key *keyed.Key, d *keyed.Digest) error) error {
	k, err := m.f.get()
	if err != nil {
		return err
	}
	d := m.digest()
	err = k.box.Use(func(key *keyed.Key) error { return fn(key, d) })
	m.digests.Put(d)
	return err
}

// verdict is what Verify and Check return: nil if the tag matched,
// ErrInvalid if not, or why the key could not be read.
func verdict(ok bool, err error) error {
	if err != nil {
		return err
	}
	if !ok {
		return ErrInvalid
	}
	return nil
}

// Verify reports whether tag is the HMAC of the concatenated parts of the
// message: nil if it is, ErrInvalid if not (a tag of the wrong length
// included), or why the key cannot be read. The comparison takes the
// same time wherever the tags differ, and the expected tag exists only
// in scratch memory that is wiped before Verify returns.
func (m *HMAC) Verify(tag []byte, msg ...[]byte) error {
	k, err := m.f.get()
	if err != nil {
		return err
	}
	return m.verify(k, tag, msg)
}

// Check is Verify for a tag that arrives in another form than bytes (a
// JWT's base64url signature, a hex header): match decodes the tag into
// scratch (CheckScratch bytes, wiped afterwards), compares it with the
// HMAC in constant time, and returns whether they are equal. Decode the
// tag rather than encode the HMAC: an encoder looks its input's bits up
// in a table, so the memory it reads would depend on the HMAC. Check returns nil if match accepted the HMAC,
// ErrInvalid if not, or why the key cannot be read.
//
// match runs inside the HMAC's erased computation, with the HMAC in
// scratch memory: what it computes is wiped with the stack and the
// registers. So it must be small (a decoding and a comparison, on the
// scratch: it runs within a 1,152-byte stack wipe, which leaves match
// about 500 bytes of stack), must not keep mac or scratch, and must not
// call into this package.
//
// If match ends the goroutine (runtime.Goexit, which t.FailNow calls),
// Check does not return. The key's cell is released on the way out, the
// HMAC's own stack and the registers were wiped before match ran, and the
// expected MAC and the scratch are cleared and the stack below match's
// and the Goexit's frames wiped as the goroutine unwinds. What the
// goroutine's stack keeps (the runtime reuses it unwiped) is what match
// wrote into its own frames: decode into scratch, not into a local array.
// With GOEXPERIMENT=runtimesecret the runtime clears the whole stack once
// the goroutine has ended.
func (m *HMAC) Check(match func(mac, scratch []byte) bool, msg ...[]byte) error {
	ok := false
	err := m.use(func(key *keyed.Key, d *keyed.Digest) error {
		var err error
		ok, err = key.Check(d, match, msg...)
		return err
	})
	return verdict(ok, err)
}

// CheckScratch is the length of the scratch space Check gives match:
// room for the hex or base64 of any HMAC.
const CheckScratch = keyed.ScratchSize

// Close destroys the cells the HMAC derived. Later calls fail with
// ErrClosed. The source's cells are the source's: Close leaves them.
func (m *HMAC) Close() { m.f.close() }
