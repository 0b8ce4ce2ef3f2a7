package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretmem/secretmem/internal/vault"
	"github.com/secretmem/secretmem/secret"
)

// Vault is a source: secrets read from HashiCorp Vault (or OpenBao, which
// speaks the same API), one or more paths, every field a secret.
//
//	cfg, err := config.Load(
//		config.File("app.yaml"),
//		config.Vault(config.VaultConn{}, // VAULT_ADDR, VAULT_TOKEN, ... as the CLI reads them
//			config.VaultPath{Path: "secret/data/app", Fields: map[string]string{"password": "db.password"}},
//			config.VaultPath{Path: "secret/data/payments", Prefix: "payments"},
//			config.VaultPath{Path: "database/creds/app", Fields: map[string]string{"username": "db.user", "password": "db.password"}},
//		),
//	)
//
// Each response body is read into locked memory outside core dumps and
// parsed there by a small JSON scanner; each field goes from there into
// its cell. No value is ever a Go string or an unwiped heap buffer, and
// github.com/hashicorp/vault/api (which decodes into map[string]any) is
// not used. A string field's cell holds the decoded string; a number or
// boolean its JSON text exactly as Vault sent it ("5432", "1.50", "true");
// null and lists are refused.
//
// The Vault source keeps what it needs while the Config lives: a login's
// token is renewed at two thirds of its TTL, and when it cannot be renewed
// (max TTL, a restarted Vault) the source logs in again. Under Watch, a KV
// v2 path is polled through its metadata (the version number, no secret;
// without the read capability on metadata, through the data) and a new
// version is read and swapped in; a dynamic secret's lease (the database
// engine's username and password) is renewed at two thirds of its TTL,
// and when Vault will not renew it further, or not at all, the path is
// read again for new credentials, which replace the old pair in one
// generation (Snapshot: a reader sees the new user with the new password,
// never a mix). Replaced cells stay readable for the GracePeriod and the
// old lease is left to run out, so connections opened with it can drain.
// A renewal Vault refuses for a while (sealed, rate limited) is retried
// with RetryBackoff; a lease Vault sends as 0 s is taken for five minutes.
// Watch's callback, Status().Changed and Snapshot.Generation tell the
// application what rotated, so it can reconnect.
//
// Failures: Vault unreachable, a 403, 404, 429 or 5xx, malformed JSON, a
// body over VaultConn.MaxBody or a redirect to another host fail Load
// with an error naming the address and the path, never a value; under
// Watch, the current cells keep serving and the reload is retried with
// backoff and jitter (RetryBackoff), reported in Status, Health and the
// Logger.
func Vault(conn VaultConn, paths ...VaultPath) Option {
	return Option{func(s *settings) {
		if len(paths) == 0 {
			s.fail(fmt.Errorf("%w: config.Vault needs at least one path", ErrReference))
			return
		}
		for i, p := range paths {
			if strings.Trim(p.Path, "/") == "" {
				s.fail(fmt.Errorf("%w: config.Vault path %d is empty", ErrReference, i+1))
				return
			}
		}
		s.sources = append(s.sources, &vaultSource{conn: conn, paths: paths})
	}}
}

// VaultConn says where Vault is and how to log in. Empty fields are read
// from the environment as the Vault CLI reads it (VAULT_ADDR,
// VAULT_NAMESPACE, VAULT_CACERT, VAULT_CAPATH, VAULT_TLS_SERVER_NAME,
// VAULT_SKIP_VERIFY, VAULT_CLIENT_TIMEOUT, VAULT_MAX_RETRIES,
// VAULT_DISABLE_REDIRECTS; VAULT_AGENT_ADDR wins over VAULT_ADDR), unless
// NoEnv is set. TLS verification is on unless SkipVerify or
// VAULT_SKIP_VERIFY turns it off. VAULT_CLIENT_CERT, VAULT_CLIENT_KEY and
// the VAULT proxy variables are refused rather than ignored: crypto/tls
// would hold a client key on the Go heap, and a proxy would see the
// token.
type VaultConn struct {
	// Address: https://vault:8200, http://127.0.0.1:8200 or
	// unix:///run/vault-agent.sock. Default VAULT_ADDR, else
	// https://127.0.0.1:8200.
	Address   string
	Namespace string
	// CACert is a PEM file of CA certificates to verify Vault with; CAPath
	// a directory of them. Default: the system's roots.
	CACert, CAPath string
	TLSServerName  string
	SkipVerify     bool
	// Auth is how to get a token. Default: VAULT_TOKEN, else the CLI's
	// ~/.vault-token.
	Auth VaultAuth
	// Timeout bounds each request, retries included (default 60 s).
	Timeout time.Duration
	// MaxBody caps a response body (default 1 MiB).
	MaxBody int
	// RevokeOnClose revokes, at Close, the leases the source read and the
	// token it logged in with (a token it was given is left alone).
	// Without it they run out at their TTL.
	RevokeOnClose bool
	// NoEnv ignores the VAULT_* environment.
	NoEnv bool
}

// VaultPath names one Vault path and the keys its fields become.
type VaultPath struct {
	// Path is the API path below /v1/: "secret/data/app" (KV v2),
	// "kv/app" (KV v1), "database/creds/app" (a dynamic, leased secret).
	Path string
	// Fields maps field names to keys: {"password": "db.password"}. Every
	// mapped field must be in the secret. Without Fields, every field
	// becomes a key: Prefix + "." + its name (its name alone without
	// Prefix), and a field holding an object one key per leaf.
	Fields map[string]string
	Prefix string
	// KV is the KV engine's version: 2 or 1; 0 tells by the path (a "data"
	// segment after the mount means 2).
	KV int
}

// VaultAuth is a way to log in: VaultToken, VaultTokenFile, VaultAppRole
// or VaultKubernetes.
type VaultAuth interface{ vaultAuth() vault.Auth }

// VaultToken uses a token the caller holds in a cell; the source never
// destroys it and cannot log in again once it expires.
type VaultToken struct{ Value secret.Value }

// VaultTokenFile reads the token from a file (a Vault Agent sink) into a
// cell, and again when it must log in anew: Agent rewrites the file.
type VaultTokenFile struct{ Path string }

// VaultAppRole logs in with a role ID and a secret ID, the secret ID from
// a cell or read from a file at each login. Mount defaults to "approle".
type VaultAppRole struct {
	Mount        string
	RoleID       string
	SecretID     secret.Value
	SecretIDFile string
}

// VaultKubernetes logs in with the pod's service-account token, read from
// JWTFile (default: the token Kubernetes mounts) at each login. Mount
// defaults to "kubernetes"; any method taking {"role", "jwt"} works.
type VaultKubernetes struct {
	Mount   string
	Role    string
	JWTFile string
}

func (a VaultToken) vaultAuth() vault.Auth     { return vault.Token{Value: a.Value} }
func (a VaultTokenFile) vaultAuth() vault.Auth { return vault.TokenFile{Path: a.Path} }
func (a VaultAppRole) vaultAuth() vault.Auth {
	return vault.AppRole{Mount: a.Mount, RoleID: a.RoleID, SecretID: a.SecretID, SecretIDFile: a.SecretIDFile}
}
func (a VaultKubernetes) vaultAuth() vault.Auth {
	return vault.Kubernetes{Mount: a.Mount, Role: a.Role, JWTFile: a.JWTFile}
}

// vaultSource is Vault. Its client is made at the first read and lives
// until Close, across reloads: it holds the token, renewed in the
// background from the first successful load on.
type vaultSource struct {
	conn  VaultConn
	paths []VaultPath

	mu       sync.Mutex
	client   *vault.Client
	fromEnv  bool // the token came from VAULT_TOKEN
	keepStop context.CancelFunc
	keepDone chan struct{}
	closed   bool
	// noMeta: the token may not read KV metadata, so probes read data.
	noMeta atomic.Bool
	s      *settings // for the logger, set at connect
}

func (v *vaultSource) warnf(format string, args ...any) {
	v.mu.Lock()
	s := v.s
	v.mu.Unlock()
	if s != nil {
		s.warn(fmt.Sprintf(format, args...))
	}
}

func (v *vaultSource) name() string {
	if c := v.current(); c != nil {
		return "vault " + c.Address()
	}
	return "vault"
}

// connect makes the client once.
func (v *vaultSource) connect(s *settings) (*vault.Client, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil, ErrClosed
	}
	if v.client != nil {
		return v.client, nil
	}
	v.s = s
	var cfg vault.Config
	if !v.conn.NoEnv {
		var err error
		if cfg, err = vault.FromEnv(); err != nil {
			return nil, fmt.Errorf("config: vault: %w", err)
		}
	}
	c := v.conn
	for _, f := range []struct {
		dst *string
		src string
	}{{&cfg.Address, c.Address}, {&cfg.Namespace, c.Namespace}, {&cfg.CACert, c.CACert},
		{&cfg.CAPath, c.CAPath}, {&cfg.TLSServerName, c.TLSServerName}} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	if c.CACert != "" && c.CAPath == "" {
		cfg.CAPath = "" // the caller's CA file, not the environment's directory
	}
	cfg.SkipVerify = cfg.SkipVerify || c.SkipVerify
	if c.Timeout > 0 {
		cfg.Timeout = c.Timeout
	}
	if c.MaxBody > 0 {
		cfg.MaxBody = c.MaxBody
	}
	if c.Auth != nil {
		cfg.Auth = c.Auth.vaultAuth()
	}
	if cfg.Auth == nil {
		return nil, fmt.Errorf("config: vault: %w: no way to log in: set VaultConn.Auth, VAULT_TOKEN or ~/.vault-token", vault.ErrConfig)
	}
	_, v.fromEnv = cfg.Auth.(vault.EnvToken)
	cfg.Logger = s.logger
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.AllowUnlocked = false
	client, err := vault.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("config: vault: %w", err)
	}
	v.client = client
	warnInsecure(s, client.Address(), cfg.SkipVerify)
	return client, nil
}

// warnInsecure says so when the token and secrets may be read on the
// way: TLS not verified (VAULT_SKIP_VERIFY, left on from a test, turns
// verification off whatever the program set), or plain HTTP to another
// host.
func warnInsecure(s *settings, addr string, skipVerify bool) {
	u, err := url.Parse(addr)
	if err != nil {
		return
	}
	switch {
	case u.Scheme == "https" && skipVerify:
		s.warn("config: vault: TLS verification is off (SkipVerify or VAULT_SKIP_VERIFY): whoever answers for "+u.Host+" gets the token", "addr", addr)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		s.warn("config: vault: plain HTTP to another host: the token and secrets cross the network unencrypted", "addr", addr)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// keepAlive starts renewing the token in the background, once.
func (v *vaultSource) keepAlive(s *settings) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed || v.keepStop != nil || v.client == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	v.keepStop, v.keepDone = cancel, make(chan struct{})
	c, done := v.client, v.keepDone
	go func() {
		defer close(done)
		_ = c.KeepTokenAlive(ctx, func(err error) {
			s.warn("config: vault: could not renew the token or log in again; retrying", "err", err)
		})
	}()
}

// close stops the renewals, revokes what RevokeOnClose asks for, and lets
// the client go.
func (v *vaultSource) close(ctx context.Context) error {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil
	}
	v.closed = true
	c, stop, done := v.client, v.keepStop, v.keepDone
	v.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	if c == nil {
		return nil
	}
	revoke := v.conn.RevokeOnClose
	return c.Close(ctx, vault.CloseOptions{RevokeLeases: revoke, RevokeToken: revoke})
}

func (v *vaultSource) mapping(p VaultPath) vault.Mapping {
	return vault.Mapping{Path: p.Path, Fields: p.Fields, Prefix: p.Prefix, KV: p.KV}
}

func (v *vaultSource) cellOptions(s *settings) []secret.Option {
	if s.guarded {
		return []secret.Option{secret.Guarded()}
	}
	return nil
}

// read reads every path into one layer. A dynamic secret whose lease is
// still good keeps the cells the last load read (a reload for another
// reason must not issue new database credentials); everything else is
// read again, and carryOver keeps the cells of values that did not
// change.
func (v *vaultSource) read(t *txn) (*layer, error) {
	s := t.s
	c, err := v.connect(s)
	if err != nil {
		return nil, err
	}
	l := newLayer(s, "vault "+c.Address())
	// Log in first (unless the token is good): each lease is tied to the
	// login it was read under (see leaseState.serial).
	if err := t.at("vault " + c.Address() + " login"); err != nil {
		return nil, err
	}
	if err := c.Login(t.ctx); err != nil {
		return nil, v.readError(v.pathList(), err)
	}
	owner := map[string]string{} // key -> path, to catch two paths giving one key
	for i, p := range v.paths {
		if err := t.at("vault " + c.Address() + " " + p.Path); err != nil {
			l.discard()
			return nil, err
		}
		if dep, st, fields := t.heldVault(v, i); dep != nil {
			// A lease still good, or a KV path the probe before this
			// reload found unchanged: its cells serve on, unread.
			for _, f := range fields {
				if err := l.claim(owner, f.Key, p.Path); err != nil {
					l.discard()
					return nil, err
				}
				l.put(flatLoc(f.Key), entry{kind: secretText, cell: f.Value})
				t.kept = append(t.kept, f.Value)
			}
			l.depend(dep, st)
			continue
		}
		// The login a lease is read under, taken first: a login during the
		// read errs towards reading the credentials again too soon.
		serial := c.TokenInfo().Serial
		sec, err := c.Read(t.ctx, v.mapping(p), v.cellOptions(s)...)
		if err != nil {
			l.discard()
			return nil, v.readError(p.Path, err)
		}
		for _, f := range sec.Fields {
			l.cells = append(l.cells, f.Value)
		}
		if id := sec.Lease.ID; id != "" {
			l.undo = append(l.undo, func() { v.revoke(c, id) })
		}
		for _, f := range sec.Fields {
			if err := l.claim(owner, f.Key, p.Path); err != nil {
				l.discard()
				return nil, err
			}
			l.put(flatLoc(f.Key), entry{kind: secretText, cell: f.Value})
		}
		switch {
		case sec.Lease.ID != "":
			d := &leaseDep{src: v, index: i, path: sec.Path, fields: sec.Fields, lease: newLeaseState(sec.Lease, serial)}
			l.depend(d, d.stamp(t.stamps))
		case v.mapping(p).KV2():
			d := &kvDep{src: v, index: i, path: p, fields: sec.Fields}
			l.depend(d, d.stampOf(t.stamps, sec.Version, sec.Created))
		default:
			d := &kvDep{src: v, index: i, path: p, fields: sec.Fields}
			l.depend(d, d.stampOfFields(t.stamps, sec))
		}
	}
	if v.fromEnv {
		t.wipeVars = append(t.wipeVars, "VAULT_TOKEN")
	}
	v.keepAlive(s)
	return l, nil
}

// revoke revokes a lease whose credentials a failed load read and
// destroyed: nobody will use them, and they would stay valid for their
// TTL. It gives up after revokeWait; the lease then runs out.
func (v *vaultSource) revoke(c *vault.Client, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), revokeWait)
	defer cancel()
	if err := c.RevokeLease(ctx, id); err != nil {
		v.warnf("config: vault: could not revoke the lease of credentials a failed load read; they run out at their TTL: %v", err)
	}
}

const revokeWait = 5 * time.Second

// pathList names every path, for an error before any is read.
func (v *vaultSource) pathList() string {
	names := make([]string, len(v.paths))
	for i, p := range v.paths {
		names[i] = strings.Trim(p.Path, "/")
	}
	return strings.Join(names, ", ")
}

// readError says which path a read failed for: a failed login or an
// unreachable Vault names the login's path in its own error.
func (v *vaultSource) readError(path string, err error) error {
	if strings.Contains(err.Error(), strings.Trim(path, "/")) {
		return fmt.Errorf("config: %w", err)
	}
	return fmt.Errorf("config: reading vault %s: %w", strings.Trim(path, "/"), err)
}

// claim records that key comes from path, refusing a key two paths give.
func (l *layer) claim(owner map[string]string, key, path string) error {
	if other, dup := owner[key]; dup {
		return fmt.Errorf("%w: vault paths %s and %s both give %s; map one elsewhere", ErrReference, other, path, key)
	}
	owner[key] = path
	return nil
}

// heldVault returns what the state this load replaces read from path i
// of v, when its cells can serve on without a read: a lease that is good,
// not marked for replacement (see leaseState.keep); or a KV path whose
// probe, just before this reload, found the version the state read; and
// every cell is one the state owns. It returns the dependency, its stamp
// and the fields, or a nil dependency.
func (t *txn) heldVault(v *vaultSource, i int) (dependency, stamp, []vault.Field) {
	c := v.current()
	if t.prev == nil || c == nil {
		return nil, stamp{}, nil
	}
	serial := c.TokenInfo().Serial
	for j, ver := range t.prev.versions {
		var fields []vault.Field
		switch d := ver.dep.(type) {
		case *leaseDep:
			if d.src != v || d.index != i || !d.lease.keep(serial) {
				continue
			}
			fields = d.fields
		case *kvDep:
			if d.src != v || d.index != i || j >= len(t.before) || t.before[j] != ver.stamp {
				continue
			}
			fields = d.fields
		default:
			continue
		}
		for _, f := range fields {
			// A cell prev does not own was overridden by a later layer:
			// destroyed, or retiring with an older state, which would
			// destroy it under this one after its grace period.
			if _, owned := t.prev.owned[f.Value]; !owned || !f.Value.Alive() {
				return nil, stamp{}, nil
			}
		}
		return ver.dep, ver.stamp, fields
	}
	return nil, stamp{}, nil
}

// kvDep is a KV path: its version (v2) or its content (v1), and the
// fields a load read from it.
type kvDep struct {
	src    *vaultSource
	index  int // which of src.paths
	path   VaultPath
	fields []vault.Field
}

func (d *kvDep) String() string { return "vault " + d.path.Path }

// carried points the fields at the cells carryOver kept in place of
// theirs (it destroyed these): a reload then keeps the path unread.
func (d *kvDep) carried(repl map[secret.Value]secret.Value) { carryFields(d.fields, repl) }

func carryFields(fields []vault.Field, repl map[secret.Value]secret.Value) {
	for i, f := range fields {
		if oc, ok := repl[f.Value]; ok {
			fields[i].Value = oc
		}
	}
}

// stampOf is the stamp of a KV v2 version: its number and when it was
// written (a number alone repeats after the metadata is deleted).
func (d *kvDep) stampOf(st *stamper, version int, created string) stamp {
	return st.of([]byte("vault kv\x00"), []byte(d.path.Path), []byte(fmt.Sprintf("\x00%d\x00%s", version, created)))
}

// stampOfFields is the stamp of a secret's names, keys and values, for a
// path without versions: each value's own stamp, never its bytes, goes
// into the whole's.
func (d *kvDep) stampOfFields(st *stamper, sec *vault.Secret) stamp {
	parts := [][]byte{[]byte("vault fields\x00"), []byte(d.path.Path)}
	for _, f := range sec.Fields {
		sub := st.ofCell(f.Value)
		parts = append(parts, []byte("\x00"+f.Name+"\x00"+f.Key+"\x00"), sub[:])
	}
	return st.of(parts...)
}

// probe asks Vault for the path's current version: the metadata of a KV
// v2 path when the token may read it, else the data itself (its cells are
// destroyed at once).
func (d *kvDep) probe(ctx context.Context, st *stamper) stamp {
	c := d.src.current()
	if c == nil {
		return st.failed(ErrClosed)
	}
	m := d.src.mapping(d.path)
	if m.KV2() && !d.src.noMeta.Load() {
		n, created, err := c.KVCurrent(ctx, d.path.Path)
		if err == nil {
			return d.stampOf(st, n, created)
		}
		if !errors.Is(err, vault.ErrForbidden) {
			return st.failed(err)
		}
		d.src.noMeta.Store(true)
	}
	sec, err := c.Read(ctx, m, secret.AllowUnlocked())
	if err != nil {
		return st.failed(err)
	}
	defer sec.Destroy()
	if m.KV2() {
		return d.stampOf(st, sec.Version, sec.Created)
	}
	return d.stampOfFields(st, sec)
}

func (v *vaultSource) current() *vault.Client {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	return v.client
}
