package config

import (
	"log/slog"
	"time"

	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/secret"
)

// Option configures Load, SecretDirProvider and Protect. Source options
// (File, Env, SecretDir, SystemdCredentials, Source) are applied in the order
// given, later sources overriding earlier ones; the others may appear
// anywhere. Providers ignore source options.
type Option struct{ apply func(*settings) }

// Wipe names a kind of leftover that Load overwrites once the secrets it
// held are in cells. Every kind is wiped by default; NoWipe turns kinds off.
type Wipe uint8

const (
	// WipeFileBuffers: configuration files are read into protected scratch
	// memory, parsed there and wiped. Turned off, they are read with
	// os.ReadFile onto the Go heap and left to the garbage collector, which
	// only a parser that keeps references into its input needs.
	WipeFileBuffers Wipe = 1 << iota
	// WipeParserStrings: the strings a parser produced for secret keys are
	// overwritten in place, when they are writable heap memory.
	WipeParserStrings
	// WipeEnv: environment variables that held a secret (or were named by
	// an env: reference) are unset after a successful Load.
	WipeEnv
	// WipeEnvMemory: on Linux, the value bytes of those variables are also
	// overwritten in the Go runtime's copy of the environment and in the
	// process's original environment block (what /proc/self/environ shows).
	// It applies only to variables WipeEnv unsets. Strings the program got
	// from os.Getenv for such a variable before Load share those bytes and
	// read as zeros afterwards: clone them if you must keep them.
	WipeEnvMemory
)

// Defaults for the options that take a size or a duration.
const (
	DefaultMaxSecretSize = 1 << 20
	DefaultPollInterval  = 10 * time.Second
	DefaultGracePeriod   = time.Minute
)

type settings struct {
	sources       []source
	require       []string
	secretKeys    []string
	plainKeys     []string
	names         []string
	guarded       bool
	strict        bool
	maxSecret     int64
	noWipe        Wipe
	noReferences  bool
	logger        *slog.Logger
	poll          time.Duration
	grace         time.Duration
	settle        time.Duration
	retryMin      time.Duration
	retryMax      time.Duration
	reloadTimeout time.Duration
	unhealthy     int
	err           error // the first invalid option
	rules         classifier
}

func newSettings(opts []Option) *settings {
	s := &settings{
		names:         defaultSecretNames,
		maxSecret:     DefaultMaxSecretSize,
		poll:          DefaultPollInterval,
		grace:         DefaultGracePeriod,
		settle:        DefaultSettleTime,
		retryMin:      DefaultRetryMin,
		retryMax:      DefaultRetryMax,
		reloadTimeout: DefaultReloadTimeout,
		unhealthy:     DefaultUnhealthy,
	}
	for _, o := range opts {
		if o.apply != nil {
			o.apply(s)
		}
	}
	s.rules = classifier{secretKeys: s.secretKeys, plainKeys: s.plainKeys, names: s.names, references: !s.noReferences}
	return s
}

func (s *settings) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

func (s *settings) wipes(w Wipe) bool { return s.noWipe&w == 0 }

func (s *settings) warn(msg string, args ...any) {
	l := s.logger
	if l == nil {
		l = slog.Default()
	}
	l.Warn(msg, args...)
}

// cellOptions are the options of every cell the loader creates for key.
func (s *settings) cellOptions(key string, file bool) []secret.Option {
	opts := make([]secret.Option, 0, 3)
	if s.guarded {
		opts = append(opts, secret.Guarded())
	}
	opts = append(opts, secret.Label(key))
	if file {
		opts = append(opts, secret.TrimNewline())
	}
	return opts
}

// File loads a YAML (.yaml, .yml), JSON (.json), TOML (.toml) or dotenv
// (.env) file, chosen by the file's extension. It must be a regular file
// (symbolic links are followed). It is read into protected scratch
// memory, parsed there and wiped. A secret keeps the text it was written
// with: YAML 00123456 stays 00123456, a JSON number keeps every digit.
func File(path string) Option {
	return Option{func(s *settings) { s.sources = append(s.sources, &fileSource{path: path}) }}
}

// Env loads the environment variables that start with prefix. The rest of
// the name is lower-cased and every double underscore separates two levels
// of the key; a single underscore stays part of the name:
//
//	APP_DB__PASSWORD       -> db.password
//	APP_HTTP__READ_TIMEOUT -> http.read_timeout
//
// A variable ending in _FILE names a file whose content is the secret value
// of the key without the suffix (the Docker convention):
// APP_DB__PASSWORD_FILE=/run/secrets/db gives the secret db.password.
// Names with an empty level (APP_A____B, APP___A) or a dot are skipped.
// The prefix must not be empty: a loader that unsets secrets must not roam
// the whole environment.
func Env(prefix string) Option {
	return Option{func(s *settings) {
		if prefix == "" {
			s.fail(optionError("Env needs a non-empty prefix, such as \"APP_\""))
			return
		}
		s.sources = append(s.sources, &envSource{prefix: prefix})
	}}
}

// SecretDir loads every file in dir as a secret: the file's name is the key
// and its content the value, with one trailing newline trimmed inside the
// cell. Names starting with a dot are skipped, which is how the Kubernetes
// layout (key -> ..data/key -> ..2024_01_01_00_00_00.1/key) is followed:
// symbolic links are resolved and the ..data machinery ignored.
// Subdirectories add a level to the key (db/password -> db.password).
// Docker secrets (/run/secrets) and Kubernetes secret volumes use this
// layout. A missing directory is an error.
func SecretDir(dir string) Option {
	return Option{func(s *settings) { s.sources = append(s.sources, &dirSource{dir: dir}) }}
}

// SystemdCredentials loads the systemd credentials directory named by
// $CREDENTIALS_DIRECTORY (LoadCredential=, SetCredentialEncrypted=) like
// SecretDir. Outside a systemd service the variable is unset and the
// option loads nothing; use Require to insist on keys.
func SystemdCredentials() Option {
	return Option{func(s *settings) {
		s.sources = append(s.sources, &dirSource{fromEnv: "CREDENTIALS_DIRECTORY"})
	}}
}

// Source loads any koanf provider, parsed by pa when the provider yields
// bytes (pa may be nil for providers that yield maps). Its secret keys go
// into cells like those of File; the bytes a provider returns live on the
// Go heap and are wiped after parsing. With koanf's YAML, JSON or TOML v2
// parser, or YAML, the bytes are parsed as File parses them, and secrets
// keep the text they were written with. Any other parser, and a provider
// that yields maps, hands over typed values: a secret that arrives as an
// integer or a boolean is written in canonical form, and one that arrives
// as a float, a date or any other type is refused (ErrSecretType), its text
// being lost.
func Source(p koanf.Provider, pa koanf.Parser) Option {
	return Option{func(s *settings) { s.sources = append(s.sources, &providerSource{p: p, pa: pa}) }}
}

// Require makes Load fail with ErrMissing, naming every required key at
// once, unless all keys exist after every source was loaded and none is
// empty: a key set to nothing (an empty secret, "", an empty list or map,
// null) counts as missing, and the message marks it "(set but empty)".
// A reload by Watch checks the same and keeps the old values.
func Require(keys ...string) Option {
	return Option{func(s *settings) { s.require = append(s.require, keys...) }}
}

// SecretKeys marks the keys matching patterns as secret, on top of the
// name rule (see SecretNames). A pattern is a dotted key in which * matches
// within one level and ? one character ("db.password", "*.token",
// "services.*.key"); a pattern that matches a key's parent covers all its
// children ("tls" covers tls.key and tls.cert). SecretKeys wins over
// PlainKeys.
func SecretKeys(patterns ...string) Option {
	return Option{func(s *settings) {
		for _, p := range patterns {
			if err := checkPattern(p); err != nil {
				s.fail(err)
			}
		}
		s.secretKeys = append(s.secretKeys, patterns...)
	}}
}

// PlainKeys exempts the keys matching patterns (as in SecretKeys) from the
// name rule, for plain values whose names look secret, such as
// "auth.token_ttl". It cannot make a value plain that arrived as a secret:
// secret directories, _FILE variables and references stay secret.
func PlainKeys(patterns ...string) Option {
	return Option{func(s *settings) {
		for _, p := range patterns {
			if err := checkPattern(p); err != nil {
				s.fail(err)
			}
		}
		s.plainKeys = append(s.plainKeys, patterns...)
	}}
}

// SecretNames replaces the name rule's word list. A key is secret when one
// of its levels names a credential by the rule the package doc describes
// (words of six letters or more anywhere in the level, shorter ones where
// they end a word, qualifiers such as _count or max_ excepted); a word
// starting with '=' must equal a whole level instead ("=key" matches
// tls.key but not cache_key), and one starting with '~' must be a whole
// word of a level ("~pass" matches db_pass, DBPass and SMTP_PASS, but not
// passage or compass). SecretNames() with no words
// turns the name rule off. The default list (see DefaultSecretNames) errs
// on the side of protection.
func SecretNames(words ...string) Option {
	return Option{func(s *settings) { s.names = normalizeNames(words) }}
}

// Pooled puts secrets into pooled cells: slots in shared chunks of locked
// memory, read without a system call. It is the default (see Guarded).
func Pooled() Option { return Option{func(s *settings) { s.guarded = false }} }

// Guarded puts every secret into a guarded cell (secret.Guarded): a page
// run of its own between inaccessible guard pages, itself inaccessible
// while no read is in flight. That isolation costs two mprotect calls per
// read (about 2.6 µs here, against 30 ns for a pooled cell) and a locked
// page per secret: 1,000 secrets lock 4 MiB, half the common 8 MiB
// RLIMIT_MEMLOCK, where pooled cells lock about 124 KiB. Pooled cells are
// the default because a service reads its secrets on every request and
// shares the lock limit with everything else it keeps in cells; choose
// Guarded for a few long-lived keys read rarely.
func Guarded() Option { return Option{func(s *settings) { s.guarded = true }} }

// Strict turns the warning about a world-readable secret file into an
// error (ErrSecretFile).
func Strict() Option { return Option{func(s *settings) { s.strict = true }} }

// MaxSecretSize sets the largest secret file accepted (default 1 MiB).
func MaxSecretSize(n int64) Option {
	return Option{func(s *settings) {
		if n <= 0 || n > secret.MaxSize {
			s.fail(optionError("MaxSecretSize must be between 1 and secret.MaxSize"))
			return
		}
		s.maxSecret = n
	}}
}

// NoWipe turns the given kinds of wiping off (combine them with |).
func NoWipe(w Wipe) Option { return Option{func(s *settings) { s.noWipe |= w }} }

// NoReferences turns off file:/path and env:NAME references, for
// configurations whose plain values may legitimately look like them.
func NoReferences() Option { return Option{func(s *settings) { s.noReferences = true }} }

// Logger receives warnings (world-readable secret files). The default is
// slog.Default().
func Logger(l *slog.Logger) Option { return Option{func(s *settings) { s.logger = l }} }

// PollInterval sets how often Watch checks its files and directories for
// changes (default 10 s).
func PollInterval(d time.Duration) Option {
	return Option{func(s *settings) {
		if d <= 0 {
			s.fail(optionError("PollInterval must be positive"))
			return
		}
		s.poll = d
	}}
}

// GracePeriod sets how long cells replaced by a reload stay readable
// before they are destroyed (default one minute), so that work in flight
// with an old secret can finish.
func GracePeriod(d time.Duration) Option {
	return Option{func(s *settings) {
		if d < 0 {
			s.fail(optionError("GracePeriod must not be negative"))
			return
		}
		s.grace = d
	}}
}

// Defaults of the reload options.
const (
	DefaultSettleTime    = 250 * time.Millisecond
	DefaultRetryMin      = time.Second
	DefaultRetryMax      = 5 * time.Minute
	DefaultReloadTimeout = 30 * time.Second
	DefaultUnhealthy     = 3
)

// SettleTime sets how long a file must hold the same content before a
// reload installs it (default 250 ms): a file seen holding it that long
// before the reload is installed at once; any other is read, then checked
// SettleTime later, and if it changed meanwhile it may have been caught
// half written, so the reload starts over. A writer that truncates a file
// and writes it in pieces needs a window longer than its longest pause,
// which a loaded machine can stretch to tens of milliseconds (the proof
// soak saw 24 ms); a file rewritten more often than every SettleTime
// cannot be told from one being written, and a reload that keeps finding
// that fails with ErrUnsettled. A Kubernetes volume (whose generations
// never change once published) and sources that are not files need no
// wait. 0 trusts any content seen twice.
func SettleTime(d time.Duration) Option {
	return Option{func(s *settings) {
		if d < 0 {
			s.fail(optionError("SettleTime must not be negative"))
			return
		}
		s.settle = d
	}}
}

// RetryBackoff sets how long Watch waits before it tries a failed reload
// again: initial after the first failure, doubling up to limit, each wait
// jittered between half and all of it (defaults 1 s and 5 min). A change
// to the sources is tried at once whatever the backoff.
func RetryBackoff(initial, limit time.Duration) Option {
	return Option{func(s *settings) {
		if initial <= 0 || limit < initial {
			s.fail(optionError("RetryBackoff needs 0 < initial <= limit"))
			return
		}
		s.retryMin, s.retryMax = initial, limit
	}}
}

// ReloadTimeout sets how long a reload may take before it is abandoned
// and reported as failed (ErrReloadTimeout; default 30 s). A read the
// system cannot interrupt (a hung NFS or FUSE mount, a koanf provider that
// blocks) is left to return on its own; until it does, no other reload
// starts, and each try is reported as failed.
func ReloadTimeout(d time.Duration) Option {
	return Option{func(s *settings) {
		if d <= 0 {
			s.fail(optionError("ReloadTimeout must be positive"))
			return
		}
		s.reloadTimeout = d
	}}
}

// UnhealthyAfter sets how many reloads in a row must fail before Health
// reports the Config unhealthy (default 3).
func UnhealthyAfter(failures int) Option {
	return Option{func(s *settings) {
		if failures < 1 {
			s.fail(optionError("UnhealthyAfter needs at least 1"))
			return
		}
		s.unhealthy = failures
	}}
}
