//go:build linux

package proof

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

var logsvc = server{"logsvc", "./logsvc"}

// logRequests is how many requests logsvc logs before the dump; each logs
// the live secret some fifteen ways, through a JSON and a text handler.
const logRequests = 1000

// spellingsOf are the forms of m a log handler or careless code prints,
// each a needle to count in a dump: the base64 forms without padding (a
// padded copy contains them).
func spellingsOf(m string) map[string][]byte {
	b := []byte(m)
	return map[string][]byte{
		"plaintext":      b,
		"hex":            []byte(hex.EncodeToString(b)),
		"upper-case hex": []byte(strings.ToUpper(hex.EncodeToString(b))),
		"base64":         []byte(base64.RawStdEncoding.EncodeToString(b)),
		"URL base64":     []byte(base64.RawURLEncoding.EncodeToString(b)),
	}
}

// TestRedactorLeavesNoCopyOfALiveSecret is the dump of issue 14: a service
// logs values carrying a live secret (in every encoding its handlers
// print) on 1,000 requests, wipes its own copies, and its core must hold
// no copy of the secret in any of those encodings. The redactor used to
// leave them in the buffers it rendered values into.
func TestRedactorLeavesNoCopyOfALiveSecret(t *testing.T) {
	heavy(t)
	dir := t.TempDir()
	ms := newMarkerSet()
	m := ms.secret("log.secret")
	path := filepath.Join(dir, "secret")
	if err := os.WriteFile(path, []byte(m+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, logsvc, dir, []string{"GOTRACEBACK=crash"}, "-secret-file", path)
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range logRequests {
		resp, err := client.Get("http://" + p.addr + "/log")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %s", i, resp.Status)
		}
	}
	client.CloseIdleConnections()
	needles := spellingsOf(m)
	logs := p.logs.String()
	for name, n := range needles {
		if strings.Contains(logs, string(n)) {
			t.Errorf("the log holds the secret as %s", name)
		}
	}
	if n := strings.Count(logs, "[REDACTED"); n < logRequests*10 {
		t.Fatalf("the log shows %d redactions for %d requests: the service did not log what it should", n, logRequests)
	}
	test := fmt.Sprintf("redactor: live secret after %d logged requests", logRequests)
	if gdb, err := exec.LookPath("gdb"); err != nil {
		recordInfo(t, "gcore: "+test, "skipped", "gdb not found")
	} else if core, err := gcore(gdb, p.Pid(), dir); err != nil {
		t.Errorf("gcore: %v", err)
	} else {
		judgeSpellings(t, "gcore: "+test, core, needles)
	}
	if why := kernelCoreReady(); why != "" {
		recordInfo(t, "kernel core (SIGABRT): "+test, "skipped", why)
	} else if core, err := kernelCore(p, dir); err != nil {
		t.Errorf("kernel core: %v", err)
	} else {
		judgeSpellings(t, "kernel core (SIGABRT): "+test, core, needles)
	}
}

// judgeSpellings counts needles in a core and fails on any copy outside
// saved register state (see maxTokensInRegs).
func judgeSpellings(t *testing.T, test, core string, needles map[string][]byte) {
	t.Helper()
	counts, inRegs, size, err := countInFile(core, needles)
	_ = os.Remove(core)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	var parts []string
	for name, c := range counts {
		total += c
		parts = append(parts, fmt.Sprintf("%s %d", name, c))
	}
	sort.Strings(parts)
	found := fmt.Sprintf("%d copies (%s), %d in saved registers; %d MiB core", total, strings.Join(parts, ", "), inRegs, size>>20)
	ok := total-min(inRegs, maxTokensInRegs) == 0
	if !ok {
		t.Errorf("%s: %s", test, found)
	}
	record(t, test, fmt.Sprintf("0 copies in any encoding (+ <= %d in saved registers)", maxTokensInRegs), found, ok)
}

// countInFile counts each needle in a file, streaming it, and how many of
// the copies lie in saved register state.
func countInFile(path string, needles map[string][]byte) (counts map[string]int, inRegs int, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	counts = map[string]int{}
	longest := 0
	for name, n := range needles {
		counts[name] = 0
		longest = max(longest, len(n))
	}
	buf := make([]byte, 8<<20)
	have := 0
	for {
		n, rerr := io.ReadFull(f, buf[have:])
		size += int64(n)
		end := have + n
		last := rerr != nil
		limit := end - (longest - 1)
		if last {
			limit = end
		}
		for name, nd := range needles {
			for off := 0; off < limit; {
				i := bytes.Index(buf[off:end], nd)
				if i < 0 || off+i >= limit {
					break
				}
				counts[name]++
				if inSavedRegisters(buf[:end], off+i) {
					inRegs++
				}
				off += i + 1
			}
		}
		if last {
			if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
				return counts, inRegs, size, nil
			}
			return nil, 0, 0, rerr
		}
		have = copy(buf, buf[limit:end])
	}
}
