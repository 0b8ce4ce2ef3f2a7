//go:build linux && !secretmem_heap && (386 || amd64 || arm64 || riscv64 || s390x)

package memory

import "golang.org/x/sys/unix"

func memfdSecret() (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_MEMFD_SECRET, uintptr(unix.O_CLOEXEC), 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}
