// Package memory maps the page runs that hold secrets: locked in RAM, kept out
// of core dumps and forked children where the system allows it, and fenced by
// inaccessible guard pages on both sides.
//
// The portable API is Map, Region.Protect and Region.Unmap. Each operating
// system supplies mapRegion, protect and unmap in its own file; no code above
// this package asks which system it runs on.
//
// On Windows a region is VirtualAlloc'd, locked with VirtualLock and
// switched with VirtualProtect; when VirtualLock answers
// ERROR_WORKING_SET_QUOTA the working set grows by what the pages need
// (SetProcessWorkingSetSizeEx) and the lock is tried again. CI runs the
// Windows tests under Wine 8, which cannot show two things, so they are
// unconfirmed on Windows itself:
//
//   - Whether a locked page stays locked while it is PAGE_NOACCESS, as an
//     idle guarded cell is. VirtualLock's documentation only says a
//     no-access page cannot be locked; memguard's maintainer reads that as
//     Windows dropping the lock. TestALockSurvivesNoAccess answers it from
//     QueryWorkingSetEx (the page's Locked bit after no-access and back,
//     and whether it stayed in the working set through a trim while
//     no-access), but Wine never sets the Locked bit and does not trim, so
//     the test skips there. Under Wine the lock does hold (VirtualLock is
//     mlock(2), VirtualProtect is mprotect(2); 64 MiB locked and made
//     no-access still show as VmLck in the process's /proc status), which
//     says nothing about Windows.
//   - The working-set growth. Wine's VirtualLock never reports the quota
//     (its limit is RLIMIT_MEMLOCK) and its SetProcessWorkingSetSizeEx
//     succeeds and changes nothing (32 MiB before and after), so CI runs
//     the growth path with the quota error injected and the real calls
//     after it, and cannot see the working set grow.
package memory

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// Backend names the kind of memory a region lives in.
type Backend string

// The backends, strongest first.
const (
	// MemfdSecret: Linux memfd_secret(2). The pages leave the kernel direct
	// map, are locked, never dumped, and cannot be read through
	// /proc/PID/mem or process_vm_readv, even by root.
	MemfdSecret Backend = "memfd_secret"
	// Mlock: an anonymous mapping locked in RAM (mlock, VirtualLock) and
	// excluded from core dumps and forked children where the system can.
	Mlock Backend = "mlock"
	// Unlocked: the same mapping without the lock, used only when the caller
	// allowed it after locking failed. It can be swapped out.
	Unlocked Backend = "unlocked"
	// Heap: ordinary Go memory on targets without virtual memory control
	// (js/wasm, wasip1, plan9). Zeroized and redacted, nothing more.
	Heap Backend = "heap"
)

// DisableMemfdSecretEnv names an environment variable that, when set to
// anything, makes Linux use the mlock backend even where memfd_secret works.
// It exists to test and measure the fallback; it can only weaken protection.
const DisableMemfdSecretEnv = "SECRETMEM_DISABLE_MEMFD_SECRET"

// Prot is the access a region allows.
type Prot int

// Access modes for Region.Protect.
const (
	NoAccess Prot = iota
	ReadOnly
	ReadWrite
)

// Mode says whether a region must be locked.
type Mode int

const (
	// MustLock fails with ErrLockLimit when the pages cannot be locked.
	MustLock Mode = iota
	// NoLock maps pages that are never locked (the degraded path).
	NoLock
)

// ErrLockLimit reports that the system refused to lock more memory.
var ErrLockLimit = errors.New("secret: cannot lock memory: the memory-lock limit is reached " +
	"(raise RLIMIT_MEMLOCK with `ulimit -l`, systemd LimitMEMLOCK=, docker --ulimit memlock, " +
	"or grant CAP_IPC_LOCK; on Windows the working-set quota could not grow)")

// ErrSize reports a size that cannot be mapped.
var ErrSize = errors.New("invalid region size")

// Region is one mapping: a run of usable pages between two guard pages.
// It holds addresses, never a []byte, so reflection-based printers that
// follow pointers find nothing to print.
type Region struct {
	data    unsafe.Pointer // first usable byte
	size    int            // usable bytes, a multiple of the page size
	mapping unsafe.Pointer // start of the whole mapping, guard page included
	mapLen  int            // length of the whole mapping
	backend Backend
}

// Data returns the address of the first usable byte.
func (r *Region) Data() unsafe.Pointer { return r.data }

// Size returns the number of usable bytes.
func (r *Region) Size() int { return r.size }

// Backend tells what kind of memory the region lives in.
func (r *Region) Backend() Backend { return r.backend }

// Locked reports whether the pages are locked in RAM.
func (r *Region) Locked() bool { return r.backend == MemfdSecret || r.backend == Mlock }

// GuardPages reports whether the region is fenced by inaccessible guard
// pages and Protect changes its access. Heap regions have neither.
func (r *Region) GuardPages() bool { return r.backend != Heap }

// Bytes returns the usable pages as a slice. Callers keep it only as long as
// they hold the region and never store it anywhere a printer can reach.
func (r *Region) Bytes() []byte { return unsafe.Slice((*byte)(r.data), r.size) }

// Map returns a region of at least size usable bytes, readable and writable,
// with an inaccessible guard page on each side.
func Map(size int, mode Mode) (*Region, error) {
	if size <= 0 || size > maxRegion {
		return nil, fmt.Errorf("%w: %d bytes", ErrSize, size)
	}
	ps := PageSize()
	n := (size + ps - 1) / ps * ps
	return mapRegion(n, mode)
}

// Protect changes the access the usable pages allow. Guard pages stay
// inaccessible.
func (r *Region) Protect(p Prot) error { return protect(r, p) }

// Unmap releases the region. The caller wipes it first.
func (r *Region) Unmap() error { return unmap(r) }

// maxRegion bounds a single mapping; larger requests are caller bugs or
// hostile sizes, not secrets.
const maxRegion = 1 << 30

var (
	probeOnce sync.Once
	probed    Backend
)

// Best returns the strongest backend this process can use for locked
// memory. The first call may make a system call to find out; nothing happens
// at import time.
func Best() Backend {
	probeOnce.Do(func() { probed = probeBest() })
	return probed
}
