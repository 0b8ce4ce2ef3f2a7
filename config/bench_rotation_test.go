package config

import (
	"context"
	"testing"
	"time"
)

// The price of seeing content changes and refusing half-written files,
// at 1,000 keys (a Kubernetes volume of 1,000 files):
//
//   - BenchmarkProbe1000Files is one poll of Watch: every file read into
//     protected memory and hashed under the Config's key, plus the
//     directory listing and the ..data link;
//   - BenchmarkLoad1000Files is the load a reload runs (with its stamps);
//   - BenchmarkReload1000Files is a whole forced reload with SettleTime(0):
//     the load, the probe that checks it, and the install (every cell
//     carried over, nothing changed). A reload also waits SettleTime.
//
// volume1000 is a Config on a Kubernetes volume of 1,000 keys.
func volume1000(b *testing.B, opts ...Option) *Config {
	k := newKubelet(b, b.TempDir(), 1000)
	cfg, err := Load(append([]Option{SecretDir(k.vol)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cfg.Close() })
	return cfg
}

func BenchmarkProbe1000Files(b *testing.B) {
	cfg := volume1000(b)
	st := cfg.state()
	b.ReportAllocs()
	for b.Loop() {
		if !versionsEqual(st.versions, probeAll(context.Background(), cfg.stamps, st.versions)) {
			b.Fatal("the probe found a change")
		}
	}
}

func BenchmarkLoad1000Files(b *testing.B) {
	cfg := volume1000(b)
	b.ReportAllocs()
	for b.Loop() {
		st, err := cfg.s.load(context.Background(), cfg.state(), cfg.stamps)
		if err != nil {
			b.Fatal(err)
		}
		st.discard()
	}
}

func BenchmarkReload1000Files(b *testing.B) {
	cfg := volume1000(b, SettleTime(0), GracePeriod(time.Millisecond))
	b.ReportAllocs()
	for b.Loop() {
		if err := cfg.Reload(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	if g := cfg.Status().Generation; g != 1 {
		b.Fatalf("generation %d: a reload that changed nothing made a new one", g)
	}
}
