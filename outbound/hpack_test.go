package outbound_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/secretmem/secretmem/outbound"
	"github.com/secretmem/secretmem/secret"
)

// The HPACK encoder of a long-lived HTTP/2 connection keeps every
// credential string it indexed, as a map key, long after the cell behind
// it has died and its bytes were wiped. If a later credential were written
// over those bytes, a stale key would read as the current credential: when
// the map rehashes (it grows with every rotation) or a hash collides, the
// encoder finds the stale entry and sends the index of an entry the server
// evicted long ago (Go's encoder panics on it, taking the process down) or
// of the server's copy of an old credential. Many rotations, each old cell
// destroyed at once, on one connection whose table holds a few entries:
// every request must arrive with exactly the current credential, and the
// connection must never fail.
func TestManyRotationsOnOneHTTP2ConnectionSendOnlyTheCurrentCredential(t *testing.T) {
	for _, size := range []int{4096, 256} {
		t.Run("dynamic table of "+strconv.Itoa(size)+" bytes", func(t *testing.T) {
			var want atomic.Pointer[string]
			var wrong, conns, notH2 atomic.Int64
			srv, _ := h2Server(t, func(w http.ResponseWriter, r *http.Request) {
				if r.ProtoMajor != 2 {
					notH2.Add(1)
				}
				if r.Header.Get("Authorization") != "Bearer "+*want.Load() {
					wrong.Add(1)
				}
			}, &http.HTTP2Config{MaxDecoderHeaderTableSize: size})
			src := newRotating(secret.Value{})
			rt := newTransport(t, h2Client(srv), outbound.Bearer(src, "k"))
			client := &http.Client{Transport: rt}
			trace := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
				GotConn: func(i httptrace.GotConnInfo) {
					if !i.Reused {
						conns.Add(1)
					}
				},
			})
			var old secret.Value
			const rotations = 400
			for i := range rotations {
				m := marker(t)
				v, err := secret.FromString(m)
				if err != nil {
					t.Fatal(err)
				}
				want.Store(&m)
				src.set(v)
				old.Destroy() // no grace period: the old string is wiped now
				old = v
				for range 2 {
					req, _ := http.NewRequestWithContext(trace, "GET", srv.URL, nil)
					resp, err := client.Do(req)
					if err != nil {
						t.Fatalf("rotation %d: %v", i, err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				}
			}
			old.Destroy()
			if wrong.Load() != 0 || notH2.Load() != 0 || conns.Load() != 1 {
				t.Errorf("over %d rotations: %d requests arrived with a credential other than the current one, %d not over HTTP/2, %d connections (want 1)",
					rotations, wrong.Load(), notH2.Load(), conns.Load())
			}
		})
	}
}

// What a rotation costs a long-lived HTTP/2 connection: the encoder's map
// keeps one dead entry per rotation (its key was wiped, so the eviction
// that should delete it cannot find it) until the connection closes. The
// README states the figure this logs; the bound catches a cost per
// request, or a leak far larger than one map entry.
func TestARotationCostsAnHTTP2ConnectionOneMapEntry(t *testing.T) {
	srv, _ := h2Server(t, func(http.ResponseWriter, *http.Request) {})
	src := newRotating(secret.Value{})
	rt := newTransport(t, h2Client(srv), outbound.Bearer(src, "k"))
	var old secret.Value
	rotate := func(n int) {
		for range n {
			v, err := secret.FromString(marker(t))
			if err != nil {
				t.Fatal(err)
			}
			src.set(v)
			old.Destroy()
			old = v
			get(t, rt, srv.URL)
			get(t, rt, srv.URL)
		}
	}
	rotate(200)
	before := heapInUse()
	const n = 3000
	rotate(n)
	grown := float64(heapInUse()-before) / n
	old.Destroy()
	t.Logf("heap growth per rotation on one HTTP/2 connection: %.0f bytes", grown)
	if grown > 1024 {
		t.Errorf("the connection grew by %.0f bytes per rotation", grown)
	}
}
