//go:build linux

package proof

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// soakScript drives wrk: one request in ten carries the valid key
// (PROOF_KEY), the rest a fresh invalid token. wrk calls request() once
// more than it sends, so statuses are not matched one by one; instead
// anything but 200 and 401 is unexpected, and so is a count of 200s that
// differs from the valid requests sent by more than that extra call and
// the request in flight at the end (two per thread).
const soakScript = `
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  n, valid, ok, denied, other = 0, 0, 0, 0, 0
  key = os.getenv("PROOF_KEY")
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end
function request()
  n = n + 1
  local tok = string.format("bad%08x%08x", math.random(0, 0x7fffffff), n)
  if n % 10 == 0 then tok, valid = key, valid + 1 end
  return wrk.format("GET", "/api/whoami", {["Authorization"] = "Bearer " .. tok})
end
function response(status, headers, body)
  if status == 200 then ok = ok + 1
  elseif status == 401 then denied = denied + 1
  else other = other + 1 end
end
function done(summary, latency, requests)
  local unexpected = 0
  for _, t in ipairs(threads) do
    local v, o = t:get("valid"), t:get("ok")
    unexpected = unexpected + t:get("other")
    if o > v then unexpected = unexpected + o - v end
    if o < v - 2 then unexpected = unexpected + v - 2 - o end
  end
  io.write(string.format("PROOF unexpected=%d\n", unexpected))
end
`

// soakDuration is SECRETMEM_SOAK (a Go duration), or 5 s.
func soakDuration(t *testing.T) time.Duration {
	s := os.Getenv("SECRETMEM_SOAK")
	if s == "" {
		return 5 * time.Second
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > time.Hour {
		t.Fatalf("SECRETMEM_SOAK=%q: want a duration up to 1h, such as 30s", s)
	}
	return d
}

type wrkResult struct {
	requests, unexpected, socketErrors int
	out                                string
}

var (
	reRequests = regexp.MustCompile(`(\d+) requests in`)
	reSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	reUnexp    = regexp.MustCompile(`PROOF unexpected=(\d+)`)
)

func runWrk(t *testing.T, wrk, script, key, url string, d time.Duration) wrkResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	secs := max(int(d/time.Second), 1)
	cmd := exec.CommandContext(ctx, wrk, "-t2", "-c2", "-d"+strconv.Itoa(secs)+"s", "-s", script, url)
	cmd.Env = append(os.Environ(), "PROOF_KEY="+key)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("wrk: %v (%d bytes of output)", err, out.Len())
	}
	s := out.String()
	var r wrkResult
	m := reUnexp.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("wrk printed no PROOF line:\n%s", s)
	}
	r.unexpected, _ = strconv.Atoi(m[1])
	if m := reRequests.FindStringSubmatch(s); m != nil {
		r.requests, _ = strconv.Atoi(m[1])
	}
	if m := reSocket.FindStringSubmatch(s); m != nil {
		for _, f := range m[1:] {
			n, _ := strconv.Atoi(f)
			r.socketErrors += n
		}
	}
	r.out = s
	return r
}

// procStatus reads VmRSS (KiB) and Threads from /proc/PID/status.
func procStatus(pid int) (rssKiB, threads int) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rssKiB, _ = strconv.Atoi(f[1])
		case "Threads:":
			threads, _ = strconv.Atoi(f[1])
		}
	}
	return rssKiB, threads
}

// TestSoak runs wrk against the testserver with valid and invalid tokens:
// every status must be what its token deserves, the live cells must come
// back to the idle baseline, the goroutine count (/debug/runtime) must
// come back to idle once wrk's connections close, and RSS and the thread
// count must stay steady. SECRETMEM_SOAK sets the duration (default 5 s).
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak does not run under -short")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk not found (apt-get install wrk)")
	}
	d := soakDuration(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "soak.lua")
	if err := os.WriteFile(script, []byte(soakScript), 0o600); err != nil {
		t.Fatal(err)
	}
	key := "PRFk" + randHex(24)
	p := start(t, testserver, dir, []string{"APP_API__KEY=" + key})
	url := "http://" + p.addr

	var idle debugSecrets
	if err := p.get("/debug/secrets", &idle); err != nil {
		t.Fatal(err)
	}
	var idleRT debugRuntime
	if err := p.get("/debug/runtime", &idleRT); err != nil {
		t.Fatal(err)
	}
	warm := runWrk(t, wrk, script, key, url, time.Second)
	rss1, threads1 := procStatus(p.Pid())
	soak := runWrk(t, wrk, script, key, url, d)
	rss2, threads2 := procStatus(p.Pid())

	// The last responses may still be unwinding: give the cells a moment.
	var after debugSecrets
	var afterRT debugRuntime
	// A leaked goroutine per request would leave hundreds of thousands;
	// two spare allow for the connection asking.
	const spareGoroutines = 2
	for deadline := time.Now().Add(5 * time.Second); ; {
		if err := p.get("/debug/secrets", &after); err != nil {
			t.Fatal(err)
		}
		if err := p.get("/debug/runtime", &afterRT); err != nil {
			t.Fatal(err)
		}
		if after.Live == idle.Live && afterRT.Goroutines <= idleRT.Goroutines+spareGoroutines || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	name := fmt.Sprintf("soak %s (wrk -t2 -c2)", d)
	unexpected := warm.unexpected + soak.unexpected
	statusOK := unexpected == 0 && soak.socketErrors == 0 && soak.requests > 0
	record(t, name+": statuses", "0 unexpected, 0 socket errors",
		fmt.Sprintf("%d requests (%.0f/s), %d unexpected, %d socket errors", soak.requests,
			float64(soak.requests)/d.Seconds(), unexpected, soak.socketErrors), statusOK)
	if !statusOK {
		t.Errorf("soak: %d unexpected statuses, %d socket errors in %d requests\n%s", unexpected, soak.socketErrors, soak.requests, soak.out)
	}
	cellsOK := after.Live == idle.Live
	record(t, name+": live cells", fmt.Sprintf("back to idle (%d)", idle.Live), fmt.Sprintf("%d", after.Live), cellsOK)
	if !cellsOK {
		t.Errorf("soak: %d live cells after the load, %d idle", after.Live, idle.Live)
	}
	goOK := afterRT.Goroutines <= idleRT.Goroutines+spareGoroutines
	record(t, name+": goroutines", fmt.Sprintf("back to idle (%d, +%d)", idleRT.Goroutines, spareGoroutines),
		fmt.Sprintf("%d", afterRT.Goroutines), goOK)
	if !goOK {
		t.Errorf("soak: %d goroutines after the load, %d idle", afterRT.Goroutines, idleRT.Goroutines)
	}
	// Steady: RSS within 50% + 8 MiB of the warmed-up value, at most four
	// more threads. A leak of a cell or a goroutine per request (hundreds
	// of thousands here) breaks both by far.
	steady := rss2 <= rss1*3/2+8<<10 && threads2 <= threads1+4
	record(t, name+": RSS, threads", "steady after warm-up (RSS <= 1.5x + 8 MiB, threads <= +4)",
		fmt.Sprintf("RSS %d -> %d MiB, threads %d -> %d", rss1>>10, rss2>>10, threads1, threads2), steady)
	if !steady {
		t.Errorf("soak: RSS %d -> %d KiB, threads %d -> %d", rss1, rss2, threads1, threads2)
	}
}
