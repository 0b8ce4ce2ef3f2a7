//go:build unix && !linux && !secretmem_heap

package memory

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

var pageSize = os.Getpagesize()

// PageSize returns the system page size.
func PageSize() int { return pageSize }

func probeBest() Backend { return Mlock }

func mapRegion(n int, mode Mode) (*Region, error) {
	ps := pageSize
	total := n + 2*ps
	// Reserve the whole run inaccessible, then open the middle in place:
	// mapping over the middle with MAP_FIXED could fail after unmapping it,
	// and another thread could map its own memory into the hole before the
	// reservation is released.
	base, err := unix.MmapPtr(-1, 0, nil, uintptr(total), unix.PROT_NONE,
		unix.MAP_PRIVATE|unix.MAP_ANON|extraMapFlags)
	if err != nil {
		return nil, &os.SyscallError{Syscall: "mmap", Err: err}
	}
	r := &Region{data: unsafe.Add(base, ps), size: n, mapping: base, mapLen: total}
	if err := unix.Mprotect(r.Bytes(), unix.PROT_READ|unix.PROT_WRITE); err != nil {
		_ = unix.MunmapPtr(base, uintptr(total))
		return nil, &os.SyscallError{Syscall: "mprotect", Err: err}
	}
	harden(r.Bytes())
	if mode == NoLock {
		r.backend = Unlocked
		return r, nil
	}
	if err := unix.Mlock(r.Bytes()); err != nil {
		_ = unix.MunmapPtr(base, uintptr(total))
		if err == unix.ENOMEM || err == unix.EAGAIN || err == unix.EPERM {
			return nil, lockError("mlock", err)
		}
		return nil, &os.SyscallError{Syscall: "mlock", Err: err}
	}
	r.backend = Mlock
	return r, nil
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
