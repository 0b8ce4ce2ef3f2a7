package middleware

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// validCredentialByByte is validCredential one byte at a time, as it was
// written before it looked at eight.
func validCredentialByByte[T string | []byte](s T) bool {
	if len(s) == 0 || len(s) > MaxCredentialSize {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// validCredential agrees with the byte-at-a-time check for every byte
// value at every position of a word, next to every boundary value, and
// for random strings of every length up to three words.
func TestValidCredentialLooksAtEveryByte(t *testing.T) {
	check := func(s string) {
		t.Helper()
		want := validCredentialByByte(s)
		if validCredential(s) != want || validCredential([]byte(s)) != want {
			t.Fatalf("validCredential(%q) = %v, want %v", s, !want, want)
		}
	}
	edges := []byte{0x00, 0x01, 0x20, 0x21, 0x22, 0x7d, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff}
	base := []byte(strings.Repeat("A", 19)) // two words and three bytes
	for pos := range base {
		for c := range 256 {
			b := append([]byte(nil), base...)
			b[pos] = byte(c)
			check(string(b))
			for _, e := range edges { // a neighbour at a boundary: borrows and carries
				if pos+1 < len(b) {
					b[pos+1] = e
					check(string(b))
				}
				if pos > 0 {
					b[pos-1] = e
					check(string(b))
				}
				b = append(b[:0], base...)
				b[pos] = byte(c)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, r.IntN(25)+1)
		for i := range b {
			if r.IntN(8) == 0 {
				b[i] = edges[r.IntN(len(edges))]
			} else {
				b[i] = byte(0x21 + r.IntN(0x5e))
			}
		}
		check(string(b))
	}
	check(strings.Repeat("x", MaxCredentialSize))
	check(strings.Repeat("x", MaxCredentialSize+1))
	check("")
}

// BenchmarkValidCredential checks a JWT-sized bearer token (180 bytes)
// eight bytes at a time, and one at a time as before.
func BenchmarkValidCredential(b *testing.B) {
	tok := []byte(strings.Repeat("eyJhbGciOiJIUzI1NiJ9.", 8) + "0123456789ab")
	b.Run("words", func(b *testing.B) {
		for b.Loop() {
			if !validCredential(tok) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("bytes", func(b *testing.B) {
		for b.Loop() {
			if !validCredentialByByte(tok) {
				b.Fatal("refused")
			}
		}
	})
}
