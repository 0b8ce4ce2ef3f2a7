package vault

import (
	"errors"
	"fmt"
	"strings"
)

// Errors a caller can branch on with errors.Is. Every error this package
// returns is an *Error wrapping one of them; messages name the Vault
// address, the path and the operation, never a secret.
var (
	// ErrUnreachable: no HTTP response (connection refused, DNS, TLS,
	// timeout). Temporary.
	ErrUnreachable = errors.New("unreachable")
	// ErrForbidden: 403. The token lacks a policy, or it expired or was
	// revoked (a Client that can log in again has already tried once,
	// when the token no longer looks itself up).
	ErrForbidden = errors.New("permission denied")
	// ErrNotFound: 404, or a KV v2 version that was deleted or destroyed.
	ErrNotFound = errors.New("not found")
	// ErrRateLimited: 429, a rate-limit quota. Temporary.
	ErrRateLimited = errors.New("rate limited")
	// ErrServer: a 5xx status (503 while sealed or in standby). Temporary
	// except 501.
	ErrServer = errors.New("server error")
	// ErrStatus: any other status (400: Vault refused the request as
	// malformed or invalid, e.g. a wrong AppRole secret ID).
	ErrStatus = errors.New("request refused")
	// ErrMalformed: the response is not the JSON Vault sends.
	ErrMalformed = errors.New("malformed response")
	// ErrTooLarge: the response body is over Config.MaxBody.
	ErrTooLarge = errors.New("response body over the size limit")
	// ErrRedirect: Vault answered with a redirect to another host (or to
	// plain HTTP), which would receive the token. Point the address at the
	// active node or a load balancer.
	ErrRedirect = errors.New("redirect refused")
	// ErrRefused: a field's value is of a kind this package does not turn
	// into a secret (null, a list; an object where one field was mapped).
	ErrRefused = errors.New("value refused")
	// ErrMissingField: a mapped field is not in the secret Vault returned.
	ErrMissingField = errors.New("field not found")
	// ErrLogin: the auth method cannot log in (refused credentials, no
	// token, a token file that is empty, a given token that expired).
	ErrLogin = errors.New("cannot log in")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("client closed")
	// ErrConfig: a setting that cannot work (an address that is not a URL,
	// a CA file without certificates, an unparsable VAULT_ variable).
	ErrConfig = errors.New("invalid configuration")
)

// Error is what every failed call returns.
type Error struct {
	Op     string   // what was being done: "read", "login", "renew token", ...
	Addr   string   // the Vault address
	Path   string   // the API path under /v1/, "" when none
	Status int      // the HTTP status, 0 when there was no response
	Errors []string // Vault's own "errors", summarised (see summarise)
	Err    error    // one of the sentinels above, possibly wrapping a cause
}

// Error reads "vault: OP PATH at ADDR: what (HTTP n): Vault's messages".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("vault: ")
	b.WriteString(e.Op)
	if e.Path != "" {
		b.WriteString(" ")
		b.WriteString(e.Path)
	}
	if e.Addr != "" {
		b.WriteString(" at ")
		b.WriteString(e.Addr)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if len(e.Errors) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Errors, "; "))
	}
	return b.String()
}

// Unwrap returns the sentinel (and its cause) for errors.Is.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether err may go away when the same call is made
// again later: Vault unreachable, sealed, in standby, overloaded, rate
// limited. A caller's retry loop (see Retry) asks this.
func Temporary(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch {
	case errors.Is(e.Err, ErrUnreachable), errors.Is(e.Err, ErrRateLimited):
		return true
	case errors.Is(e.Err, ErrServer):
		return e.Status != 501
	}
	return e.Status == 412 // a performance standby not yet caught up
}

// statusErr maps an HTTP status to its sentinel.
func statusErr(code int) error {
	switch {
	case code == 403:
		return ErrForbidden
	case code == 404:
		return ErrNotFound
	case code == 429:
		return ErrRateLimited
	case code >= 500:
		return ErrServer
	}
	return ErrStatus
}

// Bounds of an error summary: Vault's messages are short, and a long one
// is more likely to carry input back than to explain anything.
const (
	maxErrors   = 3
	maxErrorLen = 160
)

// summarise turns Vault's "errors" strings into a few short lines: the
// multierror frame ("1 error occurred:", "* ") dropped, control bytes
// blanked, each line capped. (parseErrors has already replaced any
// message that echoed a secret of the request.)
func summarise(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		for _, line := range strings.Split(m, "\n") {
			line = strings.TrimSpace(line)
			line = strings.TrimPrefix(line, "* ")
			if line == "" || (strings.HasSuffix(line, "occurred:") && strings.Contains(line, "error")) {
				continue
			}
			out = append(out, clean(line))
		}
	}
	if len(out) > maxErrors {
		out = append(out[:maxErrors], fmt.Sprintf("and %d more", len(out)-maxErrors))
	}
	return out
}

// clean replaces control bytes and caps the length.
func clean(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = ' '
		}
	}
	if len(b) > maxErrorLen {
		b = append(b[:maxErrorLen], "..."...)
	}
	return strings.ToValidUTF8(string(b), "?")
}
