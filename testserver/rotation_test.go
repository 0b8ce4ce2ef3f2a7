//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// volume is a Kubernetes secret volume the test swaps as the kubelet does.
type volume struct {
	dir string
	gen int
}

func newVolume(t *testing.T, files map[string]string) *volume {
	v := &volume{dir: filepath.Join(t.TempDir(), "secrets")}
	v.swap(t, files)
	for name := range files {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(v.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

// swap writes a new generation and points ..data at it.
func (v *volume) swap(t *testing.T, files map[string]string) {
	v.gen++
	ts := fmt.Sprintf("..2024_01_01_00_00_%02d.%d", v.gen, v.gen)
	if err := os.MkdirAll(filepath.Join(v.dir, ts), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		writeFile(t, filepath.Join(v.dir, ts, name), content)
	}
	tmp := filepath.Join(v.dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(v.dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

// readyz is what GET /readyz says.
type readyz struct {
	Healthy bool   `json:"healthy"`
	Error   string `json:"error"`
	Status  struct {
		Generation uint64   `json:"generation"`
		Changed    []string `json:"changed"`
		Failures   int      `json:"failures"`
		LastError  string   `json:"last_error"`
		Watching   bool     `json:"watching"`
	} `json:"status"`
}

func getReadyz(t *testing.T, base string) (int, readyz) {
	t.Helper()
	code, body := call(t, "GET", base+"/readyz", "", "")
	var r readyz
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("/readyz: %d %q: %v", code, show(body), err)
	}
	return code, r
}

// eventually waits up to 20 s for ok.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The testserver did not reload at all: 12 s after the key file changed,
// the old key still worked and the new one did not. It follows its secret
// directory now, Kubernetes swaps included, keeps the old key for the
// grace period, says what changed, and reports failed reloads on /readyz.
func TestTheServerFollowsRotations(t *testing.T) {
	t.Parallel()
	api1, sign1, api2, sign2 := marker(t), marker(t), marker(t), marker(t)
	vol := newVolume(t, map[string]string{"api.key": api1, "signing.key": sign1})
	const grace = 2 * time.Second
	srv := start(t, nil, "-demo=false", "-secrets-dir", vol.dir, "-poll", "20ms", "-grace", grace.String())
	whoami := func(key string) int {
		code, _ := call(t, "GET", srv.base+"/api/whoami", key, "")
		return code
	}
	if whoami(api1) != 200 {
		t.Fatal("the first key is refused")
	}
	signs(t, srv.base, api1, sign1, "before")
	if code, r := getReadyz(t, srv.base); code != 200 || !r.Healthy || r.Status.Generation != 1 || !r.Status.Watching {
		t.Errorf("/readyz at start: %d %+v", code, r)
	}

	vol.swap(t, map[string]string{"api.key": api2, "signing.key": sign2})
	eventually(t, "the new key accepted", func() bool { return whoami(api2) == 200 })
	switched := time.Now()
	signs(t, srv.base, api2, sign2, "after")
	if code := whoami(api1); code != 200 && time.Since(switched) < grace/2 {
		t.Errorf("the old key within the grace period: %d", code)
	}
	eventually(t, "the old key refused after the grace period", func() bool { return whoami(api1) == 401 })
	code, r := getReadyz(t, srv.base)
	if code != 200 || r.Status.Generation != 2 || !slices.Equal(r.Status.Changed, []string{"api.key", "signing.key"}) {
		t.Errorf("/readyz after the swap: %d %+v", code, r)
	}

	// A broken volume (api.key gone, and it is required): the old values
	// stay, the failure is logged and retried, /readyz turns 503.
	vol.swap(t, map[string]string{"signing.key": sign2})
	eventually(t, "/readyz reports the failing reloads", func() bool {
		code, r := getReadyz(t, srv.base)
		return code == 503 && !r.Healthy && r.Status.Failures >= 3 && strings.Contains(r.Status.LastError, "api.key")
	})
	if whoami(api2) != 200 {
		t.Error("a failed reload dropped the current key")
	}
	vol.swap(t, map[string]string{"api.key": api2, "signing.key": sign2})
	eventually(t, "/readyz recovers", func() bool {
		code, r := getReadyz(t, srv.base)
		return code == 200 && r.Status.Failures == 0
	})

	logs := srv.stop(t, syscall.SIGTERM)
	for _, want := range []string{`"msg":"config reloaded"`, `"changed":["api.key","signing.key"]`, `"msg":"config reload failed; serving the previous values"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s", want)
		}
	}
	for _, m := range []string{api1, api2, sign1, sign2} {
		if strings.Contains(logs, m) {
			t.Fatalf("the log shows a secret:\n%s", show(logs))
		}
	}
}

// SIGHUP reloads at once, whatever -poll says.
func TestSIGHUPReloads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	api1, api2 := marker(t), marker(t)
	writeFile(t, filepath.Join(dir, "api.key"), api1)
	writeFile(t, filepath.Join(dir, "signing.key"), marker(t))
	srv := start(t, nil, "-demo=false", "-secrets-dir", dir, "-poll", "1h")
	writeFile(t, filepath.Join(dir, "api.key"), api2)
	if err := srv.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new key accepted after SIGHUP", func() bool {
		code, _ := call(t, "GET", srv.base+"/api/whoami", api2, "")
		return code == 200
	})
	srv.stop(t, syscall.SIGTERM)
}

// The embedded demo configuration was handed to config as one byte slice,
// which config wipes after parsing: every reload then failed ("control
// characters are not allowed") and the server never followed a rotation
// unless started with -demo=false. A _FILE target over the demo
// configuration rotates, and so does SIGHUP's reload.
func TestRotationOverTheDemoConfiguration(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "api.key")
	api1, api2 := marker(t), marker(t)
	writeFile(t, file, api1)
	srv := start(t, []string{"APP_API__KEY_FILE=" + file}, "-poll", "20ms")
	writeFile(t, file, api2)
	eventually(t, "the new key accepted", func() bool {
		code, _ := call(t, "GET", srv.base+"/api/whoami", api2, "")
		return code == 200
	})
	if err := srv.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if code, r := getReadyz(t, srv.base); code != 200 || r.Status.Failures != 0 || r.Status.LastError != "" {
		t.Errorf("/readyz after the reloads: %d %+v", code, r)
	}
	srv.stop(t, syscall.SIGTERM)
}
