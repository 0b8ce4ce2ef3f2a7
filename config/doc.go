// Package config loads a service's configuration with koanf
// (github.com/knadh/koanf/v2) and puts every secret straight into a
// protected memory cell (secret.Value), with the bytes it was written
// with, never leaving it as a Go string inside the Config.
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
// # How a load runs
//
// Load is a pipeline. Each source reads into a layer of flat keys, each
// holding a plain value, secret bytes already in a cell, or a reference
// (file:, env:, a _FILE variable, a secret directory's file), and does
// nothing else. One classifier decides what is secret, asked by every
// source about every value before any copy is kept. The layers merge in
// the order given, later ones overriding earlier ones key by key, as in
// koanf. The references that survive the merge are read (an overridden one
// never is), Require is checked, and the load commits: overridden cells
// are destroyed and the environment variables secrets came from are
// unset. A failure anywhere leaves no cell and touches no variable.
//
// # Sources
//
// File picks its parser by extension. Env maps APP_DB__PASSWORD to
// db.password: the prefix is removed, the rest is lower-cased, a double
// underscore separates levels and a single one stays inside a name
// (APP_HTTP__READ_TIMEOUT -> http.read_timeout). SecretDir reads one file
// per key (Docker secrets, Kubernetes secret volumes, with their ..data
// symlink layout); SystemdCredentials reads $CREDENTIALS_DIRECTORY. Source
// takes any koanf provider and parser. Vault reads HashiCorp Vault (or
// OpenBao) paths, KV v1, KV v2 and dynamic secrets such as the database
// engine's credentials, with the standard library's HTTP client: each
// response is parsed in locked memory and every field goes from there
// into a cell (see Vault for logins, renewals and rotation).
//
// # Which keys are secret
//
//   - every key from a secret directory;
//   - every key given as a _FILE environment variable
//     (APP_DB__PASSWORD_FILE=/run/secrets/db, the Docker convention);
//   - every value written as a reference, "file:/absolute/path" (an
//     absolute path as the system defines it, C:\ and \\server\share on
//     Windows) or "env:NAME" (turn references off with NoReferences);
//   - keys matching SecretKeys patterns ("db.password", "*.token");
//   - keys with a level that names a credential by the toolkit's one
//     word rule, the same the log redactor and the request logger apply:
//     a level is read as words (db_password, apiKey, X-Api-Key); long
//     words (password, secret, api_key, private_key, credential) match
//     anywhere, short ones (token, pwd, jwt) where they end a word
//     (access_token, tokens, not tokenizer), and a match qualified as data
//     about a credential (token_count, max_tokens, password_length) is
//     not one. See DefaultSecretNames. The rule errs on the side of
//     protection; exempt plain keys with PlainKeys, or replace the words
//     with SecretNames.
//
// # What a secret holds
//
// A secret's cell holds the value as it was written: the scalar's text in
// YAML, JSON and TOML (00123456 stays 00123456, a 30-digit number keeps
// every digit, 2024-01-02 and yes stay text), the raw value of a variable
// or a file (with one trailing newline trimmed). Quotes and escapes are
// the format's own (a JSON "\u00e9" is é). Null is an empty secret. Plain
// keys keep the typed values koanf's parsers give them.
//
// A secret key must hold one value. A list under a secret key, a map
// with an entry that has no value (an unquoted YAML password: {s3cret} is
// a map whose entry is named s3cret), a list whose items have a secret
// key, and a secret whose type its source does not keep as text are
// errors (ErrSecretType) that name the key and line and never the value:
// koanf keeps a list as one value and prints map keys, so the secret
// could not get a cell and would be shown.
//
// # References
//
// A file: reference, a _FILE variable and a secret directory's entry
// must name a regular file (symbolic links are followed): a named pipe, a
// device or a socket is refused at once and never read. An env:NAME
// reference reads NAME into the cell; it unsets and wipes NAME only when
// NAME, read as a key in lower case, is secret by the rules above
// (DB_PASSWORD, GITHUB_TOKEN, or a name SecretKeys lists). Any other
// variable (env:PATH, env:HOME) is left as it is, because the process and
// the programs it starts need it. Variables an Env source takes as
// secrets are always unset.
//
// # Cells and leftovers
//
// Config secrets are pooled cells labelled with their key: locked slots
// in shared chunks, read without a system call, since a service reads its
// secrets on every request and shares the memory-lock limit with
// everything else it keeps in cells. Guarded gives each secret a guarded
// page run instead. A refused memory lock fails Load with
// secret.ErrMemoryLock and says how to raise the limit. Configuration
// files are read into protected scratch memory, parsed there, and wiped;
// JSON, TOML and .env secrets go from there into their cells without a
// Go string being made of them, and the strings yaml.v3 makes of a YAML
// scalar are overwritten in place when they are heap memory, as are the
// YAML decoder's buffers. The environment variables secrets came from are
// unset and, on Linux, their values are overwritten in the Go runtime's
// copy of the environment and in the original block that
// /proc/self/environ shows. NoWipe turns each kind of wiping off.
//
// What stays out of reach: copies a parser made internally and dropped
// while it worked, which the garbage collector frees without wiping.
// yaml.v3 drops each scalar's token buffer once it moved on (one copy of
// every YAML secret until the heap reuses the memory), and for a plain
// scalar it tries to read as a number (a 30-digit integer, a float, text
// that starts with a digit) strconv clones the text into the errors it
// drops (up to two more). go-toml drops the growth buffers of a long
// string with escapes. JSON, .env and the environment leave none; the
// proof suite counts all of them in core dumps. Prefer those formats, or
// secret directories and _FILE variables, whose bytes go from read(2)
// into the cell, for the most sensitive values.
//
// # Access
//
// Secret and LookupSecret return cells; Secret of a missing or plain key
// returns a Value whose reads fail with ErrMissing naming the key. String,
// Int, Bool, Duration and the other getters return plain values only.
// Unmarshal decodes into structs whose secret fields are secret.Value and
// hands them the Config's own cells. Koanf returns a copy of the koanf
// instance with every secret redacted; Redacted returns a map for a
// /config endpoint; LogValue makes slog print every key with secrets as
// [REDACTED].
//
// # Errors
//
// A malformed file yields ErrSyntax naming the file and line. Messages
// never contain a value: a parser's own message is stripped of everything
// it quotes. Missing or empty required keys are listed together
// (ErrMissing). Secret files that are too large (MaxSecretSize, default
// 1 MiB), not regular files, or unreadable give ErrSecretFile; a
// world-readable one (by its mode bits, or on Windows its DACL) is a
// warning, or an error with Strict.
//
// # Rotation
//
// Watch polls what a Config came from (files, secret directories, a
// Kubernetes volume's ..data link) and reloads when its content changes,
// compared by a keyed hash, not by size and time. A reload reads one
// generation whole (..data is resolved once), waits SettleTime and checks
// that nothing changed under it, so a file still being written is never
// installed; it keeps the cells of keys that did not change and retires
// the replaced ones after GracePeriod. A failed reload keeps the old
// values and is retried with backoff; Reload forces one; Status, Health
// and HealthHandler report generation, failures and the keys that
// changed. A Vault source is watched too: KV v2 versions through their
// metadata, and leases, renewed when due and replaced by new credentials
// when Vault will not renew them. Snapshot gives a handler every value
// from one generation:
//
//	cfg.Watch(ctx, func(err error) { ... })  // nil: reloaded; retried on error
//	snap := cfg.Snapshot()                  // per request: no allocation
//	user, pw := snap.String("db.user"), snap.Secret("db.password")
//	defer cfg.Close()                       // bounded, even if a read hangs
//
// # Plain koanf
//
// SecretDirProvider and Protect are koanf providers whose secret keys come
// out as cells, for programs that keep their own *koanf.Koanf.
package config
