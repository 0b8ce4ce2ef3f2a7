//go:build netbsd

package memory

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

const extraMapFlags = 0

// harden keeps the pages out of forked children (minherit MAP_INHERIT_NONE).
// NetBSD has no per-mapping core dump exclusion; HardenProcess disables core
// dumps for the whole process instead.
func harden(b []byte) {
	const inheritNone = 2
	_, _, _ = unix.Syscall(unix.SYS_MINHERIT, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), inheritNone)
}
