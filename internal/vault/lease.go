package vault

import (
	"context"
	"strconv"
	"time"
)

// Lease is a dynamic secret's lease (database credentials and the like).
// A watcher renews it before it expires (RenewLease) and reads the secret
// again when a renewal falls short: the lease is near its max TTL, and
// Vault will revoke the credentials when it ends.
type Lease struct {
	ID        string
	Duration  time.Duration // as of Obtained
	Renewable bool
	Obtained  time.Time
}

// Expires returns when the lease ends; zero without a lease.
func (l Lease) Expires() time.Time {
	if l.ID == "" {
		return time.Time{}
	}
	return l.Obtained.Add(l.Duration)
}

// Due returns when to renew: two thirds into the lease.
func (l Lease) Due() time.Time {
	if l.ID == "" {
		return time.Time{}
	}
	return l.Obtained.Add(l.Duration * 2 / 3)
}

// RenewLease renews l by increment (0: the lease's own duration) and
// returns the renewed lease. A Duration shorter than asked means the
// lease is capped by its max TTL: read the secret again before Expires.
func (c *Client) RenewLease(ctx context.Context, l Lease, increment time.Duration) (Lease, error) {
	if increment <= 0 {
		increment = l.Duration
	}
	rq := request{op: "renew the lease of", method: "PUT", path: "sys/leases/renew", body: []part{
		lit("{"), member("lease_id", l.ID),
		lit(`,"increment":` + strconv.FormatInt(int64(max(increment, time.Second)/time.Second), 10) + "}"),
	}}.useClientToken()
	sent := time.Now() // the renewed lease runs from a moment after this
	b, err := c.do(ctx, rq)
	if err != nil {
		return l, err
	}
	defer b.release()
	out := Lease{ID: l.ID, Obtained: sent}
	s := scanner{b: b.bytes()}
	err = s.top(func(name []byte) error {
		var err error
		switch string(name) {
		case "lease_duration":
			out.Duration, err = s.seconds()
		case "renewable":
			out.Renewable, err = s.boolean()
		default:
			err = s.skip()
		}
		return err
	})
	if err != nil {
		return l, c.fail(rq, 200, nil, err)
	}
	return out, nil
}

// RevokeLease revokes a lease now: Vault drops the credentials (for the
// database engine, the role is dropped from the database).
func (c *Client) RevokeLease(ctx context.Context, id string) error {
	rq := request{op: "revoke the lease of", method: "PUT", path: "sys/leases/revoke",
		body: []part{lit("{"), member("lease_id", id), lit("}")}}.useClientToken()
	b, err := c.do(ctx, rq)
	if err != nil {
		return err
	}
	b.release()
	c.leaseMu.Lock()
	delete(c.leases, id)
	c.leaseMu.Unlock()
	return nil
}

func (c *Client) track(id string) {
	c.leaseMu.Lock()
	c.leases[id] = struct{}{}
	c.leaseMu.Unlock()
}
