package config

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/wine"
)

// kubelet writes a secret volume as the kubelet's AtomicWriter does: each
// generation in a timestamped directory of its own, ..data swapped to it
// with one rename, the previous generation deleted at once.
type kubelet struct {
	vol    string
	keys   int
	gen    int      // the generation ..data points at
	ts     string   // its directory
	ahead  []string // the next generations' directories, written ahead
	run    string   // random part of every value, per test
	suffix [][]byte // what follows the generation in each key's value
}

// value is key i's secret in generation g: its generation and key are
// written in it, and every value has the same length.
func (k *kubelet) value(g, i int) []byte {
	return fmt.Appendf(nil, "g%06d%s", g, k.suffix[i])
}

func (k *kubelet) key(i int) string { return fmt.Sprintf("k%05d", i) }

// newKubelet writes generation 1 of a volume of n keys under dir.
func newKubelet(t testing.TB, dir string, n int) *kubelet {
	k := &kubelet{vol: filepath.Join(dir, "vol"), keys: n, run: marker(t)}
	for i := range n {
		k.suffix = append(k.suffix, fmt.Appendf(nil, "-k%05d-%s", i, k.run))
	}
	if err := os.MkdirAll(k.vol, 0o700); err != nil {
		t.Fatal(err)
	}
	k.prepare(t)
	k.swap(t)
	for i := range n {
		if err := os.Symlink(filepath.Join("..data", k.key(i)), filepath.Join(k.vol, k.key(i))); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

// prepare writes the directory of the next generation not written yet,
// which nothing points at yet.
func (k *kubelet) prepare(t testing.TB) {
	g := k.gen + len(k.ahead) + 1
	ts := fmt.Sprintf("..gen_%06d.%d", g, rand.Int())
	if err := os.MkdirAll(filepath.Join(k.vol, ts), 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range k.keys {
		if err := os.WriteFile(filepath.Join(k.vol, ts, k.key(i)), k.value(g, i), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	k.ahead = append(k.ahead, ts)
}

// swap points ..data at the next prepared generation and deletes the one
// it pointed at.
func (k *kubelet) swap(t testing.TB) {
	next := k.ahead[0]
	k.ahead = k.ahead[1:]
	tmp := filepath.Join(k.vol, "..data_tmp")
	if err := os.Symlink(next, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(k.vol, "..data")); err != nil {
		t.Fatal(err)
	}
	if k.ts != "" {
		if err := os.RemoveAll(filepath.Join(k.vol, k.ts)); err != nil {
			t.Fatal(err)
		}
	}
	k.gen++
	k.ts = next
}

// check reads every key of one snapshot and reports whether all hold
// complete values of one generation, and which.
func (k *kubelet) check(sn Snapshot) (gen int, ok bool) {
	gen = -1
	for i := range k.keys {
		g := 0
		err := sn.Secret(k.key(i)).Use(func(b []byte) error {
			if len(b) < 7 || b[0] != 'g' || !bytes.Equal(b[7:], k.suffix[i]) {
				return errNotWritten
			}
			for _, c := range b[1:7] {
				if c < '0' || c > '9' {
					return errNotWritten
				}
				g = g*10 + int(c-'0')
			}
			return nil
		})
		if err != nil || gen >= 0 && g != gen {
			return gen, false
		}
		gen = g
	}
	return gen, true
}

// A Kubernetes volume of 1,000 keys, swapped under load. Before, a reload
// followed ..data file by file, and one that took 60 ms installed k1 from
// one generation and k2 from the next (11 of 116 reloads); and two
// Secret calls could straddle a swap. A reload now resolves ..data once,
// and every Snapshot must hold one whole generation.
func TestAKubernetesVolumeOfAThousandKeysSwapsAsOneGeneration(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1,000 files per generation")
	}
	dir := kubeDir(t)
	k := newKubelet(t, dir, 1000)
	cfg := watched(t, nil, SecretDir(k.vol), PollInterval(time.Millisecond), SettleTime(5*time.Millisecond), GracePeriod(time.Hour))
	var snapshots, mixed atomic.Int64
	stop := repeat(2, func() {
		snapshots.Add(1)
		if _, ok := k.check(cfg.Snapshot()); !ok {
			mixed.Add(1)
		}
	})
	// Bursts of swaps 0-60 ms apart, each while the reload of the one
	// before reads, most of the time (writing a generation takes longer
	// than a reload here, so they are written ahead).
	const bursts, burst = 4, 4
	for range bursts {
		for range burst {
			k.prepare(t)
		}
		for range burst {
			k.swap(t)
			time.Sleep(time.Duration(rand.IntN(60)) * time.Millisecond)
		}
		waitGeneration(t, cfg, k)
	}
	const swaps = bursts * burst
	waitGeneration(t, cfg, k)
	stop()
	st := cfg.Status()
	t.Logf("%d snapshots of 1,000 keys, %d swaps, %d reloads, %d unsettled, %d failed", snapshots.Load(), swaps, st.Reloads, st.Unsettled, st.Failed)
	if n := mixed.Load(); n > 0 {
		t.Errorf("%d of %d snapshots held keys of different generations or values not written in full", n, snapshots.Load())
	}
}

var errNotWritten = errors.New("not a value written in full")

// waitGeneration waits until cfg holds the kubelet's latest generation.
func waitGeneration(t *testing.T, cfg *Config, k *kubelet) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; {
		if g, ok := k.check(cfg.Snapshot()); ok && g == k.gen {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("generation %d was not installed within 60 s (status %v)", k.gen, cfg.Status().LogValue())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// kubeDir is a directory for a volume built with symbolic links.
func kubeDir(t *testing.T) string {
	t.Helper()
	wine.Skip(t, "symbolic links made with os.Symlink do not show in a directory listing")
	return t.TempDir()
}
