package wine_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/secretmem/secretmem/internal/wine"
)

// ExpectEnv is set by .ci/wine-test, which knows it runs the binary under
// Wine: the detection must agree with it.
const expectEnv = "SECRETMEM_EXPECT_WINE"

func TestRunningAgreesWithTheHarness(t *testing.T) {
	switch {
	case os.Getenv(expectEnv) != "":
		if !wine.Running() || wine.Version() == "" {
			t.Fatalf("the harness runs this under Wine, but Running() = %v, Version() = %q", wine.Running(), wine.Version())
		}
		t.Logf("Wine %s", wine.Version())
	case runtime.GOOS != "windows":
		if wine.Running() {
			t.Fatalf("Running() = true on %s", runtime.GOOS)
		}
	default:
		t.Logf("on Windows; under Wine: %v (set %s to assert it)", wine.Running(), expectEnv)
	}
}

// A temporary directory with files in nested directories must be gone
// once the test that made it ends, and its cleanup must not fail the test.
func TestTempDirIsRemovedWithItsContents(t *testing.T) {
	var dirs []string
	ok := t.Run("fill two directories", func(t *testing.T) {
		for range 2 {
			dir := wine.TempDir(t)
			dirs = append(dirs, dir)
			nested := filepath.Join(dir, "a", "b")
			if err := os.MkdirAll(nested, 0o700); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{filepath.Join(dir, "top"), filepath.Join(nested, "deep")} {
				if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	if !ok {
		t.Fatal("the subtest failed; under Wine that is the RemoveAll cleanup")
	}
	for _, dir := range dirs {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s is still there (Stat: %v)", dir, err)
		}
	}
}

// Where SkipWithoutSymlinks lets a test run, links work.
func TestSkipWithoutSymlinksLetsOnlyWorkingLinksThrough(t *testing.T) {
	wine.SkipWithoutSymlinks(t)
	dir := wine.TempDir(t)
	link := filepath.Join(dir, "link")
	if err := os.Symlink("target", link); err != nil {
		if runtime.GOOS == "windows" {
			t.Skipf("this Windows account may not create symbolic links: %v", err)
		}
		t.Fatal(err)
	}
	if target, err := os.Readlink(link); err != nil || target != "target" {
		t.Errorf("Readlink = %q, %v; want target", target, err)
	}
}
