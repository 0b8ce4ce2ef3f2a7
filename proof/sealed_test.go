//go:build linux

package proof

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

var sealedChild = server{"sealedchild", "./sealedchild"}

// TestSealedCellsLeaveNoPlaintextInADump: after 8,000 sealed reads,
// 8,000 comparisons and 8,000 updates of cells whose plaintext never
// touched the Go heap, a gcore dump of the process holds no 16-byte run
// of any plaintext, on either memory backend. (What a seal derives from
// the pre-key cannot be named from outside the process: package secret's
// tests scan the stack and registers for those.) A control secret kept
// in an ordinary slice is found, so the scan can see.
func TestSealedCellsLeaveNoPlaintextInADump(t *testing.T) {
	heavy(t)
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		t.Skip("gdb is not installed: no dump to scan")
	}
	for _, be := range []backend{memfd, mlock} {
		t.Run(be.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, sealedChild.binary(t))
			cmd.Env = append(os.Environ(), be.env...)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			r := bufio.NewReader(stdout)
			line, err := r.ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "ready") {
				t.Fatalf("the child did not get ready (%v): %s", err, stderr.String())
			}
			core, err := gcore(gdb, cmd.Process.Pid, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer os.Remove(core)
			if _, err := io.WriteString(stdin, "go\n"); err != nil {
				t.Fatal(err)
			}
			secrets, err := io.ReadAll(r)
			if err != nil || cmd.Wait() != nil || len(secrets) != 48*17 {
				t.Fatalf("the child handed over %d bytes (%v): %s", len(secrets), err, stderr.String())
			}
			dump, err := os.ReadFile(core)
			if err != nil {
				t.Fatal(err)
			}
			count := func(s []byte) int {
				n := 0
				for i := 0; i+16 <= len(s); i += 16 {
					n += bytes.Count(dump, s[i:i+16])
				}
				return n
			}
			test := "sealed cells after 8,000 reads, compares and updates, " + be.name + " (gcore)"
			if c := count(secrets[:48]); c == 0 {
				t.Fatal("the control secret in a heap slice is not in the dump: the scan cannot see")
			}
			copies := 0
			for i := 48; i < len(secrets); i += 48 {
				copies += count(secrets[i : i+48])
			}
			record(t, test, "0 plaintext copies", strconv.Itoa(copies)+" plaintext copies", copies == 0)
			if copies != 0 {
				t.Errorf("the dump holds %d 16-byte runs of sealed plaintext", copies)
			}
		})
	}
}
