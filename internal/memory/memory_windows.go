//go:build windows && !secretmem_heap

package memory

import (
	"errors"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

var pageSize = os.Getpagesize()

// PageSize returns the system page size.
func PageSize() int { return pageSize }

func probeBest() Backend { return Mlock }

func mapRegion(n int, mode Mode) (*Region, error) {
	ps := pageSize
	total := n + 2*ps
	base, err := windows.VirtualAlloc(0, uintptr(total), windows.MEM_RESERVE|windows.MEM_COMMIT, windows.PAGE_NOACCESS)
	if err != nil {
		return nil, os.NewSyscallError("VirtualAlloc", err)
	}
	r := &Region{
		data:    unsafe.Add(addrPointer(base), ps),
		size:    n,
		mapping: addrPointer(base),
		mapLen:  total,
	}
	var old uint32
	if err := windows.VirtualProtect(uintptr(r.data), uintptr(n), windows.PAGE_READWRITE, &old); err != nil {
		_ = windows.VirtualFree(base, 0, windows.MEM_RELEASE)
		return nil, os.NewSyscallError("VirtualProtect", err)
	}
	if mode == NoLock {
		r.backend = Unlocked
		return r, nil
	}
	if err := lockPages(uintptr(r.data), uintptr(n)); err != nil {
		_ = windows.VirtualFree(base, 0, windows.MEM_RELEASE)
		return nil, err
	}
	r.backend = Mlock
	return r, nil
}

// virtualLock is windows.VirtualLock; tests replace it to make it answer
// ERROR_WORKING_SET_QUOTA, which Wine never does.
var virtualLock = windows.VirtualLock

// growMu serializes the working-set growth: two goroutines that grew it
// from the same starting size at once would grow it only once between
// them, and one of them would fail to lock.
var growMu sync.Mutex

// lockPages locks the pages. Windows counts locked pages against the
// process's minimum working set (about 200 KiB by default); when that
// quota stands in the way, the working set grows by what the pages need
// and the lock is tried again.
func lockPages(addr, n uintptr) error {
	err := virtualLock(addr, n)
	if err == nil {
		return nil
	}
	if !errors.Is(err, windows.ERROR_WORKING_SET_QUOTA) {
		return lockError("VirtualLock", err)
	}
	growMu.Lock()
	defer growMu.Unlock()
	// Another goroutine may have grown the working set while this one
	// waited.
	if virtualLock(addr, n) == nil {
		return nil
	}
	proc := windows.CurrentProcess()
	minWS, maxWS, flags, err := workingSetSize(proc)
	if err != nil {
		return lockError("GetProcessWorkingSetSizeEx", err)
	}
	grow := n + uintptr(pageSize)*16
	if err := windows.SetProcessWorkingSetSizeEx(proc, minWS+grow, maxWS+grow, flags); err != nil {
		return lockError("SetProcessWorkingSetSizeEx", err)
	}
	if err := virtualLock(addr, n); err != nil {
		return lockError("VirtualLock", err)
	}
	return nil
}

var procGetProcessWorkingSetSizeEx = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetProcessWorkingSetSizeEx")

// workingSetSize is GetProcessWorkingSetSizeEx with its error: x/sys drops
// it, and sizes left at zero on a failure would make the growth above
// shrink the working set instead.
func workingSetSize(proc windows.Handle) (minWS, maxWS uintptr, flags uint32, err error) {
	r, _, e := procGetProcessWorkingSetSizeEx.Call(uintptr(proc),
		uintptr(unsafe.Pointer(&minWS)), uintptr(unsafe.Pointer(&maxWS)), uintptr(unsafe.Pointer(&flags)))
	if r == 0 {
		return 0, 0, 0, e
	}
	return minWS, maxWS, flags, nil
}

func protect(r *Region, p Prot) error {
	prot := uint32(windows.PAGE_NOACCESS)
	switch p {
	case ReadOnly:
		prot = windows.PAGE_READONLY
	case ReadWrite:
		prot = windows.PAGE_READWRITE
	}
	var old uint32
	if err := windows.VirtualProtect(uintptr(r.data), uintptr(r.size), prot, &old); err != nil {
		return os.NewSyscallError("VirtualProtect", err)
	}
	return nil
}

func unmap(r *Region) error {
	if r.backend == Mlock {
		_ = windows.VirtualUnlock(uintptr(r.data), uintptr(r.size))
	}
	if err := windows.VirtualFree(uintptr(r.mapping), 0, windows.MEM_RELEASE); err != nil {
		return os.NewSyscallError("VirtualFree", err)
	}
	return nil
}

// addrPointer turns a VirtualAlloc address into a pointer. The memory lies
// outside the Go heap, so the collector never moves or frees it; the
// indirection keeps vet's uintptr check quiet for this one sanctioned case.
func addrPointer(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }
