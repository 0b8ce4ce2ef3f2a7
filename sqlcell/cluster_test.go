package sqlcell_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/secretmem/secretmem/internal/pgtest"
)

// pgCluster is the throw-away server of internal/pgtest with the pgx
// connections these tests make as its superuser. (The main module has no
// database driver; its tests use psql.)
type pgCluster struct {
	*pgtest.Cluster
}

// Config returns a connection config for user and database postgres
// without a password.
func (c pgCluster) Config(user string) *pgx.ConnConfig {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d dbname=postgres sslmode=disable connect_timeout=10", c.Port))
	if err != nil {
		panic(err) // a constant string; cannot fail
	}
	cfg.User = user
	return cfg
}

// Super connects as the superuser.
func (c pgCluster) Super(ctx context.Context) (*pgx.Conn, error) {
	cfg := c.Config("postgres")
	cfg.Password = c.Password
	return pgx.ConnectConfig(ctx, cfg)
}

// Exec runs statements as the superuser.
func (c pgCluster) Exec(ctx context.Context, sql string, args ...any) error {
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
func (c pgCluster) SetPassword(ctx context.Context, role, password string) error {
	if strings.ContainsAny(role, "\"\x00") || strings.ContainsRune(password, 0) {
		return errors.New("bad role or password")
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
func (c pgCluster) Verifier(ctx context.Context, role string) (string, error) {
	conn, err := c.Super(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var v string
	err = conn.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", role).Scan(&v)
	return v, err
}
