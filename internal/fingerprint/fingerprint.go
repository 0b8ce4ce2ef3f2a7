// Package fingerprint keeps a process-wide registry of live secrets so that
// a secret which leaked into an ordinary string can be found and redacted
// before it reaches a log, without the registry holding a copy of any
// secret.
//
// Each registered secret leaves two things behind for each of its
// spellings (the plaintext, its hex and base64 encodings, its JSON-escaped
// text, its bytes listed as fmt and encoding/json list them and, for
// single-case secrets, the other case; see form):
//
//   - a filter bit chosen by the top bits of a keyed multiplicative hash of
//     its first 8 bytes (at most 24 bits of that hash are stored), and
//   - a 64-bit SipHash-2-4 tag of the whole spelling under a second key.
//
// Scrub slides an 8-byte window over the input, one unaligned load and one
// multiply per byte; only windows whose filter bit is set are hashed with
// SipHash over the candidate length, and only a matching tag reaches the
// cell's own confirm function (after decoding the spelling into a scratch
// buffer that is wiped), which compares in constant time against the live
// cell. So the registry never redacts text that is not the secret, and
// a destroyed cell stops matching as soon as Remove runs (or, before that,
// as soon as its confirm refuses).
//
// Why a keyed fingerprint may sit in ordinary memory: without the keys, a
// SipHash tag is a pseudo-random function of the secret and says nothing
// about it, and the filter index is at most 24 bits of a keyed hash of 8
// bytes. The keys are the only thing that would let someone who can read
// the heap test guesses against the tags (a dictionary attack on a weak
// password), so they live in a locked, dump-excluded page from
// internal/memory (memfd_secret where the kernel offers it), made
// read-only after they are written.
//
// Secrets shorter than 8 bytes are not registered at all. They would match
// ordinary text (a 4-digit PIN occurs in timestamps and IDs), so redacting
// them would mangle logs and tell a reader where the secret occurs; a
// secret that short is guessable by other means anyway; and the 8-byte
// window is what lets the scan cost one load and one multiply per byte.
package fingerprint

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/secretmem/secretmem/internal/memory"
)

// minLen is the shortest secret that is registered; see the package doc.
const minLen = 8

// Filter sizes in bits: the filter grows to keep at most one set bit in 64
// (so random text reaches the SipHash stage at under 1.6% of positions) and
// stops at 2 MiB, the 24 stored hash bits.
const (
	minFilterBits = 15
	maxFilterBits = 24
)

// ID names one registered secret. The zero ID is "not registered".
type ID uint64

// entry is one spelling (form) of a registered secret.
type entry struct {
	id      ID
	n       int    // length of the spelling
	tag     uint64 // SipHash-2-4 of the whole spelling under keys[2:4]
	top     uint32 // top 24 bits of the filter hash of its first 8 bytes
	form    form
	confirm func(candidate []byte) bool // of the plaintext
}

type registry struct {
	bits    []uint64 // filter bitset
	shift   uint     // 64 - filter bits: the filter slot is hash >> shift
	buckets map[uint32][]*entry
	byID    map[ID][]*entry // every spelling of a secret
	entries int
	next    ID
}

var (
	active  atomic.Bool
	live    atomic.Int64  // registered secrets; Scrub's lock-free fast path
	gen     atomic.Uint64 // counts Add calls: see Generation
	keyOnce sync.Once
	keys    *[4]uint64 // k0, k1 (filter hash), s0, s1 (SipHash); never rewritten after keyOnce
	mu      sync.RWMutex
	reg     = newRegistry(minFilterBits)
)

// heapKeys is the fallback when no page can be mapped at all: the
// fingerprints stay correct, only the keys lose the page protection.
var heapKeys [4]uint64

func newRegistry(filterBits uint) *registry {
	return &registry{
		bits:    make([]uint64, 1<<filterBits/64),
		shift:   64 - filterBits,
		buckets: make(map[uint32][]*entry),
		byID:    make(map[ID][]*entry),
	}
}

// Activate starts registration. The secret package registers cells only
// while Active reports true, so a process that never redacts logs pays
// nothing per cell; on the first activation the cells already alive are
// registered too (through the backfill the arena installs). It is
// idempotent.
func Activate() {
	initKeys()
	if active.CompareAndSwap(false, true) {
		if fn := backfill.Load(); fn != nil {
			(*fn)()
		}
	}
}

var backfill atomic.Pointer[func()]

// SetBackfill installs the function Activate calls once to register the
// cells that were created before activation.
func SetBackfill(fn func()) { backfill.Store(&fn) }

// Active reports whether cells should be registered: one atomic load.
func Active() bool { return active.Load() }

func initKeys() {
	keyOnce.Do(func() {
		k := &heapKeys
		r, err := memory.Map(32, memory.MustLock)
		if err != nil {
			// Over the memory-lock limit: an unlocked, dump-excluded page is
			// still better than the heap.
			r, err = memory.Map(32, memory.NoLock)
		}
		if err == nil {
			k = (*[4]uint64)(r.Data())
		}
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			// crypto/rand does not fail on supported systems (it would
			// crash the process first); keep the zero-free path anyway.
			b[0] = 1
		}
		for i := range k {
			k[i] = binary.LittleEndian.Uint64(b[8*i:])
		}
		clear(b[:])
		k[1] |= 1 // an odd multiplier keeps the filter hash a bijection
		if r != nil {
			// Best effort: a failed mprotect leaves the page writable.
			_ = r.Protect(memory.ReadOnly)
		}
		keys = k
	})
}

// filterHash is the keyed hash of one 8-byte window. Multiplication carries
// every input bit into the top bits, which are the only ones used.
func filterHash(w, k0, k1 uint64) uint64 { return (w ^ k0) * k1 }

// Add registers a live secret. b is its plaintext, read only during the
// call and never kept; confirm must compare a candidate with the live cell
// in constant time, must not modify or keep the candidate (it may be a view
// of an immutable string), and must return false once the cell is gone.
// Secrets shorter than 8 bytes are not registered (see the package doc) and
// return the zero ID.
//
// Besides the plaintext, Add registers the other spellings of the secret
// (see form): hex, base64, JSON-escaped and case-changed. Computing them
// takes scratch memory, which is wiped before Add returns.
func Add(b []byte, confirm func(candidate []byte) bool) ID {
	if len(b) < minLen || confirm == nil {
		return 0
	}
	initKeys()
	k := keys
	// Heap scratch, wiped below: the stack would leave a copy behind if it
	// grew meanwhile. 6 bytes per byte is the JSON form's worst case, and
	// no form grows past it.
	scratch := make([]byte, 0, 6*len(b))
	// One allocation for the entries and one for the list of them.
	ents := make([]entry, 0, numForms)
	for f := range numForms {
		spelled, ok := f.encode(scratch[:0], b)
		if ok && len(spelled) >= minLen {
			h := filterHash(binary.LittleEndian.Uint64(spelled), k[0], k[1])
			ents = append(ents, entry{
				n:       len(spelled),
				tag:     sipHash(k[2], k[3], spelled),
				top:     uint32(h >> (64 - maxFilterBits)),
				form:    f,
				confirm: confirm,
			})
		}
		wipeBytes(spelled)
	}
	es := make([]*entry, len(ents))
	for i := range ents {
		es[i] = &ents[i]
	}
	mu.Lock()
	r := reg
	r.next++
	for _, e := range es {
		e.id = r.next
		r.insert(e)
	}
	r.byID[r.next] = es
	if r.entries > len(r.bits) && 64-r.shift < maxFilterBits { // over one set bit in 64
		reg = r.grown()
	}
	id := r.next
	mu.Unlock()
	live.Add(1)
	gen.Add(1)
	return id
}

// Generation changes whenever a secret is added. A verdict that a text
// holds no live secret stays true until it changes (removing secrets only
// takes matches away), so callers may remember such verdicts with it.
func Generation() uint64 { return gen.Load() }

func (r *registry) slot(e *entry) uint32 {
	return e.top >> (maxFilterBits - (64 - r.shift))
}

func (r *registry) insert(e *entry) {
	s := r.slot(e)
	r.entries++
	r.buckets[s] = append(r.buckets[s], e)
	r.bits[s/64] |= 1 << (s % 64)
}

// grown returns a registry with a filter twice as large holding the same
// entries.
func (r *registry) grown() *registry {
	g := newRegistry(64 - r.shift + 1)
	g.next = r.next
	for id, es := range r.byID {
		for _, e := range es {
			g.insert(e)
		}
		g.byID[id] = es
	}
	return g
}

// Remove forgets a secret whose cell ended. It is safe with the zero ID and
// with an ID removed before.
func Remove(id ID) {
	if id == 0 {
		return
	}
	mu.Lock()
	r := reg
	es, ok := r.byID[id]
	if ok {
		delete(r.byID, id)
		for _, e := range es {
			r.remove(e)
		}
	}
	mu.Unlock()
	if ok {
		live.Add(-1)
	}
}

func (r *registry) remove(e *entry) {
	s := r.slot(e)
	b := r.buckets[s]
	for i, x := range b {
		if x == e {
			b[i] = b[len(b)-1]
			b[len(b)-1] = nil
			b = b[:len(b)-1]
			r.entries--
			break
		}
	}
	if len(b) == 0 {
		delete(r.buckets, s)
		r.bits[s/64] &^= 1 << (s % 64)
	} else {
		r.buckets[s] = b
	}
}

// candidate is a window whose tag matched a registered secret.
type candidate struct {
	pos int
	e   *entry
}

// Scrub returns s with every occurrence of a live secret's plaintext
// replaced by repl, and whether it replaced anything. When nothing matches
// it returns s itself and allocates nothing. Overlapping occurrences are
// merged and replaced once, so no part of any occurrence survives.
func Scrub(s string, repl string) (string, bool) {
	if live.Load() != 0 && len(s) >= minLen {
		return scrub(s, repl)
	}
	return s, false // small enough to inline: the common case costs a load
}

func scrub(s string, repl string) (string, bool) {
	var spans [8][2]int
	merged := findSpans(s, spans[:0])
	if len(merged) == 0 {
		return s, false
	}
	size := len(s)
	for _, m := range merged {
		size += len(repl) - (m[1] - m[0])
	}
	out := make([]byte, 0, size)
	prev := 0
	for _, m := range merged {
		out = append(out, s[prev:m[0]]...)
		out = append(out, repl...)
		prev = m[1]
	}
	out = append(out, s[prev:]...)
	return unsafe.String(unsafe.SliceData(out), len(out)), true
}

// Live reports whether any secret is registered: one atomic load, for
// callers that prepare text for Spans only when it could match.
func Live() bool { return live.Load() != 0 }

// Spans appends to dst the byte ranges of s that spell a live secret
// (merged where they overlap, in order), for callers that map them back
// to text s was decoded from.
func Spans(s string, dst [][2]int) [][2]int {
	if live.Load() == 0 || len(s) < minLen {
		return dst
	}
	return findSpans(s, dst)
}

func findSpans(s string, merged [][2]int) [][2]int {
	var buf [8]candidate
	cands := collect(s, buf[:0])
	if len(cands) == 0 {
		return merged
	}
	first := len(merged)
	// The registry lock is not held here: confirm reads a cell, and a cell
	// may be ending (and calling Remove) at this moment.
	var seen [8]struct {
		e   *entry
		pos int
		ok  bool
	}
	verdicts := seen[:0]
	for _, c := range cands {
		ok, found := false, false
		for _, v := range verdicts {
			if v.e == c.e {
				// Equal tags under a secret key mean equal bytes; compare
				// the two windows of s anyway so that not even a 2^-64
				// collision redacts text that is not the secret.
				ok = v.ok && s[v.pos:v.pos+c.e.n] == s[c.pos:c.pos+c.e.n]
				found = true
				break
			}
		}
		if !found {
			ok = confirmSpelled(c.e, unsafe.Slice(unsafe.StringData(s[c.pos:]), c.e.n))
			verdicts = append(verdicts, struct {
				e   *entry
				pos int
				ok  bool
			}{c.e, c.pos, ok})
		}
		if !ok {
			continue
		}
		start, end := c.pos, c.pos+c.e.n
		if m := len(merged); m > first && start <= merged[m-1][1] {
			merged[m-1][1] = max(merged[m-1][1], end)
		} else {
			merged = append(merged, [2]int{start, end})
		}
	}
	return merged
}

// collect scans s under the read lock and returns the windows whose
// SipHash tag matches a registered secret, in order of position.
func collect(s string, cands []candidate) []candidate {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	mu.RLock()
	defer mu.RUnlock()
	r := reg
	if len(r.byID) == 0 {
		return cands
	}
	k := keys
	k0, k1 := k[0], k[1]
	filter, shift := r.bits, r.shift&63
	mask := uint64(len(filter) - 1) // a power of two
	for i := 0; i+8 <= len(b); i++ {
		slot := filterHash(binary.LittleEndian.Uint64(b[i:i+8]), k0, k1) >> shift
		if filter[(slot/64)&mask]&(1<<(slot%64)) == 0 {
			continue
		}
		for _, e := range r.buckets[uint32(slot)] {
			if e.n <= len(b)-i && sipHash(k[2], k[3], b[i:i+e.n]) == e.tag {
				cands = append(cands, candidate{i, e})
			}
		}
	}
	return cands
}

// sipHash is SipHash-2-4 (Aumasson and Bernstein) of m under the key
// (k0, k1): a keyed pseudo-random function, so tags stored in ordinary
// memory reveal nothing while the key stays hidden.
func sipHash(k0, k1 uint64, m []byte) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	n := len(m)
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	for len(m) >= 8 {
		w := binary.LittleEndian.Uint64(m)
		v3 ^= w
		round()
		round()
		v0 ^= w
		m = m[8:]
	}
	var last [8]byte
	copy(last[:], m)
	w := binary.LittleEndian.Uint64(last[:]) | uint64(n)<<56
	v3 ^= w
	round()
	round()
	v0 ^= w
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}
