// Package pgtest starts a throw-away PostgreSQL cluster for tests: initdb
// into a temporary directory, the server on a free port of 127.0.0.1 only,
// no Unix socket, scram-sha-256 for every connection, run as an
// unprivileged user (postgres, else nobody) when the tests run as root.
//
// The server binaries are looked up in $SECRETMEM_PG_BIN, then in
// /usr/lib/postgresql/*/bin (Debian's packages), newest version first.
// When none are found Start reports why, and tests skip; with
// SECRETMEM_REQUIRE_POSTGRES=1 (CI sets it) they fail instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// A Cluster is a running throw-away server.
type Cluster struct {
	Port    int
	dir     string
	super   string // the superuser's password
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
	Bin     string // the directory the binaries came from
}

// Required reports whether a missing PostgreSQL must fail the tests.
func Required() bool { return os.Getenv("SECRETMEM_REQUIRE_POSTGRES") == "1" }

// findBin returns the directory holding initdb and postgres.
func findBin() (string, error) {
	if d := os.Getenv("SECRETMEM_PG_BIN"); d != "" {
		return d, check(d)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if check(d) == nil {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, postgres) in /usr/lib/postgresql/*/bin or $SECRETMEM_PG_BIN: apt-get install postgresql")
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func check(dir string) error {
	for _, b := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
	}
	return nil
}

// Start initialises and starts a cluster. Stop it with Stop.
func Start() (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sqlcell-pg")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, Bin: bin, super: "su-" + randHex(16), logPath: filepath.Join(dir, "server.log")}
	if err := c.start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start() error {
	cred, err := unprivileged()
	if err != nil {
		return err
	}
	if err := os.Chmod(c.dir, 0o755); err != nil {
		return err
	}
	data := filepath.Join(c.dir, "data")
	pwfile := filepath.Join(c.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.super+"\n"), 0o600); err != nil {
		return err
	}
	if cred != nil {
		if err := os.Chown(pwfile, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
		if err := os.Mkdir(data, 0o700); err != nil {
			return err
		}
		if err := os.Chown(data, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	initdb := c.command(cred, "initdb", "-D", data, "-U", "postgres", "-E", "UTF8", "--no-locale",
		"--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--pwfile="+pwfile, "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	_ = os.Remove(pwfile)
	for attempt := 0; ; attempt++ {
		c.Port, err = freePort()
		if err != nil {
			return err
		}
		if err = c.run(cred, data); err == nil || attempt == 2 {
			return err
		}
	}
}

// run starts the server on c.Port and waits until it takes connections.
func (c *Cluster) run(cred *syscall.Credential, data string) error {
	logf, err := os.Create(c.logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := c.command(cred, "postgres", "-D", data,
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(c.Port),
		"-c", "unix_socket_directories=", "-c", "max_connections=300",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "password_encryption=scram-sha-256")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	c.cmd, c.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(c.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := c.Super(ctx)
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			return nil
		}
		select {
		case <-c.exited:
			log, _ := os.ReadFile(c.logPath)
			return fmt.Errorf("postgres exited at start:\n%s", log)
		case <-time.After(100 * time.Millisecond):
		}
	}
	c.Stop()
	return errors.New("postgres did not take connections within 30 s")
}

func (c *Cluster) command(cred *syscall.Credential, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.Bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	return cmd
}

// unprivileged is who the server runs as: nil (this process's user) unless
// it is root, which PostgreSQL refuses; then postgres, else nobody.
func unprivileged() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	if u, err := user.Lookup("postgres"); err == nil {
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 == nil && err2 == nil {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
		}
	}
	return &syscall.Credential{Uid: 65534, Gid: 65534}, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Config returns a connection config for user and database postgres
// without a password.
func (c *Cluster) Config(user string) *pgx.ConnConfig {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres sslmode=disable connect_timeout=10", c.Port))
	if err != nil {
		panic(err) // a constant string; cannot fail
	}
	cfg.User = user
	return cfg
}

// Super connects as the superuser.
func (c *Cluster) Super(ctx context.Context) (*pgx.Conn, error) {
	cfg := c.Config("postgres")
	cfg.Password = c.super
	return pgx.ConnectConfig(ctx, cfg)
}

// Exec runs statements as the superuser.
func (c *Cluster) Exec(ctx context.Context, sql string, args ...any) error {
	conn, err := c.Super(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// SetPassword creates the login role, or changes its password: the
// rotation an operator does with ALTER ROLE. The statement goes to the
// server as a literal (ALTER ROLE takes no parameters), so it passes
// through this process; tests run it in the test process, never in a
// process whose memory they count.
func (c *Cluster) SetPassword(ctx context.Context, role, password string) error {
	if strings.ContainsAny(role, "\"\x00") || strings.ContainsRune(password, 0) {
		return errors.New("pgtest: bad role or password")
	}
	q := `DO $$ BEGIN
IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '` + role + `') THEN CREATE ROLE "` + role + `" LOGIN; END IF;
END $$; ALTER ROLE "` + role + `" PASSWORD ` + quote(password)
	return c.Exec(ctx, q)
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Verifier returns the role's stored SCRAM verifier (pg_authid's
// rolpassword: SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey), from
// which a test computes what the client derives.
func (c *Cluster) Verifier(ctx context.Context, role string) (string, error) {
	conn, err := c.Super(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var v string
	err = conn.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", role).Scan(&v)
	return v, err
}

// Stop shuts the server down (fast mode) and removes its directory.
func (c *Cluster) Stop() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(20 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	}
	_ = os.RemoveAll(c.dir)
}

// Log returns the server's log so far, for a failing test.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(c.logPath)
	return string(b)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
