// Command testserver is the secretmem demo service: a small but real HTTP
// API whose secrets live in protected memory cells, wired the way a user of
// the library would wire it.
//
//	go run ./testserver                       # 127.0.0.1:8080, embedded demo config
//	go run ./testserver -config app.yaml -secrets-dir /run/secrets
//	APP_API__KEY_FILE=/run/secrets/api go run ./testserver
//	VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=... go run ./testserver
//
// # Flags
//
//	-addr address      listen address (default 127.0.0.1:8080)
//	-config file       configuration file over the embedded defaults: YAML
//	                   (.yaml, .yml), JSON, TOML or .env, by extension
//	-secrets-dir dir   directory with one secret per file, the file name
//	                   being the key (Docker /run/secrets, Kubernetes secret
//	                   volumes, systemd credentials); db/password is
//	                   db.password
//	-log-format f      auto (coloured text on a terminal, JSON otherwise),
//	                   text or json; logs go to stderr
//	-demo=false        do not start from the embedded demo configuration:
//	                   only -config, -secrets-dir and APP_ variables count
//	-credential-listener=false
//	                   serve without middleware.Listener: credentials then
//	                   pass through net/http's read buffer and strings
//	-tls-addr address  also serve HTTPS there, with the certificate whose
//	                   private key is tls.key (PEM; the chain in the same
//	                   value or in the file tls.cert_file): each handshake
//	                   is signed from protected memory (HTTP/2 and TLS sit
//	                   outside middleware.Listener: see its doc)
//	-poll d            how often to look for changed secrets (default 2s)
//	-grace d           how long a replaced secret stays valid (default 1m)
//	-vault address     load secrets from Vault (default $VAULT_ADDR; with
//	                   neither set, Vault is not used)
//	-vault-path path   a Vault path to read (repeatable; default
//	                   secret/data/testserver, KV v2)
//	-vault-token-file f
//	                   the Vault token from a file (a Vault Agent sink);
//	                   default $VAULT_TOKEN, else ~/.vault-token
//	-vault-role-id id, -vault-secret-id-file f
//	                   log in with AppRole instead, the secret ID read
//	                   from f at each login
//	-h                 print the usage and exit 0
//
// # Configuration
//
// Sources, each overriding the one before: the embedded default.yaml (its
// secrets are published demo values), -config, -secrets-dir, Vault (when
// -vault or VAULT_ADDR is set), then environment variables starting with
// APP_. The rest of a variable's name is
// lower-cased and a double underscore separates levels: APP_API__KEY is
// api.key, APP_DB__PASSWORD is db.password, APP_HTTP__SHUTDOWN_TIMEOUT is
// http.shutdown_timeout. A name ending in _FILE reads the value from that
// file (one trailing newline trimmed): APP_API__KEY_FILE,
// APP_SIGNING__KEY_FILE, APP_DB__PASSWORD_FILE.
//
// api.key (the bearer key clients send) and signing.key (the HMAC key) are
// required and must not be empty. ed25519.private_key (an Ed25519 private key,
// PEM) and jwt.secret (the HS256 key of the tokens the server issues) are
// optional: without them their endpoints are absent. Every key is read
// through the configuration at each use and never leaves protected memory
// to sign (package sign). http.read_header_timeout and
// http.shutdown_timeout (durations, default 10s) are optional.
// upstream.token is the bearer token GET /api/upstream sends to
// upstream.url; without upstream.url the server runs that upstream itself,
// on another port of 127.0.0.1, requiring the same token.
//
// # Vault
//
// With -vault or VAULT_ADDR set, the server reads each -vault-path
// (default secret/data/testserver) through config.Vault: every field of
// the secret is a key named as the field, dots making levels, so
//
//	vault kv put secret/testserver api.key=... signing.key=...
//
// sets api.key and signing.key (a field holding a JSON object gives one
// key per leaf). Every value from Vault is a secret: it goes from the
// response into a cell without a Go string on the way, and /config shows
// it as [REDACTED]. VAULT_NAMESPACE, VAULT_CACERT, VAULT_SKIP_VERIFY and
// the other VAULT_ variables are read as the Vault CLI reads them;
// VAULT_TOKEN is unset and wiped once the token is in a cell. A Vault
// that cannot be reached at start, a missing path or a token without the
// right to read it is a start-up failure naming the address and the path.
//
// # Rotation
//
// The server follows its sources: when the configuration file, a file of
// the secret directory (Kubernetes ..data swaps included), a _FILE target
// or a Vault KV v2 secret (a new version) changes, it reloads within
// -poll and the new secrets serve the next requests; a Vault token or a
// leased secret (database credentials) is renewed, and replaced when it
// cannot be; api.key's previous value stays accepted for -grace.
// SIGHUP reloads at once. A reload that fails keeps the old values, is
// logged and retried with backoff; GET /readyz reports it.
//
// # Endpoints
//
//	GET  /healthz        200 "ok"
//	GET  /readyz         the configuration's reload status as JSON: 200,
//	                     or 503 once reloads keep failing
//	GET  /api/whoami     needs "Authorization: Bearer <api.key>"; 200 with
//	                     JSON, 401 without the key
//	POST /api/sign       needs the bearer key; 200 with the HMAC-SHA256 of
//	                     the body under signing.key, 413 for a body over
//	                     1 MiB
//	POST /api/sign/ed25519  the same, an Ed25519 signature under
//	                     ed25519.private_key, with the public key
//	POST /api/token      needs the bearer key; 200 with an HS256 JWT
//	                     (15 minutes, ?sub= sets its subject)
//	GET  /api/jwt/whoami needs "Authorization: Bearer <JWT>"; 200 with the
//	                     token's claims, 401 without a valid token
//	GET  /api/upstream   needs the bearer key; calls the upstream with
//	                     upstream.token through outbound.Transport and
//	                     reports its answer
//	GET  /config         every key as JSON, secrets as [REDACTED]
//	GET  /debug/secrets  secret.Stats() as JSON
//	GET  /debug/runtime  the goroutine count, for the proof suite's soak
//
// On start the server logs where it listens and prints curl lines to call
// it. SIGINT or SIGTERM shuts it down gracefully and destroys every cell;
// the exit status is then 0. A start-up failure (a bad flag, an unreadable
// config, a missing or empty required secret, a port in use) prints one
// line on stderr, never a secret, and exits 1; an unreachable Vault is
// retried first, each retry logged as a warning.
package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/secretmem/secretmem/config"
	"github.com/secretmem/secretmem/logging"
	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/secret"
)

//go:embed default.yaml
var defaultConfig []byte

// demoAPIKey is the published api.key of the embedded configuration. The
// start-up hint prints it only while the server still uses it.
const demoAPIKey = "demo-api-key-0123456789"

// demoConfig is the embedded configuration as a koanf provider that hands
// out a fresh copy at each read: config wipes the bytes a provider
// returns once it has parsed them, and every reload reads each source
// again (a rawbytes.Provider over one slice yields zeros from the second
// read on, and every reload failed).
type demoConfig struct{}

func (demoConfig) ReadBytes() ([]byte, error) { return bytes.Clone(defaultConfig), nil }

func (demoConfig) Read() (map[string]any, error) {
	return nil, errors.New("the embedded configuration is read as bytes")
}

// maxSignBody is the largest body POST /api/sign signs; a longer one gets
// 413 Request Entity Too Large.
const maxSignBody = 1 << 20

func main() {
	os.Exit(exitCode(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

// exitCode turns run's result into the process's exit status: 0 for a
// clean shutdown or -h, 1 with one line on stderr for anything else.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	}
	// One line, whatever the error says: a start-up failure must not
	// scroll the reason off the screen.
	fmt.Fprintln(stderr, "testserver:", strings.Join(strings.Fields(err.Error()), " "))
	return 1
}

// requiredSecrets must hold a non-empty value before the server starts.
var requiredSecrets = []string{"api.key", "signing.key"}

// run is main without the exit: it returns on a start-up error, or after a
// graceful shutdown on SIGINT, SIGTERM or ctx's end. -h writes the usage to
// stdout; logs and the start-up hint go to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("testserver", flag.ContinueOnError)
	// The flag package would print its error, the usage and (through main)
	// the error again: keep its output for -h only.
	flags.SetOutput(io.Discard)
	addr := flags.String("addr", "127.0.0.1:8080", "listen `address`")
	cfgPath := flags.String("config", "", "configuration `file` (YAML, JSON, TOML or .env, by extension) over the embedded defaults")
	secretsDir := flags.String("secrets-dir", "", "`directory` with one secret per file (Docker, Kubernetes, systemd)")
	logFormat := flags.String("log-format", "auto", "log format: auto, text or json")
	takeCredentials := flags.Bool("credential-listener", true, "take credentials out of the connection's bytes before net/http reads them (middleware.Listener)")
	demo := flags.Bool("demo", true, "start from the embedded demo configuration (-demo=false: only -config, -secrets-dir and APP_ variables)")
	tlsAddr := flags.String("tls-addr", "", "also serve HTTPS on `address`, with the key tls.key (PEM) signing from protected memory")
	poll := flags.Duration("poll", 2*time.Second, "how often to look for changed secrets")
	grace := flags.Duration("grace", config.DefaultGracePeriod, "how long a replaced secret stays valid")
	var vf vaultFlags
	vf.register(flags)
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, "usage: testserver [flags]\n\n"+
				"The secretmem demo service (go doc ./testserver). APP_ environment\n"+
				"variables override the configuration: APP_API__KEY is api.key,\n"+
				"APP_API__KEY_FILE=path reads it from a file. With VAULT_ADDR (or\n"+
				"-vault) set, secrets are also read from Vault (-vault-path).\n\nFlags:\n")
			flags.SetOutput(stdout)
			flags.PrintDefaults()
			return err
		}
		return fmt.Errorf("%w (see -h)", err)
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -h)", flags.Arg(0))
	}
	format, err := parseFormat(*logFormat)
	if err != nil {
		return err
	}
	logger := logging.New(stderr, &logging.Options{Format: format})

	// Sources in order of precedence, lowest first: the embedded demo
	// configuration, a file, a secret directory, Vault, APP_ variables.
	var opts []config.Option
	if *demo {
		opts = append(opts, config.Source(demoConfig{}, config.YAML()))
	}
	if *cfgPath != "" {
		// Say "no such file" rather than the loader's "unknown file
		// format" for a missing path without an extension.
		if _, err := os.Stat(*cfgPath); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return fmt.Errorf("-config %s: %w", *cfgPath, err)
		}
		opts = append(opts, config.File(*cfgPath))
	}
	if *secretsDir != "" {
		opts = append(opts, config.SecretDir(*secretsDir))
	}
	if v, on, err := vf.option(); err != nil {
		return err
	} else if on {
		opts = append(opts, v)
	}
	opts = append(opts,
		config.Env("APP_"),
		config.Require(requiredSecrets...),
		config.Logger(logger),
		// The API key is compared on every request: a guarded cell would
		// cost two mprotect calls per request, so this service keeps its
		// secrets in pooled cells (locked, out of dumps, memfd_secret, but
		// without guard pages of their own).
		config.Pooled(),
		config.PollInterval(*poll),
		config.GracePeriod(*grace),
	)
	cfg, err := config.Load(opts...)
	if err != nil {
		return err
	}
	serving := false
	defer func() {
		cfg.Close()
		purged := secret.Purge()
		// Before serving, the one line of the start-up error is all the
		// reader needs.
		if serving {
			logger.Info("secrets destroyed", "cells_purged", purged, "live", secret.Stats().Live)
		}
	}()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		var sys *os.SyscallError
		if errors.As(err, &sys) {
			err = sys.Err // "address already in use", without the address twice
		}
		return fmt.Errorf("cannot listen on %s: %w", *addr, err)
	}
	serving = true
	if err := followRotations(ctx, cfg, logger); err != nil {
		return err
	}
	up, err := startUpstream(cfg, logger)
	if err != nil {
		return err
	}
	defer up.close(context.Background())
	sg, err := newSigning(cfg, logger)
	if err != nil {
		return err
	}
	defer sg.close()
	handler := routes(cfg, logger, up, sg)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: durationOr(cfg, "http.read_header_timeout", 10*time.Second),
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 2)
	if *takeCredentials {
		// Credentials go from the socket into cells: net/http's read
		// buffer and header strings hold placeholders (see the proof
		// suite).
		ln = middleware.Listener(ln)
	}
	go func() { errc <- srv.Serve(ln) }()
	if *tlsAddr != "" {
		tsrv, cert, tln, err := serveTLS(cfg, *tlsAddr, handler, logger)
		if err != nil {
			return err
		}
		defer cert.Close()
		defer tsrv.Close()
		go func() { errc <- tsrv.ServeTLS(tln, "", "") }()
		logger.Info("listening tls", "addr", tln.Addr().String())
	}
	announce(ln.Addr().String(), cfg, logger, stderr)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), durationOr(cfg, "http.shutdown_timeout", 10*time.Second))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func parseFormat(s string) (logging.Format, error) {
	switch s {
	case "auto":
		return logging.FormatAuto, nil
	case "text":
		return logging.FormatText, nil
	case "json":
		return logging.FormatJSON, nil
	}
	return 0, fmt.Errorf("-log-format must be auto, text or json, not %q", s)
}

func durationOr(cfg *config.Config, key string, d time.Duration) time.Duration {
	if v := cfg.Duration(key); v > 0 {
		return v
	}
	return d
}

// announce tells a newcomer where the server listens and how to call it,
// the way a dev-mode server does. The API key is printed only while it is
// the published demo value; a real key never leaves its cell.
func announce(addr string, cfg *config.Config, logger *slog.Logger, stderr io.Writer) {
	st := secret.Stats()
	logger.Info("listening", "addr", addr, "backend", st.Backend, "protected", st.Protected,
		"cells", st.Live, "config", cfg)
	base := "http://" + addr
	key := "$API_KEY"
	if cfg.Secret("api.key").Equal([]byte(demoAPIKey)) {
		key = demoAPIKey
		fmt.Fprintln(stderr, "testserver: api.key is the published demo value; set APP_API__KEY_FILE or -secrets-dir for a real one")
	}
	fmt.Fprintf(stderr, "testserver: try\n"+
		"  curl %[1]s/healthz\n"+
		"  curl %[1]s/readyz\n"+
		"  curl -H 'Authorization: Bearer %[2]s' %[1]s/api/whoami\n"+
		"  curl -H 'Authorization: Bearer %[2]s' -d 'hello' %[1]s/api/sign\n"+
		"  curl -H 'Authorization: Bearer %[2]s' -d 'hello' %[1]s/api/sign/ed25519\n"+
		"  curl -H 'Authorization: Bearer %[2]s' -X POST %[1]s/api/token\n"+
		"  curl -H \"Authorization: Bearer $JWT\" %[1]s/api/jwt/whoami\n"+
		"  curl -H 'Authorization: Bearer %[2]s' %[1]s/api/upstream\n"+
		"  curl %[1]s/config\n"+
		"  curl %[1]s/debug/secrets\n", base, key)
}

func routes(cfg *config.Config, logger *slog.Logger, up *upstream, sg *signing) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Logger(logger))
	r.Use(middleware.Tokens())
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})
	r.Get("/readyz", cfg.HealthHandler().ServeHTTP)
	r.Get("/config", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, cfg.Redacted())
	})
	r.Get("/debug/secrets", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, secret.Stats())
	})
	r.Get("/debug/runtime", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]int{"goroutines": runtime.NumGoroutine()})
	})
	r.Group(func(r chi.Router) {
		r.Use(middleware.RequireBearerFrom(cfg, "api.key"))
		r.Get("/api/whoami", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{
				"subject": "api-client",
				"app":     cfg.String("app.name"),
				"auth":    "bearer",
			})
		})
		r.Get("/api/upstream", up.serveHTTP)
		sg.routes(r)
	})
	sg.jwtRoutes(r)
	return r
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
