package config

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/secretmem/secretmem/internal/vault"
	"github.com/secretmem/secretmem/secret"
)

// leaseDep is a dynamic secret (database credentials): the cells one read
// of a path gave, and their lease. Reloads keep these cells while the
// lease is good; the watcher renews the lease at two thirds of its TTL,
// and when Vault will not renew it (further) the probe reports a change,
// so that a reload reads the path again for new credentials.
type leaseDep struct {
	src    *vaultSource
	index  int // which of src.paths
	path   string
	fields []vault.Field
	lease  *leaseState
}

// leaseState is shared by every state that keeps the dependency's cells.
type leaseState struct {
	mu    sync.Mutex
	lease vault.Lease
	// asked is the TTL the lease was issued with: renewals ask for as much.
	asked time.Duration
	// last: Vault capped a renewal (the max TTL is near), so at the next
	// due time the path is read again rather than renewed.
	last bool
	// replace: the credentials must be read again now.
	replace bool
	// serial is the login the lease was read under: Vault revokes a
	// token's leases when the token expires, whatever their own TTL, so
	// once the source has logged in again the credentials are read anew.
	serial uint64
	// retryAt: a renewal failed for a reason that may pass (Vault down,
	// sealed, rate limiting); the next is not tried before then, so that
	// a lease past its due time is not renewed (and the path reloaded) in
	// a loop. failures counts them in a row.
	retryAt  time.Time
	failures int
}

// zeroLease stands in for the duration of a lease Vault issued as 0 s
// (consul-template reads one as five minutes too): taken at its word,
// such a lease is due, and replaced, the moment it is read, in a loop of
// new credentials with no pause. (A renewal to 0 s is another thing: the
// lease's end.)
const zeroLease = 5 * time.Minute

func withDuration(l vault.Lease) vault.Lease {
	if l.Duration <= 0 {
		l.Duration = zeroLease
	}
	return l
}

func newLeaseState(l vault.Lease, serial uint64) *leaseState {
	l = withDuration(l)
	return &leaseState{lease: l, asked: l.Duration, serial: serial}
}

// due is when the lease is renewed next; s.mu is held.
func (s *leaseState) due() time.Time {
	if d := s.lease.Due(); d.After(s.retryAt) {
		return d
	}
	return s.retryAt
}

// keep reports whether a reload may keep the credentials, the source's
// login being serial: a login since the lease was read (the probe before
// the reload may not have seen it: another path's 403, or the reload's
// own login, made it) means the token that held the lease is gone or
// going.
func (s *leaseState) keep(serial uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.replace && s.serial == serial && time.Now().Before(s.lease.Expires())
}

// next is when the watcher should look at the lease again. A lease to
// replace asks for no wake of its own: the probe that marked it reported
// the change, and a reload that failed is retried with the Config's
// backoff; waking at once would spin the watcher until then.
func (s *leaseState) next() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replace {
		return time.Time{}
	}
	return s.due()
}

func (d *leaseDep) String() string { return "vault lease " + d.path }

func (d *leaseDep) carried(repl map[secret.Value]secret.Value) { carryFields(d.fields, repl) }

// next tells the watcher when to probe (see watch's arm): when the lease
// is due, or just after the token's next renewal or login, whichever
// comes first. A login ends the token the lease belongs to a fraction of
// its TTL later (see leaseState.serial), sooner than the next poll may
// come; a renewal in flight (its due time past) is looked at again a
// second on.
func (d *leaseDep) next() time.Time {
	at := d.lease.next()
	c := d.src.current()
	if at.IsZero() || c == nil {
		return at
	}
	if due := c.TokenInfo().Due; !due.IsZero() {
		w := due.Add(loginLag)
		if now := time.Now(); w.Before(now) {
			w = now.Add(time.Second)
		}
		if w.Before(at) {
			at = w
		}
	}
	return at
}

// loginLag is how long after the token's due time the watcher looks: a
// login or renewal takes a round trip.
const loginLag = 250 * time.Millisecond

func (d *leaseDep) stamp(st *stamper) stamp {
	d.lease.mu.Lock()
	id := d.lease.lease.ID
	d.lease.mu.Unlock()
	return st.of([]byte("vault lease\x00"), []byte(id))
}

func (d *leaseDep) replaced(st *stamper, id string) stamp {
	return st.of([]byte("vault lease replaced\x00"), []byte(id))
}

// probe renews the lease when it is due. It reports the lease unchanged
// while it is good (renewed, or not yet due), and changed when the
// credentials must be read again: the lease is not renewable, Vault capped
// its last renewal, refused it (the lease is gone: a restarted Vault, a
// revocation), or it ran out while Vault was away. A renewal that failed
// for a reason that may pass is a failure stamp: the reload that follows
// keeps the credentials (they are still good) and the watcher retries.
func (d *leaseDep) probe(ctx context.Context, st *stamper) stamp {
	ls := d.lease
	ls.mu.Lock()
	defer ls.mu.Unlock()
	id := ls.lease.ID
	now := time.Now()
	c := d.src.current()
	if c == nil {
		return st.failed(ErrClosed)
	}
	if info := c.TokenInfo(); info.Present && info.Serial != ls.serial {
		// A new login: the token that read the lease is on its way out,
		// and takes the credentials with it.
		ls.replace = true
	}
	switch {
	case ls.replace:
		return d.replaced(st, id)
	case now.Before(ls.due()):
		return st.of([]byte("vault lease\x00"), []byte(id))
	case !ls.lease.Renewable || ls.last || !now.Before(ls.lease.Expires()):
		ls.replace = true
		return d.replaced(st, id)
	}
	renewed, err := c.RenewLease(ctx, ls.lease, ls.asked)
	if err != nil {
		if ctx.Err() != nil {
			return st.failed(ctx.Err())
		}
		if vault.Temporary(err) && !errors.Is(err, vault.ErrForbidden) {
			ls.failures++
			ls.retryAt = now.Add(d.src.backoff().Delay(ls.failures - 1))
			if exp := ls.lease.Expires(); ls.retryAt.After(exp) {
				ls.retryAt = exp // then it is replaced
			}
			return st.failed(err)
		}
		ls.replace = true
		d.src.warnf("config: vault: the lease of %s could not be renewed; reading new credentials: %v", d.path, err)
		return d.replaced(st, id)
	}
	// A renewal to 0 s is the lease's end (its max TTL), not a lease
	// without duration: it is replaced at once (see withDuration).
	if renewed.Duration < ls.asked {
		ls.last = true // capped by the max TTL: replace at the next due time
	}
	ls.lease, ls.retryAt, ls.failures = renewed, time.Time{}, 0
	return st.of([]byte("vault lease\x00"), []byte(id))
}

// backoff spaces the retries of a lease renewal as RetryBackoff spaces
// reloads.
func (v *vaultSource) backoff() vault.Backoff {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.s == nil {
		return vault.Backoff{}
	}
	return vault.Backoff{Min: v.s.retryMin, Max: v.s.retryMax}
}
