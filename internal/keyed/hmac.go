package keyed

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding"
	"encoding/binary"
	"errors"
	"hash"
	"unsafe"
)

// Hash names the hash function of an HMAC.
type Hash uint8

// The hashes an HMAC can use. The zero Hash is none: a zero Key is unset.
const (
	SHA256 Hash = 1 + iota
	SHA512
)

// MaxSize is the largest HMAC output, SHA-512's.
const MaxSize = sha512.Size

// stateSize holds a marshaled SHA-512 digest: "sha\x07", eight 64-bit
// words, a 128-byte block buffer and a 64-bit length. SHA-256's takes 108.
const stateSize = 4 + 8*8 + sha512.BlockSize + 8

// Size returns the length of the hash's output in bytes (0 for none).
func (h Hash) Size() int {
	switch h {
	case SHA256:
		return sha256.Size
	case SHA512:
		return sha512.Size
	}
	return 0
}

// BlockSize returns the hash's block size in bytes (0 for none).
func (h Hash) BlockSize() int {
	switch h {
	case SHA256:
		return sha256.BlockSize
	case SHA512:
		return sha512.BlockSize
	}
	return 0
}

func (h Hash) String() string {
	switch h {
	case SHA256:
		return "SHA-256"
	case SHA512:
		return "SHA-512"
	}
	return "no hash"
}

// stateLen is the length of the hash's marshaled state.
func (h Hash) stateLen() int {
	if h == SHA256 {
		return 4 + 8*4 + sha256.BlockSize + 8
	}
	return stateSize
}

// Errors report misuse or damage, never key material.
var (
	// ErrHash: the Hash is not SHA256 or SHA512, or a Digest was given a
	// Key made for the other hash.
	ErrHash = errors.New("keyed: the key and the digest use different hashes (or none)")
	// ErrState: a Key or Stream does not hold a state its hash can resume
	// from (it was never set, or its memory was overwritten).
	ErrState = errors.New("keyed: the key state is not one a digest can resume from")
	// ErrMarshal: the hash implementation cannot save and restore its state
	// (a FIPS or BoringCrypto build may not).
	ErrMarshal = errors.New("keyed: the hash cannot save and restore its state")
)

// state is a saved digest: the hash's chaining value, its block buffer
// and the length hashed so far, marshaled or as the digest's memory (see
// rawLayout).
type state [max(stateSize, rawMax)]byte

// A Digest is the hash object HMAC computations run in: a crypto/sha256 or
// crypto/sha512 digest on the Go heap, created once and reused, with the
// scratch space a computation needs. It holds key-derived state only while
// a method of this package runs; each one restores the digest to the
// hash's blank state and zeroes the scratch before it returns. A Digest is
// not safe for concurrent use.
type Digest struct {
	hash  Hash
	h     hash.Hash
	u     encoding.BinaryUnmarshaler
	a     encoding.BinaryAppender
	blank state // the initial state: restoring it wipes the digest
	// raw is the hash object's memory when its layout is known (see
	// rawLayout): states are saved and restored by copying it. nx points
	// to its count of buffered bytes. Without a known layout raw is nil
	// and states are marshaled.
	raw   []byte
	nx    *int
	nxOff uintptr
	// buf is the hash object's block buffer, within raw: the bytes
	// between the chaining value and nx. It holds the end of a message
	// until the padding is written, and the message may be a secret.
	buf []byte
	// Buffers handed to the hash's methods. They are here, not on the
	// stack, because a slice passed to an interface method escapes: on
	// the stack they would be moved to a fresh heap object every call.
	pad   [sha512.BlockSize]byte // the padded key, in Set
	inner [MaxSize]byte          // the inner hash
	want  [MaxSize]byte          // the expected tag, in Verify
	// An HMAC ends with padding written like a message, and the hash
	// read from the saved state, rather than with the hash's Sum: Sum
	// copies the whole digest onto the stack and pads it there, which
	// costs more than the compression of a short message and makes the
	// stack to wipe deeper. tail is the padding, and a short message
	// with it, zero between calls; out is the saved state whose first
	// words are the hash; block is the outer hash's input, the inner
	// hash and its padding, one block.
	tail  [tailSize]byte
	out   state
	block [sha512.BlockSize]byte
}

// tailSize is the longest padding: 0x80, up to a block less one of
// zeros, and SHA-512's 16-byte length.
const tailSize = 1 + sha512.BlockSize - 1 + 16

// NewDigest returns a Digest for h.
func NewDigest(h Hash) (*Digest, error) {
	var hh hash.Hash
	switch h {
	case SHA256:
		hh = sha256.New()
	case SHA512:
		hh = sha512.New()
	default:
		return nil, ErrHash
	}
	return newDigest(h, hh, rawLayoutFor(h))
}

// newDigest makes a Digest of the hash object hh, saving states by
// copying its memory if l is a known layout.
func newDigest(h Hash, hh hash.Hash, l rawLayout) (*Digest, error) {
	u, okU := hh.(encoding.BinaryUnmarshaler)
	a, okA := hh.(encoding.BinaryAppender)
	if !okU || !okA {
		return nil, ErrMarshal
	}
	d := &Digest{hash: h, h: hh, u: u, a: a}
	if b, err := a.AppendBinary(d.blank[:0]); err != nil || len(b) != h.stateLen() {
		return nil, ErrMarshal
	}
	if l.size != 0 {
		d.raw = rawBytes(hh, l)
		d.nx = (*int)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(d.raw)), l.nxOff))
		d.nxOff = l.nxOff
		d.buf = d.raw[h.Size():l.nxOff]
		d.blank = state{}
		copy(d.blank[:], d.raw)
	}
	// The outer hash's input is the inner hash and then always the same
	// padding: a block and the inner hash long.
	h.padding(d.block[h.Size():h.BlockSize()], uint64(h.BlockSize()+h.Size()))
	return d, nil
}

// erase runs f, an HMAC call that runs no code of the caller's, in the
// erasure that covers it: eraseHash when states are copied raw (the
// shallower calls), else EraseMAC.
func (d *Digest) erase(f func()) {
	if d.raw != nil {
		eraseHash(f)
		return
	}
	EraseMAC(f)
}

// Hash returns the hash the digest computes.
func (d *Digest) Hash() Hash { return d.hash }

// restore loads s, saved raw or marshaled, into the digest.
func (d *Digest) restore(s *state, raw bool) error {
	if raw != (d.raw != nil) {
		return ErrState
	}
	if raw {
		copy(d.raw, s[:])
		// A state overwritten in its cell must not make the hash index
		// past its buffer.
		if nx := *d.nx; nx < 0 || nx >= d.hash.BlockSize() {
			d.wipe()
			return ErrState
		}
		return nil
	}
	if d.u.UnmarshalBinary(s[:d.hash.stateLen()]) != nil {
		return ErrState
	}
	return nil
}

// restoreKey is restore for a key's state, which has nothing buffered:
// raw, it copies the chaining value and the counts and leaves the block
// buffer, whose bytes a hash with nothing buffered never reads.
func (d *Digest) restoreKey(s *state, raw bool) error {
	if !raw || d.raw == nil {
		return d.restore(s, raw)
	}
	d.copyKeyState(s)
	if *d.nx != 0 {
		d.wipe()
		return ErrState
	}
	return nil
}

// wipeKey is wipe after a computation that started from a key's state and
// wrote its own padding: the chaining value and the counts are wiped; the
// block buffer was cleared by close, or never used (a short message and
// its padding, the key's blocks and the inner hash go to the hash whole,
// never through the buffer).
func (d *Digest) wipeKey() {
	if d.raw == nil {
		d.wipe()
		return
	}
	d.copyKeyState(&d.blank)
}

// copyKeyState copies the chaining value and the counts (what follows nx)
// of the raw state src into the digest, leaving the block buffer. An HMAC
// makes three of these copies, and copy, or an assignment of arrays
// through pointers, calls memmove for each part: these are moves of a
// few words. (d.raw is at most rawMax bytes, within a state.)
func (d *Digest) copyKeyState(src *state) {
	dst, sp := unsafe.Pointer(unsafe.SliceData(d.raw)), unsafe.Pointer(src)
	copy16(dst, sp, 0)
	copy16(dst, sp, 16)
	if d.hash == SHA512 {
		copy16(dst, sp, 32)
		copy16(dst, sp, 48)
	}
	if n := uintptr(len(d.raw)) - d.nxOff; n == 16 {
		copy16(dst, sp, d.nxOff)
	} else {
		copy(d.raw[d.nxOff:], src[d.nxOff:len(d.raw)])
	}
}

// copy16 copies the 16 bytes at off from src to dst, a word at a time.
// The loads and stores are byte order conversions, which the compiler
// turns into single moves where unaligned access is allowed and into
// byte moves where it is not: a Key's states lie at any alignment.
func copy16(dst, src unsafe.Pointer, off uintptr) {
	d, s := (*[16]byte)(unsafe.Add(dst, off)), (*[16]byte)(unsafe.Add(src, off))
	le := binary.LittleEndian
	a, b := le.Uint64(s[:8]), le.Uint64(s[8:])
	le.PutUint64(d[:8], a)
	le.PutUint64(d[8:], b)
}

// save writes the digest's state into s (in protected memory), raw if the
// digest's layout is known, and reports which.
func (d *Digest) save(s *state) (raw bool) {
	if d.raw != nil {
		copy(s[:], d.raw)
		return true
	}
	// AppendBinary writes within s's capacity and allocates nothing.
	_, _ = d.a.AppendBinary(s[:0])
	return false
}

// wipe overwrites every field of the digest that held key-derived state:
// the chaining value, the block buffer, the length.
func (d *Digest) wipe() {
	if d.raw != nil {
		copy(d.raw, d.blank[:])
		return
	}
	_ = d.u.UnmarshalBinary(d.blank[:d.hash.stateLen()])
}

// zeroScratch wipes the buffers.
func (d *Digest) zeroScratch() {
	d.pad = [sha512.BlockSize]byte{}
	d.inner = [MaxSize]byte{}
	d.want = [MaxSize]byte{}
	d.out = state{}
	clear(d.block[:d.hash.Size()])
}

// lenSize is how many bytes the hash's padding gives the message length.
func (h Hash) lenSize() int {
	if h == SHA256 {
		return 8
	}
	return 16
}

// padding writes the hash's padding of a message n bytes long (counting
// the key's block) into dst, which must hold it, and returns its length:
// 0x80, zeros up to the length field, the length in bits, big-endian.
func (h Hash) padding(dst []byte, n uint64) int {
	bs, ls := uint64(h.BlockSize()), uint64(h.lenSize())
	// Block sizes are powers of two: masks, not divisions.
	zeros := (2*bs - ls - 1 - n&(bs-1)) & (bs - 1)
	end := 1 + zeros + ls
	dst[0] = 0x80
	clear(dst[1 : end-8])
	binary.BigEndian.PutUint64(dst[end-8:end], n<<3)
	return int(end)
}

// close pads the message in d, n bytes long counting the key's block, and
// appends its hash to b. The message's last bytes went through the hash's
// block buffer, and a message can be a secret (package config MACs the
// content of secret files): the buffer is cleared. (Marshaled, the wipe
// that ends every call clears it.)
func (d *Digest) close(b []byte, n uint64) []byte {
	m := d.hash.padding(d.tail[:], n)
	d.h.Write(d.tail[:m])
	clear(d.tail[:m]) // as the short path in sum expects it
	clear(d.buf)
	return d.result(b)
}

// result appends the chaining value of d, which has just absorbed a whole
// padded message, to b: the hash, as Sum would give it. Marshaled, it
// passes through d.out, which the caller wipes.
func (d *Digest) result(b []byte) []byte {
	if d.raw != nil {
		return rawAppend(b, d.raw, d.hash)
	}
	d.save(&d.out)
	return append(b, d.out[4:4+d.hash.Size()]...)
}

// Key is an HMAC key in the form the computation uses: the hash's state
// after absorbing key XOR ipad, and after key XOR opad. Together they
// compute the HMAC as the key does, so a Key counts as a copy of the key:
// it holds no pointers so that it can live in protected memory, and it
// must. Its zero value holds no key.
type Key struct {
	hash  Hash
	raw   bool // the states are the digest's memory, not marshaled
	inner state
	outer state
}

// Hash returns the hash the key was set for (0 if unset).
func (k *Key) Hash() Hash { return k.hash }

// Set derives k from key for d's hash, as RFC 2104 does: a key longer
// than the block size is hashed first, then padded with zeros to it.
func (k *Key) Set(d *Digest, key []byte) {
	Erase(func() { k.set(d, key) })
}

func (k *Key) set(d *Digest, key []byte) {
	pad := &d.pad
	bs := d.hash.BlockSize()
	if len(key) > bs {
		d.h.Write(key)
		d.h.Sum(pad[:0])
		d.wipe()
	} else {
		copy(pad[:], key)
	}
	for i := range bs {
		pad[i] ^= 0x36
	}
	d.h.Write(pad[:bs])
	k.raw = d.save(&k.inner)
	d.wipe()
	for i := range bs {
		pad[i] ^= 0x36 ^ 0x5c
	}
	d.h.Write(pad[:bs])
	d.save(&k.outer)
	d.wipe()
	d.zeroScratch()
	k.hash = d.hash
}

// Sum appends HMAC(key, the concatenated parts) to b and returns the
// result. b's capacity should hold it, or append allocates.
func (k *Key) Sum(d *Digest, b []byte, parts ...[]byte) (out []byte, err error) {
	d.erase(func() { out, err = k.sum(d, b, parts) })
	return out, err
}

func (k *Key) sum(d *Digest, b []byte, parts [][]byte) ([]byte, error) {
	if k.hash != d.hash || k.hash.Size() == 0 {
		return b, ErrHash
	}
	if err := d.restoreKey(&k.inner, k.raw); err != nil {
		return b, err
	}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	bs := d.hash.BlockSize()
	if n > bs-d.hash.lenSize()-1 {
		for _, p := range parts {
			d.h.Write(p)
		}
		d.close(d.block[:0], uint64(bs+n))
		return k.outerHash(d, b)
	}
	// The message and its padding fit in one block: gather them in the
	// scratch and hash them in one write, which saves the hash a copy
	// into its buffer and a call.
	// The tail is zero between calls, so the padding is the 0x80 after
	// the message and the length at the end of the block.
	t := d.tail[:0]
	for _, p := range parts {
		t = append(t, p...)
	}
	blk := d.tail[:bs]
	blk[n] = 0x80
	binary.BigEndian.PutUint64(blk[bs-8:], uint64(bs+n)<<3)
	d.h.Write(blk)
	// One whole block goes to the hash without passing through its
	// buffer; the copy here is the only one, and the message may be a
	// secret. The tail is left zero again.
	clear(blk[:n+1])
	binary.BigEndian.PutUint64(blk[bs-8:], 0)
	d.result(d.block[:0])
	return k.outerHash(d, b)
}

// finish completes an HMAC whose message, n bytes of it, is in d: it
// appends H(key XOR opad || inner hash) to b and wipes d.
func (k *Key) finish(d *Digest, n uint64, b []byte) ([]byte, error) {
	d.close(d.block[:0], uint64(d.hash.BlockSize())+n)
	return k.outerHash(d, b)
}

// outerHash appends H(key XOR opad || inner hash) to b, the inner hash
// being at the start of d.block, and wipes d.
func (k *Key) outerHash(d *Digest, b []byte) ([]byte, error) {
	bs, size := d.hash.BlockSize(), d.hash.Size()
	err := d.restoreKey(&k.outer, k.raw)
	if err == nil {
		d.h.Write(d.block[:bs])
		b = d.result(b)
	}
	d.wipeKey()
	if d.raw == nil {
		d.out = state{} // raw, result never writes it
	}
	clear(d.block[:size]) // the padding after it stays: it is the same for every MAC
	return b, err
}

// Verify reports, in constant time, whether tag is HMAC(key, the
// concatenated parts). The expected tag never leaves the digest's scratch
// and the erased stack.
func (k *Key) Verify(d *Digest, tag []byte, parts ...[]byte) (ok bool, err error) {
	d.erase(func() { ok, err = k.verify(d, tag, parts) })
	return ok, err
}

func (k *Key) verify(d *Digest, tag []byte, parts [][]byte) (bool, error) {
	want, err := k.sum(d, d.want[:0], parts)
	ok := err == nil && subtle.ConstantTimeCompare(want, tag) == 1
	d.want = [MaxSize]byte{}
	return ok, err
}

// Check reports whether match accepts HMAC(key, the concatenated parts),
// for a tag that arrives in another form than bytes (a JWT's base64url
// signature): match decodes the tag into scratch (ScratchSize bytes of
// the digest's, wiped afterwards) and compares it with mac in constant
// time. (Decode the tag rather than encode mac: an encoder indexes its
// alphabet table by its input's bits, so encoding mac would make the
// memory it reads depend on the MAC.) match runs inside this call's
// EraseMAC, so what it computes is erased with the rest; it must not keep
// mac or scratch, call Erase, or use more than about 500 bytes of stack,
// enough for a decoding and a comparison (its frames count against the
// wipe: TestEveryOperationFitsTheWipe, and package jwt's
// TestHMACCheckFitsTheWipe for its own match).
//
// A panic in match goes on once the wipe is done: Erase has no deferred
// wipe (a deferred call runs below the panicking frames, so it could not
// wipe them), so check catches it and Check raises it again outside.
//
// match may end the goroutine (runtime.Goexit; t.FailNow in a test's
// match). Check then never returns, and the goroutine's stack goes back
// to the runtime, which reuses it without clearing it. So match runs only
// once the HMAC computation's stack (macWipeDepth below check) and the
// registers are wiped, and on a Goexit callMatch's deferred call clears
// the digest (its state, the expected MAC, the scratch) and wipes the
// stack below itself and the registers. What it cannot wipe are the
// frames still live above it: callMatch's, runtime.Goexit's and its own
// (312 bytes on amd64, 144 on 386), which hold nothing derived from the
// key (no byte of the dead goroutine's stack depends on the key, with the
// Goexit 0 to 15 frames below match: the tests in goexit_test.go), and
// match's own frames, which keep what match put there: a copy of mac in
// a local array stays on the dead stack. With GOEXPERIMENT=runtimesecret
// the runtime also clears the whole stack once the goroutine is gone,
// after the deferred calls of every caller above.
func (k *Key) Check(d *Digest, match func(mac, scratch []byte) bool, parts ...[]byte) (ok bool, err error) {
	var p any
	EraseMAC(func() { ok, p, err = k.check(d, match, parts) })
	if p != nil {
		panic(p)
	}
	return ok, err
}

func (k *Key) check(d *Digest, match func(mac, scratch []byte) bool, parts [][]byte) (ok bool, p any, err error) {
	mac, err := k.sum(d, d.want[:0], parts)
	if err == nil {
		// match may end the goroutine, and its frames and the Goexit's
		// then stay live over the stack sum used, out of any wipe's
		// reach. So sum's stack and registers are wiped first: match
		// runs on stack that holds nothing of the key.
		wipeMACBelow()
		ok, p = callMatch(d, match, mac)
	}
	d.want = [MaxSize]byte{}
	d.pad = [len(d.pad)]byte{}
	return ok, p, err
}

// callMatch calls match with mac and the digest's scratch and returns its
// panic instead of raising it. (Since Go 1.21 panic(nil) recovers as a
// *runtime.PanicNilError, so a nil p means no panic.)
//
// match may also end the goroutine (runtime.Goexit, which t.FailNow
// calls): then nothing returns to check or EraseMAC, and the deferred
// function, which sees neither a return nor a panic (recover returns nil
// during a Goexit), is the last code of this package to run. It clears
// the digest and wipes what it can: the stack below its own frame and
// the registers. The frames above it (callMatch's, match's, the Goexit's)
// are live until the goroutine is gone, and nothing can wipe them.
func callMatch(d *Digest, match func(mac, scratch []byte) bool, mac []byte) (ok bool, p any) {
	returned := false
	defer func() {
		if returned {
			return
		}
		if p = recover(); p == nil && !ignoreGoexit {
			goexiting(d)
		}
	}()
	ok = match(mac, d.pad[:])
	returned = true
	return ok, nil
}

// goexiting clears d and wipes below callMatch's deferred function.
//
//go:noinline
func goexiting(d *Digest) {
	d.wipe()
	d.zeroScratch()
	wipeMACBelow()
}

// ignoreGoexit makes callMatch leave a Goexit in match as it was before
// it cleared anything, for the tests that show what it clears.
var ignoreGoexit bool

// IgnoreGoexitForTest makes Check leave a Goexit in match as it did
// before it handled one (the digest as the Goexit found it, nothing
// wiped on the way out), until restore is called; with SkipWipesForTest
// it is Check as it was, for the controls of tests and of the proof
// suite. Not safe to use while other goroutines call Check.
func IgnoreGoexitForTest() (restore func()) {
	ignoreGoexit = true
	return func() { ignoreGoexit = false }
}

// ScratchSize is the length of the scratch space Check gives match.
const ScratchSize = sha512.BlockSize

// Stream is an HMAC in progress, for messages that arrive in pieces: a Key
// and the inner hash's state after the message so far. Like a Key it holds
// no pointers and belongs in protected memory. Between calls every state
// is in the Stream and the Digest holds nothing, so each Write costs a
// restore, a save and an Erase: write few large pieces, or use Key.Sum
// when the message is at hand.
type Stream struct {
	Key
	run     state  // the inner hash after the pad and written bytes
	written uint64 // bytes written since Reset; 0: run is not in use
}

// Set derives the stream's key from key, as Key.Set does, and starts a
// message.
func (s *Stream) Set(d *Digest, key []byte) {
	s.Key.Set(d, key)
	s.Reset()
}

// SetKey starts a message under k, copying its states into the stream
// (from one cell into another, the registers the copy used wiped).
func (s *Stream) SetKey(k *Key) {
	Erase(func() { s.Key = *k })
	s.Reset()
}

// Reset starts a new message under the same key.
func (s *Stream) Reset() { s.written = 0 }

// Write absorbs p into the message.
func (s *Stream) Write(d *Digest, p []byte) (err error) {
	d.erase(func() { err = s.write(d, p) })
	return err
}

func (s *Stream) write(d *Digest, p []byte) error {
	if err := s.resume(d); err != nil {
		return err
	}
	d.h.Write(p)
	d.save(&s.run)
	d.wipe()
	s.written += uint64(len(p))
	return nil
}

// resume loads the message's inner state into d.
func (s *Stream) resume(d *Digest) error {
	if s.hash != d.hash || s.hash.Size() == 0 {
		return ErrHash
	}
	if s.written == 0 {
		return d.restore(&s.inner, s.raw)
	}
	return d.restore(&s.run, s.raw)
}

// Sum appends the HMAC of the message written so far to b. The message
// can be continued afterwards, as with hash.Hash.
func (s *Stream) Sum(d *Digest, b []byte) (out []byte, err error) {
	d.erase(func() { out, err = s.sum(d, b) })
	return out, err
}

func (s *Stream) sum(d *Digest, b []byte) ([]byte, error) {
	if err := s.resume(d); err != nil {
		return b, err
	}
	return s.finish(d, s.written, b)
}

// Verify reports, in constant time, whether tag is the HMAC of the message
// written so far.
func (s *Stream) Verify(d *Digest, tag []byte) (ok bool, err error) {
	d.erase(func() { ok, err = s.verify(d, tag) })
	return ok, err
}

func (s *Stream) verify(d *Digest, tag []byte) (bool, error) {
	want, err := s.sum(d, d.want[:0])
	ok := err == nil && subtle.ConstantTimeCompare(want, tag) == 1
	d.want = [MaxSize]byte{}
	return ok, err
}
