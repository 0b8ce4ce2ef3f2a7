package outbound_test

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/secretmem/secretmem/outbound"
)

// h2Server runs f over HTTP/2 and TLS on 127.0.0.1 and counts the bytes
// clients send it (TLS records included). conf, if given, is the server's
// HTTP/2 configuration.
func h2Server(t *testing.T, f http.HandlerFunc, conf ...*http.HTTP2Config) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	srv := httptest.NewUnstartedServer(f)
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if len(conf) > 0 {
		srv.Config.HTTP2 = conf[0]
	}
	read := &atomic.Int64{}
	srv.Listener = countingListener{srv.Listener, read}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, read
}

// h2Client is a fresh transport (one new connection) trusting srv.
func h2Client(srv *httptest.Server) *http.Transport {
	return srv.Client().Transport.(*http.Transport).Clone()
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(int64(n))
	return n, err
}

func TestHTTP2CarriesTheCredentialAcrossARotation(t *testing.T) {
	src := newRotating(cell(t, marker(t)))
	var wrong, notH2 atomic.Int64
	srv, _ := h2Server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			notH2.Add(1)
		}
		if !src.Secret("").Equal([]byte(r.Header.Get("Authorization")[len("Bearer "):])) {
			wrong.Add(1)
		}
	})
	rt := newTransport(t, h2Client(srv), outbound.Bearer(src, "k"))
	for i := range 40 {
		if i == 20 {
			old := src.Secret("")
			src.set(cell(t, marker(t)))
			old.Destroy()
		}
		get(t, rt, srv.URL)
	}
	if wrong.Load() != 0 || notH2.Load() != 0 {
		t.Errorf("%d requests with a wrong credential, %d not over HTTP/2", wrong.Load(), notH2.Load())
	}
}

// HPACK's dynamic table indexes "authorization: Bearer ..." on the first
// request of a connection; later requests send a one-byte index, provided
// the string net/http was given still reads the same. This measures the
// bytes each request costs on the wire: the Transport must cost what a
// header set by hand costs, and a credential that changes every request
// (what a per-request copy wiped after use would amount to) must show up
// as the literal it is, so the measurement can tell the two apart.
func TestHPACKIndexesTheCredentialOncePerConnection(t *testing.T) {
	m := marker(t)
	srv, read := h2Server(t, func(http.ResponseWriter, *http.Request) {})
	perRequest := func(rt http.RoundTripper) float64 {
		for range 10 {
			get(t, rt, srv.URL)
		}
		before := read.Load()
		const n = 50
		for range n {
			get(t, rt, srv.URL)
		}
		return float64(read.Load()-before) / n
	}
	byHand := perRequest(setHeader{h2Client(srv), func() string { return "Bearer " + m }})
	ours := perRequest(newTransport(t, h2Client(srv), outbound.Bearer(fixed(cell(t, m)), "k")))
	var i int
	changing := perRequest(setHeader{h2Client(srv), func() string { i++; return "Bearer " + m + strconv.Itoa(i) }})
	t.Logf("bytes per request on the wire: header set by hand %.1f, Transport %.1f, a value new every request %.1f", byHand, ours, changing)
	if ours > byHand+2 {
		t.Errorf("the Transport costs %.1f bytes per request against %.1f by hand: HPACK no longer indexes its credential", ours, byHand)
	}
	if changing < byHand+float64(len(m))/2 {
		t.Errorf("a new value every request costs only %.1f bytes against %.1f: the measurement cannot see a literal", changing, byHand)
	}
}

// setHeader is what a client without this package does: a copy of the
// request with the header set from a fresh string.
type setHeader struct {
	base  http.RoundTripper
	value func() string
}

func (s setHeader) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", s.value())
	return s.base.RoundTrip(r)
}

// Why the header value is not a per-request heap string wiped after the
// round trip: HPACK's table keeps that string and its map finds entries by
// content, so once the bytes are wiped an evicted entry can no longer be
// found and deleted. Over 5,000 requests on one connection the naive way
// grows the heap by about 170 bytes per request, for the connection's
// life; the Transport, like a header set by hand, stays flat.
func TestHTTP2ConnectionsDoNotGrowWithTheTransport(t *testing.T) {
	srv, _ := h2Server(t, func(http.ResponseWriter, *http.Request) {})
	m := marker(t)
	growth := func(rt http.RoundTripper) int64 {
		client := &http.Client{Transport: rt}
		do := func(n int) {
			for range n {
				resp, err := client.Get(srv.URL)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		}
		do(500)
		before := heapInUse()
		do(5000)
		return heapInUse() - before
	}
	ours := growth(newTransport(t, h2Client(srv), outbound.Bearer(fixed(cell(t, m)), "k")))
	naive := growth(wipeAfterUse{h2Client(srv), m})
	t.Logf("heap growth over 5,000 requests on one HTTP/2 connection: Transport %d bytes, a heap string wiped after each request %d bytes", ours, naive)
	if ours > 64<<10 {
		t.Errorf("the Transport grew the heap by %d bytes over 5,000 requests on one connection", ours)
	}
	if naive < 5000*50 {
		t.Errorf("the naive way grew only %d bytes: the package documentation's reason no longer holds", naive)
	}
}

func heapInUse() int64 {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return int64(s.HeapAlloc)
}

// wipeAfterUse is the design the Transport avoids: a fresh heap string per
// request, wiped once the response body is closed.
type wipeAfterUse struct {
	base http.RoundTripper
	m    string
}

func (w wipeAfterUse) RoundTrip(req *http.Request) (*http.Response, error) {
	b := []byte("Bearer " + w.m)
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", unsafe.String(&b[0], len(b)))
	resp, err := w.base.RoundTrip(r)
	if err != nil {
		clear(b)
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	clear(b)
	resp.Body = http.NoBody
	return resp, nil
}
