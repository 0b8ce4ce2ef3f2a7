//go:build linux

package proof

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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

// rotator writes the soak's secrets: a Kubernetes volume of volumeKeys
// keys and api.key, swapped as the kubelet does; four files of a plain
// directory, each rewritten by one kind of writer; and a JSON file
// rewritten by truncating it and writing it in two pieces.
type rotator struct {
	t          *testing.T
	dir        string
	run, apiRn string // markers in every value, and in api.key's
	gen        int    // the volume's generation
	ts         string
	rotations  sync.Map // kind -> *atomic.Int64
}

const volumeKeys = 256

func (r *rotator) count(kind string) {
	c, _ := r.rotations.LoadOrStore(kind, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
}

func (r *rotator) vol() string { return filepath.Join(r.dir, "vol") }

// swapVolume writes the next generation of the volume and swaps ..data.
func (r *rotator) swapVolume() {
	r.gen++
	ts := fmt.Sprintf("..gen_%06d", r.gen)
	gdir := filepath.Join(r.vol(), ts)
	if err := os.MkdirAll(gdir, 0o700); err != nil {
		r.t.Error(err)
		return
	}
	write := func(key string, v []byte) {
		if err := os.WriteFile(filepath.Join(gdir, key), v, 0o400); err != nil {
			r.t.Error(err)
		}
	}
	write("api.key", rotvalue.Value("api.key", r.gen, r.apiRn))
	for i := range volumeKeys {
		key := fmt.Sprintf("vol.k%03d", i)
		write(key, rotvalue.Value(key, r.gen, r.run))
	}
	tmp := filepath.Join(r.vol(), "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		r.t.Error(err)
		return
	}
	if err := os.Rename(tmp, filepath.Join(r.vol(), "..data")); err != nil {
		r.t.Error(err)
	}
	if r.ts != "" {
		_ = os.RemoveAll(filepath.Join(r.vol(), r.ts))
	}
	r.ts = ts
	r.count("Kubernetes ..data swap")
}

// The writers of single files, each with its own way of writing. The
// non-atomic ones report how long the file was not what they meant to
// write (notePause).
var fileWriters = map[string]func(path string, b []byte) error{
	"rename": func(path string, b []byte) error {
		tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			return err
		}
		return os.Rename(tmp, path)
	},
	"truncate, two pieces 2 ms apart": func(path string, b []byte) error {
		t0 := time.Now()
		defer func() { notePause(time.Since(t0)) }()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		f.Write(b[:len(b)/2])
		time.Sleep(2 * time.Millisecond)
		_, err = f.Write(b[len(b)/2:])
		return err
	},
	"same size in place, two pieces 2 ms apart": func(path string, b []byte) error {
		t0 := time.Now()
		defer func() { notePause(time.Since(t0)) }()
		f, err := os.OpenFile(path, os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		f.WriteAt(b[:len(b)/2], 0)
		time.Sleep(2 * time.Millisecond)
		_, err = f.WriteAt(b[len(b)/2:], int64(len(b)/2))
		return err
	},
	"same size and mtime (cp -p)": func(path string, b []byte) error {
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		t0 := time.Now()
		err = os.WriteFile(path, b, 0o600)
		notePause(time.Since(t0))
		if err != nil {
			return err
		}
		return os.Chtimes(path, fi.ModTime(), fi.ModTime())
	},
}

// settleTime is config.DefaultSettleTime, which the rotation server
// uses: a writer that leaves a file half written for longer is beyond
// what any reader can tell from a finished one.
const settleTime = 250 * time.Millisecond

// The writers' longest time with a file half written, and how many were
// as long as settleTime.
var (
	pauseMu          sync.Mutex
	longestPause     time.Duration
	pausesOverSettle int
)

func notePause(d time.Duration) {
	pauseMu.Lock()
	defer pauseMu.Unlock()
	longestPause = max(longestPause, d)
	if d >= settleTime {
		pausesOverSettle++
	}
}

// urgent raises the calling goroutine's thread above the load (best
// effort: it needs root or CAP_SYS_NICE), so that a writer is not
// descheduled for longer than settleTime in the middle of a write on a
// machine wrk keeps busy. It returns the function that undoes it.
func urgent() func() {
	runtime.LockOSThread()
	_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), -10)
	return func() {
		_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), 0)
		runtime.UnlockOSThread()
	}
}

// fileKey is the key of a writer's file in the plain directory.
func fileKey(i int) string { return fmt.Sprintf("w.f%d", i) }

func jsonFile(gen int, run string) []byte {
	return fmt.Appendf(nil, "{\"j\": {\"token\": %q}}\n", rotvalue.Value("j.token", gen, run))
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
	core, err := coredump.Gcore(gdb, p.pid(), dir)
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

// memoryDir is a directory in /dev/shm when there is one: Kubernetes
// secret volumes are tmpfs, and a disk's journal can stall a writer in
// the middle of a write for longer than any settle window.
func memoryDir(t *testing.T) string {
	dir, err := os.MkdirTemp("/dev/shm", "rotation-soak")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func volumeKeysList() []string {
	keys := make([]string, volumeKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("vol.k%03d", i)
	}
	return keys
}

func lastError(s string) string {
	if s == "" {
		return ""
	}
	return " (last: " + s + ")"
}
