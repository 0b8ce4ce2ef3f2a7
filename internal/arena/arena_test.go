package arena

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"unsafe"

	"github.com/secretmem/secretmem/internal/fingerprint"
	"github.com/secretmem/secretmem/internal/memory"
)

func alloc(t *testing.T, s string, opts Options) Ref {
	t.Helper()
	r, n, err := Alloc(len(s), opts, func(dst []byte) (int, error) { return copy(dst, s), nil })
	if err != nil || n != len(s) {
		t.Fatalf("Alloc: %v (%d bytes)", err, n)
	}
	t.Cleanup(func() { r.Destroy() })
	return r
}

var activationTested bool

// This test must run before anything in this process activates leak
// detection: it proves that activation registers cells made before it.
func TestActivationRegistersCellsThatAlreadyLive(t *testing.T) {
	if activationTested {
		t.Skip("activation happens once per process; -count > 1 repeats this test after it")
	}
	activationTested = true
	if fingerprint.Active() {
		t.Fatal("leak detection is already active in this process")
	}
	eligible := alloc(t, "configuration-secret-made-at-start", Options{})
	eligible.Register()
	guarded := alloc(t, "guarded-secret-made-at-start-too", Options{Guarded: true})
	guarded.Register()
	scratch := alloc(t, "scratch-cell-never-registered-x", Options{})

	fingerprint.Activate()
	for _, c := range []struct {
		name, text string
		want       bool
	}{
		{"an eligible pooled cell", "configuration-secret-made-at-start", true},
		{"an eligible guarded cell", "guarded-secret-made-at-start-too", true},
		{"a cell never made eligible", "scratch-cell-never-registered-x", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, found := fingerprint.Scrub("log: "+c.text+" end", "[R]")
			if found != c.want {
				t.Errorf("found %v, want %v", found, c.want)
			}
		})
	}
	eligible.Destroy()
	if _, found := fingerprint.Scrub("configuration-secret-made-at-start", "[R]"); found {
		t.Error("a destroyed cell is still recognised")
	}
	_ = scratch
}

func TestAStaleRefCannotReachTheNextCell(t *testing.T) {
	old := alloc(t, "first-occupant-of-the-slot-xxxxx", Options{})
	old.Destroy()
	next := alloc(t, "second-occupant-of-the-slot-yyyy", Options{})
	if old.b == next.b && old.idx == next.idx && old.gen == next.gen {
		t.Fatal("the slot was reused under the same generation")
	}
	if _, err := old.Acquire(); !errors.Is(err, ErrGone) {
		t.Errorf("a stale Acquire: %v, want ErrGone", err)
	}
	if old.Destroy() {
		t.Error("a stale Destroy ended a cell")
	}
	if !next.Alive() || !next.Equal([]byte("second-occupant-of-the-slot-yyyy")) {
		t.Error("the next cell was harmed")
	}
}

func TestFreedSlotsAreWipedBeforeReuse(t *testing.T) {
	var dirty int
	SetFreeHookForTest(func(b []byte) {
		if !bytes.Equal(b, make([]byte, len(b))) {
			dirty++
		}
	})
	defer SetFreeHookForTest(nil)
	for _, o := range []Options{{}, {Guarded: true}, {Own: true}} {
		r := alloc(t, "wipe-me-please-0123456789abcdef", o)
		r.Destroy()
	}
	if dirty != 0 {
		t.Errorf("%d freed regions held data", dirty)
	}
}

func TestAlignment(t *testing.T) {
	for _, align := range []int{1, 2, 4, 8, 16, 64} {
		r, _, err := Alloc(24, Options{Align: align}, func(dst []byte) (int, error) { return len(dst), nil })
		if err != nil {
			t.Fatal(err)
		}
		p, err := r.Acquire()
		if err != nil {
			t.Fatal(err)
		}
		if uintptr(p)%uintptr(align) != 0 {
			t.Errorf("alignment %d: got address %#x", align, uintptr(p))
		}
		r.Release()
		r.Destroy()
	}
	if _, _, err := Alloc(8, Options{Align: 3}, func(d []byte) (int, error) { return 8, nil }); err == nil {
		t.Error("alignment 3 accepted")
	}
}

// A canary damaged behind the cell's back (no Acquire saw it) is found when
// the cell is freed: the failure is counted and the damaged memory is never
// handed to another cell.
func TestFreeQuarantinesMemoryWithADamagedCanary(t *testing.T) {
	t.Run("a pooled slot stays out of the free list", func(t *testing.T) {
		r, _, err := Alloc(32, Options{}, func(dst []byte) (int, error) { return copy(dst, "a pooled cell with a bad canary."), nil })
		if err != nil {
			t.Fatal(err)
		}
		b, idx := r.b, r.idx
		before := stats.canaryFailures.Load()
		// A stray write lands on the canary after the slot.
		*(*byte)(unsafe.Add(b.mem.Data(), int(idx+1)*b.stride)) ^= 0xff
		r.Destroy()
		if got := stats.canaryFailures.Load(); got != before+1 {
			t.Errorf("canary failures %d after the free, want %d", got, before+1)
		}
		b.pool.mu.Lock()
		inFree := slices.Contains(b.free, idx)
		b.pool.mu.Unlock()
		if inFree {
			t.Fatal("the damaged slot went back to the free list")
		}
		for i := range len(b.states) {
			n := alloc(t, "a later cell of the same size....", Options{})
			if n.b == b && n.idx == idx {
				t.Fatalf("allocation %d reused the damaged slot", i)
			}
		}
	})
	t.Run("an own run is not cached for reuse", func(t *testing.T) {
		r := alloc(t, "a guarded cell with a bad canary", Options{Guarded: true})
		b := r.b
		before := stats.canaryFailures.Load()
		b.mu.Lock()
		if err := b.protect(memory.ReadWrite); err != nil {
			b.mu.Unlock()
			t.Fatal(err)
		}
		*(*byte)(unsafe.Add(b.mem.Data(), b.off-canarySize)) ^= 0xff
		if err := b.protect(memory.NoAccess); err != nil {
			b.mu.Unlock()
			t.Fatal(err)
		}
		b.mu.Unlock()
		r.Destroy()
		if got := stats.canaryFailures.Load(); got != before+1 {
			t.Errorf("canary failures %d after the free, want %d", got, before+1)
		}
		runs.mu.Lock()
		cached := slices.Contains(runs.cache, b)
		runs.mu.Unlock()
		if cached || !b.retired {
			t.Errorf("the damaged run: cached %v, unmapped %v; want it unmapped", cached, b.retired)
		}
		if n := alloc(t, "a later guarded cell, same size.", Options{Guarded: true}); n.b == b {
			t.Error("a later guarded cell got the damaged run")
		}
	})
}

// Purge while a fill writes: the slot being filled is not a cell yet, so
// Purge neither ends it nor lets its chunk go back to the system under fill.
func TestPurgeDuringAFill(t *testing.T) {
	const s = "written after a Purge ran inside the fill...." // 45 bytes
	for _, o := range []Options{{}, {Own: true}, {Guarded: true}} {
		Purge()
		r, n, err := Alloc(len(s), o, func(dst []byte) (int, error) {
			Purge()
			return copy(dst, s), nil
		})
		if err != nil || n != len(s) {
			t.Fatalf("%+v: Alloc: %v (%d bytes)", o, err, n)
		}
		if !r.Alive() || !r.Equal([]byte(s)) {
			t.Errorf("%+v: the cell filled across a Purge is not intact", o)
		}
		if st := Snapshot(); st.Live != 1 || st.Bytes != len(s) {
			t.Errorf("%+v: live %d, bytes %d; want 1, %d", o, st.Live, st.Bytes, len(s))
		}
		r.Destroy()

		failed := errors.New("the fill failed")
		_, _, err = Alloc(len(s), o, func(dst []byte) (int, error) {
			Purge()
			copy(dst, s)
			return 0, failed
		})
		if !errors.Is(err, failed) {
			t.Fatalf("%+v: Alloc: %v, want the fill's error", o, err)
		}
		if st := Snapshot(); st.Live != 0 || st.Bytes != 0 {
			t.Errorf("%+v: live %d, bytes %d; want 0, 0", o, st.Live, st.Bytes)
		}
	}
	// Every slot of the class is free exactly once: a chunk's worth of
	// cells all get slots of their own.
	seen := map[unsafe.Pointer]bool{}
	for range 200 {
		r := alloc(t, s, Options{})
		p, err := r.Acquire()
		if err != nil {
			t.Fatal(err)
		}
		r.Release()
		if seen[p] {
			t.Fatal("two live cells share a slot")
		}
		seen[p] = true
	}
}

// At the lock limit only locked memory kept for reuse can make room:
// releasing unlocked memory there frees nothing the limit counts, and
// reporting it as freed makes every refused mapping retry for nothing.
func TestTheLockLimitReleasesOnlyLockedMemory(t *testing.T) {
	Purge()
	defer Purge()
	base := Snapshot()
	// Unlocked memory kept for reuse: an empty chunk and a cached run.
	unlocked := &pools[memory.NoLock][0]
	r, err := unlocked.take()
	if err != nil {
		t.Fatal(err)
	}
	unlocked.put(r.b, r.idx, r.gen)
	b, err := takeRun(100, memory.NoLock)
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	err = b.protect(memory.NoAccess)
	b.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	releaseRun(b)
	idle := Snapshot()
	if releaseLocked() {
		t.Error("releaseLocked reported locked memory freed when only unlocked memory was idle")
	}
	if s := Snapshot(); s.Unlocked != idle.Unlocked || s.Chunks != idle.Chunks {
		t.Errorf("releaseLocked released unlocked memory: %+v, was %+v", s, idle)
	}

	// Locked memory kept for reuse: an empty chunk.
	locked := &pools[memory.MustLock][0]
	r, err = locked.take()
	if err != nil {
		t.Fatal(err)
	}
	locked.put(r.b, r.idx, r.gen)
	holdsLocked := r.b.mem.Locked()
	if got := releaseLocked(); got != holdsLocked {
		t.Errorf("releaseLocked with an empty locked chunk: %v, want %v", got, holdsLocked)
	}
	if s := Snapshot(); s.Locked != base.Locked {
		t.Errorf("%d bytes of locked memory stay mapped, %d did before", s.Locked, base.Locked)
	}
}

// A chunk whose only occupied slot was quarantined holds no cell: it goes
// back to the system like any empty chunk, so a purged process keeps no
// locked memory for nothing.
func TestAChunkOfFreeAndQuarantinedSlotsIsReleased(t *testing.T) {
	Purge()
	r, _, err := Alloc(200, Options{}, func(dst []byte) (int, error) { return len(dst), nil })
	if err != nil {
		t.Fatal(err)
	}
	b, idx := r.b, r.idx
	*(*byte)(unsafe.Add(b.mem.Data(), int(idx+1)*b.stride)) ^= 0xff
	r.Destroy()
	Purge()
	b.pool.mu.Lock()
	retired := b.retired
	b.pool.mu.Unlock()
	if !retired {
		t.Error("a chunk with no cell but a quarantined slot stays mapped after Purge")
	}
	if s := Snapshot(); s.Chunks != 0 || s.Locked != 0 || s.Unlocked != 0 {
		t.Errorf("after Purge: %+v, want nothing mapped", s)
	}
}

// A run whose fill failed holds no cell: like any run waiting for reuse it
// is wiped and inaccessible.
func TestARunWhoseFillFailedIsCachedInaccessible(t *testing.T) {
	failed := errors.New("the fill failed")
	for _, o := range []Options{{Own: true}, {Guarded: true}} {
		Purge()
		_, _, err := Alloc(5000, o, func(dst []byte) (int, error) {
			copy(dst, "a secret the failed fill wrote")
			return 0, failed
		})
		if !errors.Is(err, failed) {
			t.Fatalf("%+v: %v, want the fill's error", o, err)
		}
		runs.mu.Lock()
		cached := slices.Clone(runs.cache)
		runs.mu.Unlock()
		if len(cached) != 1 {
			t.Fatalf("%+v: %d runs cached, want the one the fill failed in", o, len(cached))
		}
		b := cached[0]
		b.mu.Lock()
		prot := b.prot
		b.mu.Unlock()
		if prot != memory.NoAccess {
			t.Errorf("%+v: the cached run is left with protection %v, want NoAccess", o, prot)
		}
	}
	Purge()
}
