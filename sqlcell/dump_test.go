package sqlcell_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/secretmem/secretmem/config"
	"github.com/secretmem/secretmem/internal/coredump"
	"github.com/secretmem/secretmem/sqlcell"
)

// The dump proof: a child process (this test binary, in child mode) reads
// the password the way a service does (APP_DB__PASSWORD_FILE, into a
// cell), opens 200 connections, keeps the last 4 open, runs the garbage
// collector twice and waits; gdb's gcore dumps it and every copy of the
// password and of what SCRAM derives from it is counted. The modes:
//
//   - hook-no-connect: BeforeConnect 200 times and no connection, which
//     is what this package itself leaves: it must be nothing;
//   - connect: Password.Connect, the way that can erase what pgx's SCRAM
//     exchange leaves (with GOEXPERIMENT=runtimesecret it must be nothing);
//   - pool: pgxpool with BeforeConnect, 50 rounds of 4 connections;
//   - baseline: the password as a plain string in ConnConfig.Password.
var dumpModes = []string{"hook-no-connect", "connect", "pool", "baseline"}

const (
	dumpConnections = 200
	dumpKeptOpen    = 4
)

// dumpChild runs in the child process; see TestMain.
func dumpChild(mode string) {
	fail := func(err error) { fmt.Fprintln(os.Stderr, "child:", err); os.Exit(2) }
	bg := context.Background()
	port, _ := strconv.Atoi(os.Getenv("SQLCELL_PORT"))
	base, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres sslmode=disable", port))
	if err != nil {
		fail(err)
	}
	base.User = os.Getenv("SQLCELL_USER")
	var connect func() (*pgx.Conn, error)
	switch mode {
	case "hook-no-connect", "connect", "pool":
		cfg, err := config.Load(config.Env("APP_"))
		if err != nil {
			fail(err)
		}
		pw := sqlcell.New(cfg, "db.password")
		if mode == "pool" {
			dumpPool(bg, base, pw, fail)
			return
		}
		connect = func() (*pgx.Conn, error) {
			if mode == "hook-no-connect" {
				return nil, pw.BeforeConnect(bg, base.Copy())
			}
			return pw.Connect(bg, base)
		}
	case "baseline":
		b, err := os.ReadFile(os.Getenv("APP_DB__PASSWORD_FILE"))
		if err != nil {
			fail(err)
		}
		password := strings.TrimSpace(string(b))
		connect = func() (*pgx.Conn, error) {
			cfg := base.Copy()
			cfg.Password = password
			return pgx.ConnectConfig(bg, cfg)
		}
	}
	var open []*pgx.Conn
	for i := range dumpConnections {
		conn, err := connect()
		if err != nil {
			fail(err)
		}
		if conn == nil {
			continue
		}
		if _, err := conn.Exec(bg, "SELECT 1"); err != nil {
			fail(err)
		}
		if i >= dumpConnections-dumpKeptOpen {
			open = append(open, conn)
		} else {
			_ = conn.Close(bg)
		}
	}
	dumpReady(len(open))
}

func dumpPool(ctx context.Context, base *pgx.ConnConfig, pw *sqlcell.Password, fail func(error)) {
	pcfg, err := pgxpool.ParseConfig("")
	if err != nil {
		fail(err)
	}
	pcfg.ConnConfig = base
	pcfg.MaxConns = dumpKeptOpen
	pcfg.BeforeConnect = pw.BeforeConnect
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		fail(err)
	}
	for round := range dumpConnections / dumpKeptOpen {
		if round > 0 {
			pool.Reset() // the next acquires connect anew
		}
		var held []*pgxpool.Conn
		for range dumpKeptOpen {
			c, err := pool.Acquire(ctx)
			if err != nil {
				fail(err)
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Release()
		}
	}
	if n := pool.Stat().NewConnsCount(); n != dumpConnections {
		fail(fmt.Errorf("the pool opened %d connections, not %d", n, dumpConnections))
	}
	dumpReady(int(pool.Stat().TotalConns()))
}

// dumpReady collects the garbage, so that whatever is erased on freeing
// is, and tells the parent to dump.
func dumpReady(open int) {
	runtime.GC()
	runtime.GC()
	fmt.Println("done", open)
	select {}
}

func TestTheDumpAfter200Connections(t *testing.T) {
	if os.Getenv("SECRETMEM_PROOF") != "1" {
		t.Skip("set SECRETMEM_PROOF=1 to run the core dump proof (gdb, about 15 s)")
	}
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		t.Skip("gdb not found: apt-get install gdb")
	}
	c := pg(t)
	user, pw := role(t)
	needles := scramNeedles(t, c.Port, user, pw)
	results := map[string]map[string]int{}
	for _, mode := range dumpModes {
		results[mode] = dumpRun(t, gdb, mode, c.Port, user, pw, needles)
	}
	names := make([]string, 0, len(needles))
	for n := range needles {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("| copies in a gcore | " + strings.Join(dumpModes, " | ") + " |\n|---|---|---|---|---|\n")
	for _, n := range names {
		fmt.Fprintf(&b, "| %s |", n)
		for _, m := range dumpModes {
			fmt.Fprintf(&b, " %d |", results[m][n])
		}
		b.WriteString("\n")
	}
	t.Logf("after %d connections (%d kept open), runtime/secret erasing: %v\n%s", dumpConnections, dumpKeptOpen, sqlcell.Erasing(), b.String())
	for _, n := range names {
		if got := results["hook-no-connect"][n]; got != 0 {
			t.Errorf("the hook alone left %d copies of %s: this package must leave none", got, n)
		}
		if got := results["connect"][n]; got != 0 && sqlcell.Erasing() {
			t.Errorf("Connect under runtime/secret left %d copies of %s", got, n)
		}
	}
}

// dumpRun starts a child in mode, waits for its connections, dumps it and
// counts the needles.
func dumpRun(t *testing.T, gdb, mode string, port int, user, pw string, needles map[string][]byte) map[string]int {
	t.Helper()
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SQLCELL_DUMP_CHILD="+mode, "SQLCELL_PORT="+strconv.Itoa(port),
		"SQLCELL_USER="+user, "APP_DB__PASSWORD_FILE="+pwFile)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Scan()
		line <- sc.Text()
	}()
	select {
	case l := <-line:
		if !strings.HasPrefix(l, "done") {
			t.Fatalf("%s child said %q", mode, l)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s child did not finish its connections", mode)
	}
	core, err := coredump.Gcore(gdb, cmd.Process.Pid, dir)
	if err != nil {
		t.Fatal(err)
	}
	counts, _, err := coredump.Count(core, needles, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(core)
	return counts
}

// scramNeedles computes, from the role's stored verifier, everything the
// client side of a SCRAM-SHA-256 exchange derives from the password, and
// checks the derivation against what the server stored.
func scramNeedles(t *testing.T, port int, user, pw string) map[string][]byte {
	t.Helper()
	v, err := cluster.Verifier(ctx(t), user)
	if err != nil {
		t.Fatal(err)
	}
	// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
	var iter int
	var salt, stored, server []byte
	if parts := strings.FieldsFunc(v, func(r rune) bool { return r == '$' || r == ':' }); len(parts) == 5 {
		iter, _ = strconv.Atoi(parts[1])
		salt, _ = base64.StdEncoding.DecodeString(parts[2])
		stored, _ = base64.StdEncoding.DecodeString(parts[3])
		server, _ = base64.StdEncoding.DecodeString(parts[4])
	}
	if iter == 0 || len(salt) == 0 {
		t.Fatal("the role's verifier is not SCRAM-SHA-256")
	}
	salted, err := pbkdf2.Key(sha256.New, pw, salt, iter, 32)
	if err != nil {
		t.Fatal(err)
	}
	clientKey := hmacSHA256(salted, "Client Key")
	serverKey := hmacSHA256(salted, "Server Key")
	if sk := sha256.Sum256(clientKey); !hmac.Equal(sk[:], stored) || !hmac.Equal(serverKey, server) {
		t.Fatal("the keys derived here do not match the server's verifier")
	}
	n := map[string][]byte{
		"password":       []byte(pw),
		"SaltedPassword": salted,
		"ClientKey":      clientKey,
		"ServerKey":      serverKey,
	}
	for name, key := range map[string][]byte{"password": []byte(pw), "SaltedPassword": salted} {
		for _, pad := range []struct {
			name string
			b    byte
		}{{"ipad", 0x36}, {"opad", 0x5c}} {
			block := make([]byte, 64)
			copy(block, key)
			for i := range block {
				block[i] ^= pad.b
			}
			n[name+" XOR "+pad.name] = block[:len(key)]
			h := sha256.New()
			h.Write(block)
			state, _ := h.(encoding.BinaryMarshaler).MarshalBinary()
			n[name+" HMAC "+pad.name+" midstate"] = state[4:36] // after "sha\x03": the 8 state words
		}
	}
	return n
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
