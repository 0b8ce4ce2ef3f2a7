//go:build unix

package vaulttest

import (
	"fmt"
	"testing"

	"github.com/secretmem/secretmem/internal/pgtest"
)

// Postgres is a throw-away PostgreSQL cluster (internal/pgtest) for
// Vault's database engine. Without PostgreSQL the test skips, or fails
// under SECRETMEM_REQUIRE_POSTGRES=1 (CI sets it).
type Postgres struct {
	*pgtest.Cluster
}

// StartPostgres starts a cluster for t and stops it when t ends.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	return &Postgres{pgtest.StartFor(t)}
}

// URL is the connection URL template Vault's database engine takes.
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgresql://{{username}}:{{password}}@127.0.0.1:%d/postgres?sslmode=disable", p.Port)
}

// MountDatabase mounts Vault's database engine on pg with a role "app"
// whose PostgreSQL users live ttl, renewable up to maxTTL:
// database/creds/app issues them.
func (s *Server) MountDatabase(t testing.TB, pg *Postgres, ttl, maxTTL string) {
	t.Helper()
	s.API(t, "POST", "sys/mounts/database", map[string]any{"type": "database"})
	s.API(t, "POST", "database/config/pg", map[string]any{
		"plugin_name": "postgresql-database-plugin", "connection_url": pg.URL(),
		"username": "postgres", "password": pg.Password, "allowed_roles": "app"})
	s.API(t, "POST", "database/roles/app", map[string]any{"db_name": "pg",
		"creation_statements": []string{`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`},
		"default_ttl":         ttl, "max_ttl": maxTTL})
}

// StartWithDatabase starts PostgreSQL and a dev server for t, with the
// database engine mounted on the cluster (MountDatabase: users live ttl,
// renewable up to maxTTL).
func StartWithDatabase(t testing.TB, ttl, maxTTL string) (*Postgres, *Server) {
	t.Helper()
	pg := StartPostgres(t)
	srv := Start(t, Options{})
	srv.MountDatabase(t, pg, ttl, maxTTL)
	return pg, srv
}
