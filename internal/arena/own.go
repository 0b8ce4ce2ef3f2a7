package arena

import (
	"errors"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/secretmem/secretmem/internal/memory"
)

// Own runs that were freed wait here for reuse, so that creating and
// destroying guarded cells in a steady state costs a few protection changes
// rather than a fresh mapping each time. As with pooled chunks, one idle run
// per size and lock mode is kept and the others go back to the system: idle
// runs hold locked memory, and the lock limit is often small. The bound on
// the whole cache only matters for many distinct sizes.
const maxCachedRuns = 32

var runs struct {
	mu    sync.Mutex
	live  map[*block]struct{}
	cache []*block
}

func allocOwn(n int, opts Options, fill func([]byte) (int, error)) (Ref, int, error) {
	align := opts.Align
	if align <= 0 {
		align = 1
	}
	if align > 64 || align&(align-1) != 0 {
		return Ref{}, 0, errors.New("arena: alignment must be a power of two up to 64")
	}
	// The data ends flush against the trailing guard page (rounded down to
	// the alignment), with a canary just before it.
	need := n + canarySize + align - 1
	b, err := takeRun(need, memory.MustLock)
	if err != nil && errors.Is(err, memory.ErrLockLimit) && releaseLocked() {
		b, err = takeRun(need, memory.MustLock)
	}
	if err != nil && errors.Is(err, memory.ErrLockLimit) && opts.AllowUnlocked {
		b, err = takeRun(need, memory.NoLock)
	}
	if err != nil {
		return Ref{}, 0, err
	}
	b.off = (b.mem.Size() - n) &^ (align - 1)
	b.putCanary(b.off - canarySize)
	gen := uint32(b.states[0].Load() >> 32)

	// Until the run is published nothing else can wipe it: a fill that
	// fails or panics abandons it here.
	filled := false
	defer func() {
		if !filled {
			abandonRun(b, gen)
		}
	}()
	used, err := fill(unsafe.Slice((*byte)(unsafe.Add(b.mem.Data(), b.off)), n))
	if err != nil || used < 0 || used > n {
		if err == nil {
			err = errors.New("arena: fill reported an impossible length")
		}
		return Ref{}, 0, err
	}
	filled = true
	if used < n && align == 1 {
		// Keep the end of the data against the guard page.
		d := b.mem.Bytes()
		copy(d[b.off+n-used:b.off+n], d[b.off:b.off+used])
		clear(d[b.off : b.off+n-used])
		b.off += n - used
		b.putCanary(b.off - canarySize)
	}
	b.length = used
	// Heap memory (no virtual memory control) has no guard pages and
	// cannot be made inaccessible: such a cell is an own run and is not
	// counted as guarded.
	if opts.Guarded && b.mem.GuardPages() {
		b.mu.Lock()
		err := b.protect(memory.NoAccess)
		b.guarded = err == nil
		b.mu.Unlock()
		if err != nil {
			abandonRun(b, gen)
			return Ref{}, 0, err
		}
		stats.guarded.Add(1)
	}
	stats.live.Add(1)
	stats.bytes.Add(int64(used))
	// Publish: until now the run was dead, out of Purge's reach.
	b.states[0].Store(uint64(gen) << 32)
	return Ref{b: b, idx: 0, gen: gen}, used, nil
}

// abandonRun ends a run whose cell was never published (its fill or its
// first protection change failed): wiped and inaccessible, it is cached
// like any freed run, or unmapped when it cannot be opened or closed.
func abandonRun(b *block, gen uint32) {
	b.mu.Lock()
	err := b.protect(memory.ReadWrite)
	if err == nil {
		clear(b.mem.Bytes())
		callFreeHook(b.mem.Bytes())
		err = b.protect(memory.NoAccess)
	}
	b.mu.Unlock()
	b.states[0].Store(uint64(gen+1)<<32 | deadBit)
	if err != nil || gen == lastGen {
		dropRun(b)
		return
	}
	releaseRun(b)
}

// sameKind reports whether run c is of the given size and lock mode: the
// kind takeRun reuses a cached run for, and of which releaseRun keeps one.
func sameKind(c *block, size int, mode memory.Mode) bool {
	return c.mem.Size() == size && c.mode == mode
}

// takeRun returns a writable run of at least need bytes: a cached one of the
// right size and mode, or a new mapping.
func takeRun(need int, mode memory.Mode) (*block, error) {
	ps := memory.PageSize()
	size := (need + ps - 1) / ps * ps
	runs.mu.Lock()
	for i := len(runs.cache) - 1; i >= 0; i-- {
		b := runs.cache[i]
		if sameKind(b, size, mode) {
			runs.cache = append(runs.cache[:i], runs.cache[i+1:]...)
			runs.live[b] = struct{}{}
			runs.mu.Unlock()
			b.mu.Lock()
			err := b.protect(memory.ReadWrite)
			b.mu.Unlock()
			if err != nil {
				dropRun(b)
				return nil, err
			}
			return b, nil
		}
	}
	runs.mu.Unlock()

	mem, err := memory.Map(size, mode)
	if err != nil {
		return nil, err
	}
	b := &block{
		mem:    mem,
		mode:   mode,
		prot:   memory.ReadWrite,
		own:    true,
		states: make([]atomic.Uint64, 1),
		prints: make([]atomic.Uint64, 1),
		canary: newCanary(),
	}
	b.states[0].Store(deadBit)
	b.prints[0].Store(noPrint) // and freeOwn resets it to noPrint
	stats.mapped(mem, 1)
	runs.mu.Lock()
	if runs.live == nil {
		runs.live = make(map[*block]struct{})
	}
	runs.live[b] = struct{}{}
	runs.mu.Unlock()
	return b, nil
}

// freeOwn wipes a run whose cell ended and caches or unmaps it.
func freeOwn(b *block, gen uint32) {
	stats.bytes.Add(-int64(b.length))
	dropPrint(&b.prints[0])
	var err error
	damaged := false
	b.mu.Lock()
	if b.guarded {
		stats.guarded.Add(-1)
		err = b.protect(memory.ReadWrite)
	}
	if err == nil {
		damaged = !b.canariesOK(0)
		clear(b.mem.Bytes())
		callFreeHook(b.mem.Bytes())
		b.length = 0
		if damaged {
			stats.canaryFailures.Add(1)
		}
		err = b.protect(memory.NoAccess)
	}
	b.guarded = false
	b.mu.Unlock()
	b.states[0].Store(uint64(gen+1)<<32 | deadBit)
	if err != nil || damaged || gen == lastGen {
		// The run could not be opened to wipe it: unmapping is the only
		// way left to make its bytes unreachable. Or something wrote on
		// it: like a pooled slot with a damaged canary, it is never
		// handed to another cell. Or its generation would start over
		// (lastGen).
		dropRun(b)
		return
	}
	releaseRun(b)
}

// releaseRun puts a wiped, inaccessible run in the cache, or unmaps it when
// the cache already holds an idle run of its size and lock mode, or is full.
func releaseRun(b *block) {
	runs.mu.Lock()
	delete(runs.live, b)
	keep := len(runs.cache) < maxCachedRuns
	for _, c := range runs.cache {
		if sameKind(c, b.mem.Size(), b.mode) {
			keep = false
			break
		}
	}
	if keep {
		runs.cache = append(runs.cache, b)
		runs.mu.Unlock()
		return
	}
	runs.mu.Unlock()
	unmapRun(b)
}

// releaseCachedRuns unmaps the cached runs (only those in locked memory
// when lockedOnly is set) and reports whether that freed locked memory.
func releaseCachedRuns(lockedOnly bool) (lockedFreed bool) {
	var drop []*block
	runs.mu.Lock()
	kept := runs.cache[:0]
	for _, b := range runs.cache {
		if lockedOnly && !b.mem.Locked() {
			kept = append(kept, b)
			continue
		}
		drop = append(drop, b)
	}
	clear(runs.cache[len(kept):])
	runs.cache = kept
	runs.mu.Unlock()
	for _, b := range drop {
		lockedFreed = lockedFreed || b.mem.Locked()
		unmapRun(b)
	}
	return lockedFreed
}

func dropRun(b *block) {
	runs.mu.Lock()
	delete(runs.live, b)
	runs.mu.Unlock()
	unmapRun(b)
}

func unmapRun(b *block) {
	b.retired = true
	stats.mapped(b.mem, -1)
	_ = b.mem.Unmap()
}
