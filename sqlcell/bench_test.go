package sqlcell_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/secretmem/secretmem/secret"
	"github.com/secretmem/secretmem/sqlcell"
)

// BenchmarkConnect opens and closes a real connection to the throw-away
// PostgreSQL (TCP on 127.0.0.1, SCRAM-SHA-256 with 4,096 iterations, a
// server process forked per connection): with the password set in the
// config by hand, and through the hook.
func BenchmarkConnect(b *testing.B) {
	user, pw := role(b)
	v := cell(b, pw)
	p := sqlcell.New(secret.SourceFunc(func(string) secret.Value { return v }), "db.password")
	base := pg(b).Config(user)
	for _, c := range []struct {
		name string
		prep func(*pgx.ConnConfig) error
	}{
		{"password-in-config", func(cfg *pgx.ConnConfig) error { cfg.Password = pw; return nil }},
		{"hook", func(cfg *pgx.ConnConfig) error { return p.BeforeConnect(context.Background(), cfg) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cfg := base.Copy()
				if err := c.prep(cfg); err != nil {
					b.Fatal(err)
				}
				conn, err := pgx.ConnectConfig(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				_ = conn.Close(context.Background())
			}
		})
	}
}

// BenchmarkBeforeConnect is the hook alone: a cell lookup, the cached
// wire string, and the tracer that clears the password after connect.
func BenchmarkBeforeConnect(b *testing.B) {
	v := cell(b, "correct horse battery staple")
	p := sqlcell.New(secret.SourceFunc(func(string) secret.Value { return v }), "db.password")
	base := &pgx.ConnConfig{}
	b.ReportAllocs()
	for b.Loop() {
		cfg := *base
		if err := p.BeforeConnect(context.Background(), &cfg); err != nil {
			b.Fatal(err)
		}
	}
}
