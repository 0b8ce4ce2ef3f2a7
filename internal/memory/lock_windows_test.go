//go:build windows && !secretmem_heap

package memory

import (
	"errors"
	"fmt"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/secretmem/secretmem/internal/wine"
)

// pageState returns QueryWorkingSetEx's answer for the page holding addr:
// Valid when the page is in the working set, Locked when VirtualLock
// holds it there.
func pageState(t *testing.T, addr uintptr) windows.PSAPI_WORKING_SET_EX_BLOCK {
	t.Helper()
	info := windows.PSAPI_WORKING_SET_EX_INFORMATION{VirtualAddress: *(*windows.Pointer)(unsafe.Pointer(&addr))}
	if err := windows.QueryWorkingSetEx(windows.CurrentProcess(), uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		t.Fatalf("QueryWorkingSetEx: %v", err)
	}
	return info.VirtualAttributes
}

func describe(b windows.PSAPI_WORKING_SET_EX_BLOCK) string {
	return fmt.Sprintf("valid %v, locked %v, protection %#x", b.Valid(), b.Locked(), b.Win32Protection())
}

// lockStateReported skips t where QueryWorkingSetEx does not report the
// Locked bit: Wine 8 never sets it (its VirtualLock is mlock(2), and its
// working-set query reads only /proc/self/pagemap's present bit). Windows
// always reports it, so there the control is an assertion.
func lockStateReported(t *testing.T) {
	t.Helper()
	r := mapped(t, PageSize(), MustLock)
	r.Bytes()[0] = 1
	if b := pageState(t, uintptr(r.Data())); !b.Locked() {
		wine.Skip(t, "QueryWorkingSetEx never reports a page as Locked, not even one VirtualLock just locked ("+describe(b)+")")
		t.Fatalf("a page VirtualLock just locked reads as unlocked: %s", describe(b))
	}
}

// trimReported skips t where trimming the working set does not take
// unlocked pages out of it: Wine's SetProcessWorkingSetSizeEx changes
// nothing.
func trimReported(t *testing.T) {
	t.Helper()
	r := mapped(t, PageSize(), NoLock)
	r.Bytes()[0] = 1
	trimWorkingSet(t)
	if b := pageState(t, uintptr(r.Data())); b.Valid() {
		wine.Skip(t, "trimming the working set leaves unlocked pages in it: SetProcessWorkingSetSizeEx is a no-op")
		t.Fatalf("an unlocked page stayed in the trimmed working set: %s", describe(b))
	}
}

// trimWorkingSet removes every page it can from the working set: all but
// the locked ones.
func trimWorkingSet(t *testing.T) {
	t.Helper()
	if err := windows.SetProcessWorkingSetSizeEx(windows.CurrentProcess(), ^uintptr(0), ^uintptr(0), 0); err != nil {
		t.Fatalf("trimming the working set: %v", err)
	}
}

func TestLockedPagesReadAsLocked(t *testing.T) {
	lockStateReported(t)
	locked := mapped(t, 2*PageSize(), MustLock)
	unlocked := mapped(t, PageSize(), NoLock)
	unlocked.Bytes()[0] = 1
	for off := 0; off < locked.Size(); off += PageSize() {
		if b := pageState(t, uintptr(locked.Data())+uintptr(off)); !b.Locked() || !b.Valid() {
			t.Errorf("locked region, page at +%d: %s", off, describe(b))
		}
	}
	if b := pageState(t, uintptr(unlocked.Data())); b.Locked() {
		t.Errorf("an unlocked region reads as locked: %s", describe(b))
	}
}

// Idle guarded cells are no-access. VirtualLock's documentation says
// memory protected with PAGE_NOACCESS cannot be locked, and memguard's
// maintainer reads that as: switching a locked page to no-access drops the
// lock. If so, an idle guarded cell can be paged out. Two probes answer it,
// each where the system lets it: the page's Locked bit after it went
// no-access and came back, and whether the page stayed in the working set
// through a trim while it was no-access.
func TestALockSurvivesNoAccess(t *testing.T) {
	t.Run("the Locked bit after no-access and back", func(t *testing.T) {
		lockStateReported(t)
		r := mapped(t, PageSize(), MustLock)
		p := uintptr(r.Data())
		r.Bytes()[0] = 1
		if err := r.Protect(NoAccess); err != nil {
			t.Fatal(err)
		}
		t.Logf("while no-access: %s", describe(pageState(t, p)))
		if err := r.Protect(ReadWrite); err != nil {
			t.Fatal(err)
		}
		if b := pageState(t, p); !b.Locked() {
			t.Errorf("the page lost its lock while it was no-access (%s): idle guarded cells are not locked on this system", describe(b))
		}
	})
	t.Run("the page stays resident through a trim while no-access", func(t *testing.T) {
		trimReported(t)
		r := mapped(t, PageSize(), MustLock)
		p := uintptr(r.Data())
		r.Bytes()[0] = 1
		if err := r.Protect(NoAccess); err != nil {
			t.Fatal(err)
		}
		trimWorkingSet(t)
		// Back to readable without touching it: only a page that stayed
		// in the working set reads as valid.
		if err := r.Protect(ReadOnly); err != nil {
			t.Fatal(err)
		}
		if b := pageState(t, p); !b.Valid() {
			t.Errorf("a trim while no-access took the page out of the working set (%s): the lock did not hold", describe(b))
		}
	})
}

// withQuotaErrors makes the next n VirtualLock calls fail as Windows does
// when the working-set quota is used up, and counts every call.
func withQuotaErrors(t *testing.T, n int) *int {
	t.Helper()
	calls := 0
	real := virtualLock
	virtualLock = func(addr, size uintptr) error {
		calls++
		if calls <= n {
			return windows.ERROR_WORKING_SET_QUOTA
		}
		return real(addr, size)
	}
	t.Cleanup(func() { virtualLock = real })
	return &calls
}

// The growth path runs only when VirtualLock reports the quota, which Wine
// never does: the first two calls fail here as Windows would fail them, and
// everything after them (reading and growing the working set, the last
// try) is the real thing.
func TestAQuotaErrorGrowsTheWorkingSetAndLocks(t *testing.T) {
	minBefore, maxBefore, _, err := workingSetSize(windows.CurrentProcess())
	if err != nil {
		t.Fatal(err)
	}
	calls := withQuotaErrors(t, 2)
	r := mapped(t, 4*PageSize(), MustLock)
	if *calls != 3 {
		t.Errorf("VirtualLock ran %d times, want 3 (the quota error, the retry under the lock, the one after growing)", *calls)
	}
	if r.Backend() != Mlock {
		t.Errorf("backend %s, want mlock", r.Backend())
	}
	minAfter, maxAfter, _, err := workingSetSize(windows.CurrentProcess())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("working set min %d -> %d, max %d -> %d", minBefore, minAfter, maxBefore, maxAfter)
	if minAfter < minBefore+uintptr(r.Size()) || maxAfter < maxBefore+uintptr(r.Size()) {
		wine.Skip(t, fmt.Sprintf("SetProcessWorkingSetSizeEx succeeds and changes nothing (min %d, max %d before and after)", minAfter, maxAfter))
		t.Errorf("the working set did not grow by the %d bytes locked", r.Size())
	}
}

func TestAQuotaErrorAfterGrowingIsErrLockLimit(t *testing.T) {
	withQuotaErrors(t, 3)
	r, err := Map(PageSize(), MustLock)
	if err == nil {
		r.Unmap()
		t.Fatal("Map succeeded with every VirtualLock refused")
	}
	if !errors.Is(err, ErrLockLimit) || !errors.Is(err, windows.ERROR_WORKING_SET_QUOTA) {
		t.Errorf("err = %v, want ErrLockLimit wrapping ERROR_WORKING_SET_QUOTA", err)
	}
}

// At the limit, Map refuses with ErrLockLimit, every region mapped before
// is intact, unlocked memory is still there for AllowUnlocked, and an
// Unmap gives its locked pages back.
func TestMapAtTheLockLimit(t *testing.T) {
	limit := wine.LockLimit(t)
	ps := PageSize()
	var held []*Region
	defer func() {
		for _, r := range held {
			r.Unmap()
		}
	}()
	var err error
	for len(held)*4*ps <= 2*limit {
		var r *Region
		if r, err = Map(4*ps, MustLock); err != nil {
			break
		}
		for i := range r.Bytes() {
			r.Bytes()[i] = byte(len(held))
		}
		held = append(held, r)
	}
	if !errors.Is(err, ErrLockLimit) {
		t.Fatalf("after locking %d bytes under a limit of %d: %v, want ErrLockLimit", len(held)*4*ps, limit, err)
	}
	t.Logf("locked %d bytes under a limit of %d: %v", len(held)*4*ps, limit, err)
	if len(held)*4*ps > limit {
		t.Errorf("locked %d bytes, more than the limit of %d", len(held)*4*ps, limit)
	}
	for i, r := range held {
		for _, c := range r.Bytes() {
			if c != byte(i) {
				t.Fatalf("region %d changed when a later Map was refused", i)
			}
		}
	}
	u, err := Map(4*ps, NoLock)
	if err != nil {
		t.Fatalf("an unlocked Map at the limit: %v", err)
	}
	u.Unmap()
	if len(held) == 0 {
		t.Fatal("the limit refused the first region")
	}
	if err := held[0].Unmap(); err != nil {
		t.Fatal(err)
	}
	held = held[1:]
	r, err := Map(4*ps, MustLock)
	if err != nil {
		t.Fatalf("Unmap gave nothing back to lock: %v", err)
	}
	held = append(held, r)
}
