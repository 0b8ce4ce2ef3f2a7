// Package arena places secret cells in protected memory.
//
// Two placements share one state machine:
//
//   - pooled: a slot of a size class inside a shared locked chunk. Taking and
//     returning a slot makes no system call; chunks are mapped on demand,
//     kept while in use, and all but one empty chunk per class go back to
//     the operating system.
//   - own run: a page run of its own, the data right-aligned against the
//     trailing guard page. Guarded cells are also inaccessible (PROT_NONE)
//     whenever no reader is inside them; cells too large for a size class
//     get an own run without that. One freed run per size and lock mode is
//     kept for reuse, so a steady state of creating and destroying one
//     cell at a time costs protection changes, not mappings.
//
// Memory kept only for reuse (an empty chunk per class, an idle run per
// size) goes back to the system at Purge, and when the lock limit refuses a
// new mapping if it is locked.
//
// Every slot has a state word (generation, dead bit, reader count) that
// lives in the block, not in the caller's handle. A Ref names a slot and the
// generation it was allocated in; once the slot is freed its generation
// moves on, so a stale Ref can never reach the next occupant's bytes.
package arena

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/secretmem/secretmem/internal/fingerprint"
	"github.com/secretmem/secretmem/internal/memory"
)

// Errors a Ref reports.
var (
	// ErrGone: the slot was freed (destroyed, expired, consumed or purged).
	ErrGone = errors.New("cell is gone")
	// ErrCorrupted: a canary next to the slot was overwritten.
	ErrCorrupted = errors.New("canary overwritten: memory next to the cell was corrupted")
	// ErrTooMany: the slot already has the maximum number of readers.
	ErrTooMany = errors.New("too many concurrent readers")
)

const (
	canarySize    = 8
	minClassShift = 4 // 16 bytes
	maxClassShift = 11
	// MaxPooled is the largest cell that goes into a shared chunk; larger
	// ones get a page run of their own.
	MaxPooled     = 1 << maxClassShift
	maxChunkPages = 16

	deadBit    = 1 << 31
	readerMask = deadBit - 1
)

const numClasses = maxClassShift - minClassShift + 1

// Options choose where a cell goes.
type Options struct {
	// Guarded asks for a page run of its own with guard pages and no access
	// while idle.
	Guarded bool
	// Own asks for a page run of its own that stays accessible, for cells
	// written often (growable buffers) where a system call per write would
	// cost too much. Cells above MaxPooled get one anyway.
	Own bool
	// AllowUnlocked lets the cell live in unlocked memory when the system
	// refuses to lock more. Stats shows such memory.
	AllowUnlocked bool
	// Align is the alignment of the cell's first byte (a power of two, at
	// most 64). Zero means 1 for guarded cells and 8 for pooled ones.
	Align int
}

// Ref names one allocated slot. The zero Ref names nothing.
type Ref struct {
	b   *block
	idx uint32
	gen uint32
}

type block struct {
	mem     *memory.Region
	pool    *pool // nil for own runs
	stride  int   // distance between slot starts (pooled)
	off     int   // offset of the data in an own run
	length  int   // bytes in use in an own run
	states  []atomic.Uint64
	lengths []uint32        // bytes in use per slot (pooled), for Stats
	prints  []atomic.Uint64 // leak detection per slot: noPrint, 0 (eligible) or a fingerprint.ID
	free    []uint32        // free slot indices; guarded by pool.mu
	damaged int             // slots quarantined for a damaged canary; guarded by pool.mu
	canary  uint64
	own     bool        // a page run of its own, one slot
	mode    memory.Mode // own runs: the lock mode it was mapped with
	guarded bool        // own run, inaccessible while no reader is inside
	retired bool        // unmapped; guarded by pool.mu or runs.mu

	mu      sync.Mutex  // own runs: serializes protection changes
	prot    memory.Prot // own runs: current protection; guarded by mu
	opened  int         // readers and writers inside
	writers int         // writers inside
}

// protect changes an own run's protection and remembers it; b.mu is held.
func (b *block) protect(p memory.Prot) error {
	if err := b.mem.Protect(p); err != nil {
		return err
	}
	b.prot = p
	return nil
}

// Alloc takes a slot of at least n bytes and calls fill with the writable
// slot to put the secret in. fill returns how many bytes it used (at most
// n); the rest of the slot stays zero. When fill fails the slot is wiped and
// freed, and its error is returned.
func Alloc(n int, opts Options, fill func([]byte) (int, error)) (Ref, int, error) {
	if n <= 0 {
		return Ref{}, 0, errors.New("arena: size must be positive")
	}
	if a := opts.Align; a < 0 || a > 64 || a&(a-1) != 0 {
		return Ref{}, 0, errors.New("arena: alignment must be a power of two up to 64")
	}
	if opts.Guarded || opts.Own || n > MaxPooled || opts.Align > canarySize {
		return allocOwn(n, opts, fill)
	}
	return allocPooled(n, opts, fill)
}

func classOf(n int) int {
	if n <= 1<<minClassShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minClassShift
}

type pool struct {
	mu        sync.Mutex
	class     int // slot capacity in bytes
	mode      memory.Mode
	partial   []*block // blocks with at least one free slot
	all       map[*block]struct{}
	empty     int // fully free blocks in partial
	nextPages int
}

var pools [2][numClasses]pool // [memory.MustLock, memory.NoLock]

func init() {
	// Only plain data set up here: no system call, no allocation of memory
	// for secrets happens before the first cell is created.
	for m := range pools {
		for c := range pools[m] {
			pools[m][c].class = 1 << (c + minClassShift)
			pools[m][c].mode = memory.Mode(m)
			pools[m][c].nextPages = 1
		}
	}
}

func allocPooled(n int, opts Options, fill func([]byte) (int, error)) (Ref, int, error) {
	c := classOf(n)
	ref, err := pools[memory.MustLock][c].take()
	if err != nil && errors.Is(err, memory.ErrLockLimit) && releaseLocked() {
		ref, err = pools[memory.MustLock][c].take()
	}
	if err != nil && errors.Is(err, memory.ErrLockLimit) && opts.AllowUnlocked {
		ref, err = pools[memory.NoLock][c].take()
	}
	if err != nil {
		return Ref{}, 0, err
	}
	// The slot is still dead: Purge cannot find it, and being off the free
	// list it keeps its chunk from counting as empty while fill writes.
	// So a fill that fails, or panics (a caller's io.Reader may), wipes
	// it and puts it back here; nothing else ever would.
	p := ref.b.slot(ref.idx)
	published := false
	defer func() {
		if !published {
			clear(unsafe.Slice((*byte)(p), n))
			callFreeHook(unsafe.Slice((*byte)(p), n))
			ref.b.pool.put(ref.b, ref.idx, ref.gen)
		}
	}()
	used, err := fill(unsafe.Slice((*byte)(p), n))
	if err != nil || used < 0 || used > n {
		if err == nil {
			err = errors.New("arena: fill reported an impossible length")
		}
		return Ref{}, 0, err
	}
	published = true
	ref.b.lengths[ref.idx] = uint32(used)
	stats.live.Add(1)
	stats.bytes.Add(int64(used))
	// Publish: from here on Destroy, Purge and readers can reach the cell.
	ref.b.states[ref.idx].Store(uint64(ref.gen) << 32)
	return ref, used, nil
}

// take pops a free slot, mapping a new chunk when none is left. The slot
// stays dead until the caller publishes it.
func (p *pool) take() (Ref, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b *block
	if k := len(p.partial); k > 0 {
		b = p.partial[k-1]
	} else {
		nb, err := p.grow()
		if err != nil {
			return Ref{}, err
		}
		b = nb
	}
	last := len(b.free) - 1
	idx := b.free[last]
	b.free = b.free[:last]
	if len(b.free)+1 == len(b.states) {
		p.empty-- // it was fully free
	}
	if len(b.free) == 0 {
		p.partial = p.partial[:len(p.partial)-1]
	}
	gen := uint32(b.states[idx].Load() >> 32)
	return Ref{b: b, idx: idx, gen: gen}, nil
}

// grow maps a new chunk. Chunks start at one page and double up to
// maxChunkPages; when the lock limit refuses a large chunk, smaller ones are
// tried down to a single page, so every lockable byte can be used.
func (p *pool) grow() (*block, error) {
	pages := p.nextPages
	var mem *memory.Region
	var err error
	for {
		mem, err = memory.Map(pages*memory.PageSize(), p.mode)
		if err == nil {
			break
		}
		if pages == 1 || !errors.Is(err, memory.ErrLockLimit) {
			return nil, err
		}
		pages /= 2
	}
	if pages*2 <= maxChunkPages && pages == p.nextPages {
		p.nextPages = pages * 2
	}
	stride := p.class + canarySize
	nslots := (mem.Size() - canarySize) / stride
	b := &block{
		mem:     mem,
		pool:    p,
		stride:  stride,
		states:  make([]atomic.Uint64, nslots),
		lengths: make([]uint32, nslots),
		prints:  make([]atomic.Uint64, nslots),
		free:    make([]uint32, nslots),
		canary:  newCanary(),
	}
	for i := range b.free {
		// Hand out low slots first: pop from the end.
		b.free[i] = uint32(nslots - 1 - i)
		b.states[i].Store(deadBit)
		b.prints[i].Store(noPrint) // and free resets it to noPrint
	}
	for i := 0; i <= nslots; i++ {
		b.putCanary(i * stride)
	}
	if p.all == nil {
		p.all = make(map[*block]struct{})
	}
	p.all[b] = struct{}{}
	p.partial = append(p.partial, b)
	p.empty++
	stats.mapped(mem, 1)
	return b, nil
}

// put returns a wiped slot. A chunk that becomes empty is kept if it is the
// only empty one, otherwise unmapped.
func (p *pool) put(b *block, idx uint32, gen uint32) {
	if gen == lastGen {
		p.quarantine(b, idx, gen)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	b.states[idx].Store(uint64(gen+1)<<32 | deadBit)
	b.free = append(b.free, idx)
	if len(b.free) == 1 {
		p.partial = append(p.partial, b)
	}
	if len(b.free)+b.damaged < len(b.states) {
		return // a slot still holds a cell or is being filled
	}
	if p.empty == 0 && b.damaged == 0 {
		p.empty++
		return
	}
	// A second empty chunk, or one holding nothing but free and damaged
	// slots: give it back.
	p.drop(b)
}

// lastGen is a slot's last generation. A slot whose cell of that
// generation ended is retired rather than reused: its generation would
// start over, and a Ref kept from its first cell (a destroyed box still
// read; a frozen box's read checks nothing but the generation) would open
// the cell then in it. A slot reused on every request reaches it in days.
const lastGen = ^uint32(0)

// quarantine keeps a wiped slot whose canary was found damaged, or that
// reached its last generation, out of the free list for good. A chunk left with no cell goes back to the system.
func (p *pool) quarantine(b *block, idx uint32, gen uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b.states[idx].Store(uint64(gen+1)<<32 | deadBit)
	b.damaged++
	if len(b.free)+b.damaged == len(b.states) {
		p.drop(b)
	}
}

// drop unmaps a chunk that holds no cell and is not counted in p.empty;
// p.mu is held.
func (p *pool) drop(b *block) {
	if len(b.free) > 0 {
		for i, x := range p.partial {
			if x == b {
				p.partial = append(p.partial[:i], p.partial[i+1:]...)
				break
			}
		}
	}
	p.unmap(b)
}

// releaseEmpty unmaps the pool's empty chunk, if it kept one, and reports
// whether that freed locked memory.
func (p *pool) releaseEmpty() (lockedFreed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.empty == 0 {
		return false
	}
	kept := p.partial[:0]
	for _, b := range p.partial {
		if len(b.free) == len(b.states) {
			lockedFreed = lockedFreed || b.mem.Locked()
			p.unmap(b)
			continue
		}
		kept = append(kept, b)
	}
	clear(p.partial[len(kept):])
	p.partial = kept
	p.empty = 0
	return lockedFreed
}

// unmap releases an empty chunk; p.mu is held and b is already out of
// p.partial.
func (p *pool) unmap(b *block) {
	delete(p.all, b)
	b.retired = true
	stats.mapped(b.mem, -1)
	_ = b.mem.Unmap()
}

// releaseIdle gives every empty chunk and every cached run back to the
// system, locked or not. Purge runs it.
func releaseIdle() {
	releaseCachedRuns(false)
	for m := range pools {
		for c := range pools[m] {
			pools[m][c].releaseEmpty()
		}
	}
}

// releaseLocked gives the empty chunks and cached runs that hold locked
// memory back to the system, and reports whether that freed any. It runs
// when the lock limit refuses a mapping, so memory kept only for reuse
// never stands between a caller and a new cell. Unlocked memory stays: the
// limit does not count it, and releasing it would only make the caller
// retry for nothing and map it again.
func releaseLocked() bool {
	released := releaseCachedRuns(true)
	for c := range pools[memory.MustLock] {
		if pools[memory.MustLock][c].releaseEmpty() {
			released = true
		}
	}
	return released
}

func (b *block) slot(idx uint32) unsafe.Pointer {
	if b.own {
		return unsafe.Add(b.mem.Data(), b.off)
	}
	return unsafe.Add(b.mem.Data(), canarySize+int(idx)*b.stride)
}

func (b *block) putCanary(off int) {
	binary.LittleEndian.PutUint64(unsafe.Slice((*byte)(unsafe.Add(b.mem.Data(), off)), canarySize), b.canary)
}

// canaryOK compares the canary at off as one word.
func (b *block) canaryOK(off int) bool {
	return binary.LittleEndian.Uint64(unsafe.Slice((*byte)(unsafe.Add(b.mem.Data(), off)), canarySize)) == b.canary
}

// canariesOK checks the canaries on both sides of a slot.
func (b *block) canariesOK(idx uint32) bool {
	if b.own {
		return b.off < canarySize || b.canaryOK(b.off-canarySize)
	}
	off := int(idx) * b.stride
	return b.canaryOK(off) && b.canaryOK(off+b.stride)
}

func newCanary() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	c := binary.LittleEndian.Uint64(b[:])
	// A canary must never look like wiped memory.
	if c == 0 {
		c = 0xa5a5a5a5a5a5a5a5
	}
	return c
}

// Acquire opens the slot for reading and returns its address. Every
// successful Acquire must be matched by one Release.
func (r Ref) Acquire() (unsafe.Pointer, error) { return r.acquire(false) }

// Read is Acquire with its common case written out: a pooled slot, live,
// with no reader racing for its state word, opens with one load, one
// compare-and-swap and the two canary comparisons, without further calls;
// anything else takes acquire. A frozen box's every read comes here:
// acquire's calls and checks were about a third of what a short HMAC from
// a cell cost beyond crypto/hmac's. Close it with Unread.
func (r Ref) Read() (unsafe.Pointer, error) {
	if b := r.b; b != nil && !b.own {
		st := &b.states[r.idx]
		// Live (this generation, not dead) and below the reader limit.
		if s := st.Load(); uint32(s>>32) == r.gen && s&(deadBit|readerMask) < readerMask && st.CompareAndSwap(s, s+1) {
			off := int(r.idx) * b.stride
			lo := unsafe.Add(b.mem.Data(), off)
			hi := unsafe.Add(lo, b.stride)
			le := binary.LittleEndian
			if le.Uint64((*[canarySize]byte)(lo)[:]) == b.canary && le.Uint64((*[canarySize]byte)(hi)[:]) == b.canary {
				return unsafe.Add(lo, canarySize), nil
			}
			stats.canaryFailures.Add(1)
			r.release(false)
			return nil, ErrCorrupted
		}
	}
	return r.acquire(false)
}

// Unread closes what Read opened, as Release does.
func (r Ref) Unread() {
	b := r.b
	if b.guarded {
		b.close(false)
	}
	if s := b.states[r.idx].Add(^uint64(0)); s&deadBit != 0 && s&readerMask == 0 {
		r.free()
	}
}

// AcquireWrite opens the slot for writing; a guarded run becomes writable
// until the matching ReleaseWrite. Callers serialize writers themselves.
func (r Ref) AcquireWrite() (unsafe.Pointer, error) { return r.acquire(true) }

func (r Ref) acquire(write bool) (unsafe.Pointer, error) {
	if err := r.pin(); err != nil {
		return nil, err
	}
	b := r.b
	if b.guarded {
		if err := b.open(write); err != nil {
			r.unref()
			return nil, err
		}
	}
	if !b.canariesOK(r.idx) {
		stats.canaryFailures.Add(1)
		r.release(write)
		return nil, ErrCorrupted
	}
	return b.slot(r.idx), nil
}

// pin counts one more user of the slot, so it cannot be freed (by Destroy,
// Purge or a TTL) until the matching unref; it changes no protection.
// The first try is written out so that the common case, a live slot and
// no other reader racing, costs one load and one compare-and-swap.
func (r Ref) pin() error {
	if r.b == nil {
		return ErrGone
	}
	st := &r.b.states[r.idx]
	if s := st.Load(); uint32(s>>32) == r.gen && s&deadBit == 0 && s&readerMask != readerMask &&
		st.CompareAndSwap(s, s+1) {
		return nil
	}
	return r.pinSlow()
}

func (r Ref) pinSlow() error {
	st := &r.b.states[r.idx]
	for {
		s := st.Load()
		if uint32(s>>32) != r.gen || s&deadBit != 0 {
			return ErrGone
		}
		if s&readerMask == readerMask {
			return ErrTooMany
		}
		if st.CompareAndSwap(s, s+1) {
			return nil
		}
	}
}

// open makes a guarded run accessible for one more reader or writer.
func (b *block) open(write bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	want := memory.ReadOnly
	if write || b.writers > 0 {
		want = memory.ReadWrite
	}
	if b.opened == 0 || (write && b.writers == 0) {
		if err := b.protect(want); err != nil {
			return err
		}
	}
	b.opened++
	if write {
		b.writers++
	}
	return nil
}

// close undoes open: the last one out makes the run inaccessible again.
func (b *block) close(write bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opened--
	if write {
		b.writers--
	}
	switch {
	case b.opened == 0:
		_ = b.protect(memory.NoAccess)
	case write && b.writers == 0:
		_ = b.protect(memory.ReadOnly)
	}
}

// Release closes what Acquire opened. The last reader out of a slot that was
// destroyed meanwhile frees it.
func (r Ref) Release() { r.release(false) }

// ReleaseWrite closes what AcquireWrite opened.
func (r Ref) ReleaseWrite() { r.release(true) }

func (r Ref) release(write bool) {
	if r.b.guarded {
		r.b.close(write)
	}
	r.unref()
}

func (r Ref) unref() {
	s := r.b.states[r.idx].Add(^uint64(0))
	if s&deadBit != 0 && s&readerMask == 0 {
		r.free()
	}
}

// Destroy marks the slot dead. It is wiped and freed at once, or by the last
// reader still inside it. Destroy reports whether this call ended the cell;
// later calls, and calls on a stale Ref, do nothing.
func (r Ref) Destroy() bool {
	if r.b == nil {
		return false
	}
	st := &r.b.states[r.idx]
	for {
		s := st.Load()
		if uint32(s>>32) != r.gen || s&deadBit != 0 {
			return false
		}
		if st.CompareAndSwap(s, s|deadBit) {
			if s&readerMask == 0 {
				r.free()
			}
			return true
		}
	}
}

// Alive reports whether the slot still holds this Ref's cell.
func (r Ref) Alive() bool {
	if r.b == nil {
		return false
	}
	s := r.b.states[r.idx].Load()
	return uint32(s>>32) == r.gen && s&deadBit == 0
}

// free wipes the slot and hands it back. Only the one party that saw the
// slot dead with no readers gets here.
func (r Ref) free() {
	b := r.b
	stats.live.Add(-1)
	dropPrint(&b.prints[r.idx])
	if !b.own {
		p := b.slot(r.idx)
		stats.bytes.Add(-int64(b.lengths[r.idx]))
		b.lengths[r.idx] = 0
		clear(unsafe.Slice((*byte)(p), b.pool.class))
		callFreeHook(unsafe.Slice((*byte)(p), b.pool.class))
		if !b.canariesOK(r.idx) {
			// Do not reuse memory something else is scribbling on: leave
			// the slot out of the free list for good.
			stats.canaryFailures.Add(1)
			b.pool.quarantine(b, r.idx, r.gen)
			return
		}
		b.pool.put(b, r.idx, r.gen)
		return
	}
	freeOwn(b, r.gen)
}

// noPrint marks a slot whose cell must not be registered for leak
// detection: a scratch cell, a volatile token, a sealed or still-growing
// cell. Every slot starts so; Register marks it eligible (0) or registered.
const noPrint = ^uint64(0)

func dropPrint(p *atomic.Uint64) {
	if id := p.Swap(noPrint); id != 0 && id != noPrint {
		fingerprint.Remove(fingerprint.ID(id))
	}
}

// Register makes a live cell eligible for the leak-detection registry and,
// when a redacting logger has activated it, enters it there so its
// plaintext is recognised in log output. Cells made eligible before the
// activation are entered by it (see RegisterAll). The registration ends
// when the slot is freed.
func (r Ref) Register() {
	if r.b == nil {
		return
	}
	p := &r.b.prints[r.idx]
	if !fingerprint.Active() {
		p.CompareAndSwap(noPrint, 0)
		if !fingerprint.Active() {
			return
		}
		// Activated meanwhile: the backfill may have missed this slot.
	}
	r.enter()
}

// enter adds the cell's fingerprint unless it is already registered. The
// reader held across Add and the store keeps the slot from being freed and
// reused in between.
func (r Ref) enter() {
	p, err := r.Acquire()
	if err != nil {
		return
	}
	defer r.Release()
	slot := &r.b.prints[r.idx]
	if v := slot.Load(); v != 0 && v != noPrint {
		return
	}
	id := fingerprint.Add(unsafe.Slice((*byte)(p), r.b.used(r.idx)), r.Equal)
	if id == 0 {
		return
	}
	for {
		v := slot.Load()
		if v != 0 && v != noPrint {
			fingerprint.Remove(id) // someone else registered it
			return
		}
		if slot.CompareAndSwap(v, uint64(id)) {
			return
		}
	}
}

// RegisterAll enters every eligible live cell in the leak-detection
// registry. fingerprint.Activate calls it, so cells created before the first
// redacting logger (configuration loaded at start-up) are recognised too.
func RegisterAll() {
	var refs []Ref
	collect := func(b *block) {
		for i := range b.states {
			s := b.states[i].Load()
			if s&deadBit == 0 && b.prints[i].Load() == 0 {
				refs = append(refs, Ref{b: b, idx: uint32(i), gen: uint32(s >> 32)})
			}
		}
	}
	for m := range pools {
		for c := range pools[m] {
			p := &pools[m][c]
			p.mu.Lock()
			for b := range p.all {
				collect(b)
			}
			p.mu.Unlock()
		}
	}
	runs.mu.Lock()
	for b := range runs.live {
		collect(b)
	}
	runs.mu.Unlock()
	for _, r := range refs {
		r.enter()
	}
}

func init() {
	// Only a function value is stored: nothing runs until a redacting
	// logger activates leak detection.
	fingerprint.SetBackfill(RegisterAll)
}

// Equal compares c with the cell in constant time for a given length; false
// once the cell is gone.
func (r Ref) Equal(c []byte) bool {
	p, err := r.Acquire()
	if err != nil {
		return false
	}
	defer r.Release()
	return subtle.ConstantTimeCompare(unsafe.Slice((*byte)(p), r.b.used(r.idx)), c) == 1
}

func (b *block) used(idx uint32) int {
	if b.own {
		return b.length
	}
	return int(b.lengths[idx])
}

// SetLen records how many bytes of the slot are in use (for Stats and leak
// detection), when a growable cell changes its length.
func (r Ref) SetLen(n int) {
	// Pinned, the slot cannot be freed under the write: free reads the
	// length to take it off Stats.
	if r.pin() != nil {
		return
	}
	defer r.unref()
	if r.b.own {
		stats.bytes.Add(int64(n - r.b.length))
		r.b.length = n
		return
	}
	stats.bytes.Add(int64(n) - int64(r.b.lengths[r.idx]))
	r.b.lengths[r.idx] = uint32(n)
}
