//go:build linux && !secretmem_heap && !(386 || amd64 || arm64 || riscv64 || s390x)

package memory

import "golang.org/x/sys/unix"

// The kernel offers memfd_secret only where it can remove pages from the
// direct map; on the other architectures the mlock backend is used.
func memfdSecret() (int, error) { return -1, unix.ENOSYS }
