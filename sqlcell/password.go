package sqlcell

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"

	"github.com/secretmem/secretmem/internal/wire"
	"github.com/secretmem/secretmem/secret"
)

// An Option configures a Password.
type Option func(*Password)

// User reads the user name from the secret key too, at each connection,
// for credentials issued as a pair (Vault's database secrets engine).
// Without it the user name is whatever the connection config says. The
// user name is kept out of core dumps like the password, but it is not
// secret to pgx or PostgreSQL: their connect errors name it, and the
// configs pgx keeps go on referring to it (it is not cleared after the
// connect, as Password is).
func User(key string) Option {
	return func(p *Password) { p.userKey = key }
}

// Password hands a database password from a cell to each new connection.
// The cell is looked up at every connect. The string the driver gets is
// formatted once per cell into protected memory (see the package
// documentation), which is the only copy a Password keeps: it is wiped
// once its cell has died and the next connect or Close notices. It is
// safe for concurrent use.
type Password struct {
	src     secret.Source
	key     string
	userKey string
	pw      *wire.Cache[secret.Value]
	user    *wire.Cache[secret.Value]
}

// New returns a Password that reads key's cell from s at each connection,
// so a rotated password is used by the next one. A *config.Config is a
// secret.Source; secret.SourceFunc adapts a function.
func New(s secret.Source, key string, opts ...Option) *Password {
	p := &Password{src: s, key: key}
	for _, o := range opts {
		o(p)
	}
	p.pw = wire.New[secret.Value](verbatim)
	if p.userKey != "" {
		p.user = wire.New[secret.Value](verbatim)
	}
	return p
}

// verbatim is the wire form of a password or user name: its bytes. A NUL
// would end the string in the server's C code, so it is refused.
var verbatim = wire.Format{
	Len: func(n int) int { return n },
	Write: func(dst, b []byte) error {
		if len(b) == 0 {
			return errEmpty
		}
		for _, c := range b {
			if c == 0 {
				return errNUL
			}
		}
		copy(dst, b)
		return nil
	},
}

// ErrCredential reports a password or user name the connection cannot
// use. Its messages name the key, never the secret.
var ErrCredential = errors.New("sqlcell: invalid credential")

var (
	errEmpty = fmt.Errorf("%w: the secret is empty", ErrCredential)
	errNUL   = fmt.Errorf("%w: the secret holds a NUL byte", ErrCredential)
)

// BeforeConnect sets cfg.Password (and cfg.User, with the User option) from
// the current cells. It is a pgx hook: give it to pgxpool.Config's
// BeforeConnect or to stdlib.OptionBeforeConnect, or call it from your own
// hook.
//
// It also arranges for the password to leave the configs pgx keeps: once
// the connect attempt ends, successful or not, Password is cleared in the
// ConnConfig pgx connected with (which a pgx.Conn keeps for its life, and
// which a pgconn.ConnectError points to) and in cfg (which pgx's stdlib
// driver keeps per connection). For that it adds a pgx.ConnectTracer to
// cfg.Tracer, alongside any tracer already there (multitracer).
//
// It fails when a cell cannot be read (the error wraps secret.ErrDestroyed,
// ErrExpired or ErrConsumed and names the key), for an empty secret or one
// with a NUL byte (ErrCredential), when no locked memory is left
// (secret.ErrMemoryLock), when the source keeps 64 different versions of
// the secret alive at once (it must return the same cell until the secret
// changes), or after Close.
func (p *Password) BeforeConnect(_ context.Context, cfg *pgx.ConnConfig) error {
	// One view for both: a pair rotated between two lookups would give
	// the new user with the old password.
	src := secret.ViewOf(p.src)
	pw, err := p.get(src, p.pw, p.key)
	if err != nil {
		return err
	}
	if p.user != nil {
		user, err := p.get(src, p.user, p.userKey)
		if err != nil {
			return err
		}
		cfg.User = user
	}
	cfg.Password = pw
	cfg.Tracer = withScrub(cfg.Tracer, &scrub{hook: cfg})
	return nil
}

// withScrub returns t with s added. A t that already holds a scrub (the
// hook prepared this config before) gets s in its place, so a config
// prepared again and again does not pile tracers up.
func withScrub(t pgx.QueryTracer, s *scrub) pgx.QueryTracer {
	switch t := t.(type) {
	case nil, *scrub:
		return s
	case *multitracer.Tracer:
		var rest []pgx.QueryTracer
		for _, x := range t.QueryTracers {
			if _, ours := x.(*scrub); !ours {
				rest = append(rest, x)
			}
		}
		if len(rest) < len(t.QueryTracers) { // a multitracer this hook made
			return multitracer.New(append(rest, s)...)
		}
	}
	return multitracer.New(t, s)
}

// Connect opens one connection with cfg and the current password, without
// changing cfg. Built with GOEXPERIMENT=runtimesecret (see Erasing) the
// connect runs inside runtime/secret.Do, so everything pgx's SCRAM
// exchange leaves on the heap (the copies the package documentation
// lists) is erased when the garbage collector frees it; otherwise it is
// BeforeConnect and pgx.ConnectConfig.
func (p *Password) Connect(ctx context.Context, cfg *pgx.ConnConfig) (conn *pgx.Conn, err error) {
	c := cfg.Copy()
	if err := p.BeforeConnect(ctx, c); err != nil {
		return nil, err
	}
	erase(func() { conn, err = pgx.ConnectConfig(ctx, c) })
	return conn, err
}

// get reads key's cell through its wire cache.
func (p *Password) get(src secret.Source, c *wire.Cache[secret.Value], key string) (string, error) {
	v := src.Secret(key)
	if v == (secret.Value{}) {
		return "", fmt.Errorf("sqlcell: %s: no such secret (not in the config?): %w", key, secret.ErrDestroyed)
	}
	s, err := c.Get(v)
	if err != nil {
		return "", p.error(key, err)
	}
	return s, nil
}

func (p *Password) error(key string, err error) error {
	switch {
	case errors.Is(err, wire.ErrClosed):
		return errors.New("sqlcell: the password source is closed")
	case errors.Is(err, ErrCredential):
		return fmt.Errorf("%w (key %s)", err, key)
	}
	return fmt.Errorf("sqlcell: %s: %w", key, err)
}

// Close wipes the passwords (and user names) the Password holds in
// protected memory and makes later connects fail. Call it at shutdown,
// after the pool or sql.DB using it is closed.
func (p *Password) Close() error {
	p.pw.Close()
	if p.user != nil {
		p.user.Close()
	}
	return nil
}

// scrub clears Password in the configs pgx keeps once a connect attempt
// ends. One scrub serves one attempt. pgx also calls the query hooks of
// the connection's tracer; they do nothing.
type scrub struct {
	hook *pgx.ConnConfig // the config BeforeConnect was given
	conn *pgx.ConnConfig // pgx's own copy, kept by the pgx.Conn
}

func (s *scrub) TraceConnectStart(ctx context.Context, d pgx.TraceConnectStartData) context.Context {
	s.conn = d.ConnConfig
	return ctx
}

func (s *scrub) TraceConnectEnd(context.Context, pgx.TraceConnectEndData) {
	for _, c := range []*pgx.ConnConfig{s.hook, s.conn} {
		if c != nil {
			c.Password = ""
		}
	}
	s.hook, s.conn = nil, nil
}

func (*scrub) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (*scrub) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
