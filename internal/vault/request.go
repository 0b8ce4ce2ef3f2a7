package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptrace"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/secretmem/secretmem/internal/memory"
	"github.com/secretmem/secretmem/secret"
)

// A part is a piece of a JSON request body: JSON text as it is, or a
// secret written from its cell as the contents of a JSON string.
type part struct {
	text string
	cell secret.Value
	hide bool // cell is the part
}

func lit(text string) part           { return part{text: text} }
func hidden(v secret.Value) part     { return part{cell: v, hide: true} }
func quote(s string) string          { b, _ := json.Marshal(s); return string(b) }
func field(name string) string       { return quote(name) + ":" }
func member(name, value string) part { return lit(field(name) + quote(value)) }

// outgoing is a request's protected memory: the token (the header value)
// and then the body, in one region, with where the secrets sit.
type outgoing struct {
	f      *flight
	tokLen int
	n      int      // token and body bytes
	spans  [][2]int // secrets in the region: token, hidden parts
	// The hidden parts' cells: the region holds them JSON-escaped, and an
	// echo in Vault's error decodes to the cell's bytes instead.
	cells []secret.Value
}

// compose writes the request's token (rq.token, or the Client's current
// one) and body into a region. A token that a header cannot carry, or a
// secret JSON cannot carry, is refused before anything is sent.
func (c *Client) compose(rq request) (*outgoing, error) {
	// Held until the token is copied: a re-login waits, and the cell read
	// is the one measured.
	c.tokMu.RLock()
	tok := rq.token
	if rq.withToken {
		tok = c.tok.cell
	}
	size := tok.Len()
	for _, p := range rq.body {
		size += len(p.text) + 6*p.cell.Len() // \u00XX at worst
	}
	r, err := c.mem.get(max(size, 1))
	if err != nil {
		c.tokMu.RUnlock()
		return nil, err
	}
	out := &outgoing{f: &flight{p: &c.mem, r: r}}
	mem := r.Bytes()
	if rq.withToken || tok != (secret.Value{}) {
		err = tok.Use(func(b []byte) error {
			if !headerSafe(b) {
				return errors.New("the Vault token holds a byte an HTTP header cannot carry (a newline from a file?)")
			}
			out.tokLen = copy(mem, b)
			scrubRegisters()
			return nil
		})
		out.n = out.tokLen
		out.spans = append(out.spans, [2]int{0, out.tokLen})
	}
	c.tokMu.RUnlock()
	if err != nil {
		out.f.finish()
		return nil, fmt.Errorf("%w: the token: %v", ErrLogin, err)
	}
	for _, p := range rq.body {
		if !p.hide {
			out.n += copy(mem[out.n:], p.text)
			continue
		}
		start := out.n
		err := p.cell.Use(func(b []byte) error {
			if !utf8.Valid(b) {
				return errors.New("a secret for the request body is not UTF-8, which JSON cannot carry unchanged")
			}
			out.n += escapeJSON(mem[out.n:], b)
			return nil
		})
		if err != nil {
			out.f.finish()
			return nil, err
		}
		out.spans = append(out.spans, [2]int{start, out.n})
		out.cells = append(out.cells, p.cell)
	}
	return out, nil
}

func (o *outgoing) mem() []byte        { return o.f.r.Bytes() }
func (o *outgoing) tokenBytes() []byte { return o.mem()[:o.tokLen] }
func (o *outgoing) bodyBytes() []byte  { return o.mem()[o.tokLen:o.n] }

// leaks reports whether msg echoes one of the request's secrets, as the
// request carried it or decoded (see echoes).
func (o *outgoing) leaks(msg []byte) bool {
	defer scrubRegisters()
	for _, s := range o.spans {
		if echoes(msg, o.mem()[s[0]:s[1]]) {
			return true
		}
	}
	for _, c := range o.cells {
		hit := false
		_ = c.Use(func(b []byte) error {
			hit = echoes(msg, b)
			return nil
		})
		if hit {
			return true
		}
	}
	return false
}

// echoRun is the shortest run of a secret's bytes that marks a message as
// echoing it: a proxy may echo part of a secret (a token cut to fit a
// line), and 16 bytes of a random secret appear in no message by chance.
const echoRun = 16

// echoes reports whether msg holds the secret s (4 bytes or longer;
// shorter ones would match by chance), or any echoRun bytes of it.
func echoes(msg, s []byte) bool {
	if len(s) < 4 {
		return false
	}
	if len(s) <= echoRun {
		return bytes.Contains(msg, s)
	}
	for i := 0; i+echoRun <= len(s); i++ {
		if bytes.Contains(msg, s[i:i+echoRun]) {
			return true
		}
	}
	return false
}

func (o *outgoing) traced(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, o.f.trace())
}

// finish hands the region back once net/http is done with it.
func (o *outgoing) finish() { o.f.finish() }

// escapeJSON writes b into dst as the contents of a JSON string.
func escapeJSON(dst, b []byte) int {
	const hex = "0123456789abcdef"
	n := 0
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			dst[n], dst[n+1] = '\\', c
			n += 2
		case c < 0x20:
			copy(dst[n:], `\u00`)
			dst[n+4], dst[n+5] = hex[c>>4], hex[c&15]
			n += 6
		default:
			dst[n] = c
			n++
		}
	}
	return n
}

// headerSafe reports whether b can be an HTTP header value as it is:
// visible ASCII only.
func headerSafe(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return len(b) > 0
}

// A flight tracks when net/http is done reading a request's region. The
// transport writes a request from its own goroutine and may still be
// doing so after Client.Do returned (a cancelled request, a response that
// came early), so the region is handed back only when every connection
// the request got has reported its write (httptrace's WroteRequest) and
// the caller has finished with the response. A write that never reports
// (the connection died before its writer picked the request up) is
// waited for flightGrace; then the region is wiped and abandoned, never
// unmapped nor reused, so a late reader finds zeros, never another
// request's secrets nor an unmapped page.
type flight struct {
	p *regions
	r *memory.Region

	mu       sync.Mutex
	conns    int
	writes   int
	finished bool
	released bool
}

// flightGrace is how long a write that never reports is waited for (a
// variable for tests).
var flightGrace = 30 * time.Second

func (f *flight) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) {
			f.mu.Lock()
			f.conns++
			f.mu.Unlock()
		},
		WroteRequest: func(httptrace.WroteRequestInfo) {
			f.mu.Lock()
			f.writes++
			f.releaseLocked()
			f.mu.Unlock()
		},
	}
}

func (f *flight) finish() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.finished {
		return
	}
	f.finished = true
	f.releaseLocked()
	if !f.released {
		time.AfterFunc(flightGrace, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !f.released {
				f.released = true
				f.p.abandon(f.r)
			}
		})
	}
}

func (f *flight) releaseLocked() {
	if f.finished && !f.released && f.writes >= f.conns {
		f.released = true
		f.p.put(f.r)
	}
}
