//go:build unix

// The end-to-end tests build the server with the go command and stop it
// with SIGTERM and SIGINT, which os.Process.Signal cannot send on Windows.

package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/testchild"
)

// binary is the testserver, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "testserver")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "testserver")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the testserver: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// markers holds every secret a test made, so that show can hide them.
var markers struct {
	sync.Mutex
	all []string
}

// marker returns a fresh random secret value.
func marker(t *testing.T) string {
	t.Helper()
	var b [10]byte
	_, _ = rand.Read(b[:])
	m := "mk" + hex.EncodeToString(b[:])
	markers.Lock()
	markers.all = append(markers.all, m)
	markers.Unlock()
	return m
}

// show returns s with every marker replaced, for test output: a failing
// test must not print the secret it caught.
func show(s string) string {
	markers.Lock()
	defer markers.Unlock()
	for _, m := range markers.all {
		s = strings.ReplaceAll(s, m, "[MARKER]")
	}
	return s
}

// environ is the test's environment without APP_ and VAULT_ variables,
// which would change the server's configuration (VAULT_ADDR turns Vault
// on), plus env.
func environ(env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "APP_") && !strings.HasPrefix(kv, "VAULT_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// running is a testserver started for a test: its output, and where it
// serves.
type running struct {
	*testchild.Process
	logs *testchild.Buffer
	base string
}

// hint is the first line of the start-up text that says how to call the
// API; start waits for it.
var hint = regexp.MustCompile(`(?m)^  curl (http://127\.0\.0\.1:[0-9]+)/healthz$`)

// start runs the testserver with JSON logs on a free loopback port.
func start(t *testing.T, env []string, args ...string) *running {
	t.Helper()
	return startArgs(t, env, append([]string{"-log-format", "json"}, args...)...)
}

// startArgs runs the testserver on a free loopback port with exactly args
// besides -addr, and waits until it says how to call it.
func startArgs(t *testing.T, env []string, args ...string) *running {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = environ(env...)
	r := &running{logs: &testchild.Buffer{}}
	cmd.Stdout, cmd.Stderr = r.logs, r.logs
	r.Process = testchild.Launch(t, cmd)
	err := r.Await(20*time.Second, 10*time.Millisecond, func() bool {
		m := hint.FindStringSubmatch(r.logs.String())
		if m != nil {
			r.base = m[1]
		}
		return m != nil
	})
	switch {
	case errors.Is(err, testchild.ErrExited):
		t.Fatalf("the testserver exited at start: %v\n%s", r.Err(), show(r.logs.String()))
	case err != nil:
		t.Fatalf("the testserver did not say how to call it:\n%s", show(r.logs.String()))
	}
	return r
}

// stop sends sig, expects a clean exit and returns everything the server
// wrote.
func (r *running) stop(t *testing.T, sig syscall.Signal) string {
	t.Helper()
	if err := r.Cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.Exited():
		if err := r.Err(); err != nil {
			t.Errorf("exit after %v: %v", sig, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no exit 20 s after %v", sig)
	}
	return r.logs.String()
}

func call(t *testing.T, method, url, bearer, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mac(key, body string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

// signs checks that /api/sign answers 200 with the HMAC of body under key.
func signs(t *testing.T, base, bearer, key, body string) {
	t.Helper()
	code, resp := call(t, "POST", base+"/api/sign", bearer, body)
	var got struct{ Alg, MAC string }
	if code != 200 || json.Unmarshal([]byte(resp), &got) != nil || got.MAC != mac(key, body) {
		t.Errorf("/api/sign of %d bytes: %d, the MAC is not HMAC-SHA256 of the body under signing.key", len(body), code)
	}
}

func TestTheServerEndToEnd(t *testing.T) {
	t.Parallel()
	apiKey, signingKey, dbPassword, fileToken := marker(t), marker(t), marker(t), marker(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "app.yaml")
	writeFile(t, cfgFile, "app:\n  name: e2e\ndb:\n  password: "+dbPassword+"\n")
	secrets := filepath.Join(dir, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(secrets, "signing.key"), signingKey+"\n")
	tokenFile := filepath.Join(dir, "token")
	writeFile(t, tokenFile, fileToken)
	srv := start(t, []string{"APP_API__KEY=" + apiKey, "APP_UPSTREAM__TOKEN_FILE=" + tokenFile},
		"-config", cfgFile, "-secrets-dir", secrets)

	if code, body := call(t, "GET", srv.base+"/healthz", "", ""); code != 200 || body != "ok" {
		t.Errorf("/healthz: %d %q", code, show(body))
	}
	code, body := call(t, "GET", srv.base+"/api/whoami", apiKey, "")
	if code != 200 || !strings.Contains(body, `"app":"e2e"`) {
		t.Errorf("/api/whoami with the key: %d %s", code, show(body))
	}
	for name, bearer := range map[string]string{"no key": "", "a wrong key": marker(t), "the demo key": demoAPIKey} {
		for _, ep := range []struct{ method, path string }{{"GET", "/api/whoami"}, {"POST", "/api/sign"}} {
			if code, body := call(t, ep.method, srv.base+ep.path, bearer, "hello"); code != 401 {
				t.Errorf("%s %s with %s: %d %s", ep.method, ep.path, name, code, show(body))
			}
		}
	}
	signs(t, srv.base, apiKey, signingKey, "hello")
	code, cfgBody := call(t, "GET", srv.base+"/config", "", "")
	if code != 200 || !strings.Contains(cfgBody, "[REDACTED]") || !strings.Contains(cfgBody, `"name":"e2e"`) {
		t.Errorf("/config: %d %s", code, show(cfgBody))
	}
	code, stats := call(t, "GET", srv.base+"/debug/secrets", "", "")
	var st struct {
		Live    int    `json:"live"`
		Backend string `json:"backend"`
	}
	if code != 200 || json.Unmarshal([]byte(stats), &st) != nil || st.Live < 4 || st.Backend == "" {
		t.Errorf("/debug/secrets: %d %s", code, stats)
	}

	logs := srv.stop(t, syscall.SIGTERM)
	for name, s := range map[string]string{"api.key": apiKey, "signing.key": signingKey, "db.password": dbPassword, "upstream.token": fileToken} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds %s", name)
		}
		if strings.Contains(cfgBody, s) {
			t.Errorf("/config holds %s", name)
		}
	}
	if !strings.Contains(logs, `"msg":"secrets destroyed"`) || !strings.Contains(logs, `"live":0`) {
		t.Errorf("no clean shutdown in the log:\n%s", show(logs))
	}
	if strings.Contains(logs, demoAPIKey) {
		t.Error("the start-up hint printed the demo key although a real one was configured")
	}
}

// TestSignRefusesBodiesOverTheLimit: a body over 1 MiB is refused with
// 413, never signed truncated (a MAC of its first MiB would vouch for a
// different message).
func TestSignRefusesBodiesOverTheLimit(t *testing.T) {
	t.Parallel()
	apiKey, signingKey := marker(t), marker(t)
	srv := start(t, []string{"APP_API__KEY=" + apiKey, "APP_SIGNING__KEY=" + signingKey})

	signs(t, srv.base, apiKey, signingKey, strings.Repeat("a", maxSignBody))
	for _, n := range []int{maxSignBody + 1, 2 * maxSignBody} {
		code, body := call(t, "POST", srv.base+"/api/sign", apiKey, strings.Repeat("a", n))
		if code != http.StatusRequestEntityTooLarge {
			t.Errorf("/api/sign of %d bytes: %d %s, want 413", n, code, show(body))
		}
	}
	// The server still works after refusing.
	signs(t, srv.base, apiKey, signingKey, "hello")
}

// TestDefaultConfigStartsAndTellsHowToCallIt is what a newcomer does: no
// -config, no variables. The start-up text gives curl lines that work.
func TestDefaultConfigStartsAndTellsHowToCallIt(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"auto", "text"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			var srv *running
			if format == "auto" {
				srv = startArgs(t, nil) // no -log-format: the default
			} else {
				srv = startArgs(t, nil, "-log-format", format)
			}
			if code, body := call(t, "GET", srv.base+"/healthz", "", ""); code != 200 || body != "ok" {
				t.Errorf("/healthz: %d %q", code, show(body))
			}
			out := srv.logs.String()
			for _, line := range []string{
				"curl " + srv.base + "/healthz",
				"curl -H 'Authorization: Bearer " + demoAPIKey + "' " + srv.base + "/api/whoami",
				"curl -H 'Authorization: Bearer " + demoAPIKey + "' -d 'hello' " + srv.base + "/api/sign",
				"curl " + srv.base + "/config",
				"curl " + srv.base + "/debug/secrets",
				"published demo value",
			} {
				if !strings.Contains(out, line) {
					t.Errorf("the start-up text lacks %q:\n%s", line, out)
				}
			}
			// The hint's key is the embedded one, and it works.
			if code, body := call(t, "GET", srv.base+"/api/whoami", demoAPIKey, ""); code != 200 || !strings.Contains(body, "secretmem-testserver") {
				t.Errorf("/api/whoami with the demo key: %d %s", code, body)
			}
			signs(t, srv.base, demoAPIKey, "demo-signing-key-0123456789", "hello")
			srv.stop(t, syscall.SIGTERM)
		})
	}
}

// TestSignalsShutDownCleanly: Ctrl-C and a service manager's SIGTERM both
// end in exit 0 with every cell destroyed.
func TestSignalsShutDownCleanly(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			srv := start(t, []string{"APP_API__KEY=" + marker(t)})
			if code, _ := call(t, "GET", srv.base+"/healthz", "", ""); code != 200 {
				t.Errorf("/healthz: %d", code)
			}
			logs := srv.stop(t, sig)
			if !strings.Contains(logs, `"msg":"shutting down"`) || !strings.Contains(logs, `"msg":"secrets destroyed"`) ||
				!strings.Contains(logs, `"live":0`) {
				t.Errorf("no graceful shutdown with every cell destroyed after %v:\n%s", sig, show(logs))
			}
		})
	}
}

// TestLogsHoldNoSecret: in every log format, neither the configured
// secrets nor a client's wrong key reach the log.
func TestLogsHoldNoSecret(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"auto", "text", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			apiKey, signingKey, dbPassword, wrongKey := marker(t), marker(t), marker(t), marker(t)
			srv := startArgs(t, []string{"APP_API__KEY=" + apiKey, "APP_SIGNING__KEY=" + signingKey, "APP_DB__PASSWORD=" + dbPassword},
				"-log-format", format)
			if code, _ := call(t, "GET", srv.base+"/api/whoami", apiKey, ""); code != 200 {
				t.Errorf("/api/whoami with the key: %d", code)
			}
			if code, _ := call(t, "GET", srv.base+"/api/whoami", wrongKey, ""); code != 401 {
				t.Errorf("/api/whoami with a wrong key: %d", code)
			}
			signs(t, srv.base, apiKey, signingKey, "hello")
			call(t, "GET", srv.base+"/config", "", "")
			logs := srv.stop(t, syscall.SIGTERM)
			if !strings.Contains(logs, "listening") || !strings.Contains(logs, "/api/whoami") || !strings.Contains(logs, "secrets destroyed") {
				t.Errorf("the log lacks the start, the requests or the shutdown:\n%s", show(logs))
			}
			for name, s := range map[string]string{"api.key": apiKey, "signing.key": signingKey, "db.password": dbPassword, "the wrong key": wrongKey} {
				if strings.Contains(logs, s) {
					t.Errorf("the %s log holds %s", format, name)
				}
			}
		})
	}
}

// TestEnvironmentForms: APP_DB__PASSWORD, APP_API__KEY_FILE and
// APP_DB__PASSWORD_FILE configure the server without the embedded config.
func TestEnvironmentForms(t *testing.T) {
	t.Parallel()
	for _, viaFile := range []bool{false, true} {
		t.Run(fmt.Sprintf("db.password from a file: %v", viaFile), func(t *testing.T) {
			t.Parallel()
			apiKey, signingKey, dbPassword := marker(t), marker(t), marker(t)
			dir := t.TempDir()
			keyFile := filepath.Join(dir, "api-key")
			writeFile(t, keyFile, apiKey+"\n")
			env := []string{"APP_API__KEY_FILE=" + keyFile, "APP_SIGNING__KEY=" + signingKey}
			if viaFile {
				pwFile := filepath.Join(dir, "db-password")
				writeFile(t, pwFile, dbPassword)
				env = append(env, "APP_DB__PASSWORD_FILE="+pwFile)
			} else {
				env = append(env, "APP_DB__PASSWORD="+dbPassword)
			}
			srv := start(t, env, "-demo=false")

			if code, body := call(t, "GET", srv.base+"/api/whoami", apiKey, ""); code != 200 {
				t.Errorf("/api/whoami with the key from APP_API__KEY_FILE: %d %s", code, show(body))
			}
			signs(t, srv.base, apiKey, signingKey, "hello")
			code, cfgBody := call(t, "GET", srv.base+"/config", "", "")
			var cfg map[string]any
			if code != 200 || json.Unmarshal([]byte(cfgBody), &cfg) != nil {
				t.Fatalf("/config: %d %s", code, show(cfgBody))
			}
			// Without the embedded config, db.password exists only
			// because the variable set it.
			if got := fmt.Sprint(cfg["db"]); got != "map[password:[REDACTED]]" {
				t.Errorf("/config db = %s, want db.password set and redacted", show(got))
			}
			logs := srv.stop(t, syscall.SIGTERM)
			for _, s := range []string{apiKey, signingKey, dbPassword} {
				if strings.Contains(cfgBody, s) || strings.Contains(logs, s) {
					t.Error("/config or the log holds a secret")
				}
			}
		})
	}
}

// TestConfigFileFormats: -config takes JSON, TOML and .env by extension,
// and the secrets in each are the ones the server uses.
func TestConfigFileFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		content func(apiKey, signingKey string) string
	}{
		{"app.json", func(a, s string) string {
			return `{"app": {"name": "from-json"}, "api": {"key": "` + a + `"}, "signing": {"key": "` + s + `"}}`
		}},
		{"app.toml", func(a, s string) string {
			return "[app]\nname = \"from-toml\"\n[api]\nkey = \"" + a + "\"\n[signing]\nkey = \"" + s + "\"\n"
		}},
		{"app.env", func(a, s string) string {
			return "app.name=from-env\napi.key=" + a + "\nsigning.key='" + s + "'\n"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			apiKey, signingKey := marker(t), marker(t)
			path := filepath.Join(t.TempDir(), tt.file)
			writeFile(t, path, tt.content(apiKey, signingKey))
			srv := start(t, nil, "-demo=false", "-config", path)

			name := "from-" + strings.TrimPrefix(filepath.Ext(tt.file), ".")
			if code, body := call(t, "GET", srv.base+"/api/whoami", apiKey, ""); code != 200 || !strings.Contains(body, `"app":"`+name+`"`) {
				t.Errorf("/api/whoami with the key from %s: %d %s", tt.file, code, show(body))
			}
			if code, _ := call(t, "GET", srv.base+"/api/whoami", demoAPIKey, ""); code != 401 {
				t.Errorf("/api/whoami with the demo key: %d", code)
			}
			signs(t, srv.base, apiKey, signingKey, "hello")
			_, cfgBody := call(t, "GET", srv.base+"/config", "", "")
			logs := srv.stop(t, syscall.SIGTERM)
			for _, s := range []string{apiKey, signingKey} {
				if strings.Contains(cfgBody, s) || strings.Contains(logs, s) {
					t.Error("/config or the log holds a secret")
				}
			}
		})
	}
}

func TestHelpPrintsUsageAndExitsZero(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(binary, "-h")
	cmd.Env = environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("-h: %v", err)
	}
	for _, flag := range []string{"-addr", "-config", "-secrets-dir", "-log-format", "-demo", "APP_", "-vault", "-vault-path", "VAULT_ADDR"} {
		if !strings.Contains(stdout.String(), flag) {
			t.Errorf("the usage lacks %s:\n%s", flag, stdout.String())
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("-h wrote to stderr:\n%s", stderr.String())
	}
}

func TestBadStartsFailWithOneClearLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretLine := marker(t)
	broken := filepath.Join(dir, "broken.yaml")
	writeFile(t, broken, "api:\n  key: "+secretLine+"\n  : [oops\n")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() }) // after the parallel subtests
	tests := []struct {
		name string
		env  []string
		args []string
		says string
	}{
		{"an unknown flag", nil, []string{"-bogus"}, "flag provided but not defined: -bogus (see -h)"},
		{"a bad flag value", nil, []string{"-demo=maybe"}, "invalid boolean value"},
		{"an argument", nil, []string{"serve"}, `unexpected argument "serve"`},
		{"a bad log format", nil, []string{"-log-format", "xml"}, "-log-format"},
		{"a missing config file", nil, []string{"-config", filepath.Join(dir, "none.yaml")}, "none.yaml: no such file"},
		{"a missing config file without an extension", nil, []string{"-config", filepath.Join(dir, "none")}, "none: no such file"},
		{"a config file of an unknown format", nil, []string{"-config", dir}, "unknown file format"},
		{"a broken config file with a secret on it", nil, []string{"-config", broken}, "broken.yaml"},
		{"missing required secrets", nil, []string{"-demo=false"}, "api.key"},
		{"an empty APP_API__KEY", []string{"APP_API__KEY="}, nil, "required keys missing: api.key (set but empty)"},
		{"an empty APP_SIGNING__KEY", []string{"APP_SIGNING__KEY="}, nil, "required keys missing: signing.key (set but empty)"},
		{"an empty APP_SIGNING__KEY_FILE", []string{"APP_SIGNING__KEY_FILE=" + filepath.Join(dir, "empty")}, nil, "required keys missing: signing.key (set but empty)"},
		{"Vault unreachable", []string{"VAULT_TOKEN=" + secretLine}, []string{"-vault", "http://127.0.0.1:1"}, "http://127.0.0.1:1"},
		{"Vault unreachable names the path", []string{"VAULT_ADDR=http://127.0.0.1:1", "VAULT_TOKEN=" + secretLine}, []string{"-vault-path", "secret/data/elsewhere"}, "secret/data/elsewhere"},
		{"a -vault flag without Vault", nil, []string{"-vault-path", "secret/data/x"}, "neither -vault nor VAULT_ADDR"},
		{"half an AppRole", []string{"VAULT_ADDR=http://127.0.0.1:1"}, []string{"-vault-role-id", "r"}, "-vault-secret-id-file"},
		{"a port in use", nil, []string{"-addr", busy.Addr().String()}, "cannot listen on " + busy.Addr().String() + ": address already in use"},
	}
	writeFile(t, filepath.Join(dir, "empty"), "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			args := tt.args
			if tt.name != "a port in use" {
				// Should the server start after all, it must not take
				// 8080 from anyone.
				args = append([]string{"-addr", "127.0.0.1:0"}, args...)
			}
			cmd := exec.CommandContext(ctx, binary, args...)
			cmd.Env = environ(tt.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() <= 0 {
				t.Fatalf("want a non-zero exit, got %v; stderr:\n%s", err, show(stderr.String()))
			}
			var lines []string
			for _, l := range strings.Split(stderr.String(), "\n") {
				if strings.TrimSpace(l) != "" {
					lines = append(lines, l)
				}
			}
			if strings.HasPrefix(tt.name, "Vault unreachable") {
				// The client retries before it gives up, and says so:
				// warnings, then the one line.
				for len(lines) > 1 && strings.Contains(lines[0], `"level":"WARN","msg":"vault: retrying"`) {
					lines = lines[1:]
				}
			}
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "testserver: ") || !strings.Contains(lines[0], tt.says) {
				t.Errorf("want one line on stderr saying %q, got:\n%s", tt.says, show(stderr.String()))
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout is not empty:\n%s", show(stdout.String()))
			}
			if strings.Contains(stderr.String(), secretLine) {
				t.Error("stderr holds the secret from the broken file")
			}
		})
	}
}
