package sqlcell_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/pgtest"
	"github.com/secretmem/secretmem/internal/testsecret"
	"github.com/secretmem/secretmem/secret"
)

// cluster is the throw-away PostgreSQL every test of this package uses;
// nil when none could be started, and skipWhy says why.
var (
	cluster *pgCluster
	skipWhy string
)

func TestMain(m *testing.M) {
	if mode := os.Getenv("SQLCELL_DUMP_CHILD"); mode != "" {
		dumpChild(mode)
		return
	}
	if c, err := pgtest.Start(); err != nil {
		skipWhy = err.Error()
	} else {
		cluster = &pgCluster{c}
	}
	code := m.Run()
	if cluster != nil {
		cluster.Stop()
	}
	os.Exit(code)
}

// pg returns the cluster, or skips t (fails it when CI requires
// PostgreSQL).
func pg(t testing.TB) *pgCluster {
	t.Helper()
	if cluster == nil {
		if pgtest.Required() {
			t.Fatalf("SECRETMEM_REQUIRE_POSTGRES=1 but no PostgreSQL could be started: %s", skipWhy)
		}
		t.Skipf("no PostgreSQL: %s", skipWhy)
	}
	return cluster
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// marker returns a unique random password.
func marker(t testing.TB) string { return testsecret.Marker(t, "pw") }

var roles atomic.Int64

// role creates a login role with a fresh password and returns its name
// and the password.
func role(t testing.TB) (string, string) {
	t.Helper()
	name := fmt.Sprintf("app%d", roles.Add(1))
	pw := marker(t)
	if err := pg(t).SetPassword(ctx(t), name, pw); err != nil {
		t.Fatal(err)
	}
	return name, pw
}

// cell puts s in a cell that lives as long as the test.
func cell(t testing.TB, s string) secret.Value { return testsecret.Cell(t, s) }

// rotating is a secret.Source whose cells can be swapped, as a config reload
// swaps them.
type rotating struct {
	cells atomic.Pointer[map[string]secret.Value]
}

func newRotating(kv map[string]secret.Value) *rotating {
	r := &rotating{}
	r.cells.Store(&kv)
	return r
}

func (r *rotating) Secret(key string) secret.Value { return (*r.cells.Load())[key] }

func (r *rotating) set(key string, v secret.Value) {
	old := *r.cells.Load()
	next := make(map[string]secret.Value, len(old))
	for k, x := range old {
		next[k] = x
	}
	next[key] = v
	r.cells.Store(&next)
}
