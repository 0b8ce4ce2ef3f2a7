//go:build linux

package proof

import (
	"bufio"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/coredump"
)

// The outbound proof: a client process (proof/outbound) sends 1,000
// requests over 4 connections to an upstream served by this test, with a
// credential from a _FILE variable; then its memory is dumped and every
// copy of the credential is counted: as plaintext, as the base64 of a
// Basic credential, and as the Huffman code HPACK writes on HTTP/2. The
// same client setting the header by hand is the comparison row.

var outboundClient = server{"outbound", "./outbound"}

const (
	outboundRequests = 1000
	outboundConns    = 4
)

type outboundCase struct {
	proto, scheme string // proto: h1 (http) or h2 (https)
	be            backend
}

func TestOutboundCredentialsInDumps(t *testing.T) {
	heavy(t)
	for _, c := range []outboundCase{{"h1", "bearer", memfd}, {"h1", "basic", memfd}, {"h2", "bearer", memfd}, {"h2", "basic", memfd}} {
		for _, mode := range []string{"transport", "by-hand"} {
			t.Run(c.proto+"/"+c.scheme+"/"+mode, func(t *testing.T) { proveOutbound(t, c, mode) })
		}
	}
	// The formatted credential's page on the mlock backend: out of dumps by
	// MADV_DONTDUMP rather than memfd_secret.
	t.Run("h1/bearer/transport/mlock", func(t *testing.T) { proveOutbound(t, outboundCase{"h1", "bearer", mlock}, "transport") })
}

func proveOutbound(t *testing.T, c outboundCase, mode string) {
	name := fmt.Sprintf("outbound %s %s %s", c.proto, c.scheme, mode)
	if c.be.name == mlock.name {
		name += " (mlock)"
	}
	dir := t.TempDir()
	ms := newMarkerSet()
	token := ms.secret("upstream.token")
	value := "Bearer " + token
	if c.scheme == "basic" {
		value = "Basic " + base64.StdEncoding.EncodeToString([]byte("proof:"+token))
	}
	srv := upstream(t, c.proto == "h2", value)
	args := []string{"-url", srv.URL, "-n", fmt.Sprint(outboundRequests), "-conns", fmt.Sprint(outboundConns),
		"-mode", mode, "-scheme", c.scheme}
	if c.proto == "h2" {
		ca := filepath.Join(dir, "ca.pem")
		if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-ca", ca)
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append([]string{"APP_UPSTREAM__TOKEN_FILE=" + tokenFile, "GOTRACEBACK=crash"}, c.be.env...)
	p := startClient(t, dir, env, args...)

	// The plaintext, and the encodings net/http writes.
	needles := map[string][]byte{"plaintext": []byte(token)}
	kinds := []string{"plaintext"}
	if c.scheme == "basic" {
		// "proof:" is two whole base64 groups, so the password's own
		// base64 is a substring of the header's: searching for it also
		// finds a copy that lost the user name's part.
		needles["base64"] = []byte(base64.StdEncoding.EncodeToString([]byte(token)))
		kinds = append(kinds, "base64")
	}
	if c.proto == "h2" {
		needles["huffman"] = hpackValue(t, value)
		kinds = append(kinds, "huffman")
	}
	threads := threadCount(p.Pid())
	judgeOutbound := func(kind, path string) {
		all, inRegs, err := coredump.Count(path, needles, inSavedRegisters)
		if err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(path)
		var parts []string
		memory, regs := 0, 0
		for _, k := range kinds {
			parts = append(parts, fmt.Sprintf("%s %d", k, all[k]-inRegs[k]))
			memory += all[k] - inRegs[k]
			regs += inRegs[k]
		}
		found := strings.Join(parts, ", ") + fmt.Sprintf("; %d more in the saved registers of %d threads", regs, threads)
		test := kind + ": " + name
		if mode != "transport" {
			recordInfo(t, test, "no protection (comparison)", found)
			return
		}
		want, limit := outboundExpected(c)
		ok := memory <= limit && regs <= 2*threads
		if c.scheme != "bearer" || c.proto != "h1" {
			ok = ok && all["plaintext"]-inRegs["plaintext"] == 0
		}
		if c.scheme == "basic" && c.proto == "h2" { // only the Huffman code crosses the connection
			ok = ok && all["base64"]-inRegs["base64"] == 0
		}
		record(t, test, want, found, ok)
		if !ok {
			t.Errorf("%s: %s; expected %s", test, found, want)
		}
	}
	if gdb, err := exec.LookPath("gdb"); err != nil {
		recordInfo(t, "gcore: "+name, "skipped", "gdb not found")
	} else if path, err := gcore(gdb, p.Pid(), dir); err != nil {
		t.Errorf("gcore: %v", err)
	} else {
		judgeOutbound("gcore", path)
	}
	if why := kernelCoreReady(); why != "" {
		recordInfo(t, "kernel core (SIGABRT): "+name, "skipped", why)
	} else if path, err := kernelCore(p, dir); err != nil {
		t.Errorf("kernel core: %v", err)
	} else {
		judgeOutbound("kernel core (SIGABRT)", path)
	}
}

// outboundExpected is what the Transport may leave in memory, and why
// (README): HTTP/1.1 keeps the last request in each connection's write
// buffer; over HTTP/2 the value is sent once per connection (later
// requests send its HPACK index), and its Huffman code stays in three
// buffers of that connection (the header block, the framer's, the bufio
// writer's) until other frames overwrite them, and on some connections in
// a fourth place not yet located (README): up to four per connection. Beyond
// memory, a thread whose last copy moved the header through vector
// registers keeps it in its register state, which a core dump records
// twice per thread (NT_PRFPREG and NT_X86_XSTATE): at most 2 per thread.
func outboundExpected(c outboundCase) (string, int) {
	regs := "; <= 2 per thread in saved registers"
	if c.proto == "h2" {
		none := "no plaintext"
		if c.scheme == "basic" {
			none = "no plaintext or base64"
		}
		return fmt.Sprintf("<= %d Huffman-coded (4 buffers per connection), %s", 4*outboundConns, none) + regs, 4 * outboundConns
	}
	if c.scheme == "basic" {
		return fmt.Sprintf("<= %d base64 (1 per connection's write buffer), no plaintext", outboundConns) + regs, outboundConns
	}
	return fmt.Sprintf("<= %d plaintext (1 per connection's write buffer)", outboundConns) + regs, outboundConns
}

// threadCount is the number of threads of pid, or 0 if unknown.
func threadCount(pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0
	}
	return len(entries)
}

// upstream serves 200 to requests whose Authorization is want and 401 to
// the rest, over HTTP/1.1 on http or HTTP/2 on https.
func upstream(t *testing.T, h2 bool, want string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want || (h2 && r.ProtoMajor != 2) {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if h2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

// startClient runs the outbound client and waits for its "done".
func startClient(t *testing.T, dir string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(outboundClient.binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe() // held open: the client waits on it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stdin.Close() })
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := launch(t, cmd)
	done := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		done <- sc.Scan() && sc.Text() == "done"
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case ok := <-done:
		if !ok {
			t.Fatalf("the client failed: %v\n%s", p.Err(), strings.TrimSpace(p.logs.String()))
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the client did not finish its requests in 2 minutes")
	}
	return p
}
