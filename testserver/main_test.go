package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// server builds the testserver once per test binary.
func server(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "testserver")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "testserver")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building the testserver: %v", buildErr)
	}
	return binary
}

func marker(t *testing.T) string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "mk" + hex.EncodeToString(b[:])
}

// lockedBuffer collects a child's stderr while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type running struct {
	cmd    *exec.Cmd
	logs   *lockedBuffer
	base   string
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, once exited is closed
}

// start runs the testserver on a free loopback port and waits until it
// says where it listens.
func start(t *testing.T, env []string, args ...string) *running {
	t.Helper()
	cmd := exec.Command(server(t), append([]string{"-addr", "127.0.0.1:0", "-log-format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &running{cmd: cmd, logs: logs, exited: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-r.exited
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
				r.base = "http://" + rec.Addr
				return r
			}
		}
		select {
		case <-r.exited:
			t.Fatalf("the testserver exited at start: %v\n%s", r.err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("the testserver did not say where it listens:\n%s", logs.String())
	return nil
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

func TestTheServerEndToEnd(t *testing.T) {
	apiKey, signingKey, dbPassword, fileToken := marker(t), marker(t), marker(t), marker(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "app.yaml")
	yaml := "app:\n  name: e2e\ndb:\n  password: " + dbPassword + "\n"
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	secrets := filepath.Join(dir, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secrets, "signing.key"), []byte(signingKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(fileToken), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := start(t, []string{"APP_API__KEY=" + apiKey, "APP_UPSTREAM__TOKEN_FILE=" + tokenFile},
		"-config", cfgFile, "-secrets-dir", secrets)

	if code, body := call(t, "GET", srv.base+"/healthz", "", ""); code != 200 || body != "ok" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	code, body := call(t, "GET", srv.base+"/api/whoami", apiKey, "")
	if code != 200 || !strings.Contains(body, `"app":"e2e"`) {
		t.Errorf("/api/whoami with the key: %d %s", code, body)
	}
	for name, bearer := range map[string]string{"no key": "", "a wrong key": marker(t), "the demo key": demoAPIKey} {
		if code, body := call(t, "GET", srv.base+"/api/whoami", bearer, ""); code != 401 {
			t.Errorf("/api/whoami with %s: %d %s", name, code, body)
		}
	}
	code, body = call(t, "POST", srv.base+"/api/sign", apiKey, "hello")
	m := hmac.New(sha256.New, []byte(signingKey))
	m.Write([]byte("hello"))
	if code != 200 || !strings.Contains(body, hex.EncodeToString(m.Sum(nil))) {
		t.Errorf("/api/sign: %d, the MAC is not HMAC-SHA256 of the body under signing.key", code)
	}
	if code, _ := call(t, "POST", srv.base+"/api/sign", "", "hello"); code != 401 {
		t.Errorf("/api/sign without a key: %d", code)
	}
	code, cfgBody := call(t, "GET", srv.base+"/config", "", "")
	if code != 200 || !strings.Contains(cfgBody, "[REDACTED]") || !strings.Contains(cfgBody, `"name":"e2e"`) {
		t.Errorf("/config: %d %s", code, cfgBody)
	}
	code, stats := call(t, "GET", srv.base+"/debug/secrets", "", "")
	var st struct {
		Live    int    `json:"live"`
		Backend string `json:"backend"`
	}
	if code != 200 || json.Unmarshal([]byte(stats), &st) != nil || st.Live < 4 || st.Backend == "" {
		t.Errorf("/debug/secrets: %d %s", code, stats)
	}

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.exited:
		if srv.err != nil {
			t.Errorf("exit after SIGTERM: %v", srv.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20 s after SIGTERM")
	}
	logs := srv.logs.String()
	for name, s := range map[string]string{"api.key": apiKey, "signing.key": signingKey, "db.password": dbPassword, "upstream.token": fileToken} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds %s", name)
		}
		if strings.Contains(cfgBody, s) {
			t.Errorf("/config holds %s", name)
		}
	}
	if !strings.Contains(logs, `"msg":"secrets destroyed"`) || !strings.Contains(logs, `"live":0`) {
		t.Errorf("no clean shutdown in the log:\n%s", logs)
	}
	if strings.Contains(logs, demoAPIKey) {
		t.Error("the start-up hint printed the demo key although a real one was configured")
	}
}

func TestBadStartsFailWithOneClearLine(t *testing.T) {
	bin := server(t)
	dir := t.TempDir()
	secretLine := marker(t)
	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte("api:\n  key: "+secretLine+"\n  : [oops\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		args []string
		says string
	}{
		{"an unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"a bad log format", []string{"-log-format", "xml"}, "-log-format"},
		{"a missing config file", []string{"-config", filepath.Join(dir, "none.yaml")}, "none.yaml"},
		{"a broken config file with a secret on it", []string{"-config", broken}, "broken.yaml"},
		{"missing required secrets", []string{"-demo=false"}, "api.key"},
		{"a port in use", []string{"-addr", busy.Addr().String()}, "cannot listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, tt.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("want a non-zero exit, got %v", err)
			}
			out := stderr.String()
			last := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
			if !strings.Contains(last, tt.says) {
				t.Errorf("the last line does not say %q:\n%s", tt.says, out)
			}
			if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic") {
				t.Errorf("a stack trace on stderr:\n%s", out)
			}
			if strings.Contains(out, secretLine) {
				t.Error("stderr holds the secret from the broken file")
			}
		})
	}
}
