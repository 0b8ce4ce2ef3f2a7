package secret_test

import (
	"fmt"
	"testing"

	"github.com/secretmem/secretmem/internal/testalloc"
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

func TestAllocationBudgets(t *testing.T) {
	src := make([]byte, 32)
	newDestroy := testalloc.PerRun(1000, func() {
		src[0] = 1
		v, err := secret.New(src)
		if err != nil {
			t.Fatal(err)
		}
		v.Destroy()
	})
	if newDestroy > 2 {
		t.Errorf("pooled New+Destroy allocates %.1f times, budget 2", newDestroy)
	}
	v, err := secret.Random(32)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Destroy()
	fn := func([]byte) error { return nil }
	use := testalloc.PerRun(1000, func() { _ = v.Use(fn) })
	if use != 0 {
		t.Errorf("pooled Use allocates %.1f times, budget 0", use)
	}
	eq := testalloc.PerRun(1000, func() { _ = v.Equal(src) })
	if eq != 0 {
		t.Errorf("Equal allocates %.1f times, budget 0", eq)
	}
}

func BenchmarkEqual(b *testing.B) {
	v, err := secret.Random(32)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Destroy()
	other := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		_ = v.Equal(other)
	}
}

func BenchmarkUseParallel(b *testing.B) {
	v, err := secret.Random(32)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Destroy()
	fn := func([]byte) error { return nil }
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = v.Use(fn)
		}
	})
}

func BenchmarkBoxNewDestroy(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		v, err := secret.NewBox([32]byte{1})
		if err != nil {
			b.Fatal(err)
		}
		v.Destroy()
	}
}

func BenchmarkVecPushByte(b *testing.B) {
	v, err := secret.NewVec[byte](1 << 16)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Destroy()
	b.ReportAllocs()
	for b.Loop() {
		if v.Len() == 1<<16 {
			_ = v.Truncate(0)
		}
		if err := v.Push('x'); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVecPushByteGrowing(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		v, err := secret.NewVec[byte](0)
		if err != nil {
			b.Fatal(err)
		}
		for range 1024 {
			_ = v.Push('x')
		}
		v.Destroy()
	}
}

func BenchmarkSealed(b *testing.B) {
	fn := func([]byte) error { return nil }
	for _, n := range []int{32, 1024} {
		b.Run(fmt.Sprintf("Use/%dB", n), func(b *testing.B) {
			v, err := secret.Random(n, secret.Sealed())
			if err != nil {
				b.Fatal(err)
			}
			defer v.Destroy()
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Use(fn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("NewDestroy/32B", func(b *testing.B) {
		src := make([]byte, 32)
		b.ReportAllocs()
		for b.Loop() {
			src[0] = 1
			s, err := secret.New(src, secret.Sealed())
			if err != nil {
				b.Fatal(err)
			}
			s.Destroy()
		}
	})
	// What a new pre-key costs (one per secret.CellsPerPrekeyForTest
	// sealed cells): a guarded 16 KiB cell from crypto/rand.
	b.Run("MakePrekey/16KiB", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			v, err := secret.Random(secret.PrekeySizeForTest, secret.Guarded())
			if err != nil {
				b.Fatal(err)
			}
			v.Destroy()
		}
	})
	b.Run("Update/32B", func(b *testing.B) {
		box, err := secret.NewBox([32]byte{1}, secret.Sealed())
		if err != nil {
			b.Fatal(err)
		}
		defer box.Destroy()
		b.ReportAllocs()
		for b.Loop() {
			if err := box.Update(func(p *[32]byte) error { p[0]++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVolatileNewUseDestroy(b *testing.B) {
	src := make([]byte, 32)
	fn := func([]byte) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		src[0] = 1
		v, err := secret.New(src, secret.Volatile())
		if err != nil {
			b.Fatal(err)
		}
		_ = v.Use(fn)
		v.Destroy()
	}
}

// BenchmarkScopedVolatileNewUseDestroy is a request credential's life in
// package middleware: a Scoped volatile cell, read once, destroyed.
func BenchmarkScopedVolatileNewUseDestroy(b *testing.B) {
	src := make([]byte, 200)
	fn := func([]byte) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		src[0] = 1
		v, err := secret.New(src, secret.Volatile(), secret.Scoped())
		if err != nil {
			b.Fatal(err)
		}
		_ = v.Use(fn)
		v.Destroy()
	}
}
