package arena

import (
	"sync/atomic"

	"github.com/secretmem/secretmem/internal/memory"
)

// Purge destroys every live cell: pooled and own runs. Cells with a reader
// inside are wiped when that reader leaves. Handles to purged cells report
// them gone. Then the empty chunks and cached runs kept for reuse go back to
// the system too, so a purged process holds no locked memory it does not
// use: what stays mapped holds a cell a reader is still inside, or one
// being created while Purge ran. (A chunk whose only other slots were
// quarantined for a damaged canary went back when its last cell ended.)
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
	runs.mu.Lock()
	for b := range runs.live {
		refs = appendLive(refs, b)
	}
	runs.mu.Unlock()
	n := 0
	for _, r := range refs {
		if r.Destroy() {
			n++
		}
	}
	releaseIdle()
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

var freeHook atomic.Pointer[func([]byte)]

// SetFreeHookForTest installs fn to be called with the bytes of every slot
// or run right after it was wiped, before it is reused or unmapped; nil
// removes it. Tests use it to prove that freed memory holds zeros.
func SetFreeHookForTest(fn func(wiped []byte)) {
	if fn == nil {
		freeHook.Store(nil)
		return
	}
	freeHook.Store(&fn)
}

func callFreeHook(b []byte) {
	if fn := freeHook.Load(); fn != nil {
		(*fn)(b)
	}
}

// ScanForTest calls fn with the bytes of every mapped chunk and own run
// (cached ones included), opening guarded runs for the call. It exists so
// tests can prove that freed memory holds zeros. Pooled chunks are read
// while other goroutines may write them: it is a test hook, not an API.
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
	runs.mu.Lock()
	defer runs.mu.Unlock()
	scan := func(b *block) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.prot != memory.NoAccess {
			fn(b.mem.Bytes())
			return
		}
		if b.mem.Protect(memory.ReadOnly) == nil {
			fn(b.mem.Bytes())
			_ = b.mem.Protect(memory.NoAccess)
		}
	}
	for b := range runs.live {
		scan(b)
	}
	for _, b := range runs.cache {
		scan(b)
	}
}
