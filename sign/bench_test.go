package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"hash"
	"sync"
	"testing"
)

// BenchmarkHMAC compares HMAC-SHA256 from a cell with crypto/hmac on a
// plain key: reused (Reset per message: the floor, for one goroutine),
// pooled (what a server sharing a key between goroutines without
// allocating does) and made per message (hmac.New).
func BenchmarkHMAC(b *testing.B) {
	key := []byte("0123456789abcdef0123456789abcdef")
	m, err := NewHMAC(SHA256, Static(newCell(b, key)), "k")
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{32, 256, 1024} {
		msg := make([]byte, n)
		out := make([]byte, 0, 64)
		b.Run(fmt.Sprintf("%dB/crypto-hmac-reused", n), func(b *testing.B) {
			h := hmac.New(sha256.New, key)
			b.ReportAllocs()
			for b.Loop() {
				h.Reset()
				h.Write(msg)
				out = h.Sum(out[:0])
			}
		})
		// A plain-key HMAC shared by a server's goroutines: a pool of
		// crypto/hmac objects, as sign.HMAC pools its digests.
		pool := sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}
		b.Run(fmt.Sprintf("%dB/crypto-hmac-pooled", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h := pool.Get().(hash.Hash)
				h.Reset()
				h.Write(msg)
				out = h.Sum(out[:0])
				pool.Put(h)
			}
		})
		b.Run(fmt.Sprintf("%dB/crypto-hmac-new", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h := hmac.New(sha256.New, key)
				h.Write(msg)
				out = h.Sum(out[:0])
			}
		})
		b.Run(fmt.Sprintf("%dB/sign.HMAC", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, _ = m.Sum(out[:0], msg)
			}
		})
		b.Run(fmt.Sprintf("%dB/sign.HMAC.Check", n), func(b *testing.B) {
			tag, _ := m.Sum(nil, msg)
			b.ReportAllocs()
			for b.Loop() {
				_ = m.Check(func(mac, _ []byte) bool { return hmac.Equal(mac, tag) }, msg)
			}
		})
		b.Run(fmt.Sprintf("%dB/sign.Stream", n), func(b *testing.B) {
			s := m.New()
			b.ReportAllocs()
			for b.Loop() {
				s.Reset()
				_, _ = s.Write(msg)
				out = s.Sum(out[:0])
			}
		})
	}
}

func BenchmarkEd25519(b *testing.B) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	k, err := NewEd25519PrivateKey(newCell(b, priv.Seed()))
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 256)
	sig := make([]byte, ed25519.SignatureSize)
	b.Run("crypto-ed25519", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = ed25519.Sign(priv, msg)
		}
	})
	b.Run("sign.Ed25519PrivateKey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = k.SignTo(sig, msg, crypto.Hash(0))
		}
	})
}

func BenchmarkECDSAP256(b *testing.B) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	k, err := ParsePrivateKey(newCell(b, der))
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("x"))
	b.Run("crypto-ecdsa", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = priv.Sign(rand.Reader, digest[:], crypto.SHA256)
		}
	})
	b.Run("sign.ECDSAPrivateKey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = k.Sign(rand.Reader, digest[:], crypto.SHA256)
		}
	})
}
