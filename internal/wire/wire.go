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
// normally; then it is wiped, and retired for good.
//
// Retired for good, because a wiped string can still be in use as a map
// key: the HPACK table of a connection that sent the old credential keeps
// it for the connection's life. Were a later string written over the same
// bytes, that stale key would read as the new credential, and the first
// time the map rehashed (it grows by a dead entry at each rotation) or a
// hash collided, a lookup of the new credential would find the old entry:
// Go's encoder then sends the index of an entry the server evicted long
// ago (it panics on that, in a goroutine of its own, so the process dies)
// or of the server's copy of an old credential. So no byte a string ever
// started at is written again: retiring a string wipes it and moves the
// start of its slot on by one byte, the next string goes there, and every
// string handed out once reads, from its retirement to the end of the
// process, as a NUL followed by whatever. No header value and no password
// holds a NUL (HTTP refuses control characters, PostgreSQL's protocol ends
// strings at NUL), so no lookup can match a retired string again. A slot
// costs one byte per rotation: a page serves about 4,000 rotations of a
// 100-byte credential, and a year of hourly rotations (8,760) of a
// credential of up to 1,000 bytes takes four pages in all.
//
// A Cache reuses its own slots that way. After Close (or once the Cache is
// unreachable) its slots go to other Caches, whose strings start past
// every byte the closed one handed out: a string of the closed Cache that
// is still written out somewhere reads as zeros, never as part of another
// credential.
package wire

import (
	"crypto/subtle"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
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

// ErrTooManyLive is returned by Get for a new version of the secret while
// maxLive versions, each with a live cell, are held already: a source that
// hands out a new cell with a different secret at every call, and keeps
// the old ones alive, would otherwise take a locked page per call.
var ErrTooManyLive = errors.New("too many versions of the secret are alive at once " +
	"(does the source make a new cell at every call? it must return the same cell until the secret changes)")

// maxLive bounds the strings a Cache holds at once: the current one and
// those whose replaced cells are still alive. A config swaps cells at a
// reload and destroys the old ones after a grace period; 64 reloads that
// each changed the secret within one grace period is a bug.
const maxLive = 64

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
	pages   *pages // slots this Cache owns, free or in use
	closed  bool
}

type entry[S Source] struct {
	src  S
	prev S // the cell the string belonged to before src took it over, if any
	s    string
	sl   *slot
}

// A slot is a region that holds at most one wire string at a time, at
// its start. Its first dead bytes are where retired strings started: they
// are zero and are never written again.
type slot struct {
	r     *memory.Region
	start int
	end   int // the end of the furthest string the slot handed out
}

// room is the size of the longest string the slot can take.
func (sl *slot) room() int { return sl.r.Size() - sl.start }

// pages is the memory of one Cache, kept apart from the Cache so that a
// cleanup can return it when the Cache becomes unreachable.
type pages struct {
	mu   sync.Mutex
	free []*slot
	used map[*slot]int // slot -> length of the string it holds
}

// New returns a Cache that formats with f.
func New[S Source](f Format) *Cache[S] {
	c := &Cache[S]{format: f, pages: &pages{used: map[*slot]int{}}}
	runtime.AddCleanup(c, func(p *pages) { p.release() }, c.pages)
	return c
}

// Get returns the wire form of src, formatting it on first use. The string
// reads unchanged while src is alive; once src has died (and Get or Close
// has noticed), it reads as a NUL followed by other bytes, for good. It
// stays readable either way, since its memory is never unmapped.
//
// A new cell with the same wire form as the current one (a reload that
// did not change the secret) gets the current string, which from then on
// lives as long as the new cell.
//
// Get fails with src's own error (destroyed, expired, consumed) when src
// cannot be read, with Format.Write's error, with memory.ErrLockLimit when
// no locked page can be had, with ErrTooManyLive, or with ErrClosed.
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
	if cur != nil && !cur.src.Alive() {
		// A cell that can no longer be read takes its wire form along.
		c.cur.Store(nil)
		c.wipe(cur)
		cur = nil
	}
	var none S
	if cur != nil && (cur.src == src || cur.prev != none && cur.prev == src) {
		// cur.prev: a late caller of the cell an unchanged reload
		// replaced gets the string without taking it back.
		return cur.s, nil
	}
	for _, r := range c.retired {
		// A caller that got the old cell just before a rotation: its
		// string is still good, and it does not become current again.
		if r.src == src {
			return r.s, nil
		}
	}
	var e *entry[S]
	err := src.Use(func(b []byte) error {
		n := c.format.Len(len(b))
		sl, err := c.pages.take(n)
		if err != nil {
			return err
		}
		dst := sl.r.Bytes()[sl.start : sl.start+n : sl.start+n] // no room to write past it
		if err := c.format.Write(dst, b); err != nil {
			c.pages.put(sl, false) // never handed out
			return err
		}
		if cur != nil && subtle.ConstantTimeCompare(dst, unsafe.Slice(unsafe.StringData(cur.s), len(cur.s))) == 1 {
			// The same secret in a new cell (a reload that did not
			// change it, or a source that makes a cell per call): the
			// string stays, and now lives as long as the newest cell.
			// Keeping every cell that ever asked for it alive would
			// cost a page per call.
			c.pages.put(sl, false)
			e = &entry[S]{src: src, prev: cur.src, s: cur.s, sl: cur.sl}
			return nil
		}
		if len(c.retired) >= maxLive-1 && cur != nil {
			c.pages.put(sl, false)
			return ErrTooManyLive
		}
		e = &entry[S]{src: src, sl: sl}
		if n > 0 {
			e.s = unsafe.String(&dst[0], n)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	c.cur.Store(e)
	if cur != nil && cur.sl != e.sl {
		c.retired = append(c.retired, cur)
		c.retiring.Store(int32(len(c.retired)))
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

func (c *Cache[S]) wipe(e *entry[S]) { c.pages.put(e.sl, true) }

// Close wipes and retires every wire string of the Cache and returns its
// pages for reuse by other Caches; later Gets fail with ErrClosed. Strings handed out before read as a NUL followed by
// other bytes from now on: they must no longer be sent.
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

// take returns a slot with room for n bytes: one of this Cache's free
// ones, one from the shared pool, or a new mapping.
func (p *pages) take(n int) (*slot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, sl := range p.free {
		if sl.room() >= n {
			p.free = append(p.free[:i], p.free[i+1:]...)
			p.used[sl] = n
			return sl, nil
		}
	}
	sl := shared.take(n)
	if sl == nil {
		r, err := memory.Map(max(n, 1), memory.MustLock)
		if err != nil {
			return nil, err
		}
		mapped.Add(1)
		sl = &slot{r: r}
	}
	p.used[sl] = n
	return sl, nil
}

// put wipes the string sl holds and keeps sl for this Cache's next one.
// A string that was handed out is retired: the byte it started at is
// never written again, so sl's next string starts one byte further on,
// and a slot with no room left is dropped (its memory stays mapped and
// zero: strings handed out from it may still be read).
func (p *pages) put(sl *slot, handedOut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, ok := p.used[sl]
	if !ok {
		return
	}
	delete(p.used, sl)
	sl.retire(n, handedOut)
	if sl.room() > 0 {
		p.free = append(p.free, sl)
	}
}

// retire wipes the n-byte string at sl's start and, if it was handed out
// (a string of no bytes never is), moves the start past its first byte.
func (sl *slot) retire(n int, handedOut bool) {
	clear(sl.r.Bytes()[sl.start : sl.start+n])
	if handedOut && n > 0 {
		sl.end = max(sl.end, sl.start+n)
		sl.start++
	}
}

// mapped counts the regions all Caches have mapped, for tests.
var mapped atomic.Int64

// release wipes and retires every string and hands every slot with room
// left to the shared pool, for other Caches. Their strings start past
// every byte this Cache handed out: a string of this one that is written
// out after Close (a request that was still waiting for a connection)
// reads as zeros, never as part of another credential. Within one Cache
// a retired string may read as a NUL and part of a later version of the
// same credential, which only a caller that ignored the grace period
// could send, and only where the same credential goes.
func (p *pages) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for sl, n := range p.used {
		sl.retire(n, true)
		p.free = append(p.free, sl)
	}
	for _, sl := range p.free {
		sl.start = max(sl.start, sl.end)
		if sl.room() > 0 {
			shared.put(sl)
		}
	}
	clear(p.used)
	p.free = nil
}

// shared holds the slots of closed or unreachable Caches. Regions are
// never unmapped: a string the HPACK table of a live HTTP/2 connection
// still holds must stay readable for the connection's life.
var shared pool

type pool struct {
	mu    sync.Mutex
	slots []*slot
}

func (p *pool) put(sl *slot) {
	p.mu.Lock()
	p.slots = append(p.slots, sl)
	p.mu.Unlock()
}

func (p *pool) take(n int) *slot {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, sl := range p.slots {
		if sl.room() >= n {
			p.slots = append(p.slots[:i], p.slots[i+1:]...)
			return sl
		}
	}
	return nil
}
