package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretmem/secretmem/internal/wine"
)

// BenchmarkLoad100Secrets loads 100 secret keys (and 100 plain ones)
// from each kind of source, with each cell placement, and closes the
// Config: the figure the pipeline rebuild must not make worse.
func BenchmarkLoad100Secrets(b *testing.B) {
	dir := wine.TempDir(b)
	var yml, jsn, tml, env strings.Builder
	jsn.WriteString("{")
	for i := range 100 {
		m := marker(b)
		fmt.Fprintf(&yml, "svc%03d:\n  token: %s\n  host: h%d\n", i, m, i)
		if i > 0 {
			jsn.WriteString(",")
		}
		fmt.Fprintf(&jsn, "%q: {\"token\": %q, \"host\": \"h%d\"}", fmt.Sprintf("svc%03d", i), m, i)
		fmt.Fprintf(&tml, "[svc%03d]\ntoken = %q\nhost = \"h%d\"\n", i, m, i)
		fmt.Fprintf(&env, "SVC%03d_TOKEN=%s\nSVC%03d_HOST=h%d\n", i, m, i, i)
		writeFile(b, filepath.Join(dir, "secrets", fmt.Sprintf("svc%03d.token", i)), m+"\n", 0o600)
	}
	jsn.WriteString("}")
	files := map[string]string{
		"yaml": writeFile(b, filepath.Join(dir, "c.yaml"), yml.String(), 0o600),
		"json": writeFile(b, filepath.Join(dir, "c.json"), jsn.String(), 0o600),
		"toml": writeFile(b, filepath.Join(dir, "c.toml"), tml.String(), 0o600),
		"env":  writeFile(b, filepath.Join(dir, "c.env"), env.String(), 0o600),
	}
	vars := make(map[string]string, 200)
	for i := range 100 {
		vars[fmt.Sprintf("BENCH100_SVC%03d__TOKEN", i)] = marker(b)
		vars[fmt.Sprintf("BENCH100_SVC%03d__HOST", i)] = fmt.Sprintf("h%d", i)
	}
	sources := []struct {
		name  string
		opts  []Option
		setup func()
	}{
		{"yaml", []Option{File(files["yaml"])}, nil},
		{"json", []Option{File(files["json"])}, nil},
		{"toml", []Option{File(files["toml"])}, nil},
		{"dotenv", []Option{File(files["env"])}, nil},
		{"environment", []Option{Env("BENCH100_")}, func() {
			for k, v := range vars {
				os.Setenv(k, v)
			}
		}},
		{"secretdir", []Option{SecretDir(filepath.Join(dir, "secrets"))}, nil},
	}
	for _, placement := range bench100Placements {
		for _, src := range sources {
			b.Run(placement.name+"/"+src.name, func(b *testing.B) {
				b.ReportAllocs()
				opts := append(append([]Option(nil), src.opts...), placement.opts...)
				for i := 0; i < b.N; i++ {
					if src.setup != nil {
						b.StopTimer()
						src.setup()
						b.StartTimer()
					}
					cfg, err := Load(opts...)
					if err != nil {
						b.Fatal(err)
					}
					if n := len(cfg.Keys()); n < 100 {
						b.Fatalf("%d keys", n)
					}
					cfg.Close()
				}
			})
		}
	}
	for k := range vars {
		os.Unsetenv(k)
	}
}

var bench100Placements = []struct {
	name string
	opts []Option
}{
	{"guarded", []Option{Guarded()}},
	{"pooled", []Option{Pooled()}},
}
