package middleware

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/secretmem/secretmem/secret"
)

// Errors returned by Ephemeral. Test them with errors.Is.
var (
	// ErrNoScope: the request did not pass through Tokens or a guard, so
	// there is no request scope to tie the cell to. Add middleware.Tokens
	// in front of the handler.
	ErrNoScope = errors.New("middleware: no request scope (add middleware.Tokens in front of this handler)")
	// ErrEnded: the response is over and the request's cells are
	// destroyed; a cell created now would outlive it.
	ErrEnded = errors.New("middleware: the request has ended and its cells are destroyed")
)

// contextKey is the type of this package's context keys: a pointer, so no
// other package can forge one.
type contextKey struct{ name string }

func (k *contextKey) String() string { return "secretmem/middleware context key " + k.name }

var scopeKey = &contextKey{"scope"}

type kind uint8

const (
	kindBearer kind = iota
	kindAPIKey
	kindCookie
	kindBasic
	kindProxyBearer
	kindProxyBasic
)

// slot is one credential a scope was told to look for. Slots are written
// before the handler runs and only read afterwards, so reading them needs
// no lock.
type slot struct {
	name string // canonical header name or cookie name; "" for the bearer
	user string // the user name of Basic credentials
	v    secret.Value
	kind kind
	ok   bool // a well-formed credential was presented
}

// scope is the request scope: the cells taken from one request and the
// ephemeral cells its handler created, all destroyed when the handler
// returns. It is its own context (it embeds the request's context) so
// that Tokens costs one allocation for both.
type scope struct {
	context.Context
	outer  *scope // the scope of an earlier Tokens or guard, if any
	slots  []slot
	inline [3]slot // room for the common cases without a second allocation

	mu    sync.Mutex
	ended bool
	extra []secret.Value // from Ephemeral
}

// Value returns the scope for scopeKey and defers to the request's
// context for everything else.
func (s *scope) Value(key any) any {
	if key == any(scopeKey) {
		return s
	}
	return s.Context.Value(key)
}

// String names the context without printing anything secret.
func (s *scope) String() string {
	return fmt.Sprint(s.Context) + ".WithValue(secretmem/middleware scope)"
}

func newScope(parent context.Context, slots int) *scope {
	s := &scope{}
	s.init(parent, slots)
	return s
}

// init makes s, a zero scope, the scope of a request whose context is
// parent, with room for slots credentials.
func (s *scope) init(parent context.Context, slots int) {
	s.Context, s.outer = parent, scopeFrom(parent)
	if slots <= len(s.inline) {
		s.slots = s.inline[:0]
	} else {
		s.slots = make([]slot, 0, slots)
	}
}

func scopeFrom(ctx context.Context) *scope {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(scopeKey).(*scope)
	return s
}

// end destroys every cell of the scope. It runs from a deferred call, so
// it also runs when the handler panics.
func (s *scope) end() {
	for i := range s.slots {
		s.slots[i].v.Destroy()
	}
	s.mu.Lock()
	s.ended = true
	extra := s.extra
	s.extra = nil
	s.mu.Unlock()
	for _, v := range extra {
		v.Destroy()
	}
}

// lookup finds the slot for (k, name) in the nearest scope that was told
// to look for it. found is false when no scope looked for it at all.
func lookup(ctx context.Context, k kind, name string) (sl slot, found bool) {
	for s := scopeFrom(ctx); s != nil; s = s.outer {
		for _, sl := range s.slots {
			if sl.kind == k && sl.name == name {
				return sl, true
			}
		}
	}
	return slot{}, false
}

// Token returns the bearer token Tokens (or RequireBearer) took out of the
// request. The cell is volatile: the first Use consumes it, and every read
// after the response fails with secret.ErrDestroyed. ok is false when the
// request carried no well-formed token.
func Token(ctx context.Context) (secret.Value, bool) {
	sl, _ := lookup(ctx, kindBearer, "")
	return sl.v, sl.ok
}

// APIKey returns the API key Tokens (or RequireAPIKey) took out of the
// named request header. The cell is volatile and dies with the response.
// ok is false when the header was absent or malformed, or Tokens was not
// told to take it (WithAPIKeys).
func APIKey(ctx context.Context, header string) (secret.Value, bool) {
	sl, _ := lookup(ctx, kindAPIKey, canonicalHeader(header))
	return sl.v, sl.ok
}

// Cookie returns the cookie Tokens took out of the request. The cell is
// volatile and dies with the response. ok is false when the cookie was
// absent or malformed, or Tokens was not told to take it (WithCookies).
func Cookie(ctx context.Context, name string) (secret.Value, bool) {
	sl, _ := lookup(ctx, kindCookie, name)
	return sl.v, sl.ok
}

// Ephemeral copies b into a new pooled cell that is destroyed when the
// response ends (when the handler behind Tokens returns), and wipes b. Use
// it for secrets a handler derives per request: a decrypted session, a
// downstream access token. The cell is not volatile: it can be read until
// the response ends.
//
// It fails with ErrNoScope when the request did not pass through Tokens or
// a guard, with ErrEnded after the response; b is left as it was on error.
func Ephemeral(ctx context.Context, b []byte) (secret.Value, error) {
	s := scopeFrom(ctx)
	if s == nil {
		return secret.Value{}, ErrNoScope
	}
	// Hold the lock while creating, so end cannot miss the new cell.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return secret.Value{}, ErrEnded
	}
	v, err := secret.New(b)
	if err != nil {
		return secret.Value{}, fmt.Errorf("middleware: %w", err)
	}
	s.extra = append(s.extra, v)
	return v, nil
}
