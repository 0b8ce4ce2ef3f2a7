// Package wire keeps a secret formatted for a protocol (an Authorization
// header value, a database password) as a Go string whose bytes live in
// locked memory outside the Go heap.
//
// Why not a heap string wiped after use: the libraries these strings are
// handed to keep them after the call returns. net/http's HTTP/2 client puts
// an Authorization value into its HPACK encoder's dynamic table (Go does
// not mark it sensitive) and looks it up by content in a map for the
// connection's life; wiping that string in place breaks the map (evictions
// no longer find their entries, so the map grows by one entry per request),
// and a fresh string per request defeats the indexing altogether. pgx keeps
// the ConnConfig whose Password it connected with for the connection's
// life. So a wire string is formatted once per version of the secret,
// handed out for as long as that version's cell is alive, and its memory is
// never unmapped: a string the HPACK table still holds must stay readable.
//
// Lifetime: a Cache formats the wire form of a cell on first use and hands
// the same string out while that cell is alive. When the caller's source
// returns a different cell (a rotation), the new one is formatted and the
// old string is kept intact until its own cell dies (the config's grace
// period), so requests and connections still in flight with it finish
// normally; then it is wiped. The pages go back to a pool for reuse by the
// same Cache, or, after Close (or once the Cache is unreachable) and a
// quarantine, by any Cache.
package wire

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/secretmem/secretmem/internal/memory"
)

// A Source is a cell a wire string is formatted from. secret.Value
// satisfies it; the constraint keeps this package below secret.
type Source interface {
	comparable
	Use(func([]byte) error) error
	Alive() bool
}

// A Format turns a secret into its wire form.
type Format struct {
	// Len is the length of the wire form of a secret of n bytes.
	Len func(n int) int
	// Write writes the wire form of secret into dst, which is Len(len(secret))
	// bytes long. Its error must not contain secret bytes; dst is wiped on
	// error.
	Write func(dst, secret []byte) error
}

// ErrClosed is returned by Get after Close.
var ErrClosed = errors.New("closed")

// A Cache hands out the wire form of the current cell of one credential.
// It is safe for concurrent use.
type Cache[S Source] struct {
	format Format
	cur    atomic.Pointer[entry[S]]
	// retiring is non-zero while some replaced entries wait for their
	// cells to die; Get then sweeps them.
	retiring atomic.Int32

	mu      sync.Mutex
	retired []*entry[S]
	pages   *pages // regions this Cache owns, free or in use
	closed  bool
}

type entry[S Source] struct {
	src S
	s   string
	r   *memory.Region
}

// pages is the memory of one Cache, kept apart from the Cache so that a
// cleanup can return it when the Cache becomes unreachable.
type pages struct {
	mu   sync.Mutex
	free []*memory.Region
	used map[*memory.Region]struct{}
}

// New returns a Cache that formats with f.
func New[S Source](f Format) *Cache[S] {
	c := &Cache[S]{format: f, pages: &pages{used: map[*memory.Region]struct{}{}}}
	runtime.AddCleanup(c, func(p *pages) { p.release() }, c.pages)
	return c
}

// Get returns the wire form of src, formatting it on first use. The string
// stays readable and unchanged while src is alive; the caller must not
// keep it beyond that. Get fails with src's own error (destroyed, expired,
// consumed) when src cannot be read, with Format.Write's error, with
// memory.ErrLockLimit when no locked page can be had, or with ErrClosed.
func (c *Cache[S]) Get(src S) (string, error) {
	if e := c.cur.Load(); e != nil && e.src == src && src.Alive() {
		if c.retiring.Load() != 0 && c.mu.TryLock() {
			c.sweepLocked()
			c.mu.Unlock()
		}
		return e.s, nil
	}
	return c.slow(src)
}

func (c *Cache[S]) slow(src S) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return "", ErrClosed
	}
	c.sweepLocked()
	cur := c.cur.Load()
	if cur != nil && cur.src == src && src.Alive() {
		return cur.s, nil
	}
	var e *entry[S]
	err := src.Use(func(b []byte) error {
		n := c.format.Len(len(b))
		r, err := c.pages.take(n)
		if err != nil {
			return err
		}
		dst := r.Bytes()[:n]
		if err := c.format.Write(dst, b); err != nil {
			c.pages.put(r)
			return err
		}
		e = &entry[S]{src: src, r: r}
		if n > 0 {
			e.s = unsafe.String(&dst[0], n)
		}
		return nil
	})
	if err != nil {
		// A cell that can no longer be read takes its wire form along.
		if cur != nil && !cur.src.Alive() {
			c.cur.Store(nil)
			c.wipe(cur)
		}
		return "", err
	}
	c.cur.Store(e)
	if cur != nil {
		if cur.src.Alive() {
			c.retired = append(c.retired, cur)
			c.retiring.Store(int32(len(c.retired)))
		} else {
			c.wipe(cur)
		}
	}
	return e.s, nil
}

// sweepLocked wipes the retired entries whose cells have died.
func (c *Cache[S]) sweepLocked() {
	kept := c.retired[:0]
	for _, e := range c.retired {
		if e.src.Alive() {
			kept = append(kept, e)
		} else {
			c.wipe(e)
		}
	}
	clear(c.retired[len(kept):])
	c.retired = kept
	c.retiring.Store(int32(len(kept)))
}

func (c *Cache[S]) wipe(e *entry[S]) { c.pages.put(e.r) }

// Close wipes every wire string of the Cache and returns its pages for
// reuse; later Gets fail with ErrClosed. Strings handed out before must no
// longer be in use.
func (c *Cache[S]) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	c.cur.Store(nil)
	c.retired = nil
	c.retiring.Store(0)
	c.pages.release()
}

// Live reports how many wire strings the Cache holds (the current one and
// those waiting for their cells to die), for tests and stats.
func (c *Cache[S]) Live() int {
	c.pages.mu.Lock()
	defer c.pages.mu.Unlock()
	return len(c.pages.used)
}

// take returns a region of at least n bytes: one of this Cache's free
// ones, one from the shared pool, or a new mapping.
func (p *pages) take(n int) (*memory.Region, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range p.free {
		if r.Size() >= n {
			p.free = append(p.free[:i], p.free[i+1:]...)
			p.used[r] = struct{}{}
			return r, nil
		}
	}
	r := shared.take(n)
	if r == nil {
		var err error
		r, err = memory.Map(max(n, 1), memory.MustLock)
		if err != nil {
			return nil, err
		}
	}
	p.used[r] = struct{}{}
	return r, nil
}

// put wipes r and keeps it for this Cache's next wire string.
func (p *pages) put(r *memory.Region) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.used[r]; !ok {
		return
	}
	clear(r.Bytes())
	delete(p.used, r)
	p.free = append(p.free, r)
}

// release wipes every region and hands them all to the shared pool.
func (p *pages) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for r := range p.used {
		clear(r.Bytes())
		shared.put(r, now)
	}
	for _, r := range p.free {
		shared.put(r, now)
	}
	clear(p.used)
	p.free = nil
}

// quarantine is how long a region released by one Cache rests before
// another Cache may reuse it. A request or connection attempt that its
// library was still writing when the owner was closed (net/http's write
// loop after a cancelled round trip) would otherwise read another
// credential's bytes. Nothing in flight outlives its connection's failure
// by this long.
const quarantine = 10 * time.Second

// shared holds the regions of closed or unreachable Caches. Regions are
// never unmapped: a string the HPACK table of a live HTTP/2 connection
// still holds must stay readable for the connection's life.
var shared pool

type pool struct {
	mu      sync.Mutex
	regions []released
}

type released struct {
	r  *memory.Region
	at time.Time
}

func (p *pool) put(r *memory.Region, at time.Time) {
	p.mu.Lock()
	p.regions = append(p.regions, released{r, at})
	p.mu.Unlock()
}

func (p *pool) take(n int) *memory.Region {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for i, x := range p.regions {
		if x.r.Size() >= n && now.Sub(x.at) >= quarantine {
			p.regions = append(p.regions[:i], p.regions[i+1:]...)
			return x.r
		}
	}
	return nil
}
