//go:build unix

package vaulttest

import (
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

// Postgres is a throw-away PostgreSQL cluster for Vault's database engine:
// initdb into a temporary folder, the server on a free port of 127.0.0.1
// only, no Unix socket, scram-sha-256 for every login, run as an
// unprivileged user when the tests run as root (PostgreSQL refuses root).
//
// The binaries are looked up in $SECRETMEM_PG_BIN, then in Debian's
// /usr/lib/postgresql/*/bin, newest first. Without them the test skips,
// or fails under SECRETMEM_REQUIRE_POSTGRES=1 (CI sets it).
type Postgres struct {
	Port     int
	Password string // the superuser postgres's password

	bin    string
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
	log    *testchild.Buffer
}

// StartPostgres starts a cluster for t and stops it when t ends.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		if os.Getenv("SECRETMEM_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("SECRETMEM_REQUIRE_POSTGRES=1: %v", err)
		}
		t.Skip(err)
	}
	dir, err := os.MkdirTemp("", "vaulttest-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &Postgres{bin: bin, dir: dir, Password: "pg-" + randHex(12), log: &testchild.Buffer{}}
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	return p
}

func postgresBin() (string, error) {
	if d := os.Getenv("SECRETMEM_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	major := func(d string) int { n, _ := strconv.Atoi(filepath.Base(filepath.Dir(d))); return n }
	sort.Slice(dirs, func(i, j int) bool { return major(dirs[i]) > major(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin or $SECRETMEM_PG_BIN: apt-get install postgresql")
}

func (p *Postgres) start() error {
	cred := unprivileged()
	if err := os.Chmod(p.dir, 0o755); err != nil {
		return err
	}
	data, pwfile := filepath.Join(p.dir, "data"), filepath.Join(p.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(p.Password+"\n"), 0o600); err != nil {
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
	out, err := p.command(cred, "initdb", "-D", data, "-U", "postgres", "-E", "UTF8", "--no-locale",
		"--auth=scram-sha-256", "--pwfile="+pwfile, "--no-sync").CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	_ = os.Remove(pwfile)
	for range 3 {
		if p.Port, err = freePort(); err != nil {
			return err
		}
		if err = p.run(cred, data); err == nil {
			return nil
		}
	}
	return err
}

func (p *Postgres) run(cred *syscall.Credential, data string) error {
	cmd := p.command(cred, "postgres", "-D", data, "-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(p.Port), "-c", "unix_socket_directories=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		return err
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := p.Query("postgres", p.Password, "SELECT 1"); err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("postgres exited at start:\n%s", p.log.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	p.stop()
	return errors.New("postgres did not take connections within 30 s")
}

func (p *Postgres) command(cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.Dir = p.dir
	cmd.Env = []string{"LC_ALL=C", "TZ=UTC", "PATH=" + os.Getenv("PATH")}
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	return cmd
}

// unprivileged is who the server runs as: this process's user unless it
// is root; then postgres, else nobody.
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
func (p *Postgres) Query(user, password, sql string) (string, error) {
	cmd := exec.Command(filepath.Join(p.bin, "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", "127.0.0.1", "-p", strconv.Itoa(p.Port), "-U", user, "-d", "postgres", "-c", sql)
	cmd.Env = []string{"PGPASSWORD=" + password, "PGCONNECT_TIMEOUT=5", "LC_ALL=C", "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		// psql's message names the user and the reason, not the password.
		return "", fmt.Errorf("psql as %s: %v: %s", user, err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// URL is the connection URL template Vault's database engine takes.
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgresql://{{username}}:{{password}}@127.0.0.1:%d/postgres?sslmode=disable", p.Port)
}

func (p *Postgres) stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
}

// Log returns what the server printed.
func (p *Postgres) Log() string { return p.log.String() }
