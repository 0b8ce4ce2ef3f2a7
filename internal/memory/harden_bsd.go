//go:build freebsd || dragonfly

package memory

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

const extraMapFlags = 0

// harden keeps the pages out of core dumps (MADV_NOCORE) and out of forked
// children (minherit INHERIT_NONE).
func harden(b []byte) {
	_ = unix.Madvise(b, unix.MADV_NOCORE)
	const inheritNone = 2
	_, _, _ = unix.Syscall(unix.SYS_MINHERIT, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), inheritNone)
}
