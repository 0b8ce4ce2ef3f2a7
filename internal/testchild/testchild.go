//go:build unix

package testchild

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// Nobody is the uid and gid AsNobody runs a child as.
const Nobody = 65534

// AsNobody makes cmd, which runs the current test binary, run as uid and
// gid 65534. Root ignores RLIMIT_MEMLOCK and file permissions, so a test
// of either needs an unprivileged child. go test keeps its binary in a
// directory only root may enter, so the child runs a copy in a fresh,
// world-readable directory that is removed when t ends; cmd.Dir becomes
// that directory unless it was set.
func AsNobody(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	dir, err := os.MkdirTemp("", "secretmem-child")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(dir, "child.test")
	if err := copyExecutable(cmd.Path, cp); err != nil {
		t.Fatal(err)
	}
	cmd.Path, cmd.Args[0] = cp, cp
	if cmd.Dir == "" {
		cmd.Dir = dir
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: Nobody, Gid: Nobody}}
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
