package vault

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
	"unsafe"
)

// connBuffer is the size of net/http's per-connection read and write
// buffers (bufio), set explicitly so that wipingConn can recognise the
// read buffer.
const connBuffer = 4096

// wipingConn is the connection under net/http's transport. net/http
// copies every request into a per-connection bufio.Writer and every
// response through a per-connection bufio.Reader, and keeps both buffers
// for the connection's life: the last request's X-Vault-Token and body and
// the last response's secrets would stay on the heap. wipingConn clears
// them as soon as net/http is done with their bytes:
//
//   - Write clears what it was given once the bytes are on the wire:
//     bufio.Writer never reads back what it flushed, and the other callers
//     (io.Copy's buffer for a request body) drop theirs.
//   - Read clears the part of the read buffer it is asked to fill before
//     filling it: bufio.Reader only asks for room whose old bytes it has
//     consumed. The transport reads ahead for the next response as soon as
//     a body is done, so the last response is cleared then.
//   - Close clears the read buffer of a connection closed before that.
//
// The read buffer is learned from the first Read: a new bufio.Reader
// fills itself from its start, for the status line. Reads into other
// memory (a large body read straight into a caller's buffer) are left
// alone. Over TLS the conn wraps the tls.Conn, above the encryption, and
// also clears the buffer crypto/tls decrypts records into (tlsbuf.go).
type wipingConn struct {
	net.Conn

	tlsIn tlsInput // over TLS: the record buffer crypto/tls decrypts into
	// idle, when set (by tests), is called by Read between clearing and
	// reading: in the state a core dump of an idle client would see.
	idle func(*wipingConn)

	mu      sync.Mutex
	buf     []byte // bufio.Reader's buffer, once known
	reading bool
	closed  bool
}

func (c *wipingConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	if c.buf == nil && len(p) == connBuffer {
		c.buf = p[:len(p):len(p)]
	}
	own := c.owns(p)
	c.reading = true
	c.mu.Unlock()
	if own {
		clear(p)
	}
	if c.idle != nil {
		c.idle(c)
	}
	n, err := c.Conn.Read(p)
	if c.tlsIn.raw != nil {
		// The record was decrypted in place (and through the vector
		// registers) on this goroutine: both are cleared here.
		c.tlsIn.clear()
		scrubRegisters()
	}
	c.mu.Lock()
	c.reading = false
	if c.closed {
		// Closed while this Read waited: the goroutine that owns the
		// buffers is this one, so they are cleared here.
		clear(c.buf)
		c.tlsIn.wipe()
		n, err = 0, net.ErrClosed
	}
	c.mu.Unlock()
	return n, err
}

// owns reports whether p lies inside the read buffer.
func (c *wipingConn) owns(p []byte) bool {
	if c.buf == nil || len(p) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(c.buf)))
	at := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	return at >= lo && at+uintptr(len(p)) <= lo+uintptr(len(c.buf))
}

func (c *wipingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	clear(p[:n])
	// This runs on the transport's writer after it copied the request
	// (token header, body) into its buffer.
	scrubRegisters()
	return n, err
}

func (c *wipingConn) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		if !c.reading {
			clear(c.buf)
			c.tlsIn.wipe()
		}
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

// newTransport returns the HTTP/1.1 transport a Client talks to Vault
// through: every connection a wipingConn, TLS verified unless the
// configuration skips it, no proxy, no compression (a gzip reader would
// inflate secrets into heap buffers of its own), no HTTP/2 (HPACK keeps
// header values in tables of its own).
func newTransport(tlsConf *tls.Config, unixSocket string) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if unixSocket != "" {
			network, addr = "unix", unixSocket
		}
		conn, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &wipingConn{Conn: conn}, nil
	}
	return &http.Transport{
		Proxy:       nil,
		DialContext: dial,
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			raw, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			conf := tlsConf.Clone()
			if conf.ServerName == "" {
				host, _, err := net.SplitHostPort(addr)
				if err != nil {
					host = addr
				}
				conf.ServerName = host
			}
			tc := tls.Client(raw, conf)
			hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := tc.HandshakeContext(hctx); err != nil {
				_ = raw.Close()
				return nil, err
			}
			return &wipingConn{Conn: tc, tlsIn: tlsInputOf(tc)}, nil
		},
		TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{},
		DisableCompression:    true,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0,
		ReadBufferSize:        connBuffer,
		WriteBufferSize:       connBuffer,
	}
}
