package keyed

import (
	"bytes"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

func TestXChaCha20Poly1305MatchesTheAEAD(t *testing.T) {
	var key [KeySize]byte
	var nonce [NonceSize]byte
	copy(key[:], filled(KeySize, 3))
	copy(nonce[:], filled(NonceSize, 200))
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		t.Fatal(err)
	}
	for _, adLen := range []int{0, 1, 12, 15, 16, 17, 40} {
		ad := filled(adLen, 9)
		for n := 0; n <= 300; n++ {
			pt := filled(n, byte(n))
			want := aead.Seal(nil, nonce[:], pt, ad)
			data := bytes.Clone(pt)
			var tag [TagSize]byte
			Seal(&key, &nonce, ad, data, &tag)
			if !bytes.Equal(append(bytes.Clone(data), tag[:]...), want) {
				t.Fatalf("%d bytes with %d bytes of associated data: differs from chacha20poly1305.NewX", n, adLen)
			}
			if !Open(&key, &nonce, ad, data, &tag) || !bytes.Equal(data, pt) {
				t.Fatalf("%d bytes: does not open", n)
			}
		}
	}
}

// Any change to the ciphertext, the tag, the associated data, the nonce or
// the key is refused, and leaves the ciphertext as it was.
func TestOpenRefusesEveryChange(t *testing.T) {
	var key [KeySize]byte
	var nonce [NonceSize]byte
	copy(key[:], filled(KeySize, 1))
	copy(nonce[:], filled(NonceSize, 2))
	ad := filled(16, 3)
	data := filled(70, 4)
	var tag [TagSize]byte
	Seal(&key, &nonce, ad, data, &tag)
	try := func(what string, key *[KeySize]byte, nonce *[NonceSize]byte, ad, data []byte, tag *[TagSize]byte) {
		t.Helper()
		before := bytes.Clone(data)
		if Open(key, nonce, ad, data, tag) {
			t.Errorf("opened with %s", what)
		}
		if !bytes.Equal(data, before) {
			t.Errorf("a refused open with %s changed the ciphertext", what)
		}
	}
	for i := range len(data) * 8 {
		d := bytes.Clone(data)
		d[i/8] ^= 1 << (i % 8)
		try("a flipped ciphertext bit", &key, &nonce, ad, d, &tag)
	}
	for i := range TagSize * 8 {
		tg := tag
		tg[i/8] ^= 1 << (i % 8)
		try("a flipped tag bit", &key, &nonce, ad, bytes.Clone(data), &tg)
	}
	for i := range len(ad) {
		a := bytes.Clone(ad)
		a[i] ^= 0x80
		try("changed associated data", &key, &nonce, a, bytes.Clone(data), &tag)
	}
	try("truncated ciphertext", &key, &nonce, ad, bytes.Clone(data[:len(data)-1]), &tag)
	n2 := nonce
	n2[NonceSize-1] ^= 1
	try("another nonce", &key, &n2, ad, bytes.Clone(data), &tag)
	k2 := key
	k2[0] ^= 1
	try("another key", &k2, &nonce, ad, bytes.Clone(data), &tag)
}

// draft-irtf-cfrg-xchacha-03, appendix A.3.1: an answer computed
// independently of this package and of x/crypto.
func TestXChaCha20Poly1305KnownAnswer(t *testing.T) {
	var key [KeySize]byte
	var nonce [NonceSize]byte
	for i := range key {
		key[i] = 0x80 + byte(i)
	}
	for i := range nonce {
		nonce[i] = 0x40 + byte(i)
	}
	ad, _ := hex.DecodeString("50515253c0c1c2c3c4c5c6c7")
	pt := []byte("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")
	const wantCT = "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e"
	const wantTag = "c0875924c1c7987947deafd8780acf49"
	data := bytes.Clone(pt)
	var tag [TagSize]byte
	Seal(&key, &nonce, ad, data, &tag)
	if hex.EncodeToString(data) != wantCT || hex.EncodeToString(tag[:]) != wantTag {
		t.Fatal("the draft's test vector does not come out")
	}
	if !Open(&key, &nonce, ad, data, &tag) || !bytes.Equal(data, pt) {
		t.Fatal("the draft's test vector does not open")
	}
}

// hmacCTRSeal is the construction sealed cells used before
// XChaCha20-Poly1305 (HMAC-SHA256 as a KDF, in counter mode and as the
// tag), written with this package's HMAC so that both ciphers are
// measured with their state in protected memory and on the erased stack.
// It exists for BenchmarkSealCipher only.
func hmacCTRSeal(d *Digest, master *[32]byte, salt *[16]byte, ad, data []byte, tag *[32]byte) {
	Erase(func() {
		var mk, ek, tk Key
		mk.set(d, master[:])
		var kEnc, kMac [32]byte
		_, _ = mk.sum(d, kEnc[:0], [][]byte{[]byte("enc"), salt[:]})
		_, _ = mk.sum(d, kMac[:0], [][]byte{[]byte("mac"), salt[:]})
		ek.set(d, kEnc[:])
		var ctr [8]byte
		var ks [32]byte
		for off, i := 0, uint64(0); off < len(data); off, i = off+32, i+1 {
			ctr[7] = byte(i) // enough for a benchmark's lengths
			_, _ = ek.sum(d, ks[:0], [][]byte{salt[:], ctr[:]})
			subtle.XORBytes(data[off:], data[off:], ks[:])
		}
		tk.set(d, kMac[:])
		_, _ = tk.sum(d, tag[:0], [][]byte{salt[:], ad, data})
	})
}

// The two candidate ciphers for sealed cells, each as a sealed read would
// run it, with the key already derived from the pre-key (the same 16 KiB
// SHA-256 for both, measured by package secret's benchmarks).
func BenchmarkSealCipher(b *testing.B) {
	var key [KeySize]byte
	var nonce [NonceSize]byte
	var salt [16]byte
	ad := make([]byte, 16)
	d := mustDigest(b, SHA256)
	for _, n := range []int{32, 1024} {
		data := make([]byte, n)
		b.Run(fmt.Sprintf("XChaCha20-Poly1305/%dB", n), func(b *testing.B) {
			var tag [TagSize]byte
			b.ReportAllocs()
			for b.Loop() {
				Seal(&key, &nonce, ad, data, &tag)
			}
		})
		b.Run(fmt.Sprintf("HMAC-SHA256-CTR/%dB", n), func(b *testing.B) {
			var tag [32]byte
			b.ReportAllocs()
			for b.Loop() {
				hmacCTRSeal(d, &key, &salt, ad, data, &tag)
			}
		})
	}
}

// The HMAC-CTR that BenchmarkSealCipher measures is the construction the
// old sealed cells used, written plainly with crypto/hmac.
func TestTheBenchmarkedHMACCTRIsTheOldConstruction(t *testing.T) {
	master, salt := filled(32, 1), filled(16, 2)
	ad, pt := filled(16, 3), filled(200, 4)
	enc := refHMAC(hashes[0].new, master, []byte("enc"), salt)
	mac := refHMAC(hashes[0].new, master, []byte("mac"), salt)
	want := bytes.Clone(pt)
	for i := 0; i*32 < len(want); i++ {
		ctr := make([]byte, 8)
		ctr[7] = byte(i)
		subtle.XORBytes(want[i*32:], want[i*32:], refHMAC(hashes[0].new, enc, salt, ctr))
	}
	wantTag := refHMAC(hashes[0].new, mac, salt, ad, want)
	d := mustDigest(t, SHA256)
	var m [32]byte
	var s [16]byte
	copy(m[:], master)
	copy(s[:], salt)
	got := bytes.Clone(pt)
	var tag [32]byte
	hmacCTRSeal(d, &m, &s, ad, got, &tag)
	if !bytes.Equal(got, want) || !bytes.Equal(tag[:], wantTag) {
		t.Fatal("hmacCTRSeal is not HMAC-SHA256 KDF, counter mode and tag")
	}
}
