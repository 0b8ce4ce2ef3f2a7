package vault

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/secretmem/secretmem/secret"
)

// tokenState is the Client's token and what it knows of its lifetime.
type tokenState struct {
	cell      secret.Value
	owned     bool // the Client destroys the cell when it is replaced
	minted    bool // a login made it (AppRole, Kubernetes): Close may revoke it
	ttl       time.Duration
	renewable bool
	increment time.Duration // asked for at each renewal: the TTL it was issued with
	at        time.Time     // when ttl was learned
	due       time.Time     // when to renew or log in again; zero: never
	capped    bool          // the last renewal fell short of increment: max TTL near
	failures  int           // renewals failed in a row
	gen       uint64        // changes with every login and renewal
	serial    uint64        // changes with every login only
}

func (t *tokenState) present() bool { return t.cell != (secret.Value{}) && t.cell.Alive() }

// expires returns when the token runs out; zero for a token without TTL.
func (t *tokenState) expires() time.Time {
	if t.ttl <= 0 {
		return time.Time{}
	}
	return t.at.Add(t.ttl)
}

// schedule sets the next renewal between 60% and 70% of the TTL, so that
// a fleet started together does not renew together.
func (t *tokenState) schedule() {
	t.due = time.Time{}
	if t.ttl > 0 {
		t.due = t.at.Add(time.Duration(float64(t.ttl) * (0.6 + 0.1*rand.Float64())))
	}
}

// TokenInfo is what the Client knows about its token, for logs, health
// checks and tests. It holds nothing secret.
type TokenInfo struct {
	Present   bool
	TTL       time.Duration // as of Obtained; 0: never expires
	Renewable bool
	Obtained  time.Time // when TTL was learned (login or renewal)
	Expires   time.Time // zero: never
	Due       time.Time // next renewal or login; zero: none planned
	Capped    bool      // renewals no longer extend it (max TTL near)
	Logins    uint64    // logins and renewals so far
	// Serial changes with every login (not with renewals). Leases belong
	// to the token that read them and end with it: a dynamic secret read
	// under an earlier Serial must be read again before that token
	// expires.
	Serial uint64
}

// TokenInfo reports on the token.
func (c *Client) TokenInfo() TokenInfo {
	c.tokMu.RLock()
	defer c.tokMu.RUnlock()
	t := &c.tok
	return TokenInfo{Present: t.present(), TTL: t.ttl, Renewable: t.renewable, Obtained: t.at,
		Expires: t.expires(), Due: t.due, Capped: t.capped, Logins: t.gen, Serial: t.serial}
}

// Login gets a token now, unless the Client has a usable one.
func (c *Client) Login(ctx context.Context) error {
	return c.token(ctx)
}

// RenewToken renews the token now, or logs in again when it cannot be
// renewed (not renewable, its max TTL reached, refused) and the Auth can.
func (c *Client) RenewToken(ctx context.Context) error {
	return c.refresh(ctx, c.tokenGen(), false)
}

// KeepTokenAlive renews the token (or logs in again) whenever it is due,
// until ctx ends or the Client is closed, and returns why. A failure is reported to
// report (when not nil) and retried with Backoff; the current token stays
// in use meanwhile. Without it, a request that finds the token due
// renews it first.
func (c *Client) KeepTokenAlive(ctx context.Context, report func(error)) error {
	for {
		if c.closed.Load() {
			return &Error{Op: "keep the token alive", Addr: c.ep.shown, Err: ErrClosed}
		}
		c.tokMu.RLock()
		st := c.tok
		c.tokMu.RUnlock()
		wait := time.Hour
		switch {
		case !st.present():
			wait = 0
		case !st.due.IsZero():
			wait = time.Until(st.due)
		}
		if wait > 0 && !sleep(ctx, wait) {
			return ctx.Err()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if st.present() && (st.due.IsZero() || time.Now().Before(st.due)) {
			continue // an hour passed with nothing due, or a request renewed it
		}
		err := c.refresh(ctx, st.gen, !st.present())
		if ctx.Err() != nil {
			return ctx.Err() // a renewal cut short by the caller is no failure
		}
		if err != nil && report != nil {
			report(err)
		}
	}
}

func (c *Client) tokenGen() uint64 {
	c.tokMu.RLock()
	defer c.tokMu.RUnlock()
	return c.tok.gen
}

func (c *Client) canRelogin() bool { return c.auth.relogin() }

// token makes sure there is a token for a request, logging in first when
// there is none and renewing it first when it is due. A renewal that fails
// while the token is still valid is logged and the token used. The
// request reads the cell under tokMu (see compose): a re-login in another
// goroutine may replace it meanwhile.
func (c *Client) token(ctx context.Context) error {
	c.tokMu.RLock()
	st := c.tok
	c.tokMu.RUnlock()
	now := time.Now()
	exp := st.expires()
	expired := !exp.IsZero() && !now.Before(exp)
	switch {
	case !st.present() || (expired && c.canRelogin()):
		if err := c.refresh(ctx, st.gen, true); err != nil {
			return err
		}
	case expired:
		return fmt.Errorf("%w: the token expired at %s and this Auth cannot log in again",
			ErrLogin, exp.Format(time.RFC3339))
	case !st.due.IsZero() && !now.Before(st.due):
		if err := c.refresh(ctx, st.gen, false); err != nil {
			c.log.Warn("vault: token renewal failed; the current token stays in use", "expires", exp, "err", err)
		}
	}
	return nil
}

// refresh renews the token or logs in, unless another goroutine did since
// gen. forceLogin skips the renewal.
func (c *Client) refresh(ctx context.Context, gen uint64, forceLogin bool) error {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	c.tokMu.RLock()
	st := c.tok
	c.tokMu.RUnlock()
	if st.gen != gen {
		return nil
	}
	if c.closed.Load() {
		return &Error{Op: "login", Addr: c.ep.shown, Err: ErrClosed}
	}
	// A TTL runs from when Vault answers, after this: counting from here
	// errs on the early side, however slow the answer.
	sent := time.Now()
	if !forceLogin && st.present() && st.renewable && !st.capped {
		ttl, err := c.renewSelf(ctx, st)
		if err == nil {
			st.ttl, st.at, st.failures = ttl, sent, 0
			st.capped = ttl < st.increment
			st.schedule()
			c.install(st)
			c.log.Debug("vault: token renewed", "ttl", ttl, "capped", st.capped)
			return nil
		}
		// Vault answered, and not with a token: refused (403), or past the
		// max TTL, which Vault 1.14 answers with a 500 and which renewals
		// cannot foresee (Vault rounds the TTLs it grants). A new login
		// is the way on; only an unreachable or rate-limiting Vault waits.
		if !c.canRelogin() || errors.Is(err, ErrUnreachable) || errors.Is(err, ErrRateLimited) || ctx.Err() != nil {
			c.delay(st)
			return err
		}
		c.log.Info("vault: token renewal refused; logging in again", "err", err)
	} else if !forceLogin && st.present() && !c.canRelogin() {
		// Nothing extends a given token any further; requests use it
		// until it expires.
		st.due = time.Time{}
		c.install(st)
		return nil
	}
	l, err := c.auth.login(ctx, c)
	if err != nil {
		if st.present() {
			c.delay(st)
		}
		return err
	}
	if l.minted {
		c.log.Info("vault: logged in", "ttl", l.ttl, "renewable", l.renewable)
	} else {
		// A token given (VAULT_TOKEN, a file, a cell): looked up, not made.
		c.log.Info("vault: using the token given", "ttl", l.ttl, "renewable", l.renewable)
	}
	next := tokenState{cell: l.token, owned: l.owned, minted: l.minted, ttl: l.ttl, renewable: l.renewable,
		increment: l.increment, at: sent, serial: st.serial + 1}
	if next.increment <= 0 {
		next.increment = l.ttl
	}
	next.schedule()
	c.install(next)
	if st.owned && st.cell != l.token {
		st.cell.Destroy() // requests copying it hold tokMu for reading: install waited for them
	}
	return nil
}

// install makes st the token state, as a new generation.
func (c *Client) install(st tokenState) {
	c.tokMu.Lock()
	st.gen = c.tok.gen + 1
	c.tok = st
	c.tokMu.Unlock()
}

// delay moves the next attempt after a failed renewal or login back by
// the backoff, but not past the token's expiry.
func (c *Client) delay(st tokenState) {
	st.failures++
	st.due = time.Now().Add(c.backoff.Delay(st.failures - 1))
	if exp := st.expires(); !exp.IsZero() && st.due.After(exp) {
		st.due = exp
	}
	c.tokMu.Lock()
	if c.tok.gen == st.gen { // still the same token: keep its generation
		c.tok.due, c.tok.failures = st.due, st.failures
	}
	c.tokMu.Unlock()
}

// renewSelf renews the token for its original TTL and returns the TTL
// Vault granted (less, near the max TTL).
func (c *Client) renewSelf(ctx context.Context, st tokenState) (time.Duration, error) {
	inc := max(st.increment, time.Second)
	rq := request{op: "renew the token", method: "POST", path: "auth/token/renew-self", token: st.cell,
		body: []part{lit(`{"increment":"` + strconv.FormatInt(int64(inc/time.Second), 10) + `s"}`)}}
	b, err := c.do(ctx, rq)
	if err != nil {
		return 0, err
	}
	defer b.release()
	l, err := parseAuth(b.bytes(), false)
	if err != nil {
		return 0, c.fail(rq, 200, nil, err)
	}
	return l.ttl, nil
}

// revokeSelf revokes a token the Client logged in for.
func (c *Client) revokeSelf(ctx context.Context) error {
	c.tokMu.RLock()
	st := c.tok
	c.tokMu.RUnlock()
	if !st.minted || !st.present() {
		return nil
	}
	b, err := c.do(ctx, request{op: "revoke the token", method: "POST", path: "auth/token/revoke-self", token: st.cell})
	if err != nil {
		if errors.Is(err, ErrForbidden) {
			return nil // expired or revoked already
		}
		return err
	}
	b.release()
	return nil
}
