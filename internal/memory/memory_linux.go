//go:build linux && !secretmem_heap

package memory

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

var pageSize = os.Getpagesize()

// PageSize returns the system page size.
func PageSize() int { return pageSize }

// memfdState: 0 not yet tried, 1 works, 2 unavailable (no syscall, disabled
// with secretmem.enable=0, or refused by a seccomp filter).
var memfdState atomic.Int32

func probeBest() Backend {
	if memfdUsable() {
		return MemfdSecret
	}
	return Mlock
}

func memfdUsable() bool {
	switch memfdState.Load() {
	case 1:
		return true
	case 2:
		return false
	}
	if os.Getenv(DisableMemfdSecretEnv) != "" {
		memfdState.Store(2)
		return false
	}
	fd, err := memfdSecret()
	if err != nil {
		memfdState.Store(2)
		return false
	}
	_ = unix.Close(fd)
	memfdState.Store(1)
	return true
}

func mapRegion(n int, mode Mode) (*Region, error) {
	ps := pageSize
	total := n + 2*ps
	// Reserve the whole run inaccessible. The usable middle is then opened
	// (mprotect) or replaced (mremap) in place, never unmapped and mapped
	// again: a failed MAP_FIXED mmap leaves a hole in the reservation, another
	// thread (the Go runtime included) may map its own memory into that hole,
	// and unmapping the reservation afterwards would pull that memory from
	// under it. The guard pages are never backed by memory.
	base, err := unix.MmapPtr(-1, 0, nil, uintptr(total), unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, &os.SyscallError{Syscall: "mmap", Err: err}
	}
	r := &Region{data: unsafe.Add(base, ps), size: n, mapping: base, mapLen: total}

	if mode == MustLock && memfdUsable() {
		err := mapSecret(r)
		if err == nil {
			return r, nil
		}
		if errors.Is(err, errMiddleLost) {
			abandon(r)
			return nil, err
		}
		if errors.Is(err, ErrLockLimit) {
			_ = unix.MunmapPtr(base, uintptr(total))
			return nil, err
		}
		// Out of descriptors or similar: fall back to mlock for this region.
	}
	if err := mapAnon(r, mode); err != nil {
		_ = unix.MunmapPtr(base, uintptr(total))
		return nil, err
	}
	return r, nil
}

// errMiddleLost marks a failed mremap that may have unmapped the middle of a
// reservation before it failed.
var errMiddleLost = errors.New("the reservation may have lost its middle")

// abandon releases a reservation whose middle a failed mremap may have
// unmapped. It takes the middle back first; when something else already sits
// there, it unmaps only the two guard pages and leaves the middle alone: at
// worst a few pages of inaccessible, unbacked address space stay reserved.
func abandon(r *Region) {
	ps := pageSize
	p, err := unix.MmapPtr(-1, 0, r.data, uintptr(r.size), unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED_NOREPLACE)
	if err == nil && p == r.data {
		_ = unix.MunmapPtr(r.mapping, uintptr(r.mapLen))
		return
	}
	if err == nil {
		// A kernel without MAP_FIXED_NOREPLACE took it as a hint.
		_ = unix.MunmapPtr(p, uintptr(r.size))
	}
	_ = unix.MunmapPtr(r.mapping, uintptr(ps))
	_ = unix.MunmapPtr(unsafe.Add(r.data, r.size), uintptr(ps))
}

// mapSecret puts a memfd_secret mapping in the usable middle of r. The file
// is mapped wherever the kernel likes, where a refusal (the lock limit is
// checked here) touches nothing of ours, and then moved over the middle.
func mapSecret(r *Region) error {
	fd, err := memfdSecret()
	if err != nil {
		if err == unix.ENOSYS || err == unix.EINVAL || err == unix.EPERM {
			memfdState.Store(2)
		}
		return &os.SyscallError{Syscall: "memfd_secret", Err: err}
	}
	// The mapping keeps the file alive; the descriptor is not needed after.
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, int64(r.size)); err != nil {
		return &os.SyscallError{Syscall: "ftruncate", Err: err}
	}
	p, err := unix.MmapPtr(fd, 0, nil, uintptr(r.size),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		if err == unix.EAGAIN || err == unix.ENOMEM || err == unix.EPERM {
			return lockError("mmap(memfd_secret)", err)
		}
		return &os.SyscallError{Syscall: "mmap", Err: err}
	}
	_, err = unix.MremapPtr(p, uintptr(r.size), r.data, uintptr(r.size),
		unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED)
	if err != nil {
		_ = unix.MunmapPtr(p, uintptr(r.size))
		return fmt.Errorf("%w: %w", errMiddleLost, &os.SyscallError{Syscall: "mremap", Err: err})
	}
	b := r.Bytes()
	// Secret memory is shared with no one, but a forked child would still
	// inherit the mapping: keep it out of children entirely.
	_ = unix.Madvise(b, unix.MADV_DONTFORK)
	_ = unix.Madvise(b, unix.MADV_DONTDUMP)
	// Fault every page in now, so a later access cannot fail for lack of
	// memory in the middle of a Use.
	for off := 0; off < r.size; off += pageSize {
		b[off] = 0
	}
	r.backend = MemfdSecret
	return nil
}

// mapAnon opens the usable middle of r and locks it unless mode is NoLock.
func mapAnon(r *Region, mode Mode) error {
	b := r.Bytes()
	if err := unix.Mprotect(b, unix.PROT_READ|unix.PROT_WRITE); err != nil {
		return &os.SyscallError{Syscall: "mprotect", Err: err}
	}
	_ = unix.Madvise(b, unix.MADV_DONTDUMP)
	// A forked child sees zeros here instead of a copy of the secrets.
	if unix.Madvise(b, unix.MADV_WIPEONFORK) != nil {
		_ = unix.Madvise(b, unix.MADV_DONTFORK)
	}
	if mode == NoLock {
		r.backend = Unlocked
		return nil
	}
	if err := unix.Mlock(b); err != nil {
		if err == unix.ENOMEM || err == unix.EAGAIN || err == unix.EPERM {
			return lockError("mlock", err)
		}
		return &os.SyscallError{Syscall: "mlock", Err: err}
	}
	r.backend = Mlock
	return nil
}

func protect(r *Region, p Prot) error {
	prot := unix.PROT_NONE
	switch p {
	case ReadOnly:
		prot = unix.PROT_READ
	case ReadWrite:
		prot = unix.PROT_READ | unix.PROT_WRITE
	}
	if err := unix.Mprotect(r.Bytes(), prot); err != nil {
		return &os.SyscallError{Syscall: "mprotect", Err: err}
	}
	return nil
}

func unmap(r *Region) error {
	if err := unix.MunmapPtr(r.mapping, uintptr(r.mapLen)); err != nil {
		return &os.SyscallError{Syscall: "munmap", Err: err}
	}
	return nil
}

// ProbeMemfdSecret asks the kernel for a memfd_secret descriptor and closes
// it, ignoring DisableMemfdSecretEnv. Tests use it to know what to expect.
func ProbeMemfdSecret() error {
	fd, err := memfdSecret()
	if err != nil {
		return err
	}
	return unix.Close(fd)
}
