// Package wipe writes zeros into memory that Go considers immutable or
// private to someone else: the strings a parser made of a secret, the
// environment block the kernel wrote at exec, a yaml.v3 decoder's buffers.
// Config uses it after parsing, and the middleware's header wiping is
// meant to use String.
//
// Every write is guarded twice. The address must lie in private, anonymous,
// writable memory that is not a loaded image's data (so never a string
// literal and never the runtime's table of one-byte strings), as the
// process's memory map says; and the write runs with debug.SetPanicOnFault,
// so a wrong guess costs a recovered fault, not the process. Only Linux has
// a memory map to ask (/proc/self/maps); elsewhere nothing counts as heap
// and String wipes nothing.
package wipe

import (
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Zero overwrites b with zeros and reports whether it could: a fault (the
// memory turned out to be read-only, or unmapped) is recovered and
// reported as false, with the bytes before the fault already zero.
func Zero(b []byte) (ok bool) {
	if len(b) == 0 {
		return true
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	clear(b)
	return true
}

// String overwrites the bytes of s with zeros if they lie in heap memory,
// and reports whether it did. Everything that shares those bytes reads as
// zeros afterwards: the caller must own s (a fresh parser string, a header
// value net/http allocated for one request), and plain values that alias
// it must have been cloned first (see Spans).
//
// The memory map is read once and again only when an address is not in a
// region it knew as heap: Go never returns heap address space to the
// system, so a range once seen as heap stays heap for as long as a live
// string points into it.
func String(s string) bool {
	if len(s) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	n := uintptr(len(s))
	m := known.Load()
	if m == nil || !m.heap(p, n) {
		if m = reread(m); !m.heap(p, n) {
			return false
		}
	}
	return Zero(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// known is the last memory map read.
var (
	known    atomic.Pointer[memoryMap]
	rereadMu sync.Mutex
)

// reread reads the map again unless another goroutine did since seen was
// loaded.
func reread(seen *memoryMap) *memoryMap {
	rereadMu.Lock()
	defer rereadMu.Unlock()
	if cur := known.Load(); cur != seen && cur != nil {
		return cur
	}
	m := readMap()
	known.Store(m)
	return m
}

// region is a range of addresses from the memory map.
type region struct {
	lo, hi uintptr
	heap   bool // private, anonymous, writable, not an image's bss
}

// memoryMap is the writable regions of the process, sorted by address.
type memoryMap []region

// find returns the region holding [p, p+n).
func (mm *memoryMap) find(p, n uintptr) (region, bool) {
	if mm == nil {
		return region{}, false
	}
	rs := *mm
	i := sort.Search(len(rs), func(i int) bool { return rs[i].hi > p })
	if i < len(rs) && rs[i].lo <= p && p+n <= rs[i].hi && p+n >= p {
		return rs[i], true
	}
	return region{}, false
}

func (mm *memoryMap) heap(p, n uintptr) bool {
	r, ok := mm.find(p, n)
	return ok && r.heap
}

// Spans is the set of byte ranges of strings about to be wiped. A caller
// that keeps other strings (plain values decoded from the same input)
// asks Overlaps of each and clones those that share bytes with a secret,
// so wiping the secret never changes a plain value.
type Spans struct {
	s     []span
	maxHi []uintptr // running maximum of the ends, for one binary search
}

type span struct{ lo, hi uintptr }

func spanOf(s string) span {
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	return span{p, p + uintptr(len(s))}
}

// NewSpans returns the spans of the non-empty strings in list.
func NewSpans(list []string) *Spans {
	sp := &Spans{}
	for _, s := range list {
		if len(s) > 0 {
			sp.s = append(sp.s, spanOf(s))
		}
	}
	sort.Slice(sp.s, func(i, j int) bool { return sp.s[i].lo < sp.s[j].lo })
	sp.maxHi = make([]uintptr, len(sp.s))
	var m uintptr
	for i, x := range sp.s {
		m = max(m, x.hi)
		sp.maxHi[i] = m
	}
	return sp
}

// Len is the number of spans.
func (sp *Spans) Len() int { return len(sp.s) }

// Overlaps reports whether s shares a byte with any span.
func (sp *Spans) Overlaps(s string) bool {
	if len(s) == 0 || len(sp.s) == 0 {
		return false
	}
	x := spanOf(s)
	i := sort.Search(len(sp.s), func(i int) bool { return sp.s[i].lo >= x.hi })
	return i > 0 && sp.maxHi[i-1] > x.lo
}
