// Package wine tells tests whether they run under Wine rather than on
// Windows, and works around the few Wine limits that would otherwise fail
// a test for reasons that have nothing to do with the code under test.
// Only tests import it.
//
// Every workaround here is named after the Wine behaviour it answers, so
// that it can go when CI moves to a Wine that no longer has it. A test
// that cannot run under Wine at all calls Skip with the reason.
package wine

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// Running reports whether the process is a Windows program running under
// Wine. It is false on Windows itself and on every other system.
func Running() bool { return version() != "" }

// Version returns the Wine version the process runs under ("8.0"), or ""
// when it does not run under Wine.
func Version() string { return version() }

// Skip skips t when it runs under Wine, saying why: why names the Wine
// limitation, not the test.
func Skip(t testing.TB, why string) {
	t.Helper()
	if Running() {
		t.Skipf("Wine %s: %s", Version(), why)
	}
}

// TempDir returns t.TempDir(). Under Wine it also removes the directory
// and its contents, one entry at a time, before the testing package's
// RemoveAll sees it: Go (1.25 and later) removes a
// directory's entries with NtSetInformationFile(FileDispositionInformationEx),
// which Wine 8 does not implement, and Go falls back to the older call only
// for the status codes Windows returns. Wine answers STATUS_NOT_IMPLEMENTED,
// so os.RemoveAll, and with it t.TempDir's cleanup, fails on any directory
// that is not empty ("unlinkat ...: Invalid function."). os.Remove of one
// file or one empty directory takes another path and works.
func TempDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if Running() {
		// Cleanups run last-registered first, so this runs before the
		// testing package's RemoveAll of the directory.
		t.Cleanup(func() {
			if err := removeEach(dir); err != nil {
				t.Errorf("removing %s under Wine: %v", dir, err)
			}
		})
	}
	return dir
}

// MemlockEnv names the locked-memory limit, in bytes, .ci/wine-test
// imposes on a second run of the tests named ...AtTheLockLimit (prlimit
// --memlock, without CAP_IPC_LOCK). Under Wine, VirtualLock is mlock(2),
// and that limit is the one it meets.
const MemlockEnv = "SECRETMEM_WINE_MEMLOCK"

// LockLimit returns the locked-memory limit the harness set in MemlockEnv,
// or skips t: without it, a Windows program under Wine may lock without
// limit when Wine runs as root, and on Windows the working set grows for
// locked pages until the system refuses, which a test cannot reach
// without locking most of RAM.
func LockLimit(t testing.TB) int {
	t.Helper()
	if limit, err := strconv.Atoi(os.Getenv(MemlockEnv)); err == nil && limit > 0 {
		return limit
	}
	Skip(t, "VirtualLock is mlock(2) and this process may lock without limit; "+
		".ci/wine-test runs this test again with "+MemlockEnv+" set under prlimit --memlock")
	t.Skip("Windows grows the working set for locked pages until the system refuses: reaching that would lock most of RAM")
	return 0
}

// SkipWithoutSymlinks skips t under a Wine that cannot make symbolic
// links: Wine 8's CreateSymbolicLink reports success and creates nothing,
// so os.Symlink returns nil and the link is not there. It asks once, by
// making a link and looking for it.
func SkipWithoutSymlinks(t testing.TB) {
	t.Helper()
	if Running() && !symlinksWork() {
		Skip(t, "os.Symlink returns nil and creates no link (CreateSymbolicLink is a stub)")
	}
}

var symlinksWork = sync.OnceValue(func() bool {
	dir, err := os.MkdirTemp("", "secretmem-symlink")
	if err != nil {
		return false
	}
	defer removeEach(dir)
	link := filepath.Join(dir, "link")
	if os.Symlink("target", link) != nil {
		return false
	}
	fi, err := os.Lstat(link)
	return err == nil && fi.Mode()&fs.ModeSymlink != 0
})

// removeEach removes dir and everything below it, deepest first, with one
// os.Remove each.
func removeEach(dir string) error {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return err
	}
	// WalkDir visits a directory before its entries: reversed, every entry
	// goes before the directory that holds it.
	for _, p := range slices.Backward(paths) {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}
