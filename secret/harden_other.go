//go:build !unix

package secret

// HardenProcess does nothing on this system: Windows decides about crash
// dumps through Windows Error Reporting, which is configured outside the
// process, and wasm and plan9 targets write no core dumps. It returns nil so
// portable programs can call it unconditionally.
func HardenProcess() error { return nil }
