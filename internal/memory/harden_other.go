//go:build unix && !linux && !freebsd && !dragonfly && !openbsd && !netbsd

package memory

const extraMapFlags = 0

// harden has nothing to add on this system (darwin, solaris, illumos, aix):
// no per-mapping core dump exclusion is reachable from Go, and darwin does
// not write core dumps unless the process asks for them. HardenProcess
// disables core dumps for the whole process.
func harden([]byte) {}
