//go:build unix

package vault

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/vaulttest"
)

// creds reveals a credential pair for psql: test code, on purpose.
func creds(t *testing.T, s *Secret) (user, password string) {
	t.Helper()
	u, err := value(t, s, "db.username").Reveal()
	if err != nil {
		t.Fatal(err)
	}
	p, err := value(t, s, "db.password").Reveal()
	if err != nil {
		t.Fatal(err)
	}
	return string(u), string(p)
}

// The database engine issues short-lived PostgreSQL credentials; a client
// keeps connecting with the current pair while a watcher loop renews the
// lease, reads a new pair when the max TTL caps a renewal, swaps it in,
// and revokes the old pair after a grace period. No connection fails, and
// a revoked pair no longer logs in. The lease lives 9 s: renewed at two
// thirds of it, the last 3 s are what a loaded machine has to renew it in
// (with 4 s leases, 1.3 s).
func TestDatabaseCredentialsRotateUnderARunningClient(t *testing.T) {
	t.Parallel() // mostly waiting for TTLs to pass
	if testing.Short() {
		t.Skip("rotates twice, about 25 s")
	}
	pg, srv := vaulttest.StartWithDatabase(t, "9s", "18s")
	c, _ := appRoleClient(t, srv, "1h", "4h")
	ctx := ctxFor(t)
	m := Mapping{Path: "database/creds/app", Prefix: "db"}

	first := mustRead(t, ctx, c, m)
	if first.Lease.ID == "" || !first.Lease.Renewable || first.Lease.Duration != 9*time.Second {
		t.Fatalf("lease %+v", first.Lease)
	}
	var (
		mu      sync.RWMutex // held by the client while it reads a pair, by the swap to destroy one
		current = first
		ok, bad atomic.Int32
		stop    = make(chan struct{})
		done    = make(chan struct{})
	)
	defer func() { // also when the test fails: no psql after it ended
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-done
	}()
	go func() { // the running client
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			// The pair is held until the login ends, as a pool holds it
			// through a connect: the swap (and so the revocation, a grace
			// period later) waits for a login in flight. psql can take
			// longer than the grace period to start on a loaded machine.
			mu.RLock()
			user, pw := creds(t, current)
			got, err := pg.Query(user, pw, "SELECT current_user")
			mu.RUnlock()
			if err != nil || got != user {
				bad.Add(1)
				t.Errorf("connecting as the current user: %q, %v", got, err)
			} else {
				ok.Add(1)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	var retired []string // users whose pairs were revoked, with their passwords
	rotations := 0
	for rotations < 2 {
		lease := current.Lease
		time.Sleep(time.Until(lease.Due()))
		renewed, err := c.RenewLease(ctx, lease, 0)
		if err != nil {
			t.Fatal(err)
		}
		if renewed.Duration >= lease.Duration {
			mu.Lock()
			current.Lease = renewed
			mu.Unlock()
			continue
		}
		// Capped by the max TTL: a new pair, swapped in.
		next := mustRead(t, ctx, c, m)
		mu.Lock()
		old := current
		current = next
		mu.Unlock()
		oldUser, oldPw := creds(t, old)
		newUser, _ := creds(t, next)
		if oldUser == newUser {
			t.Fatal("the new pair has the old user")
		}
		time.Sleep(500 * time.Millisecond) // grace for connections being made with the old pair
		if err := c.RevokeLease(ctx, old.Lease.ID); err != nil {
			t.Fatal(err)
		}
		old.Destroy()
		retired = append(retired, oldUser, oldPw)
		rotations++
	}
	close(stop)
	<-done
	mu.Lock()
	current.Destroy()
	mu.Unlock()
	if bad.Load() != 0 || ok.Load() < 20 {
		t.Errorf("%d connections failed, %d succeeded across %d rotations", bad.Load(), ok.Load(), rotations)
	}
	for i := 0; i < len(retired); i += 2 {
		if _, err := pg.Query(retired[i], retired[i+1], "SELECT 1"); err == nil {
			t.Errorf("the revoked user %s still logs in", retired[i])
		}
	}
}

// Close with RevokeLeases ends the credentials at once, and RevokeToken
// the token the client logged in for.
func TestCloseRevokes(t *testing.T) {
	pg, srv := vaulttest.StartWithDatabase(t, "1h", "2h")
	c, _ := appRoleClient(t, srv, "1h", "4h")
	ctx := ctxFor(t)
	s := mustRead(t, ctx, c, Mapping{Path: "database/creds/app", Prefix: "db"})
	user, pw := creds(t, s)
	s.Destroy()
	if _, err := pg.Query(user, pw, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	tok, err := currentCell(c).Reveal()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(ctx, CloseOptions{RevokeLeases: true, RevokeToken: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Query(user, pw, "SELECT 1"); err == nil {
		t.Error("the credentials still log in after Close revoked their lease")
	}
	if code, _, err := srv.Call("GET", "auth/token/lookup-self", nil, string(tok)); err != nil || code != 403 {
		t.Errorf("the token after Close: HTTP %d, %v; want 403", code, err)
	}
	if err := c.Login(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}
