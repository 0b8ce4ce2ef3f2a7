//go:build linux

package proof

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/coredump"
)

var goexitChild = server{"goexitchild", "./goexitchild"}

// goexitRounds is how many Checks goexitchild runs per hash.
const goexitRounds = 1000

// TestAGoexitInCheckLeavesNoKeyInADump: after 2,000 HMAC checks
// (HMAC-SHA256 and HMAC-SHA512, 1,000 each) whose match ended its
// goroutine with runtime.Goexit, 0 to 15 frames below match, a gcore dump
// of the process holds no copy of either key, of its padded blocks or
// the hash states after them, nor of the expected MAC of any of 40
// checks searched. Run as Check was before it handled a Goexit
// (goexitchild's GOEXITCHILD_AS_BEFORE), the same search finds the
// expected MACs in the digests the dead goroutines dropped: the scan can
// see.
func TestAGoexitInCheckLeavesNoKeyInADump(t *testing.T) {
	heavy(t)
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		t.Skip("gdb is not installed: no dump to scan")
	}
	for _, asBefore := range []bool{true, false} {
		keys, core := dumpGoexitChild(t, gdb, asBefore)
		needles := goexitNeedles(keys)
		all, _, err := coredump.Count(core, needles, nil)
		os.Remove(core)
		if err != nil {
			t.Fatal(err)
		}
		var keyCopies, macCopies int
		var found []string
		for name, n := range all {
			if n == 0 {
				continue
			}
			if strings.Contains(name, "MAC of") {
				macCopies += n
				continue
			}
			keyCopies += n
			found = append(found, fmt.Sprintf("%s=%d", name, n))
		}
		found1 := fmt.Sprintf("%d key-derived copies, %d expected MACs", keyCopies, macCopies)
		if asBefore {
			recordInfo(t, "control: Check as before it handled a Goexit, 2,000 Goexits in match (gcore)", "copies found (the scan sees)", found1)
			if macCopies == 0 {
				t.Error("as Check was before it handled a Goexit, the dump holds no expected MAC: the scan cannot see")
			}
			continue
		}
		test := "HMAC checks after 2,000 Goexits in match (gcore)"
		record(t, test, "0 key-derived copies, 0 expected MACs", found1, keyCopies+macCopies == 0)
		if keyCopies+macCopies != 0 {
			t.Errorf("the dump holds %d expected MACs and key material: %s", macCopies, strings.Join(found, ", "))
		}
	}
}

// dumpGoexitChild runs goexitchild, dumps it once its Checks are done and
// returns its keys and the core's path.
func dumpGoexitChild(t *testing.T, gdb string, asBefore bool) (keys [2][]byte, core string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goexitChild.binary(t))
	cmd.Env = os.Environ()
	if asBefore {
		cmd.Env = append(cmd.Env, "GOEXITCHILD_AS_BEFORE=1")
	}
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
	core, err = gcore(gdb, cmd.Process.Pid, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil || cmd.Wait() != nil || len(out) != 64 {
		t.Fatalf("the child handed over %d bytes (%v): %s", len(out), err, stderr.String())
	}
	keys[0], keys[1] = out[:32], out[32:]
	return keys, core
}

// goexitNeedles are what goexitchild's HMACs derive from keys: each key,
// its ipad and opad blocks (their first 32 bytes), the hash states after
// them (big-endian, and as the hash's machine words), and the expected
// MACs of 20 of its messages.
func goexitNeedles(keys [2][]byte) map[string][]byte {
	needles := map[string][]byte{}
	for i, h := range []struct {
		name string
		new  func() hash.Hash
		word int
	}{{"SHA-256", sha256.New, 4}, {"SHA-512", sha512.New, 8}} {
		key := keys[i]
		needles[h.name+" key"] = key
		for _, p := range []struct {
			name string
			x    byte
		}{{"ipad", 0x36}, {"opad", 0x5c}} {
			d := h.new()
			block := make([]byte, d.BlockSize())
			copy(block, key)
			for j := range block {
				block[j] ^= p.x
			}
			needles[h.name+" key XOR "+p.name] = block[:32]
			d.Write(block)
			state, _ := d.(encoding.BinaryMarshaler).MarshalBinary()
			cv := state[4 : 4+d.Size()] // after the magic, big-endian words
			needles[h.name+" "+p.name+" midstate"] = cv
			needles[h.name+" "+p.name+" midstate (words)"] = swapWords(cv, h.word)
		}
		// A dump (1.3 GB here) takes one pass per needle: the last 10
		// messages (on the stacks the last goroutines left) and 10
		// others.
		var searched []int
		for j := goexitRounds - 10; j < goexitRounds; j++ {
			searched = append(searched, j)
		}
		for j := 0; j < goexitRounds-10; j += (goexitRounds - 10) / 10 {
			searched = append(searched, j)
		}
		for _, j := range searched {
			m := hmac.New(h.new, key)
			m.Write([]byte("goexit " + strconv.Itoa(j)))
			needles[fmt.Sprintf("%s MAC of message %d", h.name, j)] = m.Sum(nil)
		}
	}
	return needles
}
