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
