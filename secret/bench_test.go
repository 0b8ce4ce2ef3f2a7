package secret_test

import (
	"testing"

	"github.com/secretmem/secretmem/secret"
)

func BenchmarkNewDestroy(b *testing.B) {
	for _, c := range []struct {
		name string
		opts []secret.Option
	}{
		{"pooled", nil},
		{"guarded", []secret.Option{secret.Guarded()}},
	} {
		b.Run(c.name+"/32B", func(b *testing.B) {
			src := make([]byte, 32)
			b.ReportAllocs()
			for b.Loop() {
				src[0] = 1
				v, err := secret.New(src, c.opts...)
				if err != nil {
					b.Fatal(err)
				}
				v.Destroy()
			}
		})
	}
}

func BenchmarkUse(b *testing.B) {
	for _, c := range []struct {
		name string
		opts []secret.Option
	}{
		{"pooled", nil},
		{"guarded", []secret.Option{secret.Guarded()}},
	} {
		b.Run(c.name+"/32B", func(b *testing.B) {
			v, err := secret.Random(32, c.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer v.Destroy()
			var sink byte
			fn := func(p []byte) error { sink ^= p[0]; return nil }
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Use(fn); err != nil {
					b.Fatal(err)
				}
			}
			_ = sink
		})
	}
}
