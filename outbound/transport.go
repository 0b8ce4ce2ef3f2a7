package outbound

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/secretmem/secretmem/internal/wire"
	"github.com/secretmem/secretmem/secret"
)

// Transport is an http.RoundTripper that adds a credential from a cell to
// every request it sends, and passes the request to a base RoundTripper.
// It is safe for concurrent use, like http.Transport.
//
// The credential is read from its secret.Source at every request. The header value
// is formatted once per cell into protected memory and the request carries
// a string pointing there; see the package documentation for why, and for
// what net/http still copies.
type Transport struct {
	base http.RoundTripper
	cred Credential
	wire *wire.Cache[secret.Value]
}

// New returns a Transport that adds c to the requests it passes to base
// (http.DefaultTransport when base is nil). It fails with ErrCredential when
// c was built with a bad header name, scheme or user name.
func New(base http.RoundTripper, c Credential) (*Transport, error) {
	if c.err != nil {
		return nil, c.err
	}
	if c.src == nil {
		return nil, fmt.Errorf("%w: build it with Bearer, Basic, APIKey or Scheme", ErrCredential)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{base: base, cred: c, wire: wire.New[secret.Value](c.format())}, nil
}

// RoundTrip sends req through the base RoundTripper with the credential
// added. req itself is not modified: the base gets a copy whose Header has
// the credential, and the Response's Request is req again, so code that
// inspects it never sees the credential.
//
// A redirect the http.Client follows comes back through RoundTrip as a new
// request. It gets the credential only while every hop of the chain has
// stayed at the origin (scheme, host and port) of the first request; once a
// hop has left it, no later hop gets the credential, even one that comes
// back. That is net/http's rule for a caller's Authorization header, except
// that net/http ignores the port and trusts subdomains, and this does not.
//
// RoundTrip fails, closing req.Body, when the credential's cell cannot be
// read (the error wraps secret.ErrDestroyed, ErrExpired or ErrConsumed and
// names the key), when the secret cannot go in a header (ErrCredential),
// when no locked memory is left (secret.ErrMemoryLock), when the source
// keeps 64 different versions of the secret alive at once (it must return
// the same cell until the secret changes), or after Close.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL == nil || !sameOriginChain(req) {
		return t.base.RoundTrip(req)
	}
	v := t.cred.src.Secret(t.cred.key)
	if v == (secret.Value{}) {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("outbound: credential %s: no such secret (not in the config?): %w", t.cred.key, secret.ErrDestroyed)
	}
	value, err := t.wire.Get(v)
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, t.error(err)
	}
	resp, err := t.base.RoundTrip(withHeader(req, t.cred.header, value))
	if resp != nil {
		// Whatever the base put here carries the credential.
		resp.Request = req
	}
	return resp, err
}

func (t *Transport) error(err error) error {
	switch {
	case errors.Is(err, wire.ErrClosed):
		return errors.New("outbound: the transport is closed")
	case errors.Is(err, ErrCredential):
		return fmt.Errorf("%w (key %s)", err, t.cred.key)
	}
	return fmt.Errorf("outbound: credential %s: %w", t.cred.key, err)
}

// CloseIdleConnections closes the base's idle connections, if it has
// such a method; http.Client.CloseIdleConnections calls it.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Close wipes the formatted credentials the Transport holds in protected
// memory and makes later requests fail. Call it when the requests made
// through it are done (at shutdown); the base is not closed. Without Close
// the memory is wiped and reused once the Transport is unreachable.
func (t *Transport) Close() error {
	t.wire.Close()
	return nil
}

// call is a request copy and room for its header values, in one
// allocation.
type call struct {
	r  http.Request
	vs [8]string
}

// withHeader returns a shallow copy of req whose Header is a copy of
// req.Header with name set to value alone: a key that differs from name
// only in case (a map filled by hand) is dropped too, since net/http sends
// every key. Like Header.Clone, the copy shares one backing array for all
// values.
func withHeader(req *http.Request, name, value string) *http.Request {
	c := new(call)
	c.r = *req
	n := 1
	for k, vv := range req.Header {
		if !sameKey(k, name) {
			n += len(vv)
		}
	}
	vs := c.vs[:]
	if n > len(vs) {
		vs = make([]string, n)
	}
	h := make(http.Header, len(req.Header)+1)
	for k, vv := range req.Header {
		if sameKey(k, name) {
			continue
		}
		m := copy(vs, vv)
		h[k] = vs[:m:m]
		vs = vs[m:]
	}
	vs[0] = value
	h[name] = vs[:1:1]
	c.r.Header = h
	return &c.r
}

func sameKey(k, name string) bool { return len(k) == len(name) && strings.EqualFold(k, name) }

// maxHops bounds the redirect chain sameOriginChain walks; http.Client
// stops at 10.
const maxHops = 64

// sameOriginChain reports whether req, and every request before it in the
// redirect chain an http.Client is following, go to one origin.
func sameOriginChain(req *http.Request) bool {
	r := req
	for i := 0; r.Response != nil; i++ {
		prev := r.Response.Request
		if prev == nil || prev.URL == nil || i == maxHops || !sameOrigin(prev.URL, req.URL) {
			return false
		}
		r = prev
	}
	return true
}

// sameOrigin compares scheme, host and port, the port defaulting by scheme.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}
