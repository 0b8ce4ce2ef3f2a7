package vault

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config says where Vault is and how to log in. The zero value of every
// field but Auth is a sensible default; FromEnv fills it the way the
// Vault CLI reads its environment.
type Config struct {
	// Address is Vault's URL: https://host:8200, http://127.0.0.1:8200,
	// or unix:///path/to/agent.sock. Default https://127.0.0.1:8200.
	Address string
	// Namespace goes into X-Vault-Namespace (Vault Enterprise, HCP).
	Namespace string
	// CACert is a PEM file of CA certificates to verify Vault's
	// certificate with; CAPath a directory of them. CACert wins when both
	// are set, as in the CLI. Without either the system's roots are used.
	CACert, CAPath string
	// TLSServerName is the name to verify Vault's certificate against,
	// when it differs from the address's host.
	TLSServerName string
	// SkipVerify turns TLS verification off. Never in production.
	SkipVerify bool
	// Timeout bounds each request, retries included. Default 60 s.
	Timeout time.Duration
	// MaxRetries is how often a request that failed with a temporary
	// error (see Temporary) is sent again, with Backoff between. Default
	// 2, as in the CLI; negative means none.
	MaxRetries int
	// Backoff spaces those retries. Zero value: 250 ms doubling to 2 s,
	// with jitter.
	Backoff Backoff
	// MaxBody caps a response body, which is read into locked memory.
	// Default 1 MiB; a larger body fails with ErrTooLarge.
	MaxBody int
	// DisableRedirects refuses every redirect. Without it, one redirect
	// to the same scheme, host and port is followed; any other is refused
	// with ErrRedirect.
	DisableRedirects bool
	// AllowUnlocked lets request and response bodies live in memory that
	// is not locked when the memory-lock limit is reached.
	AllowUnlocked bool
	// Auth is how the Client gets its token. Required.
	Auth Auth
	// Logger gets renewals, re-logins and retries, never a secret.
	// Default: discard.
	Logger *slog.Logger
}

const (
	defaultAddress = "https://127.0.0.1:8200"
	defaultTimeout = 60 * time.Second
	defaultRetries = 2
	defaultMaxBody = 1 << 20
)

// FromEnv returns a Config read from the environment the way the Vault
// CLI reads it: VAULT_ADDR (VAULT_AGENT_ADDR wins when set),
// VAULT_NAMESPACE, VAULT_CACERT, VAULT_CAPATH, VAULT_TLS_SERVER_NAME,
// VAULT_SKIP_VERIFY, VAULT_CLIENT_TIMEOUT, VAULT_MAX_RETRIES and
// VAULT_DISABLE_REDIRECTS; the token from VAULT_TOKEN, else from the
// CLI's token file ~/.vault-token when it exists. Set Auth to log in
// another way.
//
// Refused with ErrConfig, not ignored: VAULT_CLIENT_CERT and
// VAULT_CLIENT_KEY (crypto/tls would hold the private key on the Go
// heap), VAULT_CACERT_BYTES, and VAULT_HTTP_PROXY / VAULT_PROXY_ADDR
// (requests go to Vault directly; the proxy variables of the CLI's HTTP
// library, HTTPS_PROXY and friends, are not used either).
//
// The token read from VAULT_TOKEN goes into a cell; the environment's
// own copy of it is the caller's to wipe.
func FromEnv() (Config, error) {
	c := Config{
		Address:       os.Getenv("VAULT_ADDR"),
		Namespace:     os.Getenv("VAULT_NAMESPACE"),
		CACert:        os.Getenv("VAULT_CACERT"),
		CAPath:        os.Getenv("VAULT_CAPATH"),
		TLSServerName: os.Getenv("VAULT_TLS_SERVER_NAME"),
	}
	if a := os.Getenv("VAULT_AGENT_ADDR"); a != "" {
		c.Address = a
	}
	for _, name := range []string{"VAULT_CLIENT_CERT", "VAULT_CLIENT_KEY", "VAULT_CACERT_BYTES", "VAULT_HTTP_PROXY", "VAULT_PROXY_ADDR"} {
		if os.Getenv(name) != "" {
			return Config{}, fmt.Errorf("vault: %w: %s is set, and this client does not support it", ErrConfig, name)
		}
	}
	var err error
	if c.SkipVerify, err = envBool("VAULT_SKIP_VERIFY"); err != nil {
		return Config{}, err
	}
	if c.DisableRedirects, err = envBool("VAULT_DISABLE_REDIRECTS"); err != nil {
		return Config{}, err
	}
	if v := os.Getenv("VAULT_CLIENT_TIMEOUT"); v != "" {
		if c.Timeout, err = parseSeconds(v); err != nil {
			return Config{}, fmt.Errorf("vault: %w: could not parse VAULT_CLIENT_TIMEOUT", ErrConfig)
		}
	}
	if v := os.Getenv("VAULT_MAX_RETRIES"); v != "" {
		n, err := strconv.ParseUint(v, 10, 31)
		if err != nil {
			return Config{}, fmt.Errorf("vault: %w: could not parse VAULT_MAX_RETRIES", ErrConfig)
		}
		c.MaxRetries = int(n)
		if n == 0 {
			c.MaxRetries = -1
		}
	}
	// An empty VAULT_TOKEN is no token, for the CLI as here.
	if strings.TrimSpace(os.Getenv("VAULT_TOKEN")) != "" {
		c.Auth = EnvToken{}
	} else if home, err := os.UserHomeDir(); err == nil {
		if p := filepath.Join(home, ".vault-token"); fileExists(p) {
			c.Auth = TokenFile{Path: p}
		}
	}
	return c, nil
}

func envBool(name string) (bool, error) {
	v := os.Getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("vault: %w: could not parse %s", ErrConfig, name)
	}
	return b, nil
}

// parseSeconds reads a duration as the CLI does: "90", "90s", "1m30s".
func parseSeconds(v string) (time.Duration, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(v)
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// endpoint is a parsed Address.
type endpoint struct {
	base   *url.URL // scheme and host; the path prefix is kept
	socket string   // a unix socket's path, or ""
	shown  string   // what errors call it
}

func parseAddress(addr string) (endpoint, error) {
	if addr == "" {
		addr = defaultAddress
	}
	u, err := url.Parse(addr)
	if err != nil || u.Scheme == "" {
		return endpoint{}, fmt.Errorf("vault: %w: the address %q is not a URL (e.g. https://vault.example.com:8200)", ErrConfig, addr)
	}
	if u.User != nil {
		return endpoint{}, fmt.Errorf("vault: %w: the address must not carry a user or password", ErrConfig)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return endpoint{}, fmt.Errorf("vault: %w: the address %q has no host", ErrConfig, addr)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		return endpoint{base: u, shown: u.String()}, nil
	case "unix":
		path := u.Path
		if path == "" {
			path = u.Opaque
		}
		if path == "" {
			return endpoint{}, fmt.Errorf("vault: %w: the address %q names no socket", ErrConfig, addr)
		}
		return endpoint{base: &url.URL{Scheme: "http", Host: "localhost"}, socket: path, shown: addr}, nil
	}
	return endpoint{}, fmt.Errorf("vault: %w: the address scheme %q is not http, https or unix", ErrConfig, u.Scheme)
}

// tlsConfig builds the client's TLS configuration: TLS 1.2 or later,
// HTTP/1.1 only, verified against CACert, CAPath or the system roots.
func (c *Config) tlsConfig() (*tls.Config, error) {
	conf := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		NextProtos:         []string{"http/1.1"},
		ServerName:         c.TLSServerName,
		InsecureSkipVerify: c.SkipVerify, //nolint:gosec // the caller asked, as VAULT_SKIP_VERIFY does
	}
	switch {
	case c.CACert != "":
		pem, err := os.ReadFile(c.CACert)
		if err != nil {
			return nil, fmt.Errorf("vault: %w: reading the CA file: %v", ErrConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("vault: %w: %s holds no PEM certificate", ErrConfig, c.CACert)
		}
		conf.RootCAs = pool
	case c.CAPath != "":
		// As the CLI: every file below the directory must hold a certificate.
		pool := x509.NewCertPool()
		err := filepath.WalkDir(c.CAPath, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			pem, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("%s holds no PEM certificate", path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("vault: %w: the CA directory: %v", ErrConfig, err)
		}
		conf.RootCAs = pool
	}
	return conf, nil
}
