package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/wine"
)

// BenchmarkLoad1000Secrets loads a YAML file with 1,000 secret keys (and
// 1,000 plain ones) and closes the Config. Budget for guarded cells: under
// 100 ms per Load. ms/load and ms/close split the time.
func BenchmarkLoad1000Secrets(b *testing.B) {
	var sb strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&sb, "svc%04d:\n  token: %s\n  host: h%d\n", i, marker(b), i)
	}
	p := writeFile(b, filepath.Join(wine.TempDir(b), "c.yaml"), sb.String(), 0o600)
	for _, bc := range []struct {
		name string
		opts []Option
	}{
		{"guarded", []Option{File(p), Guarded()}},
		{"pooled", []Option{File(p)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var loading, closing time.Duration
			for b.Loop() {
				t0 := time.Now()
				cfg, err := Load(bc.opts...)
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if !cfg.IsSecret("svc0999.token") {
					b.Fatal("svc0999.token is not secret")
				}
				cfg.Close()
				loading += t1.Sub(t0)
				closing += time.Since(t1)
			}
			b.ReportMetric(float64(loading.Microseconds())/1e3/float64(b.N), "ms/load")
			b.ReportMetric(float64(closing.Microseconds())/1e3/float64(b.N), "ms/close")
		})
	}
}

// BenchmarkReadASecret is the cost of the read a service makes on every
// request, in each placement: why config's cells are pooled by default.
func BenchmarkReadASecret(b *testing.B) {
	p := writeFile(b, filepath.Join(wine.TempDir(b), "c.yaml"), "api:\n  key: "+marker(b)+"\n", 0o600)
	for _, bc := range []struct {
		name string
		opts []Option
	}{
		{"pooled", nil},
		{"guarded", []Option{Guarded()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg, err := Load(append([]Option{File(p)}, bc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			defer cfg.Close()
			key := cfg.Secret("api.key")
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				_ = key.Use(func(k []byte) error { n += len(k); return nil })
			}
		})
	}
}
