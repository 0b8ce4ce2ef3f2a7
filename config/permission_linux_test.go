package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/testchild"
)

const unreadableChildEnv = "CONFIG_UNREADABLE_CHILD"

// unreadableResult is what the child reports for one source: the error's
// message and what it wraps. The parent checks the message for the secret
// before it looks at anything else.
type unreadableResult struct {
	Source     string `json:"source"`
	Euid       int    `json:"euid"`
	Loaded     bool   `json:"loaded"`
	SecretFile bool   `json:"secret_file"`
	Permission bool   `json:"permission"`
	Msg        string `json:"msg"`
}

// TestUnreadableSecretFilesGiveAClearError needs a process that cannot
// read a file: root reads everything, so as root it runs this test binary
// again as nobody (uid 65534) and lets the child load a secret file owned
// by root with mode 0600, through each source that reads secret files.
func TestUnreadableSecretFilesGiveAClearError(t *testing.T) {
	if dir := os.Getenv(unreadableChildEnv); dir != "" {
		unreadableChild(dir)
		return
	}
	m := marker(t)
	// A directory nobody can enter, with a secret file it cannot read.
	dir, err := os.MkdirTemp("", "config-unreadable")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "s"), 0o755); err != nil {
		t.Fatal(err)
	}
	secretPath := writeFile(t, filepath.Join(dir, "s", "db.password"), m+"\n", 0o600)
	writeFile(t, filepath.Join(dir, "c.yaml"), "db:\n  conn: file:"+secretPath+"\n", 0o644)

	var out []byte
	if os.Geteuid() == 0 {
		out = runUnprivileged(t, dir, "-test.run=^TestUnreadableSecretFilesGiveAClearError$", unreadableChildEnv+"="+dir)
	} else {
		// Unprivileged already: take the read permission away instead.
		if err := os.Chmod(secretPath, 0); err != nil {
			t.Fatal(err)
		}
		if f, err := os.Open(secretPath); err == nil {
			f.Close()
			t.Skip("this process reads files without permission (CAP_DAC_OVERRIDE?)")
		}
		var buf bytes.Buffer
		reportUnreadable(&buf, dir)
		out = buf.Bytes()
	}
	if bytes.Contains(out, []byte(m)) || bytes.Contains(out, []byte(m[:8])) {
		t.Fatal("the child's output contains the secret")
	}

	seen := map[string]bool{}
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var r unreadableResult
		if !bytes.HasPrefix(line, []byte("{")) {
			continue
		}
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("child output %q: %v", line, err)
		}
		seen[r.Source] = true
		t.Run(r.Source+" reports the unreadable file as ErrSecretFile", func(t *testing.T) {
			if r.Euid == 0 {
				t.Fatal("the child ran as root: the file was readable and the test proves nothing")
			}
			if r.Loaded {
				t.Fatal("Load succeeded with an unreadable secret file")
			}
			if !r.SecretFile || !r.Permission {
				t.Errorf("errors.Is(err, ErrSecretFile) = %v, errors.Is(err, os.ErrPermission) = %v, want both (%q)",
					r.SecretFile, r.Permission, r.Msg)
			}
			if !strings.Contains(r.Msg, "cannot be read") || !strings.Contains(r.Msg, secretPath) {
				t.Errorf("error %q does not say that %s cannot be read", r.Msg, secretPath)
			}
		})
	}
	for _, src := range []string{"SecretDir", "_FILE variable", "file: reference"} {
		if !seen[src] {
			t.Errorf("the child reported nothing for %s:\n%s", src, out)
		}
	}
}

// runUnprivileged runs the test binary as nobody, in dir (or a fresh
// directory when dir is ""), with env added, and returns its standard
// output.
func runUnprivileged(t *testing.T, dir, run string, env ...string) []byte {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A watchdog for a hang, not a bound on a slow child: the rotation
	// child alone waits up to 20 s for reloads on a loaded machine.
	const watchdog = 3 * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), watchdog)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, run, "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	testchild.AsNobody(t, cmd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("the unprivileged child hung: killed by the %v watchdog", watchdog)
	}
	if err != nil {
		// The child prints no secret: it cannot read one.
		t.Fatalf("the unprivileged child failed: %v\n%s%s", err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes()
}

func unreadableChild(dir string) {
	reportUnreadable(os.Stdout, dir)
}

// reportUnreadable loads the secret file in dir/s through every source
// that reads secret files and writes one JSON line per source.
func reportUnreadable(w io.Writer, dir string) {
	secretPath := filepath.Join(dir, "s", "db.password")
	sources := []struct {
		name string
		opts []Option
	}{
		{"SecretDir", []Option{SecretDir(filepath.Join(dir, "s"))}},
		{"_FILE variable", []Option{Env("UNREADABLE_")}},
		{"file: reference", []Option{File(filepath.Join(dir, "c.yaml"))}},
	}
	for _, src := range sources {
		if src.name == "_FILE variable" {
			os.Setenv("UNREADABLE_DB__PASSWORD_FILE", secretPath)
		}
		cfg, err := Load(src.opts...)
		os.Unsetenv("UNREADABLE_DB__PASSWORD_FILE")
		r := unreadableResult{Source: src.name, Euid: os.Geteuid(), Loaded: err == nil}
		if err != nil {
			r.SecretFile = errors.Is(err, ErrSecretFile)
			r.Permission = errors.Is(err, os.ErrPermission)
			r.Msg = err.Error()
		} else {
			cfg.Close()
		}
		b, _ := json.Marshal(r)
		fmt.Fprintf(w, "%s\n", b)
	}
}
