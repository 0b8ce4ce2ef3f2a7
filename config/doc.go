// Package config loads a service's configuration with koanf
// (github.com/knadh/koanf/v2) and puts every secret straight into a
// protected memory cell (secret.Value), never leaving it as a Go string
// inside the Config.
//
//	cfg, err := config.Load(
//		config.File("config.yaml"),       // YAML, JSON, TOML or .env, by extension
//		config.Env("APP_"),               // APP_DB__PASSWORD -> db.password
//		config.SecretDir("/run/secrets"), // one file per key
//		config.Require("db.password", "api.key"),
//	)
//	if err != nil { ... }
//	defer cfg.Close()                     // destroys every cell
//	pw := cfg.Secret("db.password")       // secret.Value
//	addr := cfg.String("http.addr")
//	slog.Info("config", "config", cfg)    // every key, secrets as [REDACTED]
//
// # Sources
//
// Sources load in the order given; later ones override earlier ones, key
// by key, as in koanf. File picks its parser by extension. Env maps
// APP_DB__PASSWORD to db.password: the prefix is removed, the rest is
// lower-cased, a double underscore separates levels and a single one stays
// inside a name (APP_HTTP__READ_TIMEOUT -> http.read_timeout). SecretDir
// reads one file per key (Docker secrets, Kubernetes secret volumes, with
// their ..data symlink layout); SystemdCredentials reads
// $CREDENTIALS_DIRECTORY. Source takes any koanf provider and parser.
//
// # Which keys are secret
//
//   - every key from a secret directory;
//   - every key given as a _FILE environment variable
//     (APP_DB__PASSWORD_FILE=/run/secrets/db, the Docker convention);
//   - every value written as a reference, "file:/absolute/path" or
//     "env:NAME" (turn references off with NoReferences);
//   - keys matching SecretKeys patterns ("db.password", "*.token");
//   - keys with a level whose name contains a secret word: password,
//     passwd, secret, token, api_key, apikey, private_key, credential and
//     more (see DefaultSecretNames). The rule errs on the side of
//     protection; exempt plain keys with PlainKeys, or replace the words
//     with SecretNames.
//
// A secret key must hold one value; a list under a secret name, and a
// list whose items have a secret key (servers: [{password: ...}]), are
// errors (ErrSecretType) rather than silent leaks: koanf keeps a list as
// one value, so an item's secret could not get a cell of its own.
//
// # Cells and leftovers
//
// Config secrets are guarded cells (secret.Guarded) labelled with their key;
// Pooled chooses pooled cells. Secret files are read with secret.ReadFile,
// so their bytes never touch the Go heap, and one trailing newline is
// trimmed inside the cell. Configuration files are read into protected
// scratch memory, parsed there, and wiped. Parsers make Go strings of their
// own: those that became secrets are overwritten in place when they are
// heap memory (never a literal or other read-only or global data). The
// environment variables secrets came from are unset and, on Linux, their
// values are overwritten in the Go runtime's copy of the environment and
// in the original block that /proc/self/environ shows. NoWipe turns each
// kind of wiping off.
//
// The YAML parser (YAML, also for Source) wipes the decoder's input
// buffers and token queue after decoding. What stays out of reach: copies
// a parser made internally and dropped while it worked (the bytes of a
// YAML scalar once the decoder moved on, a JSON string with escapes),
// which the garbage collector frees without wiping. Prefer secret
// directories or _FILE variables for the most sensitive values: their bytes
// go from read(2) into the cell.
//
// # Access
//
// Secret and LookupSecret return cells; String, Int, Bool, Duration and
// the other getters return plain values only. Unmarshal decodes into
// structs whose secret fields are secret.Value. Koanf returns a copy of the
// koanf instance with every secret redacted; Redacted returns a map for a
// /config endpoint; LogValue makes slog print every key with secrets as
// [REDACTED].
//
// # Errors
//
// A malformed file yields ErrSyntax naming the file and line, and Load
// loads nothing: no cell survives a failed Load and no environment
// variable is touched. Messages never contain a value: a parser's own
// message is stripped of everything it quotes. Missing or empty required
// keys are listed together (ErrMissing). Secret files that are too large
// (MaxSecretSize, default 1 MiB), directories or unreadable give
// ErrSecretFile; a world-readable one is a warning, or an error with
// Strict.
//
// # Rotation
//
// Watch polls the files and directories a Config came from and reloads
// when they change, swapping the new cells in atomically and destroying
// the replaced ones after GracePeriod.
//
// # Plain koanf
//
// SecretDirProvider and Protect are koanf providers whose secret keys come
// out as cells, for programs that keep their own *koanf.Koanf.
package config
