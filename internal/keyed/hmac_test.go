package keyed

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"strconv"
	"testing"
)

var hashes = []struct {
	h   Hash
	new func() hash.Hash
}{
	{SHA256, sha256.New},
	{SHA512, sha512.New},
}

func filled(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func mustDigest(t testing.TB, h Hash) *Digest {
	t.Helper()
	d, err := NewDigest(h)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func refHMAC(newHash func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(newHash, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// isBlank reports whether d holds its hash's initial state and nothing
// else: the chaining value, the block buffer and the length all wiped
// (the buffer too: a message may be a secret, TestNoMessageOutlivesACall),
// the scratch buffers zero (the tail too: a short message's padding
// relies on it).
func isBlank(d *Digest) bool {
	var s state
	d.save(&s)
	scratch := d.pad == [len(d.pad)]byte{} && d.inner == [MaxSize]byte{} && d.want == [MaxSize]byte{} && d.out == state{} &&
		d.tail == [tailSize]byte{}
	return s == d.blank && scratch
}

// holdsAny reports whether the digest's memory or scratch holds an 8-byte
// piece of any of vs.
func holdsAny(d *Digest, vs ...[]byte) bool {
	for _, v := range vs {
		for i := 0; i+8 <= len(v); i += 8 {
			for _, m := range [][]byte{d.raw, d.tail[:], d.block[:d.hash.Size()]} {
				if bytes.Contains(m, v[i:i+8]) {
					return true
				}
			}
		}
	}
	return false
}

// innerHash is H(key XOR ipad || msg), RFC 2104's inner hash.
func innerHash(c struct {
	h   Hash
	new func() hash.Hash
}, key, msg []byte) []byte {
	if len(key) > c.h.BlockSize() {
		k := c.new()
		k.Write(key)
		key = k.Sum(nil)
	}
	h := c.new()
	h.Write(needlePad(key, c.h.BlockSize(), 0x36))
	h.Write(msg)
	return h.Sum(nil)
}

// marshalingDigest is a Digest that saves and restores through the
// marshaling interfaces, as on a build whose hash objects have no known
// layout.
func marshalingDigest(t testing.TB, c struct {
	h   Hash
	new func() hash.Hash
}) *Digest {
	t.Helper()
	d, err := newDigest(c.h, c.new(), rawLayout{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestHMACMatchesCryptoHMAC(t *testing.T) {
	for _, c := range hashes {
		if rawLayoutFor(c.h).size == 0 {
			t.Errorf("%v: the standard library's digest layout was not recognised: HMACs restore states the slow way", c.h)
		}
		for _, mode := range []string{"raw", "marshaled"} {
			t.Run(c.h.String()+"/"+mode, func(t *testing.T) {
				d := mustDigest(t, c.h)
				if mode == "marshaled" {
					d = marshalingDigest(t, c)
				}
				matchesCryptoHMAC(t, c, d)
			})
		}
	}
}

func matchesCryptoHMAC(t *testing.T, c struct {
	h   Hash
	new func() hash.Hash
}, d *Digest) {
	{
		{
			t.Helper()
			bs := c.h.BlockSize()
			// Key lengths around the block size, where HMAC pads or hashes
			// the key; message lengths across two blocks and more.
			for _, kl := range []int{0, 1, 31, 32, 33, bs - 1, bs, bs + 1, 2*bs + 3, 300} {
				key := filled(kl, byte(kl))
				var k Key
				k.Set(d, key)
				if !isBlank(d) {
					t.Fatal("Set left state in the digest")
				}
				var s Stream
				s.Set(d, key)
				for n := 0; n <= 2*bs+40; n++ {
					msg := filled(n, 0x5a)
					want := refHMAC(c.new, key, msg)
					got, err := k.Sum(d, nil, msg[:n/3], msg[n/3:])
					if err != nil || !bytes.Equal(got, want) {
						t.Fatalf("Sum with a %d-byte key over %d bytes differs from crypto/hmac (%v)", kl, n, err)
					}
					if !isBlank(d) {
						t.Fatal("Sum left state in the digest")
					}
					s.Reset()
					for _, piece := range [][]byte{msg[:n/2], nil, msg[n/2 : 3*n/4], msg[3*n/4:]} {
						if err := s.Write(d, piece); err != nil {
							t.Fatal(err)
						}
						if !isBlank(d) {
							t.Fatal("Stream.Write left state in the digest")
						}
					}
					got, err = s.Sum(d, got[:0])
					if err != nil || !bytes.Equal(got, want) {
						t.Fatalf("Stream with a %d-byte key over %d bytes differs from crypto/hmac (%v)", kl, n, err)
					}
					if ok, err := k.Verify(d, want, msg); !ok || err != nil {
						t.Fatalf("Verify refused a good tag (%v)", err)
					}
					if ok, err := s.Verify(d, want); !ok || err != nil {
						t.Fatalf("Stream.Verify refused a good tag (%v)", err)
					}
					bad := bytes.Clone(want)
					bad[n%len(bad)] ^= 1
					if ok, _ := k.Verify(d, bad, msg); ok {
						t.Fatal("Verify accepted a wrong tag")
					}
					if ok, _ := s.Verify(d, bad); ok {
						t.Fatal("Stream.Verify accepted a wrong tag")
					}
					if ok, _ := k.Verify(d, want[:len(want)-1], msg); ok {
						t.Fatal("Verify accepted a truncated tag")
					}
					if !isBlank(d) {
						t.Fatal("Verify left state in the digest")
					}
					if holdsAny(d, want, innerHash(c, key, msg)) {
						t.Fatal("the inner hash or the MAC is left in the digest")
					}
				}
			}
		}
	}
}

// A stream can be summed and continued, as a hash.Hash can.
func TestAStreamContinuesAfterSum(t *testing.T) {
	for _, c := range hashes {
		d := mustDigest(t, c.h)
		key := filled(40, 1)
		var s Stream
		s.Set(d, key)
		a, b := filled(100, 2), filled(70, 3)
		_ = s.Write(d, a)
		first, _ := s.Sum(d, nil)
		_ = s.Write(d, b)
		both, _ := s.Sum(d, nil)
		if !bytes.Equal(first, refHMAC(c.new, key, a)) || !bytes.Equal(both, refHMAC(c.new, key, a, b)) {
			t.Errorf("%v: Sum in the middle of a message changed it", c.h)
		}
	}
}

// RFC 4231, test cases 1, 2, 3, 4, 6 and 7 (5 truncates its output): an
// answer computed independently of Go.
func TestHMACKnownAnswers(t *testing.T) {
	rep := func(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }
	seq := func(from, to byte) []byte {
		var b []byte
		for c := from; c <= to; c++ {
			b = append(b, c)
		}
		return b
	}
	cases := []struct {
		name           string
		key, data      []byte
		sha256, sha512 string
	}{
		{"1", rep(0x0b, 20), []byte("Hi There"),
			"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
			"87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
		{"2", []byte("Jefe"), []byte("what do ya want for nothing?"),
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
			"164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
		{"3", rep(0xaa, 20), rep(0xdd, 50),
			"773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
			"fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"},
		{"4", seq(0x01, 0x19), rep(0xcd, 50),
			"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
			"b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"},
		{"6", rep(0xaa, 131), []byte("Test Using Larger Than Block-Size Key - Hash Key First"),
			"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
			"80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
		{"7", rep(0xaa, 131), []byte("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
			"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
			"e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"},
	}
	for _, c := range cases {
		for h, want := range map[Hash]string{SHA256: c.sha256, SHA512: c.sha512} {
			d := mustDigest(t, h)
			var k Key
			k.Set(d, c.key)
			got, err := k.Sum(d, nil, c.data)
			if err != nil || hex.EncodeToString(got) != want {
				t.Errorf("RFC 4231 case %s, HMAC-%v: wrong answer (%v)", c.name, h, err)
			}
		}
	}
}

func TestMisuseIsAnError(t *testing.T) {
	d256, d512 := mustDigest(t, SHA256), mustDigest(t, SHA512)
	var unset Key
	if _, err := unset.Sum(d256, nil, []byte("x")); !errors.Is(err, ErrHash) {
		t.Errorf("Sum with an unset key: %v, want ErrHash", err)
	}
	var k Key
	k.Set(d256, []byte("key"))
	if _, err := k.Sum(d512, nil, []byte("x")); !errors.Is(err, ErrHash) {
		t.Errorf("a SHA-256 key in a SHA-512 digest: %v, want ErrHash", err)
	}
	if ok, err := k.Verify(d512, make([]byte, 64)); ok || !errors.Is(err, ErrHash) {
		t.Errorf("Verify in the wrong digest: %v %v, want false and ErrHash", ok, err)
	}
	bad := k
	// A count of buffered bytes that is not zero (raw: a key's state has
	// nothing buffered), or the magic number (marshaled).
	off := rawLayoutFor(SHA256).nxOff
	putInt(bad.inner[off:], -1<<20)
	bad.inner[0] ^= 0xff
	if _, err := bad.Sum(d256, nil, []byte("x")); !errors.Is(err, ErrState) {
		t.Errorf("a damaged key: %v, want ErrState", err)
	}
	// A stream's running state whose count is past its buffer: the hash
	// would index past it.
	var run Stream
	run.Set(d256, []byte("key"))
	_ = run.Write(d256, []byte("x"))
	for _, nx := range []int{-1, sha256.BlockSize, 1 << 20} {
		broken := run
		putInt(broken.run[off:], nx)
		if err := broken.Write(d256, []byte("y")); !errors.Is(err, ErrState) {
			t.Errorf("Write on a stream whose count is %d: %v, want ErrState", nx, err)
		}
		if _, err := broken.Sum(d256, nil); !errors.Is(err, ErrState) {
			t.Errorf("Sum of a stream whose count is %d: %v, want ErrState", nx, err)
		}
	}
	// A key saved in one form is refused by a digest that uses the other.
	m256 := marshalingDigest(t, hashes[0])
	if _, err := k.Sum(m256, nil, []byte("x")); !errors.Is(err, ErrState) {
		t.Errorf("a raw key in a marshaling digest: %v, want ErrState", err)
	}
	var mk Key
	mk.Set(m256, []byte("key"))
	if _, err := mk.Sum(d256, nil, []byte("x")); !errors.Is(err, ErrState) {
		t.Errorf("a marshaled key in a raw digest: %v, want ErrState", err)
	}
	if !isBlank(m256) {
		t.Error("a refused call left state in a marshaling digest")
	}
	var s Stream
	s.Set(d512, []byte("key"))
	if err := s.Write(d256, []byte("x")); !errors.Is(err, ErrHash) {
		t.Errorf("Stream.Write in the wrong digest: %v, want ErrHash", err)
	}
	if _, err := NewDigest(0); !errors.Is(err, ErrHash) {
		t.Errorf("NewDigest(0): %v, want ErrHash", err)
	}
	if !isBlank(d256) || !isBlank(d512) {
		t.Error("a refused call left state in a digest")
	}
}

// putInt writes v into b as the platform's int, as a digest's nx is kept:
// 4 or 8 bytes, in the machine's byte order.
func putInt(b []byte, v int) {
	if strconv.IntSize == 32 {
		binary.NativeEndian.PutUint32(b, uint32(v))
		return
	}
	binary.NativeEndian.PutUint64(b, uint64(v))
}

// A stream given a Key's states computes what a stream set from the key
// does.
func TestStreamSetKey(t *testing.T) {
	for _, c := range hashes {
		d := mustDigest(t, c.h)
		key, msg := filled(50, 9), filled(333, 1)
		var k Key
		k.Set(d, key)
		var s Stream
		s.SetKey(&k)
		if err := s.Write(d, msg); err != nil {
			t.Fatal(err)
		}
		got, err := s.Sum(d, nil)
		if err != nil || !bytes.Equal(got, refHMAC(c.new, key, msg)) {
			t.Errorf("%v: a stream from SetKey differs from crypto/hmac (%v)", c.h, err)
		}
	}
}
