//go:build linux

package proof

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/coredump"
	"github.com/secretmem/secretmem/proof/internal/rotvalue"
)

var rotationServer = server{"rotation", "./rotation"}

// rotationScript drives wrk against /read, with the bearer key the soak
// last saw the server install (the file PROOF_KEY names, read again every
// twenty requests). Anything but 200 is unexpected: a 401 is a rotated
// key the guard did not follow, a 500 a read the server found wrong.
const rotationScript = `
local threads = {}
function setup(thread) table.insert(threads, thread) end
function readkey()
  local f = io.open(os.getenv("PROOF_KEY"), "r")
  if f then
    local k = f:read("*l")
    f:close()
    if k and #k > 0 then key = k end
  end
end
function init(args) n, other = 0, 0; readkey() end
function request()
  n = n + 1
  if n % 20 == 0 then readkey() end
  return wrk.format("GET", "/read", {["Authorization"] = "Bearer " .. key})
end
function response(status, headers, body)
  if status ~= 200 then other = other + 1 end
end
function done(summary, latency, requests)
  local unexpected = 0
  for _, t in ipairs(threads) do unexpected = unexpected + t:get("other") end
  io.write(string.format("PROOF unexpected=%d\n", unexpected))
end
`

// rotationStats is the rotation server's /stats.
type rotationStats struct {
	Reads     int64 `json:"reads"`
	Checks    int64 `json:"checks"`
	Partial   int64 `json:"partial"`
	Wrong     int64 `json:"wrong"`
	Mixed     int64 `json:"mixed"`
	APIKeyGen int64 `json:"api_key_gen"`
	Keys      int   `json:"keys"`
	Live      int   `json:"live"`
	Status    struct {
		Generation uint64 `json:"generation"`
		Reloads    uint64 `json:"reloads"`
		Failed     uint64 `json:"failed"`
		Unsettled  uint64 `json:"unsettled"`
		LastError  string `json:"last_error"`
	} `json:"status"`
}

// rotationSoakDuration is SECRETMEM_ROTATION_SOAK, else the soak's own.
func rotationSoakDuration(t *testing.T) time.Duration {
	if s := os.Getenv("SECRETMEM_ROTATION_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > time.Hour {
			t.Fatalf("SECRETMEM_ROTATION_SOAK=%q: want a duration up to 1h, such as 60s", s)
		}
		return d
	}
	return soakDuration(t)
}

// TestRotationSoak rotates 262 secrets under wrk load for
// SECRETMEM_ROTATION_SOAK (default: the soak's duration) while the
// server reads every one of them from one Snapshot per request: zero
// reads may be cut off, mixed or of the wrong key, zero snapshots may mix
// volume generations, and wrk may see nothing but 200 though api.key
// rotates with the volume. Afterwards the live cells come back to what
// they were, and a core dump holds no copy of any value ever written.
func TestRotationSoak(t *testing.T) {
	heavy(t)
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk not found (apt-get install wrk)")
	}
	d := rotationSoakDuration(t)
	dir := memoryDir(t)
	r := &rotator{t: t, dir: dir, run: "PRFr" + randHex(16), apiRn: "PRFa" + randHex(16)}
	if err := os.MkdirAll(r.vol(), 0o700); err != nil {
		t.Fatal(err)
	}
	r.swapVolume()
	for _, key := range append([]string{"api.key"}, volumeKeysList()...) {
		if err := os.Symlink(filepath.Join("..data", key), filepath.Join(r.vol(), key)); err != nil {
			t.Fatal(err)
		}
	}
	plain := filepath.Join(dir, "plain")
	kinds := []string{"rename", "truncate, two pieces 2 ms apart", "same size in place, two pieces 2 ms apart", "same size and mtime (cp -p)"}
	for i := range kinds {
		if err := os.MkdirAll(plain, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(plain, fileKey(i)), rotvalue.Value(fileKey(i), 0, r.run), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfgFile := filepath.Join(dir, "c.json")
	if err := os.WriteFile(cfgFile, jsonFile(0, r.run), 0o600); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "key")
	writeKey := func(gen int) {
		if err := fileWriters["rename"](keyFile, append(rotvalue.Value("api.key", gen, r.apiRn), '\n')); err != nil {
			t.Error(err)
		}
	}
	writeKey(r.gen)
	script := filepath.Join(dir, "rotation.lua")
	if err := os.WriteFile(script, []byte(rotationScript), 0o600); err != nil {
		t.Fatal(err)
	}
	const grace = 5 * time.Second
	p := start(t, rotationServer, dir, nil, "-vol", r.vol(), "-dir", plain, "-config", cfgFile, "-poll", "50ms", "-grace", grace.String())
	var idle rotationStats
	if err := p.get("/stats", &idle); err != nil {
		t.Fatal(err)
	}
	if idle.Keys != volumeKeys+1+len(kinds)+1 {
		t.Fatalf("the server holds %d keys, want %d", idle.Keys, volumeKeys+len(kinds)+2)
	}

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	// The volume is swapped every 100-700 ms; a single file, which must
	// hold still for settleTime to be taken, is rewritten every 300-1000
	// ms.
	pause := func(lo, hi int) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Duration(lo+rand.IntN(hi-lo)) * time.Millisecond):
			return true
		}
	}
	var lagged atomic.Int64
	var slowest time.Duration // from a swap to the first read of it
	wg.Add(1)
	go func() { // the volume, and wrk's key once the server holds it
		defer wg.Done()
		for pause(100, 700) {
			r.swapVolume()
			swapped := time.Now()
			for deadline := swapped.Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				var st rotationStats
				if err := p.get("/stats", &st); err == nil && st.APIKeyGen == int64(r.gen) {
					slowest = max(slowest, time.Since(swapped))
					break
				}
				if time.Now().After(deadline) {
					lagged.Add(1)
					break
				}
			}
			writeKey(r.gen)
		}
	}()
	for i, kind := range kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer urgent()()
			for gen := 1; pause(300, 1000); gen++ {
				if err := fileWriters[kind](filepath.Join(plain, fileKey(i)), rotvalue.Value(fileKey(i), gen, r.run)); err != nil {
					t.Error(err)
				}
				r.count(kind)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer urgent()()
		for gen := 1; pause(300, 1000); gen++ {
			if err := fileWriters["truncate, two pieces 2 ms apart"](cfgFile, jsonFile(gen, r.run)); err != nil {
				t.Error(err)
			}
			r.count("JSON file, truncate, two pieces")
		}
	}()
	url := "http://" + p.addr
	load := runWrk(t, wrk, script, keyFile, url, d)
	stop()
	wg.Wait()
	var st rotationStats
	if err := p.get("/stats", &st); err != nil {
		t.Fatal(err)
	}

	name := fmt.Sprintf("rotation soak %s (wrk -t2 -c2)", d)
	var rotations []string
	total := int64(0)
	r.rotations.Range(func(k, v any) bool {
		n := v.(*atomic.Int64).Load()
		total += n
		rotations = append(rotations, fmt.Sprintf("%s %d", k, n))
		return true
	})
	bad := st.Partial + st.Wrong + st.Mixed
	ok := bad == 0 && load.unexpected == 0 && load.socketErrors == 0 && st.Reads > 0
	record(t, name+": reads", "0 cut off, 0 wrong, 0 mixed, 0 non-200",
		fmt.Sprintf("%d snapshots (%d secret reads), %d cut off, %d wrong, %d mixed; wrk %d requests, %d non-200, %d socket errors",
			st.Reads, st.Checks, st.Partial, st.Wrong, st.Mixed, load.requests, load.unexpected, load.socketErrors), ok)
	pauseMu.Lock()
	longest, over := longestPause, pausesOverSettle
	pauseMu.Unlock()
	if !ok {
		t.Errorf("rotation soak: %+v; wrk: %d unexpected, %d socket errors; writers left a file half written for up to %v (%d times for %v or more, beyond what SettleTime can see)\n%s",
			st, load.unexpected, load.socketErrors, longest, over, settleTime, load.out)
	}
	recordInfo(t, name+": rotations and reloads", "figures",
		fmt.Sprintf("%d rotations (%v); generation %d, %d reloads, %d unsettled, %d failed%s; a volume swap served within %v at most (%d not within 10 s); longest half-written file %v (SettleTime %v)",
			total, rotations, st.Status.Generation, st.Status.Reloads, st.Status.Unsettled, st.Status.Failed,
			lastError(st.Status.LastError), slowest.Round(time.Millisecond), lagged.Load(), longest.Round(time.Millisecond), settleTime))

	// Every replaced cell dies once its grace period is over.
	var after rotationStats
	for deadline := time.Now().Add(grace + 10*time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err := p.get("/stats", &after); err != nil {
			t.Fatal(err)
		}
		if after.Live == idle.Live || time.Now().After(deadline) {
			break
		}
	}
	cellsOK := after.Live == idle.Live
	record(t, name+": live cells", fmt.Sprintf("back to idle (%d) after the grace period", idle.Live), fmt.Sprint(after.Live), cellsOK)
	if !cellsOK {
		t.Errorf("%d live cells after the soak, %d idle", after.Live, idle.Live)
	}

	gdb, err := exec.LookPath("gdb")
	if err != nil {
		t.Log("gdb not found: the dump of the rotation server is skipped")
		return
	}
	core, err := coredump.Gcore(gdb, p.Pid(), dir)
	if err != nil {
		t.Fatal(err)
	}
	counts, _, err := coredump.Count(core, map[string][]byte{"value": []byte(r.run)}, nil)
	os.Remove(core)
	if err != nil {
		t.Fatal(err)
	}
	record(t, name+": gcore", "0 copies of any value written (current or retired)", fmt.Sprint(counts["value"]), counts["value"] == 0)
	if counts["value"] != 0 {
		t.Errorf("the dump holds %d copies of rotated secrets", counts["value"])
	}
}
