//go:build unix

package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/testchild"
	"github.com/secretmem/secretmem/internal/vaulttest"
)

// These tests attack the Vault source from the server's side: a
// net/http server on 127.0.0.1 answers as a compromised or misbehaving
// Vault (or a proxy in front of one) would. No real Vault sends these
// answers; the real-server tests are in vault_server_test.go.

// fakeVault answers token lookups for tok itself and every other path
// with route; it counts requests by path.
type fakeVault struct {
	*httptest.Server
	tok   string
	mu    sync.Mutex
	calls map[string]int
	heads http.Header // the last request's headers
}

func newFakeVault(t *testing.T, route func(w http.ResponseWriter, r *http.Request)) *fakeVault {
	t.Helper()
	f := &fakeVault{tok: "hvs." + marker(t), calls: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.Path, "/v1/")
		f.mu.Lock()
		f.calls[path]++
		f.heads = r.Header.Clone()
		f.mu.Unlock()
		if r.Header.Get("X-Vault-Token") != f.tok {
			w.WriteHeader(403)
			fmt.Fprint(w, `{"errors":["permission denied"]}`)
			return
		}
		if path == "auth/token/lookup-self" {
			fmt.Fprint(w, `{"data":{"ttl":0,"renewable":false,"creation_ttl":0}}`)
			return
		}
		route(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeVault) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[path]
}

func (f *fakeVault) conn(t *testing.T) VaultConn {
	return VaultConn{Address: f.URL, NoEnv: true, Auth: VaultToken{Value: vaultCell(t, f.tok)}}
}

// A lease that Vault says lasts 0 seconds (or that ends before it can
// be renewed) is due at once, and so is every lease read to replace it:
// the watcher must not read new credentials in a loop with no pause,
// each read a new database user.
func TestVaultALeaseOfNoDurationIsNotReadInALoop(t *testing.T) {
	var n atomic.Int32
	f := newFakeVault(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/database/creds/app":
			i := n.Add(1)
			fmt.Fprintf(w, `{"lease_id":"database/creds/app/%d","renewable":true,"lease_duration":0,"data":{"username":"u%d","password":"p%d"}}`, i, i, i)
		default:
			w.WriteHeader(204)
		}
	})
	watched(t, nil, Vault(f.conn(t), VaultPath{Path: "database/creds/app", Prefix: "db"}),
		PollInterval(500*time.Millisecond), GracePeriod(time.Second), quietLogger())
	time.Sleep(2 * time.Second)
	// A poll every 500 ms reads at most 4 more pairs; a loop reads hundreds.
	if reads := f.count("database/creds/app"); reads > 10 {
		t.Errorf("%d reads of the credentials in 2 s with a poll interval of 500 ms", reads)
	}
}

// A renewal Vault grants for 0 s is the lease's end (its max TTL), not a
// lease of unknown length: the credentials are replaced at once.
func TestVaultARenewalToNoTimeReplacesTheCredentials(t *testing.T) {
	var n atomic.Int32
	f := newFakeVault(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/database/creds/app":
			i := n.Add(1)
			fmt.Fprintf(w, `{"lease_id":"database/creds/app/%d","renewable":true,"lease_duration":2,"data":{"username":"u%d","password":"p"}}`, i, i)
		case "/v1/sys/leases/renew":
			fmt.Fprint(w, `{"lease_id":"x","renewable":true,"lease_duration":0}`)
		default:
			w.WriteHeader(204)
		}
	})
	cfg := watched(t, nil, Vault(f.conn(t), VaultPath{Path: "database/creds/app", Prefix: "db"}),
		PollInterval(100*time.Millisecond), quietLogger())
	waitUntil(t, 5*time.Second, "the credentials are replaced after a renewal to 0 s", func() bool {
		u, _ := cfg.Secret("db.username").Reveal()
		return string(u) == "u2"
	})
}

// A renewal that fails for a reason that may pass (a rate-limit quota's
// 429, a sealed or standby Vault's 503) is tried again after a backoff:
// the lease is past its due time, and without one every probe renewed it
// again at once and every failure set off a reload (thousands a second
// with VAULT_MAX_RETRIES=0), against a Vault that asked for less.
func TestVaultARenewalThatMayPassIsRetriedWithBackoff(t *testing.T) {
	t.Setenv("VAULT_MAX_RETRIES", "0")
	f := newFakeVault(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/sys/leases/renew" {
			w.WriteHeader(429)
			fmt.Fprint(w, `{"errors":["request path \"sys/leases/renew\": rate limit quota exceeded"]}`)
			return
		}
		fmt.Fprint(w, `{"lease_id":"database/creds/app/1","renewable":true,"lease_duration":3,"data":{"username":"u","password":"p"}}`)
	})
	conn := f.conn(t)
	conn.NoEnv = false // for VAULT_MAX_RETRIES
	cfg := watched(t, nil, Vault(conn, VaultPath{Path: "database/creds/app", Prefix: "db"}),
		PollInterval(500*time.Millisecond), RetryBackoff(200*time.Millisecond, time.Second), quietLogger())
	// Due at 2 s; the first renewal is waited for (a loaded machine may
	// make it late), then a second of failing renewals is counted.
	waitUntil(t, 10*time.Second, "a renewal of the lease", func() bool { return f.count("sys/leases/renew") > 0 })
	time.Sleep(time.Second)
	if n := f.count("sys/leases/renew"); n > 10 {
		t.Errorf("%d renewals in the second after the first; want a few, with backoff", n)
	}
	if n := cfg.Status().Reloads; n > 10 {
		t.Errorf("%d reloads", n)
	}
	if !cfg.Secret("db.password").Equal([]byte("p")) {
		t.Error("the credentials are not kept while renewals fail")
	}
}

// cpuTime is the CPU this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// A lease that must be replaced while the replacement cannot be read
// (Vault sealed) waits for the reload's retry, idle: it used to ask the
// watcher to wake at once, again and again, until the retry was due,
// burning a core (half of one here) on probes that could find nothing.
func TestVaultALeaseToReplaceDoesNotSpinTheWatcher(t *testing.T) {
	var sealed atomic.Bool
	f := newFakeVault(t, func(w http.ResponseWriter, r *http.Request) {
		if sealed.Load() {
			w.WriteHeader(503)
			fmt.Fprint(w, `{"errors":["Vault is sealed"]}`)
			return
		}
		fmt.Fprint(w, `{"lease_id":"database/creds/app/1","renewable":false,"lease_duration":1,"data":{"username":"u","password":"p"}}`)
	})
	cfg := loaded(t, Vault(f.conn(t), VaultPath{Path: "database/creds/app", Prefix: "db"}),
		PollInterval(500*time.Millisecond), RetryBackoff(20*time.Second, 40*time.Second), quietLogger())
	sealed.Store(true)
	if err := cfg.Watch(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the replacement fails", func() bool { return cfg.Status().Failures > 0 })
	before := cpuTime()
	time.Sleep(2 * time.Second) // within the 20 s until the retry
	if used := cpuTime() - before; used > 200*time.Millisecond {
		t.Errorf("%v of CPU in 2 s of waiting for a retry", used)
	}
}

// jsonOf decodes a JSON body for the assertions, as a client would.
func jsonOf(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return m
}

// Field names are Vault's writers' to choose, and become keys: empty
// ones, dots, a name that is also a map, control bytes, a name 5,000
// bytes long. None may panic, break another key, or carry a value into
// Keys, Redacted, LogValue, the status or an error; values with a NUL, a
// number with an exponent and nested objects come through as sent.
func TestVaultOddFieldNames(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.Options{})
	var values []string
	m := func() string { v := marker(t); values = append(values, v); return v }
	long := strings.Repeat("n", 5000)
	nul := "nul\x00" + m()
	putKV(t, srv, "odd", map[string]any{
		"": m(), ".": m(), "a..b": m(), "x": m(), "x.y": m(), "nul\x00": nul,
		"\x1b[31mred": m(), long: m(), "num": 1.5e300, "obj": map[string]any{"deep": map[string]any{"er": m()}},
	})
	conn := rootConn(t, srv)
	before := liveCells()
	cfg, err := Load(Vault(conn, VaultPath{Path: "secret/data/odd", Prefix: "p"}))
	if err != nil {
		for _, v := range values {
			if strings.Contains(err.Error(), v) {
				t.Fatal("the error holds a value")
			}
		}
		t.Fatalf("Load: %v", err)
	}
	var out bytes.Buffer
	slog.New(slog.NewJSONHandler(&out, nil)).Info("config", "cfg", cfg, "status", cfg.Status())
	slog.New(slog.NewTextHandler(&out, nil)).Info("config", "cfg", cfg, "status", cfg.Status())
	red, _ := json.Marshal(cfg.Redacted())
	st, _ := json.Marshal(cfg.Status())
	keys := strings.Join(cfg.Keys(), "\n")
	for _, v := range values {
		for what, s := range map[string]string{"the log": out.String(), "Redacted": string(red), "the status": string(st), "Keys": keys} {
			if strings.Contains(s, v) {
				t.Errorf("%s holds a value", what)
			}
		}
	}
	wantSecret(t, cfg, "p.nul\x00", nul)
	wantSecret(t, cfg, "p.num", "1.5e+300")
	wantSecret(t, cfg, "p."+long, values[7])
	wantSecret(t, cfg, "p.obj.deep.er", values[8])
	if !cfg.Secret("p.x.y").Alive() {
		t.Error("p.x.y, the nested of two keys, is not served")
	}
	if err := cfg.Close(); err != nil {
		t.Fatal(err)
	}
	if n := liveCells(); n != before {
		t.Errorf("%d cells live after Close, %d before", n, before)
	}
}

// A Vault (or a proxy) that turns against a running service and echoes
// the token it was sent in its errors: the token reaches neither the
// reload errors, Status, Health, HealthHandler's JSON nor the log.
func TestVaultAnEchoedTokenStaysOutOfTheStatus(t *testing.T) {
	var echo atomic.Bool
	f := newFakeVault(t, func(w http.ResponseWriter, r *http.Request) {
		if echo.Load() {
			tok := r.Header.Get("X-Vault-Token")
			out, _ := json.Marshal(map[string][]string{"errors": {"1 error occurred:\n\t* token " + tok + " is not allowed here\n\n", tok}})
			w.WriteHeader(500)
			_, _ = w.Write(out)
			return
		}
		fmt.Fprint(w, `{"data":{"data":{"password":"pw-value-1"},"metadata":{"version":1,"created_time":"t1"}}}`)
	})
	var logs testchild.Buffer
	cfg := loaded(t, Vault(f.conn(t), VaultPath{Path: "secret/data/app", Prefix: "db"}),
		PollInterval(100*time.Millisecond), RetryBackoff(50*time.Millisecond, 100*time.Millisecond), UnhealthyAfter(2),
		debugLogger(&logs))
	echo.Store(true)
	if err := cfg.Watch(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the config turns unhealthy", func() bool { return cfg.Health() != nil })
	rec := httptest.NewRecorder()
	cfg.HealthHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	body := jsonOf(t, rec.Body.Bytes())
	if body["healthy"] != false || !strings.Contains(fmt.Sprint(body["error"]), "[REDACTED]") {
		t.Errorf("the health report should say why, with the echo redacted: %v", body)
	}
	for what, s := range map[string]string{"the health JSON": rec.Body.String(), "the log": logs.String(),
		"Health": cfg.Health().Error(), "the last error": fmt.Sprint(cfg.Status().LastError)} {
		if strings.Contains(s, f.tok) || strings.Contains(s, f.tok[8:]) {
			t.Errorf("%s holds the token", what)
		}
	}
}

// A reload that read new credentials and is then thrown away (abandoned
// when its deadline passed while a later source hung, or closed before it
// could install) revokes their lease, as a failed load does: nobody will
// ever hold them, and they would log in for their whole TTL. The reloads
// that must succeed keep the default ReloadTimeout: with 300 ms, one slow
// on a loaded machine was abandoned too, and its lease revoked.
func TestVaultADiscardedReloadRevokesTheLeaseItRead(t *testing.T) {
	var (
		n  atomic.Int32
		rv revocations
	)
	f := newFakeVault(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/database/creds/app":
			i := n.Add(1)
			fmt.Fprintf(w, `{"lease_id":"database/creds/app/%d","renewable":false,"lease_duration":1,"data":{"username":"u%d","password":"p%d"}}`, i, i, i)
		case "/v1/sys/leases/revoke":
			rv.serve(w, r)
		default:
			w.WriteHeader(404)
		}
	})
	hp := newHangingProvider(1 << 30)
	cfg := loaded(t, Vault(f.conn(t), VaultPath{Path: "database/creds/app", Prefix: "db"}),
		Source(hp, nil), quietLogger())
	time.Sleep(1100 * time.Millisecond) // the lease has run out: a reload reads a new pair
	hp.hangNext()
	if err := cfg.Reload(hp.deadlineAtHang()); !errors.Is(err, ErrReloadTimeout) {
		t.Fatalf("a reload stuck after reading: %v", err)
	}
	hp.release()
	waitUntil(t, 5*time.Second, "the abandoned reload ends", func() bool { return cfg.Reload(context.Background()) == nil })
	waitUntil(t, 5*time.Second, "the lease of the pair nobody holds is revoked", func() bool {
		for _, id := range rv.list() {
			if id == "database/creds/app/2" {
				return true
			}
		}
		return false
	})
	for _, id := range rv.list() {
		if id != "database/creds/app/2" {
			t.Errorf("revoked %s, a lease in use", id)
		}
	}
}

// A first load abandoned (LoadContext's context ended) after it read
// credentials, while a later source hangs, revokes them once that source
// returns: the Config never existed, and nobody else will hold them.
func TestVaultAnAbandonedLoadRevokesTheLeaseItRead(t *testing.T) {
	var rv revocations
	f := newFakeVault(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/database/creds/app":
			fmt.Fprint(w, `{"lease_id":"database/creds/app/1","renewable":true,"lease_duration":3600,"data":{"username":"u","password":"p"}}`)
		case "/v1/sys/leases/revoke":
			rv.serve(w, r)
		default:
			w.WriteHeader(404)
		}
	})
	conn := f.conn(t)
	hp := newHangingProvider(0)
	defer hp.release()
	before := liveCells()
	_, err := LoadContext(hp.deadlineAtHang(), Vault(conn, VaultPath{Path: "database/creds/app", Prefix: "db"}), Source(hp, nil),
		quietLogger())
	if err == nil {
		t.Fatal("LoadContext succeeded past its deadline")
	}
	if f.count("database/creds/app") != 1 {
		t.Fatal("the credentials were not read before the hang: the test proves nothing")
	}
	hp.release()
	waitUntil(t, 5*time.Second, "the lease read for the abandoned load is revoked", func() bool {
		revoked := rv.list()
		return len(revoked) == 1 && revoked[0] == "database/creds/app/1"
	})
	waitUntil(t, 5*time.Second, "no cell is left", func() bool { return liveCells() == before })
}

// revocations records the lease IDs a fake Vault was asked to revoke.
type revocations struct {
	mu  sync.Mutex
	ids []string
}

// serve answers sys/leases/revoke, recording the lease.
func (rv *revocations) serve(w http.ResponseWriter, r *http.Request) {
	var in struct {
		LeaseID string `json:"lease_id"`
	}
	_ = json.NewDecoder(r.Body).Decode(&in)
	rv.mu.Lock()
	rv.ids = append(rv.ids, in.LeaseID)
	rv.mu.Unlock()
	w.WriteHeader(204)
}

func (rv *revocations) list() []string {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return append([]string(nil), rv.ids...)
}
