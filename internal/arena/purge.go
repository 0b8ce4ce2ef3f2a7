package arena

import "github.com/secretmem/secretmem/internal/memory"

// Purge destroys every live cell: pooled and guarded. Cells with a reader
// inside are wiped when that reader leaves. Handles to purged cells report
// them gone. Empty chunks stay mapped for reuse, as after any destroy.
func Purge() int {
	var refs []Ref
	for m := range pools {
		for c := range pools[m] {
			p := &pools[m][c]
			p.mu.Lock()
			for b := range p.all {
				refs = appendLive(refs, b)
			}
			p.mu.Unlock()
		}
	}
	guarded.mu.Lock()
	for b := range guarded.live {
		refs = appendLive(refs, b)
	}
	guarded.mu.Unlock()
	n := 0
	for _, r := range refs {
		if r.Destroy() {
			n++
		}
	}
	return n
}

func appendLive(refs []Ref, b *block) []Ref {
	for i := range b.states {
		s := b.states[i].Load()
		if s&deadBit == 0 {
			refs = append(refs, Ref{b: b, idx: uint32(i), gen: uint32(s >> 32)})
		}
	}
	return refs
}

// ScanForTest calls fn with the bytes of every mapped chunk and guarded run
// (cached ones included), opening guarded runs for the call. It exists so
// tests can prove that freed memory holds zeros; it is not for production.
func ScanForTest(fn func(data []byte)) {
	for m := range pools {
		for c := range pools[m] {
			p := &pools[m][c]
			p.mu.Lock()
			for b := range p.all {
				fn(b.mem.Bytes())
			}
			p.mu.Unlock()
		}
	}
	guarded.mu.Lock()
	defer guarded.mu.Unlock()
	scan := func(b *block) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.mem.Protect(memory.ReadOnly) == nil {
			fn(b.mem.Bytes())
			if b.opened == 0 {
				_ = b.mem.Protect(memory.NoAccess)
			}
		}
	}
	for b := range guarded.live {
		scan(b)
	}
	for _, b := range guarded.cache {
		scan(b)
	}
}
