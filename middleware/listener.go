package middleware

import (
	"errors"
	"net"
	"sync"
)

// Listener wraps ln so that the credentials Tokens takes never reach
// net/http's memory at all. Each accepted connection's bytes are read
// into protected memory first; the values of the Authorization and
// Proxy-Authorization headers (and of the API-key headers and cookies
// named by WithAPIKeys and WithCookies, which Listener takes like Tokens)
// move from there into volatile cells, and net/http reads a placeholder
// in their place. Tokens recognises the placeholder and hands the cell
// to the request. Without Listener, net/http parses the header from its
// connection read buffer, where the last request's credential stays
// until the next request overwrites it, and makes a Go string of it that
// lingers until the garbage collector reuses the memory.
//
//	ln, _ := net.Listen("tcp", addr)
//	srv.Serve(middleware.Listener(ln, middleware.WithAPIKeys("X-Api-Key")))
//
// Use the same options for Listener and Tokens. A handler without Tokens
// in front of it sees the placeholders, never the credentials: it fails
// closed.
//
// Where it works, and where it stops:
//
//   - HTTP/1.0 and HTTP/1.1 over a plain connection: keep-alive,
//     pipelined requests, Content-Length and chunked bodies, Expect:
//     100-continue, header lines split across reads. Bodies pass through
//     unread, straight into net/http's buffer.
//   - TLS terminated in front of it: a proxy that forwards plain HTTP/1.1,
//     or a tls.NewListener that Listener wraps (srv.Serve, not ServeTLS,
//     which would put TLS outside Listener). The TLS layer still holds the
//     decrypted bytes in its own buffers; and since net/http then sees no
//     *tls.Conn, r.TLS is nil and HTTP/2 is not negotiated.
//   - HTTP/2 and h2c are not rewritten: a connection that starts with
//     HTTP/2's preface, or switches protocols (Upgrade, CONNECT), passes
//     through unchanged from there on, and so does one whose framing it
//     cannot be sure of (malformed lines, obs-fold, Content-Length with
//     Transfer-Encoding, a credential or framing header over 16 KiB).
//     net/http refuses most such requests; only the connection that sent
//     them is affected, which behind a proxy that pools connections is
//     every client after that one on it. Other lines over 16 KiB (a long
//     URL, a long header of another name) are streamed through as they
//     are, and the requests after them rewritten as usual.
//   - The request line (a token in the query string) and bodies are not
//     rewritten.
//
// A connection holds protected memory only while it reads a request's
// header section (2 KiB, or 16 KiB for a long line): an idle keep-alive
// connection holds none. Up to 32 wiped buffers (and never more than
// connections are open) wait for the next header section. Listener costs
// one extra read system call per request, to wait for the request
// without holding that memory.
func Listener(ln net.Listener, opts ...Option) net.Listener {
	c := collect(opts)
	names := &credentialNames{cookies: c.cookies}
	if !c.noBearer {
		names.headers = append(names.headers, "Authorization")
	}
	names.headers = append(names.headers, "Proxy-Authorization")
	names.headers = append(names.headers, c.apiKeys...)
	return &listener{Listener: ln, names: names}
}

type listener struct {
	net.Listener
	names *credentialNames
}

// Accept wraps the next connection.
func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newTakingConn(c, l.names), nil
}

// takingConn is a connection whose reads go through a rewriter.
type takingConn struct {
	net.Conn
	mu      sync.Mutex // Read and Close; net/http reads from one goroutine at a time
	w       rewriter
	buf     readBuffer // raw bytes not yet rewritten, in protected memory
	out     []byte     // rewritten bytes not yet read
	outPos  int
	pending error // from the underlying Read, returned after the bytes read with it
	taken   *takenSet
	closed  bool
}

func newTakingConn(c net.Conn, names *credentialNames) *takingConn {
	opened()
	return &takingConn{Conn: c, w: rewriter{names: names}, taken: newTakenSet()}
}

// Read returns the connection's bytes with credentials replaced. An error
// from the underlying connection is returned as it comes, after the
// bytes read with it, and leaves the state as it was: net/http interrupts
// its background read with a deadline in the past and then reads on.
func (c *takingConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.outPos < len(c.out) {
			n := copy(p, c.out[c.outPos:])
			if c.outPos += n; c.outPos == len(c.out) {
				c.out, c.outPos = c.out[:0], 0
			}
			return n, nil
		}
		if len(p) == 0 {
			return 0, nil
		}
		if !c.buf.empty() && c.process() {
			continue
		}
		if err := c.pending; err != nil {
			c.pending = nil
			c.readFailed(err)
			return 0, err
		}
		if !c.buf.empty() || c.w.phase == phaseLongLine {
			// An incomplete line: it needs more bytes. So does the rest of
			// a long line being streamed, a buffer at a time: read a byte
			// at a time as a line's first byte is below, a 40 KiB header
			// line took 24,000 reads (and seconds under Wine).
			if !c.buf.live && c.buf.take() != nil {
				c.w.phase = phasePass // no protected memory: pass through
				continue
			}
			n, err := c.buf.fill(c.Conn)
			if err != nil && n == 0 {
				c.readFailed(err)
				return 0, err
			}
			c.pending = err
			continue
		}
		if rem, body := c.w.body(); body {
			// Body bytes (or a passed-through connection) go straight
			// into the caller's buffer.
			q := p
			if rem > 0 && int64(len(q)) > rem {
				q = q[:rem]
			}
			n, err := c.Conn.Read(q)
			c.w.skipped(n)
			return n, err
		}
		// Wait for the next line's first byte without holding protected
		// memory: an idle keep-alive connection costs none.
		var first [1]byte
		n, err := c.Conn.Read(first[:])
		if n == 0 {
			return 0, err
		}
		c.pending = err
		if err := c.buf.start(first[0]); err != nil {
			// No protected memory: pass the connection through.
			c.w.phase = phasePass
			c.out = append(c.out, first[0])
		}
	}
}

// readFailed drops a half-read line when the connection will give no
// more (anything but a timeout): it could never complete.
func (c *takingConn) readFailed(err error) {
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return
	}
	c.buf.release()
}

// process rewrites what the buffer holds, releases the buffer when it is
// empty, and reports whether it consumed anything.
func (c *takingConn) process() bool {
	progress := false
	c.buf.consume(func(b []byte) int {
		var n int
		c.out, n = c.w.rewrite(c.out, b, c.take)
		progress = n > 0
		return n
	})
	if !progress && c.buf.full() && !c.buf.grow() {
		// A line longer than the largest buffer: stream it, or pass the
		// connection through (see rewriter.tooLong).
		c.buf.consume(func(b []byte) int {
			c.w.tooLong(b)
			return 0
		})
		return c.process()
	}
	if c.buf.empty() && c.w.phase != phaseLongLine {
		c.buf.release()
	}
	return progress
}

// take moves a credential into a cell and returns its placeholder.
func (c *takingConn) take(value []byte) []byte {
	return c.taken.put(c.w.requests, value)
}

// Close closes the connection and destroys every credential no request
// claimed.
func (c *takingConn) Close() error {
	err := c.Conn.Close()
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		c.buf.release()
		c.taken.close()
		defer closed()
	}
	c.mu.Unlock()
	return err
}

// CloseWrite half-closes the connection when the underlying one can, as
// net/http does before closing.
func (c *takingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
