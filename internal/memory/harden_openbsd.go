//go:build openbsd

package memory

// MAP_CONCEAL keeps the pages out of core dumps; OpenBSD zeroes concealed
// pages in no child, so forked children are the one gap left here (the
// minherit system call is not reachable through libc stubs from Go).
const extraMapFlags = 0x8000 // MAP_CONCEAL

func harden([]byte) {}
