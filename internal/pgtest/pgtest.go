//go:build unix

// Package pgtest starts throw-away PostgreSQL clusters for tests: initdb
// into a temporary folder, the server on a free port of 127.0.0.1 only,
// no Unix socket, scram-sha-256 for every login, run as an unprivileged
// user (postgres, else nobody) when the tests run as root, which
// PostgreSQL refuses. Only tests import it: internal/vault's (through
// vaulttest, for Vault's database engine) and the sqlcell module's, which
// adds its pgx connections on top.
//
// The binaries are looked up in $SECRETMEM_PG_BIN, then in Debian's
// /usr/lib/postgresql/*/bin, newest version first. Without them Start
// returns ErrNoServer, and StartFor skips the test; with
// SECRETMEM_REQUIRE_POSTGRES=1 (CI sets it) tests fail instead.
package pgtest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/testchild"
)

// A Cluster is a running throw-away server.
type Cluster struct {
	Port     int
	Password string // the superuser postgres's password
	Bin      string // the folder the binaries came from

	dir  string
	proc *testchild.Process
	log  *testchild.Buffer
}

// ErrNoServer means there are no PostgreSQL server binaries here.
var ErrNoServer = errors.New("no PostgreSQL server binaries (initdb, postgres, psql) in /usr/lib/postgresql/*/bin or $SECRETMEM_PG_BIN: apt-get install postgresql")

// Required reports whether a missing PostgreSQL must fail the tests
// (SECRETMEM_REQUIRE_POSTGRES=1) rather than skip them.
func Required() bool { return os.Getenv("SECRETMEM_REQUIRE_POSTGRES") == "1" }

// StartFor starts a cluster for t and stops it when t ends. Without
// PostgreSQL it skips t, or fails it when Required.
func StartFor(t testing.TB) *Cluster {
	t.Helper()
	c, err := Start()
	switch {
	case errors.Is(err, ErrNoServer) && !Required():
		t.Skip(err)
	case errors.Is(err, ErrNoServer):
		t.Fatalf("SECRETMEM_REQUIRE_POSTGRES=1: %v", err)
	case err != nil:
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// Start initialises and starts a cluster; the caller stops it with Stop.
func Start() (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Bin: bin, dir: dir, Password: "su-" + rand.Text(), log: &testchild.Buffer{}}
	if err := c.start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func findBin() (string, error) {
	if d := os.Getenv("SECRETMEM_PG_BIN"); d != "" {
		if err := check(d); err != nil {
			return "", fmt.Errorf("%w: %v", ErrNoServer, err)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	major := func(d string) int { n, _ := strconv.Atoi(filepath.Base(filepath.Dir(d))); return n }
	sort.Slice(dirs, func(i, j int) bool { return major(dirs[i]) > major(dirs[j]) })
	for _, d := range dirs {
		if check(d) == nil {
			return d, nil
		}
	}
	return "", ErrNoServer
}

func check(dir string) error {
	for _, b := range []string{"initdb", "postgres", "psql"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) start() error {
	cred := unprivileged()
	if err := os.Chmod(c.dir, 0o755); err != nil {
		return err
	}
	data, pwfile := filepath.Join(c.dir, "data"), filepath.Join(c.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.Password+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.Mkdir(data, 0o700); err != nil {
		return err
	}
	if cred != nil {
		for _, f := range []string{pwfile, data} {
			if err := os.Chown(f, int(cred.Uid), int(cred.Gid)); err != nil {
				return err
			}
		}
	}
	out, err := c.command(cred, "initdb", "-D", data, "-U", "postgres", "-E", "UTF8", "--no-locale",
		"--auth=scram-sha-256", "--pwfile="+pwfile, "--no-sync").CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	_ = os.Remove(pwfile)
	for range 3 { // another process may take the free port first
		if c.Port, err = testchild.FreePort(); err != nil {
			return err
		}
		if err = c.run(cred, data); err == nil {
			return nil
		}
	}
	return err
}

// run starts the server on c.Port and waits until it takes connections.
func (c *Cluster) run(cred *syscall.Credential, data string) error {
	cmd := c.command(cred, "postgres", "-D", data,
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(c.Port),
		"-c", "unix_socket_directories=", "-c", "max_connections=300",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "password_encryption=scram-sha-256")
	cmd.Stdout, cmd.Stderr = c.log, c.log
	p, err := testchild.Start(cmd)
	if err != nil {
		return err
	}
	c.proc = p
	err = p.Await(30*time.Second, 100*time.Millisecond, func() bool {
		_, err := c.Query("postgres", c.Password, "SELECT 1")
		return err == nil
	})
	switch {
	case errors.Is(err, testchild.ErrExited):
		return fmt.Errorf("postgres exited at start: %v\n%s", p.Err(), c.log.String())
	case err != nil:
		c.stop()
		return fmt.Errorf("postgres at start: %v", err)
	}
	return nil
}

// command runs a server binary in a clean environment: no PG* variable of
// the test's may change what it does.
func (c *Cluster) command(cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.Bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"LC_ALL=C", "TZ=UTC", "PATH=" + os.Getenv("PATH")}
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	return cmd
}

// unprivileged is who the server runs as: nil (this process's user)
// unless it is root; then postgres, else nobody.
func unprivileged() *syscall.Credential {
	if os.Geteuid() != 0 {
		return nil
	}
	if u, err := user.Lookup("postgres"); err == nil {
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 == nil && err2 == nil {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		}
	}
	return &syscall.Credential{Uid: 65534, Gid: 65534}
}

// Query runs sql with psql as user, logging in with password, and returns
// the unaligned output. Tests use it to show that credentials work.
func (c *Cluster) Query(user, password, sql string) (string, error) {
	cmd := exec.Command(filepath.Join(c.Bin, "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", user, "-d", "postgres", "-c", sql)
	cmd.Env = []string{"PGPASSWORD=" + password, "PGCONNECT_TIMEOUT=5", "LC_ALL=C", "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		// psql's message names the user and the reason, not the password.
		return "", fmt.Errorf("psql as %s: %v: %s", user, err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// Stop shuts the server down (fast mode) and removes its folder.
func (c *Cluster) Stop() {
	c.stop()
	_ = os.RemoveAll(c.dir)
}

func (c *Cluster) stop() {
	if c.proc != nil {
		c.proc.Stop(syscall.SIGINT, 20*time.Second)
	}
}

// Log returns what the server printed, for a failing test.
func (c *Cluster) Log() string { return c.log.String() }
