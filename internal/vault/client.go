package vault

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/secretmem/secretmem/secret"
)

// Client talks to one Vault server. It is safe for concurrent use. Its
// token lives in a cell and is renewed before it expires (and replaced by
// a new login when it cannot be renewed); see RenewToken and
// KeepTokenAlive.
type Client struct {
	ep          endpoint
	namespace   string
	tr          *http.Transport
	mem         regions
	timeout     time.Duration
	retries     int
	backoff     Backoff
	maxBody     int
	noRedirects bool
	auth        Auth
	log         *slog.Logger

	tokMu   sync.RWMutex // guards tok; held for reading while a request copies the token
	tok     tokenState
	loginMu sync.Mutex // one login or renewal at a time

	leaseMu sync.Mutex
	leases  map[string]struct{} // leases read and not yet revoked

	closed atomic.Bool
}

// New returns a Client for cfg. It makes no request: the first call that
// needs a token logs in (or call Login to find out at once).
func New(cfg Config) (*Client, error) {
	ep, err := parseAddress(cfg.Address)
	if err != nil {
		return nil, err
	}
	if cfg.Auth == nil {
		return nil, fmt.Errorf("vault: %w: no Auth (set VAULT_TOKEN, or configure AppRole, Kubernetes or a token file)", ErrConfig)
	}
	for _, r := range cfg.Namespace {
		// Control bytes: net/http would refuse them at every request,
		// which reads as Vault unreachable, and retried.
		if r < ' ' && r != '\t' || r == 0x7f {
			return nil, fmt.Errorf("vault: %w: the namespace %q holds a character an HTTP header cannot carry", ErrConfig, cfg.Namespace)
		}
	}
	tlsConf, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	c := &Client{
		ep:          ep,
		namespace:   cfg.Namespace,
		mem:         regions{allowUnlocked: cfg.AllowUnlocked},
		timeout:     cfg.Timeout,
		retries:     cfg.MaxRetries,
		backoff:     cfg.Backoff,
		maxBody:     cfg.MaxBody,
		noRedirects: cfg.DisableRedirects,
		auth:        cfg.Auth,
		log:         cfg.Logger,
		leases:      map[string]struct{}{},
	}
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	switch {
	case c.retries == 0:
		c.retries = defaultRetries
	case c.retries < 0:
		c.retries = 0
	}
	if c.backoff.Max <= 0 {
		c.backoff.Max = 2 * time.Second
	}
	if c.maxBody <= 0 {
		c.maxBody = defaultMaxBody
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	// Requests go to the transport itself: no http.Client, whose redirect
	// handling would copy the headers (the token) for the next hop. do
	// follows redirects, knowing where the token may go.
	c.tr = newTransport(tlsConf, ep.socket)
	return c, nil
}

// Address returns Vault's address, as errors show it.
func (c *Client) Address() string { return c.ep.shown }

// Close revokes what the caller asked to revoke (see CloseOptions),
// destroys the token cell the Client owns, wipes and unmaps the protected
// memory of its requests and closes its idle connections. Calls after
// Close fail with ErrClosed.
func (c *Client) Close(ctx context.Context, opts CloseOptions) error {
	var errs []error
	if opts.RevokeLeases {
		c.leaseMu.Lock()
		ids := make([]string, 0, len(c.leases))
		for id := range c.leases {
			ids = append(ids, id)
		}
		c.leaseMu.Unlock()
		for _, id := range ids {
			if err := c.RevokeLease(ctx, id); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if opts.RevokeToken {
		if err := c.revokeSelf(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if c.closed.Swap(true) {
		return errors.Join(errs...)
	}
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	c.tokMu.Lock()
	if c.tok.owned {
		c.tok.cell.Destroy()
	}
	c.tok = tokenState{}
	c.tokMu.Unlock()
	c.tr.CloseIdleConnections()
	c.mem.close()
	return errors.Join(errs...)
}

// CloseOptions says what Close revokes before it lets go.
type CloseOptions struct {
	// RevokeLeases revokes every lease read through the Client and not
	// revoked since (database credentials stop working at once).
	RevokeLeases bool
	// RevokeToken revokes the token when the Client got it by logging in
	// (AppRole, Kubernetes); a token it was given is left alone.
	RevokeToken bool
}

// A request is one call to Vault's HTTP API.
type request struct {
	op     string // for errors: "read", "login", ...
	method string
	path   string // below /v1/
	query  string
	body   []part // nil: no body
	// token says which token goes into X-Vault-Token: the Client's
	// (useClientToken), a given one (a cell), or none.
	token     secret.Value
	withToken bool
}

// useClientToken marks a request that carries the Client's token.
func (r request) useClientToken() request {
	r.withToken = true
	return r
}

// do sends rq, retrying temporary failures (MaxRetries, Backoff), logging
// in again once when a request with the Client's token is forbidden, and
// following one same-origin redirect. The body it returns is in protected
// memory; the caller releases it.
func (c *Client) do(ctx context.Context, rq request) (*body, error) {
	if c.closed.Load() {
		return nil, c.fail(rq, 0, nil, ErrClosed)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var (
		target    *url.URL
		relogged  bool
		redirects int
	)
	for attempt := 0; ; {
		gen := c.tokenGen()
		b, next, err := c.once(ctx, rq, target)
		var tf tokenFailed
		switch {
		case errors.As(err, &tf):
			// Getting the token was a request of its own, retried on its
			// own: retrying it again here would square the attempts.
			return nil, tf.err
		case err == nil && next == nil:
			return b, nil
		case next != nil:
			if redirects++; redirects > 1 {
				return nil, c.fail(rq, 0, nil, fmt.Errorf("%w: more than one redirect", ErrRedirect))
			}
			target = next
			continue
		case errors.Is(err, ErrForbidden) && rq.withToken && !relogged && c.canRelogin():
			relogged = true
			if !c.tokenLapsing() && c.tokenStands(ctx, gen) {
				// The policy refuses the path: a new login would get the
				// same answer, and mint a token (and use up a secret ID)
				// each time.
				return nil, err
			}
			c.log.Info("vault: request forbidden; logging in again", "op", rq.op, "path", rq.path)
			if lerr := c.refresh(ctx, gen, true); lerr != nil {
				return nil, fmt.Errorf("%w (and logging in again failed: %v)", err, lerr)
			}
			continue
		case !Temporary(err) || attempt >= c.retries:
			return nil, err
		}
		c.log.Warn("vault: retrying", "op", rq.op, "path", rq.path, "attempt", attempt+1, "err", err)
		if !sleep(ctx, c.backoff.Delay(attempt)) {
			return nil, err
		}
		attempt++
	}
}

// tokenLapsing reports whether the token may have run out by the
// Client's own clock: within a tenth of its TTL (at least a second) of
// its expiry, or capped by its max TTL. A 403 then is taken for the end of
// the token without asking Vault: asking sends the token once more, and
// over TLS each request that carries it may leave a copy in crypto/tls's
// sealing buffer (see the package documentation).
func (c *Client) tokenLapsing() bool {
	c.tokMu.RLock()
	st := c.tok
	c.tokMu.RUnlock()
	exp := st.expires()
	if exp.IsZero() {
		return false
	}
	return st.capped || !time.Now().Before(exp.Add(-max(st.ttl/10, time.Second)))
}

// tokenStands reports whether Vault still takes the Client's token of
// generation gen, the one a refused request carried (it may look itself
// up, as the default policy allows): a 403 for a token that stands is the
// policy's answer, not an expired or lost token. A token replaced since
// does not stand: the request is tried again with the new one.
func (c *Client) tokenStands(ctx context.Context, gen uint64) bool {
	c.tokMu.RLock()
	tok, cur := c.tok.cell, c.tok.gen
	c.tokMu.RUnlock()
	if cur != gen {
		return false
	}
	b, err := c.do(ctx, request{op: "look up the token", method: "GET", path: "auth/token/lookup-self", token: tok})
	if err != nil {
		return false
	}
	b.release()
	return true
}

// once sends rq one time. It returns the body of a 2xx response, or the
// location of a redirect do may follow, or an error.
func (c *Client) once(ctx context.Context, rq request, target *url.URL) (*body, *url.URL, error) {
	if rq.withToken {
		if err := c.token(ctx); err != nil {
			return nil, nil, tokenFailed{err}
		}
	}
	out, err := c.compose(rq)
	if err != nil {
		return nil, nil, c.fail(rq, 0, nil, err)
	}
	defer out.finish()
	u := target
	if u == nil {
		u = c.url(rq)
	}
	req, err := http.NewRequestWithContext(out.traced(ctx), rq.method, u.String(), nil)
	if err != nil {
		return nil, nil, c.fail(rq, 0, nil, fmt.Errorf("%w: %v", ErrConfig, err))
	}
	req.Header["X-Vault-Request"] = []string{"true"}
	if c.namespace != "" {
		req.Header["X-Vault-Namespace"] = []string{c.namespace}
	}
	if t := out.tokenBytes(); len(t) > 0 {
		// The header value is a string over the request's protected
		// memory, which stays intact until net/http reports the request
		// written (see flight).
		req.Header["X-Vault-Token"] = []string{unsafe.String(unsafe.SliceData(t), len(t))}
	}
	if b := out.bodyBytes(); rq.body != nil {
		req.Body = &regionReader{b: b}
		req.ContentLength = int64(len(b))
		req.Header["Content-Type"] = []string{"application/json"}
	}
	resp, err := c.tr.RoundTrip(req)
	if err != nil {
		return nil, nil, c.fail(rq, 0, nil, fmt.Errorf("%w: %v%s", ErrUnreachable, err, tlsHint(err)))
	}
	b, err := c.mem.readBody(resp.Body, resp.ContentLength, c.maxBody)
	_ = resp.Body.Close()
	if err == nil && ctx.Err() != nil {
		b.release()
		err = ctx.Err()
	}
	if err != nil {
		if !errors.Is(err, ErrTooLarge) {
			err = fmt.Errorf("%w: reading the response: %v", ErrUnreachable, err)
		}
		return nil, nil, c.fail(rq, resp.StatusCode, nil, err)
	}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return b, nil, nil
	case code == 301 || code == 302 || code == 303 || code == 307 || code == 308:
		b.release()
		next, err := c.redirect(req.URL, resp.Header.Get("Location"))
		if err != nil {
			return nil, nil, c.fail(rq, code, nil, err)
		}
		return nil, next, nil
	default:
		msgs := summarise(parseErrors(b.bytes(), out.leaks))
		b.release()
		err := statusErr(code)
		if rq.op == "login" && code >= 400 && code < 500 && code != 429 {
			err = fmt.Errorf("%w: %w", ErrLogin, err)
		}
		return nil, nil, c.fail(rq, code, msgs, err)
	}
}

// tokenFailed is once's error when the token could not be had: do
// returns the error inside as it is, without retrying.
type tokenFailed struct{ err error }

func (e tokenFailed) Error() string { return e.err.Error() }
func (e tokenFailed) Unwrap() error { return e.err }

// tlsHint says what to set when Vault's certificate did not verify: the
// usual cause is a Vault whose CA the system does not trust.
func tlsHint(err error) string {
	var v *tls.CertificateVerificationError
	if !errors.As(err, &v) {
		return ""
	}
	return " (set VAULT_CACERT, or the CACert setting, to the PEM file of the CA that signed Vault's certificate; " +
		"VAULT_TLS_SERVER_NAME if the certificate names another host)"
}

// redirect checks a redirect's target: same scheme, host and port as the
// request, or ErrRedirect (the token would go to another server).
func (c *Client) redirect(from *url.URL, location string) (*url.URL, error) {
	if c.noRedirects {
		return nil, fmt.Errorf("%w: redirects are disabled", ErrRedirect)
	}
	to, err := from.Parse(location)
	if err != nil || location == "" {
		return nil, fmt.Errorf("%w: the redirect has no usable Location", ErrRedirect)
	}
	if !strings.EqualFold(to.Scheme, from.Scheme) || !strings.EqualFold(to.Host, from.Host) {
		return nil, fmt.Errorf("%w: Vault redirected to %s://%s, another server than %s; "+
			"the token is not sent there (point the address at the active node or a load balancer)",
			ErrRedirect, to.Scheme, to.Host, c.ep.shown)
	}
	return to, nil
}

func (c *Client) url(rq request) *url.URL {
	u := *c.ep.base
	u.Path = c.ep.base.Path + "/v1/" + rq.path
	u.RawQuery = rq.query
	return &u
}

func (c *Client) fail(rq request, status int, msgs []string, err error) error {
	return &Error{Op: rq.op, Addr: c.ep.shown, Path: rq.path, Status: status, Errors: msgs, Err: err}
}

// regionReader is a request body over protected memory. It has no
// WriteTo: net/http copies it into buffers that wipingConn clears.
type regionReader struct {
	b   []byte
	off int
}

func (r *regionReader) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	scrubRegisters()
	r.off += n
	return n, nil
}

func (r *regionReader) Close() error { return nil }

// parseErrors returns the strings of Vault's "errors" array; a body that
// is not JSON, or has none, gives none. A message for which leaks reports
// true (it holds a secret the request carried) becomes "[REDACTED]"
// before it is copied out of protected memory.
func parseErrors(b []byte, leaks func([]byte) bool) []string {
	var msgs []string
	s := scanner{b: b}
	_ = s.top(func(name []byte) error {
		if string(name) != "errors" {
			return s.skip()
		}
		if k, err := s.next(); err != nil || k != kindArray {
			return s.skip()
		}
		return s.array(func() error {
			k, m, err := s.scalar()
			switch {
			case err != nil || k != kindString || len(m) == 0:
			case leaks(m):
				msgs = append(msgs, "[REDACTED]")
			default:
				msgs = append(msgs, string(m))
			}
			return err
		})
	})
	return msgs
}
