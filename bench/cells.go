package bench

import (
	"fmt"
	"testing"

	"github.com/awnumar/memguard"

	"github.com/secretmem/secretmem/secret"
)

// The benchmark bodies are exported so that package logbench can run the
// secretmem cases again in a process where package logging is linked (and
// live-secret registration is on). Sub-benchmark names use lib=... so that
// benchstat can project them into columns; cmd/report reads the same names.

// pattern is the 32-byte secret every case copies in. Every constructor
// under test wipes its input, so each iteration refills the source; the
// refill is the same 32-byte copy for every library.
var pattern = []byte("0123456789abcdef0123456789abcdef")

// Sink keeps benchmark results reachable, so the compiler cannot drop the
// work being measured (a plain []byte would otherwise stay on the stack).
var Sink struct {
	Bytes   []byte
	Enclave *memguard.Enclave
	Byte    byte
}

// CreateDestroy creates and destroys a 32-byte secret with every library
// whose case name keep accepts (nil keeps all).
func CreateDestroy(b *testing.B, keep func(lib string) bool) {
	run := func(name string, f func(b *testing.B)) {
		if keep == nil || keep(name) {
			b.Run(name, f)
		}
	}
	run("lib=plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p := make([]byte, len(pattern))
			copy(p, pattern)
			clear(p)
			Sink.Bytes = p
		}
	})
	for _, c := range []struct {
		name string
		opts []secret.Option
	}{
		{"lib=secretmem-pooled", nil},
		{"lib=secretmem-guarded", []secret.Option{secret.Guarded()}},
		{"lib=secretmem-sealed", []secret.Option{secret.Sealed()}},
	} {
		run(c.name, func(b *testing.B) {
			src := make([]byte, len(pattern))
			b.ReportAllocs()
			for b.Loop() {
				copy(src, pattern)
				v, err := secret.New(src, c.opts...)
				if err != nil {
					b.Fatal(err)
				}
				v.Destroy()
			}
		})
	}
	run("lib=memguard-buffer", func(b *testing.B) {
		src := make([]byte, len(pattern))
		b.ReportAllocs()
		for b.Loop() {
			copy(src, pattern)
			buf := memguard.NewBufferFromBytes(src)
			buf.Destroy()
		}
	})
	// An Enclave has no Destroy: it is ciphertext on the Go heap, left to
	// the garbage collector, whose cost lands in this loop too.
	run("lib=memguard-enclave", func(b *testing.B) {
		src := make([]byte, len(pattern))
		b.ReportAllocs()
		for b.Loop() {
			copy(src, pattern)
			Sink.Enclave = memguard.NewEnclave(src)
		}
	})
}

// Read reads a 32-byte secret with every library.
func Read(b *testing.B) {
	b.Run("lib=plain", func(b *testing.B) {
		p := make([]byte, len(pattern))
		copy(p, pattern)
		var s byte
		for b.Loop() {
			s ^= p[0]
		}
		Sink.Byte = s
	})
	for _, c := range []struct {
		name string
		opts []secret.Option
	}{
		{"lib=secretmem-pooled", nil},
		{"lib=secretmem-guarded", []secret.Option{secret.Guarded()}},
		{"lib=secretmem-sealed", []secret.Option{secret.Sealed()}},
	} {
		b.Run(c.name, func(b *testing.B) { readCell(b, len(pattern), c.opts) })
	}
	// memguard's read-only form: a frozen LockedBuffer, read through Bytes.
	b.Run("lib=memguard-buffer-frozen", func(b *testing.B) {
		src := make([]byte, len(pattern))
		copy(src, pattern)
		buf := memguard.NewBufferFromBytes(src)
		buf.Freeze()
		defer buf.Destroy()
		var s byte
		b.ReportAllocs()
		for b.Loop() {
			s ^= buf.Bytes()[0]
		}
		Sink.Byte = s
	})
	// memguard's encrypted-at-rest form: Open decrypts into a fresh
	// LockedBuffer, which must be destroyed after reading.
	b.Run("lib=memguard-enclave-open", func(b *testing.B) { openEnclave(b, len(pattern)) })
}

// readCell reads an n-byte cell made with opts, b.N times.
func readCell(b *testing.B, n int, opts []secret.Option) {
	src := make([]byte, n)
	copy(src, pattern)
	v, err := secret.New(src, opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Destroy()
	var s byte
	fn := func(p []byte) error { s ^= p[0]; return nil }
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Use(fn); err != nil {
			b.Fatal(err)
		}
	}
	Sink.Byte = s
}

// openEnclave opens an n-byte memguard Enclave and destroys the buffer it
// decrypts into, b.N times.
func openEnclave(b *testing.B, n int) {
	src := make([]byte, n)
	copy(src, pattern)
	e := memguard.NewEnclave(src)
	var s byte
	b.ReportAllocs()
	for b.Loop() {
		lb, err := e.Open()
		if err != nil {
			b.Fatal(err)
		}
		s ^= lb.Bytes()[0]
		lb.Destroy()
	}
	Sink.Byte = s
}

// SealedRead reads an encrypted-at-rest secret of 32 bytes and of 1 KiB:
// secretmem's Sealed cells (pooled and guarded) against memguard's
// Enclave, whose Open decrypts into a fresh LockedBuffer that must be
// destroyed after reading.
func SealedRead(b *testing.B) {
	for _, n := range []int{32, 1024} {
		for _, c := range []struct {
			name string
			opts []secret.Option
		}{
			{"lib=secretmem-sealed", []secret.Option{secret.Sealed()}},
			{"lib=secretmem-sealed-guarded", []secret.Option{secret.Sealed(), secret.Guarded()}},
		} {
			b.Run(fmt.Sprintf("size=%dB/%s", n, c.name), func(b *testing.B) { readCell(b, n, c.opts) })
		}
		b.Run(fmt.Sprintf("size=%dB/lib=memguard-enclave-open", n), func(b *testing.B) { openEnclave(b, n) })
	}
}
