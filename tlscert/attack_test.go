package tlscert

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/secret"
)

// An attacker's review of reloads: handshakes racing rotations whose old
// cells are destroyed at once (no grace period). Every handshake that
// succeeds must have been signed by the key of the leaf it served, so
// that no mix of one version's certificate and another's key is ever
// offered; a handshake may fail while its key is destroyed under it, but
// nothing may crash, race or leave a replaced key alive once its cell is
// gone.
func TestHandshakesRacingRotationsServeMatchingPairs(t *testing.T) {
	pairs := []pair{ed25519Pair(t, 40), p256Pair(t, 41), ed25519Pair(t, 42), p256Pair(t, 43)}
	var roots []*x509.Certificate
	for _, p := range pairs {
		roots = append(roots, p.cert)
	}
	mk := func(i int) secret.Value {
		v, err := secret.New(append(bytes.Clone(pairs[i%len(pairs)].certPEM), pairs[i%len(pairs)].keyPEM...))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	src := &source{v: mk(0)}
	c, err := New(src, "tls.key", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := listen(t, c)
	var rot, hs sync.WaitGroup
	stop := make(chan struct{})
	rotations := 0
	spawn(&rot, func() {
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Microsecond):
			}
			old := src.Secret("")
			src.set(mk(i))
			old.Destroy() // no grace period: the worst case
			rotations++
		}
	})
	var served sync.Map
	var failed atomic.Int32
	for range 2 {
		spawn(&hs, func() {
			for range 40 {
				// A successful handshake proves the pair matched: the client
				// checks the signature with the served leaf's public key.
				leaf, err := dial(t, addr, tls.VersionTLS13, roots...)
				if err == nil {
					served.Store(leaf.SerialNumber.Int64(), true)
				} else {
					failed.Add(1)
				}
			}
		})
	}
	for range 2 {
		spawn(&hs, func() {
			for range 300 {
				_, _ = c.GetCertificate(nil)
			}
		})
	}
	hs.Wait()
	close(stop)
	rot.Wait()
	n := 0
	served.Range(func(any, any) bool { n++; return true })
	if n == 0 {
		t.Error("no handshake succeeded while keys rotated")
	}
	// Every replaced cell is destroyed; one more handshake sweeps, and
	// then no retired version may hold a live key.
	if _, err := dial(t, addr, tls.VersionTLS13, roots...); err != nil {
		t.Fatalf("a handshake after the rotations: %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.retired {
		if !v.src.Alive() {
			t.Error("a retired version whose cell is destroyed still holds its key")
		}
	}
	t.Logf("%d rotations; %d certificates served; %d of 80 handshakes failed", rotations, n, failed.Load())
}

// spawn runs f in a goroutine counted by wg (sync.WaitGroup.Go needs Go
// 1.25; the module supports 1.24).
func spawn(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
}
