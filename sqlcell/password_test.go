package sqlcell_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/secretmem/secretmem/secret"
	"github.com/secretmem/secretmem/sqlcell"
)

// newPool opens a pgxpool for user whose password comes from pw.
func newPool(t *testing.T, user string, pw *sqlcell.Password) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig = pg(t).Config(user)
	cfg.MaxConns = 8
	cfg.BeforeConnect = pw.BeforeConnect
	pool, err := pgxpool.NewWithConfig(ctx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// newDB opens a database/sql DB for user through the connector.
func newDB(t *testing.T, user string, pw *sqlcell.Password) *sql.DB {
	t.Helper()
	db := sql.OpenDB(pw.Connector(pg(t).Config(user)))
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func currentUser(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (string, error) {
	var u string
	err := q.QueryRow(ctx, "SELECT current_user").Scan(&u)
	return u, err
}

// The scenario for pgxpool: connections hold on while the role's
// password is changed (ALTER ROLE) and the cell swapped; new connections
// use the new password at once, old ones keep working, and after the old
// cell is gone too nothing breaks.
func TestPgxPoolFollowsARotatedPassword(t *testing.T) {
	c := ctx(t)
	user, pw1 := role(t)
	old := cell(t, pw1)
	src := newRotating(map[string]secret.Value{"db.password": old})
	pool := newPool(t, user, sqlcell.New(src, "db.password"))

	held, err := pool.Acquire(c)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	if u, err := currentUser(c, held); err != nil || u != user {
		t.Fatalf("first connection: %q, %v", u, err)
	}

	pw2 := marker(t)
	if err := pg(t).SetPassword(c, user, pw2); err != nil {
		t.Fatal(err)
	}
	// Before the cell follows, a new connection fails: the hook really
	// reads the cell at each connect.
	if conn, err := pool.Acquire(c); err == nil {
		conn.Release()
		t.Fatal("a new connection with the old password was accepted")
	}
	src.set("db.password", cell(t, pw2))
	fresh, err := pool.Acquire(c)
	if err != nil {
		t.Fatalf("a new connection after the rotation: %v", err)
	}
	defer fresh.Release()
	if u, err := currentUser(c, fresh); err != nil || u != user {
		t.Errorf("new connection: %q, %v", u, err)
	}
	if u, err := currentUser(c, held); err != nil || u != user {
		t.Errorf("the connection opened before the rotation stopped working: %q, %v", u, err)
	}
	old.Destroy() // the grace period ends
	another, err := pool.Acquire(c)
	if err != nil {
		t.Fatalf("a connection after the old cell died: %v", err)
	}
	another.Release()
	if _, err := currentUser(c, held); err != nil {
		t.Errorf("the old connection after the old cell died: %v", err)
	}
}

// The same through database/sql, with the connector.
func TestSQLConnectorFollowsARotatedPassword(t *testing.T) {
	c := ctx(t)
	user, pw1 := role(t)
	src := newRotating(map[string]secret.Value{"db.password": cell(t, pw1)})
	db := newDB(t, user, sqlcell.New(src, "db.password"))
	held, err := db.Conn(c)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	pw2 := marker(t)
	if err := pg(t).SetPassword(c, user, pw2); err != nil {
		t.Fatal(err)
	}
	src.set("db.password", cell(t, pw2))
	fresh, err := db.Conn(c) // held is busy: this is a new connection
	if err != nil {
		t.Fatalf("a new connection after the rotation: %v", err)
	}
	defer fresh.Close()
	for name, conn := range map[string]*sql.Conn{"old": held, "new": fresh} {
		var u string
		if err := conn.QueryRowContext(c, "SELECT current_user").Scan(&u); err != nil || u != user {
			t.Errorf("%s connection: %q, %v", name, u, err)
		}
	}
}

// Wrap serves any database/sql driver; here pgx's, opened by hand.
func TestWrapHandsTheCurrentPasswordToAnyDriver(t *testing.T) {
	c := ctx(t)
	user, pw1 := role(t)
	src := newRotating(map[string]secret.Value{"db.password": cell(t, pw1)})
	connector := sqlcell.New(src, "db.password").Wrap(stdlib.GetDefaultDriver(),
		func(ctx context.Context, _, password string) (driver.Conn, error) {
			cfg := pg(t).Config(user)
			cfg.Password = password
			return stdlib.GetConnector(*cfg).Connect(ctx)
		})
	db := sql.OpenDB(connector)
	t.Cleanup(func() { _ = db.Close() })
	if err := db.PingContext(c); err != nil {
		t.Fatal(err)
	}
	pw2 := marker(t)
	if err := pg(t).SetPassword(c, user, pw2); err != nil {
		t.Fatal(err)
	}
	src.set("db.password", cell(t, pw2))
	db.SetMaxIdleConns(0) // the next query needs a new connection
	if err := db.PingContext(c); err != nil {
		t.Errorf("after the rotation: %v", err)
	}
}

// Credentials issued as a pair (Vault's database engine) rotate both.
func TestTheUserNameCanComeFromACellToo(t *testing.T) {
	c := ctx(t)
	user, pw := role(t)
	src := newRotating(map[string]secret.Value{"db.user": cell(t, user), "db.password": cell(t, pw)})
	pool := newPool(t, "someone-else", sqlcell.New(src, "db.password", sqlcell.User("db.user")))
	if u, err := currentUser(c, pool); err != nil || u != user {
		t.Fatalf("connected as %q (%v), want %q", u, err, user)
	}
	user2, pw2 := role(t)
	src.set("db.user", cell(t, user2))
	src.set("db.password", cell(t, pw2))
	pool.Reset() // close the idle connections: the next query connects again
	if u, err := currentUser(c, pool); err != nil || u != user2 {
		t.Errorf("after the swap connected as %q (%v), want %q", u, err, user2)
	}
}

// A wrong password gives an error that never contains it, however it is
// printed, and the ConnectError's config no longer holds it.
func TestAWrongPasswordErrorNeverContainsIt(t *testing.T) {
	c := ctx(t)
	user, _ := role(t)
	wrong := marker(t)
	pw := sqlcell.New(secret.SourceFunc(func(string) secret.Value { return cell(t, wrong) }), "db.password")

	cfg := pg(t).Config(user)
	if err := pw.BeforeConnect(c, cfg); err != nil {
		t.Fatal(err)
	}
	_, err := pgx.ConnectConfig(c, cfg)
	if err == nil {
		t.Fatal("a wrong password was accepted")
	}
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("not a ConnectError: %T", err)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Errorf("want SQLSTATE 28P01 (invalid_password), got %v", err)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if strings.Contains(fmt.Sprintf(f, err), wrong) {
			t.Errorf("the error printed with %s contains the password", f)
		}
	}
	if ce.Config.Password != "" || cfg.Password != "" {
		t.Error("the configs still hold the password after the failed connect")
	}

	db := newDB(t, user, pw)
	err = db.PingContext(c)
	if err == nil {
		t.Fatal("database/sql: a wrong password was accepted")
	}
	if strings.Contains(fmt.Sprintf("%+v %#v", err, err), wrong) {
		t.Error("the database/sql error contains the password")
	}
}

// pgx keeps the ConnConfig it connected with for the connection's life,
// and pgx's stdlib driver keeps the one the hook was given: once the
// connect is done, neither holds the password.
func TestTheConfigsPgxKeepsHoldNoPassword(t *testing.T) {
	c := ctx(t)
	user, pw := role(t)
	p := sqlcell.New(secret.SourceFunc(func(string) secret.Value { return cell(t, pw) }), "db.password")

	pool := newPool(t, user, p)
	conn, err := pool.Acquire(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := conn.Conn().Config().Password; got != "" {
		t.Error("pgxpool: the pgx.Conn's config still holds the password")
	}
	conn.Release()

	db := newDB(t, user, p)
	sc, err := db.Conn(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	err = sc.Raw(func(dc any) error {
		conn := dc.(*stdlib.Conn)
		if conn.Conn().Config().Password != "" {
			t.Error("database/sql: the pgx.Conn's config still holds the password")
		}
		// stdlib.Conn keeps its own copy in an unexported field.
		kept := reflect.ValueOf(conn).Elem().FieldByName("connConfig").FieldByName("Config").FieldByName("Password")
		if !kept.IsValid() {
			t.Fatal("pgx's stdlib.Conn no longer has connConfig.Config.Password: update this test")
		}
		if kept.String() != "" {
			t.Error("database/sql: stdlib.Conn's connConfig still holds the password")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A user's own tracer keeps working next to the one the hook adds.
func TestAUsersTracerStillSeesTheConnect(t *testing.T) {
	c := ctx(t)
	user, pw := role(t)
	cfg := pg(t).Config(user)
	tr := &countingTracer{}
	cfg.Tracer = tr
	if err := sqlcell.New(secret.SourceFunc(func(string) secret.Value { return cell(t, pw) }), "k").BeforeConnect(c, cfg); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(c)
	if _, err := conn.Exec(c, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if tr.connects != 1 || tr.queries != 1 {
		t.Errorf("the user's tracer saw %d connects and %d queries, want 1 and 1", tr.connects, tr.queries)
	}
}

type countingTracer struct{ connects, queries int }

func (c *countingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.queries++
	return ctx
}
func (c *countingTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *countingTracer) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	c.connects++
	return ctx
}
func (c *countingTracer) TraceConnectEnd(context.Context, pgx.TraceConnectEndData) {}

// What cannot be read fails the connect with a clear error, without the
// server being asked.
func TestUnusableSecretsFailBeforeConnecting(t *testing.T) {
	m := marker(t)
	destroyed, _ := secret.FromString(m)
	destroyed.Destroy()
	for _, c := range []struct {
		name string
		v    secret.Value
		want error
	}{
		{"destroyed", destroyed, secret.ErrDestroyed},
		{"missing", secret.Value{}, secret.ErrDestroyed},
		{"with a NUL byte", cell(t, m[:4]+"\x00"+m[4:]), sqlcell.ErrCredential},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := sqlcell.New(secret.SourceFunc(func(string) secret.Value { return c.v }), "db.password")
			err := p.BeforeConnect(context.Background(), &pgx.ConnConfig{})
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), "db.password") || strings.Contains(err.Error(), m[:8]) {
				t.Errorf("the error must name the key and never the secret: %v", err)
			}
		})
	}
	t.Run("after Close", func(t *testing.T) {
		p := sqlcell.New(secret.SourceFunc(func(string) secret.Value { return cell(t, m) }), "db.password")
		_ = p.Close()
		if err := p.BeforeConnect(context.Background(), &pgx.ConnConfig{}); err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("after Close: %v", err)
		}
	})
}

// A connect that read the password before a rotation, still under way
// when the old cell dies and other connects wipe the old string: that
// connect fails with PostgreSQL's invalid-password error, naming no
// password however it is printed. It must not authenticate with a later
// password written where the old one was (the string pgx holds would
// read as that password if its bytes were reused).
func TestAConnectWhoseCellDiedMidwayFailsCleanly(t *testing.T) {
	c := ctx(t)
	user, pw1 := role(t)
	old, err := secret.FromString(pw1)
	if err != nil {
		t.Fatal(err)
	}
	src := newRotating(map[string]secret.Value{"db.password": old})
	p := sqlcell.New(src, "db.password")
	t.Cleanup(func() { _ = p.Close() })

	midway := pg(t).Config(user)
	if err := p.BeforeConnect(c, midway); err != nil {
		t.Fatal(err)
	}
	// Before pgx reads midway.Password: two rotations, each with the end
	// of the old cell's grace period and a new connection.
	var pw2 string
	for range 2 {
		pw2 = marker(t)
		if err := pg(t).SetPassword(c, user, pw2); err != nil {
			t.Fatal(err)
		}
		next, err := secret.FromString(pw2)
		if err != nil {
			t.Fatal(err)
		}
		src.set("db.password", next)
		old.Destroy()
		old = next
		conn, err := p.Connect(c, pg(t).Config(user))
		if err != nil {
			t.Fatalf("a new connection after the rotation: %v", err)
		}
		_ = conn.Close(c)
	}
	defer old.Destroy()

	_, err = pgx.ConnectConfig(c, midway)
	if err == nil {
		t.Fatal("the connect whose cell died authenticated")
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Errorf("want SQLSTATE 28P01 (invalid_password), got %v", err)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if s := fmt.Sprintf(f, err); strings.Contains(s, pw1) || strings.Contains(s, pw2) || strings.Contains(s, pw2[:len(pw2)-1]) {
			t.Errorf("the error printed with %s contains a password", f)
		}
	}
}

// A config prepared by the hook again and again (called by hand on a
// long-lived config, not on pgx's per-connect copy) must not pile up
// tracers: every query of every later connection would pass through
// them all.
func TestPreparingOneConfigAgainDoesNotStackTracers(t *testing.T) {
	c := ctx(t)
	user, pw := role(t)
	p := sqlcell.New(secret.SourceFunc(func(string) secret.Value { return cell(t, pw) }), "db.password")
	for _, withOwn := range []bool{false, true} {
		cfg := pg(t).Config(user)
		tr := &countingTracer{}
		if withOwn {
			cfg.Tracer = tr
		}
		for range 50 {
			if err := p.BeforeConnect(c, cfg); err != nil {
				t.Fatal(err)
			}
		}
		if n, want := leaves(cfg.Tracer), map[bool]int{false: 1, true: 2}[withOwn]; n != want {
			t.Errorf("own tracer %v: %d tracers after 50 preparations, want %d", withOwn, n, want)
		}
		conn, err := pgx.ConnectConfig(c, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(c, "SELECT 1"); err != nil {
			t.Fatal(err)
		}
		_ = conn.Close(c)
		if withOwn && (tr.connects != 1 || tr.queries != 1) {
			t.Errorf("the user's tracer saw %d connects and %d queries, want 1 and 1", tr.connects, tr.queries)
		}
		if cfg.Password != "" {
			t.Error("the config still holds the password after the connect")
		}
	}
}

// leaves counts the tracers in t, through nested multitracers.
func leaves(t pgx.QueryTracer) int {
	mt, ok := t.(*multitracer.Tracer)
	if !ok {
		return 1
	}
	n := 0
	for _, x := range mt.QueryTracers {
		n += leaves(x)
	}
	return n
}

// midRotation is a secret.Versioned source caught between the two halves
// of a pair's rotation: its Secret already gives the new user but still
// the old password, while a View gives one whole version, as
// config.Config's Snapshots do.
type midRotation struct {
	torn, whole map[string]secret.Value
}

func (m midRotation) Secret(key string) secret.Value { return m.torn[key] }
func (m midRotation) View() secret.Source {
	return secret.SourceFunc(func(key string) secret.Value { return m.whole[key] })
}

// A user and password issued as a pair are read from one view of a
// Versioned source: never the new user with the old password.
func TestAPairIsReadFromOneVersion(t *testing.T) {
	c := ctx(t)
	user, pw := role(t)
	user2, _ := role(t)
	src := midRotation{
		torn:  map[string]secret.Value{"db.user": cell(t, user2), "db.password": cell(t, pw)},
		whole: map[string]secret.Value{"db.user": cell(t, user), "db.password": cell(t, pw)},
	}
	p := sqlcell.New(src, "db.password", sqlcell.User("db.user"))
	pool := newPool(t, "someone-else", p)
	if u, err := currentUser(c, pool); err != nil || u != user {
		t.Fatalf("pgxpool connected as %q (%v), want %q from one version", u, err, user)
	}
	db := newDB(t, "someone-else", p)
	var u string
	if err := db.QueryRowContext(c, "SELECT current_user").Scan(&u); err != nil || u != user {
		t.Fatalf("database/sql connected as %q (%v), want %q from one version", u, err, user)
	}
}
