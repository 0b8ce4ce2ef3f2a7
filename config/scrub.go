package config

import (
	"runtime/debug"
	"sort"
	"strings"
	"unsafe"
)

// scrubbed, when set by a test, sees every string after it was wiped.
var scrubbed func(s string)

type span struct{ lo, hi uintptr }

func spanOf(s string) span {
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	return span{p, p + uintptr(len(s))}
}

// scrubStrings overwrites the parser strings in list with zeros where
// that is known to be safe: writable, anonymous, private memory that is
// not part of a loaded image (so never a literal, never the runtime's
// table of one-byte strings). Strings elsewhere in m that share their bytes
// (a YAML alias of a secret under a plain key) get copies of their own
// first, so wiping a secret never changes a plain value.
func scrubStrings(m map[string]any, list []string) {
	var secrets []span
	for _, s := range list {
		if len(s) > 0 {
			secrets = append(secrets, spanOf(s))
		}
	}
	if len(secrets) == 0 {
		return
	}
	unshareMap(m, newSpans(secrets))
	mem := heapRegions()
	for _, s := range list {
		if len(s) > 0 && mem.wipeString(s) && scrubbed != nil {
			scrubbed(s)
		}
	}
}

// spans are the secrets' byte ranges, sorted by start, with the running
// maximum of their ends so that one binary search answers "does x overlap
// any of them".
type spans struct {
	s     []span
	maxHi []uintptr
}

func newSpans(list []span) *spans {
	sort.Slice(list, func(i, j int) bool { return list[i].lo < list[j].lo })
	maxHi := make([]uintptr, len(list))
	var m uintptr
	for i, x := range list {
		m = max(m, x.hi)
		maxHi[i] = m
	}
	return &spans{list, maxHi}
}

func (sp *spans) overlaps(s string) bool {
	if len(s) == 0 {
		return false
	}
	x := spanOf(s)
	i := sort.Search(len(sp.s), func(i int) bool { return sp.s[i].lo >= x.hi })
	return i > 0 && sp.maxHi[i-1] > x.lo
}

func unshareMap(m map[string]any, secrets *spans) {
	var rekey []string
	for k, v := range m {
		if secrets.overlaps(k) {
			rekey = append(rekey, k)
		}
		m[k] = unshareValue(v, secrets)
	}
	for _, k := range rekey {
		v := m[k]
		delete(m, k)
		m[strings.Clone(k)] = v
	}
}

func unshareValue(v any, secrets *spans) any {
	switch x := v.(type) {
	case string:
		if secrets.overlaps(x) {
			return strings.Clone(x)
		}
	case map[string]any:
		unshareMap(x, secrets)
	case []any:
		for i := range x {
			x[i] = unshareValue(x[i], secrets)
		}
	}
	return v
}

// region is a range of memory from the process's memory map.
type region struct {
	lo, hi uintptr
	heap   bool // anonymous, private, writable, not an image's bss
}

type memoryMap []region

func (mm memoryMap) find(p, n uintptr) (region, bool) {
	i := sort.Search(len(mm), func(i int) bool { return mm[i].hi > p })
	if i < len(mm) && mm[i].lo <= p && p+n <= mm[i].hi {
		return mm[i], true
	}
	return region{}, false
}

// wipeString zeroes s in place if it lives in heap memory.
func (mm memoryMap) wipeString(s string) bool {
	p := unsafe.StringData(s)
	r, ok := mm.find(uintptr(unsafe.Pointer(p)), uintptr(len(s)))
	if !ok || !r.heap {
		return false
	}
	return zero(p, len(s))
}

// zero overwrites n bytes at p, turning a fault into false: the memory
// map could have changed since it was read.
func zero(p *byte, n int) (ok bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	clear(unsafe.Slice(p, n))
	return true
}
