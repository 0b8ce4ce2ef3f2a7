package keyed

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"filippo.io/edwards25519"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ed25519Key(t testing.TB, d *Digest, seed []byte) *Ed25519Key {
	t.Helper()
	var k Ed25519Key
	if err := k.SetSeed(d, seed); err != nil {
		t.Fatal(err)
	}
	return &k
}

func signWith(t testing.TB, d *Digest, k *Ed25519Key, dom, msg []byte) []byte {
	t.Helper()
	var sig [Ed25519SignatureSize]byte
	if err := k.Sign(d, &sig, dom, msg); err != nil {
		t.Fatal(err)
	}
	return sig[:]
}

// dom2 is RFC 8032's domain prefix for Ed25519ctx (ph false) and
// Ed25519ph (ph true).
func dom2(ph bool, ctx string) []byte {
	flag := byte(0)
	if ph {
		flag = 1
	}
	return append([]byte("SigEd25519 no Ed25519 collisions"), append([]byte{flag, byte(len(ctx))}, ctx...)...)
}

// RFC 8032, section 7.1 tests 1-3 (Ed25519) and 7.3 (Ed25519ph).
func TestEd25519RFC8032Vectors(t *testing.T) {
	d := mustDigest(t, SHA512)
	for _, v := range []struct {
		name, seed, pub, msg, sig string
		ph                        bool
	}{
		{"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b", false},
		{"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
			"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00", false},
		{"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
			"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
			"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a", false},
		{"TEST abc (Ed25519ph)", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
			"ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf", "616263",
			"98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae4131f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406", true},
	} {
		k := ed25519Key(t, d, mustHex(t, v.seed))
		if pub := k.Public(); hex.EncodeToString(pub[:]) != v.pub {
			t.Errorf("%s: public key %x, want %s", v.name, pub, v.pub)
		}
		msg, dom := mustHex(t, v.msg), []byte(nil)
		if v.ph {
			h := sha512.Sum512(msg)
			msg, dom = h[:], dom2(true, "")
		}
		if got := hex.EncodeToString(signWith(t, d, k, dom, msg)); got != v.sig {
			t.Errorf("%s: signature %s, want %s", v.name, got, v.sig)
		}
		if !isBlank(d) {
			t.Fatalf("%s: signing left state in the digest", v.name)
		}
	}
}

// The 128 vectors Go's crypto/ed25519 tests itself with (a selection of
// ref10's), when the toolchain's sources are at hand.
func TestEd25519GoTestVectors(t *testing.T) {
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("no go command to find the toolchain's sources: %v", err)
	}
	f, err := os.Open(filepath.Join(strings.TrimSpace(string(root)), "src", "crypto", "ed25519", "testdata", "sign.input.gz"))
	if err != nil {
		t.Skipf("Go's Ed25519 test vectors are not available: %v", err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	d := mustDigest(t, SHA512)
	sc := bufio.NewScanner(z)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ":")
		if len(parts) != 5 {
			t.Fatalf("line %d has %d fields", n+1, len(parts))
		}
		priv, msg, sig := mustHex(t, parts[0]), mustHex(t, parts[2]), mustHex(t, parts[3])
		k := ed25519Key(t, d, priv[:32])
		if pub := k.Public(); !bytes.Equal(pub[:], priv[32:]) {
			t.Fatalf("vector %d: wrong public key", n)
		}
		if got := signWith(t, d, k, nil, msg); !bytes.Equal(got, sig[:64]) {
			t.Fatalf("vector %d: signature differs", n)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 128 {
		t.Fatalf("read %d vectors, want 128", n)
	}
}

// Random keys and messages in all three variants sign as crypto/ed25519
// does (it is deterministic), and its Verify accepts the signatures.
func TestEd25519MatchesCryptoEd25519(t *testing.T) {
	d := mustDigest(t, SHA512)
	for i := range 200 {
		seed := make([]byte, 32)
		msg := make([]byte, i*7)
		_, _ = rand.Read(seed)
		_, _ = rand.Read(msg)
		ref := ed25519.NewKeyFromSeed(seed)
		k := ed25519Key(t, d, seed)
		if pub := k.Public(); !bytes.Equal(pub[:], ref[32:]) {
			t.Fatalf("public key differs for seed %x", seed)
		}
		ctx := strings.Repeat("c", i%5)
		ph := sha512.Sum512(msg)
		for _, c := range []struct {
			name     string
			dom, msg []byte
			opts     *ed25519.Options
		}{
			{"Ed25519", nil, msg, &ed25519.Options{}},
			{"Ed25519ctx", dom2(false, ctx+"x"), msg, &ed25519.Options{Context: ctx + "x"}},
			{"Ed25519ph", dom2(true, ctx), ph[:], &ed25519.Options{Hash: crypto.SHA512, Context: ctx}},
		} {
			want, err := ref.Sign(nil, c.msg, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := signWith(t, d, k, c.dom, c.msg)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: signature differs from crypto/ed25519's", c.name)
			}
			if err := ed25519.VerifyWithOptions(ed25519.PublicKey(ref[32:]), c.msg, got, c.opts); err != nil {
				t.Fatalf("%s: crypto/ed25519 refuses the signature: %v", c.name, err)
			}
		}
	}
}

func TestEd25519Misuse(t *testing.T) {
	d256, d512 := mustDigest(t, SHA256), mustDigest(t, SHA512)
	var k Ed25519Key
	var sig [Ed25519SignatureSize]byte
	if err := k.Sign(d512, &sig, nil, nil); err != ErrState {
		t.Errorf("signing with an unset key: %v, want ErrState", err)
	}
	if err := k.SetSeed(d256, make([]byte, 32)); err != ErrHash {
		t.Errorf("SetSeed with a SHA-256 digest: %v, want ErrHash", err)
	}
	if err := k.SetSeed(d512, make([]byte, 31)); err != ErrSeed {
		t.Errorf("SetSeed with 31 bytes: %v, want ErrSeed", err)
	}
	k = *ed25519Key(t, d512, make([]byte, 32))
	if err := k.Sign(d256, &sig, nil, nil); err != ErrHash {
		t.Errorf("Sign with a SHA-256 digest: %v, want ErrHash", err)
	}
	k.scalar = [32]byte{31: 0xff} // not reduced: memory overwritten
	if err := k.Sign(d512, &sig, nil, nil); err != ErrState {
		t.Errorf("signing with a damaged scalar: %v, want ErrState", err)
	}
}

// ed25519Needles are what an Ed25519 key leaves in a computation: the
// hash of the seed (clamped scalar and prefix), the reduced scalar in
// bytes and in the Montgomery-domain words edwards25519 keeps it in, and
// the nonce r of the signature of msg.
func ed25519Needles(t *testing.T, seed, msg []byte) NeedlesForTest {
	h := sha512.Sum512(seed)
	n := NeedlesForTest{}
	clamped := bytes.Clone(h[:32])
	clamped[0] &= 248
	clamped[31] &= 63
	clamped[31] |= 64
	n.Add("clamped scalar", clamped)
	n.Add("prefix", h[32:])
	s, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		t.Fatal(err)
	}
	n.Add("scalar", s.Bytes())
	n.Add("scalar (Montgomery words)", unsafe.Slice((*byte)(unsafe.Pointer(s)), unsafe.Sizeof(*s)))
	rh := sha512.New()
	rh.Write(h[32:])
	rh.Write(msg)
	r, err := edwards25519.NewScalar().SetUniformBytes(rh.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	n.Add("nonce r", r.Bytes())
	n.Add("nonce r (Montgomery words)", unsafe.Slice((*byte)(unsafe.Pointer(r)), unsafe.Sizeof(*r)))
	return n
}

// After SetSeed and Sign neither the dead stack nor the registers hold the
// expanded key or the nonce; with the wipe skipped the scan finds them.
func TestNoEd25519KeyMaterialOutlivesACall(t *testing.T) {
	d := mustDigest(t, SHA512)
	seed, msg := filled(32, 0x71), filled(300, 0x12)
	nd := ed25519Needles(t, seed, msg)
	k := ed25519Key(t, d, seed)
	var k2 Ed25519Key
	var sig [Ed25519SignatureSize]byte
	for _, op := range []struct {
		name string
		f    func()
	}{
		{"SetSeed", func() { _ = k2.SetSeed(d, seed) }},
		{"Sign", func() { _ = k.Sign(d, &sig, nil, msg) }},
	} {
		t.Run(op.name, func(t *testing.T) { checkErasedDeep(t, op.f, nd) })
	}
}

func BenchmarkEd25519Sign(b *testing.B) {
	seed := filled(32, 1)
	msg := filled(256, 2)
	b.Run("crypto-ed25519", func(b *testing.B) {
		priv := ed25519.NewKeyFromSeed(seed)
		b.ReportAllocs()
		for b.Loop() {
			_ = ed25519.Sign(priv, msg)
		}
	})
	b.Run("Ed25519Key", func(b *testing.B) {
		d := mustDigest(b, SHA512)
		k := ed25519Key(b, d, seed)
		var sig [Ed25519SignatureSize]byte
		b.ReportAllocs()
		for b.Loop() {
			_ = k.Sign(d, &sig, nil, msg)
		}
	})
}
