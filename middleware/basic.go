package middleware

import (
	"bytes"
	"context"
	"encoding/base64"

	"github.com/secretmem/secretmem/secret"
)

// addBasic decodes Basic credentials (base64 of "user:password") into
// protected memory and adds a slot holding the user name and the password
// cell. The decoding writes straight into a cell; the decoded bytes never
// touch the heap, and the user name leaves protected memory only when the
// credentials are well formed. A credential without a colon, control
// bytes or bad base64 is absent.
func (s *scope) addBasic(k kind, encoded []byte) {
	n, ok := decodedLen(encoded)
	if !ok {
		return
	}
	raw, err := secret.Read(base64Reader{encoded}, n, volatile...)
	if err != nil {
		return
	}
	defer raw.Destroy()
	sl := slot{kind: k}
	_ = raw.Use(func(b []byte) error {
		i := bytes.IndexByte(b, ':')
		if i < 0 || !printable(b) {
			return nil
		}
		// An empty password is a credential too ("key:" is how some
		// services take an API key); it gets no cell, only ok.
		if i+1 < len(b) {
			if sl.v, sl.ok = cell(b[i+1:]); !sl.ok {
				return nil
			}
		}
		sl.user, sl.ok = string(b[:i]), true
		return nil
	})
	if sl.ok {
		s.slots = append(s.slots, sl)
	}
}

// decodedLen is the length of the padded standard base64 text b decodes
// to, if b has the shape of one.
func decodedLen(b []byte) (int, bool) {
	if len(b) == 0 || len(b)%4 != 0 {
		return 0, false
	}
	n := len(b) / 4 * 3
	if b[len(b)-1] == '=' {
		n--
		if b[len(b)-2] == '=' {
			n--
		}
	}
	return n, n > 0
}

// base64Reader decodes its whole input into the first Read's buffer,
// which secret.Read sizes to the decoded length and places in protected
// memory.
type base64Reader struct{ src []byte }

func (r base64Reader) Read(p []byte) (int, error) {
	return base64.StdEncoding.Decode(p, r.src)
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// BasicAuth returns the user name and password of the request's
// "Authorization: Basic" credentials, which Tokens (or a guard) took out
// of the request with the other credentials. The password is a volatile
// cell, destroyed when the response ends; an empty password has no cell
// (its Len is 0). ok is false when the request carried no Basic
// credentials or malformed ones: not base64, or without the colon between
// user and password. Such a credential is never exposed, not even as a
// user name, because it may be a bare secret.
func BasicAuth(ctx context.Context) (user string, password secret.Value, ok bool) {
	sl, _ := lookup(ctx, kindBasic, "")
	return sl.user, sl.v, sl.ok
}

// ProxyBasicAuth is BasicAuth for the Proxy-Authorization header, which
// Tokens always takes out of the request.
func ProxyBasicAuth(ctx context.Context) (user string, password secret.Value, ok bool) {
	sl, _ := lookup(ctx, kindProxyBasic, "")
	return sl.user, sl.v, sl.ok
}

// ProxyToken returns the bearer token of the request's Proxy-Authorization
// header (scheme Bearer). The cell is volatile and dies with the response.
func ProxyToken(ctx context.Context) (secret.Value, bool) {
	sl, _ := lookup(ctx, kindProxyBearer, "")
	return sl.v, sl.ok
}
