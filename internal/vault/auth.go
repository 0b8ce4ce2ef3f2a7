package vault

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/secretmem/secretmem/secret"
)

// Auth is how a Client gets its token: Token, EnvToken, TokenFile,
// AppRole or Kubernetes.
type Auth interface {
	login(ctx context.Context, c *Client) (login, error)
	// relogin reports whether logging in again can give a new token.
	relogin() bool
}

// login is what an Auth obtained.
type login struct {
	token     secret.Value
	owned     bool // the Client destroys it when it is replaced
	minted    bool // a login request made it
	ttl       time.Duration
	increment time.Duration // the TTL it was created with, when known
	renewable bool
}

// Token uses a token the caller holds in a cell. The Client reads the cell
// at every request and never destroys it; it renews the token when Vault
// says it is renewable, and cannot log in again once it expires.
type Token struct {
	Value secret.Value
}

func (a Token) login(ctx context.Context, c *Client) (login, error) {
	return c.lookupSelf(ctx, a.Value, false)
}

func (Token) relogin() bool { return false }

// EnvToken reads the token from VAULT_TOKEN into a cell at login.
type EnvToken struct{}

func (EnvToken) login(ctx context.Context, c *Client) (login, error) {
	s, ok := os.LookupEnv("VAULT_TOKEN")
	s = strings.TrimSpace(s)
	if !ok || s == "" {
		return login{}, fmt.Errorf("%w: VAULT_TOKEN is not set", ErrLogin)
	}
	v, err := secret.FromString(s, secret.Label("vault token"))
	if err != nil {
		return login{}, err
	}
	return c.lookupSelf(ctx, v, true)
}

func (EnvToken) relogin() bool { return false }

// TokenFile reads the token from a file, the sink Vault Agent writes (or
// the CLI's ~/.vault-token), straight into a cell. Logging in again reads
// the file again: Agent rewrites it when it renews or re-authenticates.
type TokenFile struct {
	Path string
}

func (a TokenFile) login(ctx context.Context, c *Client) (login, error) {
	v, err := secret.ReadFile(a.Path, secret.TrimNewline(), secret.Label("vault token"))
	if err != nil {
		return login{}, fmt.Errorf("%w: the token file: %v", ErrLogin, err)
	}
	if v.Len() == 0 {
		v.Destroy()
		return login{}, fmt.Errorf("%w: the token file %s is empty", ErrLogin, a.Path)
	}
	return c.lookupSelf(ctx, v, true)
}

func (TokenFile) relogin() bool { return true }

// AppRole logs in with a role ID and a secret ID. The secret ID comes
// from a cell (SecretID) or is read from a file at each login
// (SecretIDFile, e.g. where an orchestrator drops it); it goes from there
// into the request body in protected memory.
type AppRole struct {
	Mount        string // default "approle"
	RoleID       string // not a secret on its own
	SecretID     secret.Value
	SecretIDFile string
}

func (a AppRole) login(ctx context.Context, c *Client) (login, error) {
	sid := a.SecretID
	if a.SecretIDFile != "" {
		v, err := secret.ReadFile(a.SecretIDFile, secret.TrimNewline())
		if err != nil {
			return login{}, fmt.Errorf("%w: the AppRole secret ID file: %v", ErrLogin, err)
		}
		defer v.Destroy()
		sid = v
	}
	if a.RoleID == "" {
		return login{}, fmt.Errorf("%w: AppRole needs a role ID", ErrLogin)
	}
	body := []part{lit("{"), member("role_id", a.RoleID)}
	if sid != (secret.Value{}) {
		body = append(body, lit(","+field("secret_id")+`"`), hidden(sid), lit(`"`))
	}
	body = append(body, lit("}"))
	return c.logIn(ctx, orDefault(a.Mount, "approle"), body)
}

func (AppRole) relogin() bool { return true }

// Kubernetes logs in with the pod's service-account token, read from
// JWTFile (default: the projected token Kubernetes mounts) into a cell at
// each login, since the kubelet rotates it. Any auth method that takes
// {"role", "jwt"} at its login path works the same (the JWT/OIDC method
// too: set Mount).
type Kubernetes struct {
	Mount   string // default "kubernetes"
	Role    string
	JWTFile string // default /var/run/secrets/kubernetes.io/serviceaccount/token
}

// ServiceAccountToken is where Kubernetes mounts a pod's token.
const ServiceAccountToken = "/var/run/secrets/kubernetes.io/serviceaccount/token"

func (a Kubernetes) login(ctx context.Context, c *Client) (login, error) {
	if a.Role == "" {
		return login{}, fmt.Errorf("%w: Kubernetes auth needs a role", ErrLogin)
	}
	jwt, err := secret.ReadFile(orDefault(a.JWTFile, ServiceAccountToken), secret.TrimNewline())
	if err != nil {
		return login{}, fmt.Errorf("%w: the service-account token: %v", ErrLogin, err)
	}
	defer jwt.Destroy()
	body := []part{lit("{"), member("role", a.Role), lit("," + field("jwt") + `"`), hidden(jwt), lit(`"}`)}
	return c.logIn(ctx, orDefault(a.Mount, "kubernetes"), body)
}

func (Kubernetes) relogin() bool { return true }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// logIn posts body to auth/MOUNT/login and takes the token from the
// response into a cell.
func (c *Client) logIn(ctx context.Context, mount string, body []part) (login, error) {
	rq := request{op: "login", method: "POST", path: "auth/" + strings.Trim(mount, "/") + "/login", body: body}
	b, err := c.do(ctx, rq)
	if err != nil {
		return login{}, err
	}
	defer b.release()
	l, err := parseAuth(b.bytes(), true)
	if err != nil {
		return login{}, c.fail(rq, 200, nil, err)
	}
	l.owned, l.minted = true, true
	return l, nil
}

// lookupSelf checks a token the Client was given and learns its TTL. A
// token the Client owns (read from the environment or a file) is
// destroyed when it does not check out.
func (c *Client) lookupSelf(ctx context.Context, tok secret.Value, owned bool) (_ login, err error) {
	if owned {
		defer func() {
			if err != nil {
				tok.Destroy()
			}
		}()
	}
	rq := request{op: "look up the token", method: "GET", path: "auth/token/lookup-self", token: tok}
	b, err := c.do(ctx, rq)
	if err != nil {
		return login{}, err
	}
	defer b.release()
	l := login{token: tok, owned: owned}
	s := scanner{b: b.bytes()}
	err = s.top(func(name []byte) error {
		if string(name) != "data" {
			return s.skip()
		}
		return s.object(func(name []byte) error {
			var err error
			switch string(name) {
			case "ttl":
				l.ttl, err = s.seconds()
			case "creation_ttl":
				l.increment, err = s.seconds()
			case "renewable":
				l.renewable, err = s.boolean()
			default: // "id" is the token itself: skipped in place
				err = s.skip()
			}
			return err
		})
	})
	if err != nil {
		return login{}, c.fail(rq, 200, nil, err)
	}
	return l, nil
}

// parseAuth reads the "auth" block of a login or renewal: its TTL, whether
// it is renewable and, with withToken, the token into a new cell (a
// renewal repeats the token, which is then skipped in place).
func parseAuth(b []byte, withToken bool) (login, error) {
	var l login
	s := scanner{b: b}
	err := s.top(func(name []byte) error {
		if string(name) != "auth" {
			return s.skip()
		}
		if k, err := s.next(); err != nil || k != kindObject {
			return s.skip()
		}
		return s.object(func(name []byte) error {
			switch string(name) {
			case "client_token":
				if !withToken {
					return s.skip()
				}
				k, tok, err := s.scalar()
				if err != nil || k != kindString {
					return s.fail("expected the client token as a string")
				}
				l.token.Destroy()
				l.token, err = secret.New(tok, secret.Label("vault token"))
				scrubRegisters()
				return err
			case "lease_duration":
				var err error
				l.ttl, err = s.seconds()
				return err
			case "renewable":
				var err error
				l.renewable, err = s.boolean()
				return err
			}
			return s.skip()
		})
	})
	if err == nil && withToken && l.token.Len() == 0 {
		err = fmt.Errorf("%w: the response has no auth.client_token", ErrMalformed)
	}
	if err != nil {
		l.token.Destroy()
		return login{}, err
	}
	return l, nil
}
