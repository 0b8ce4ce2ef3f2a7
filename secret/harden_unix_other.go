//go:build unix && !linux

package secret

// HardenProcess makes the whole process harder to dump: it sets the soft
// RLIMIT_CORE to 0 (the hard limit is untouched). It is opt-in because it
// changes process-wide behaviour that debuggers and crash reporters rely on.
// Nothing calls it at import time.
func HardenProcess() error { return noCoreDumps() }
