// Package logging builds slog loggers that cannot leak a secret.
//
// New returns a ready logger: coloured text (github.com/lmittmann/tint) on
// a terminal, JSON everywhere else, always behind the redactor:
//
//	logger := logging.New(os.Stderr, &logging.Options{Level: slog.LevelInfo})
//	slog.SetDefault(logger)
//	slog.Info("connecting", "db", "postgres://app:hunter2@db/app")
//	// db=postgres://app:[REDACTED]@db/app
//
// Redact wraps any slog.Handler with the same protection:
//
//	h := logging.Redact(anyHandler, &logging.RedactOptions{})
//
// # What is redacted
//
// The redactor looks at every record's message and attributes, at every
// depth of groups, and at the attributes given to With, before the wrapped
// handler sees them:
//
//   - LogValuers are resolved by the redactor itself, so a secret.Value is
//     "[REDACTED]" even under a handler that never calls LogValue, and a
//     configuration type whose LogValue returns a group of its settings is
//     checked setting by setting. LogValuers that panic, return themselves
//     or nest without end become placeholders.
//   - Keys: an attribute whose key names a credential (see DefaultKeys:
//     "db_password", "X-Api-Key", "apiKey" and "access_token" do,
//     "max_tokens" and "token_count" do not) has its value replaced,
//     whatever its kind, and so has every attribute below a group or
//     WithGroup with such a name. The word list and the rule are the ones
//     config and middleware use.
//   - Patterns: strings, []byte values, error texts (with their wrapped
//     chain, as Error prints it), and the JSON and %+v text of other
//     values are searched for credentials: see Pattern. Only the secret
//     part is replaced, so "Bearer [REDACTED]" and
//     "postgres://app:[REDACTED]@db/app" stay useful.
//   - Live secrets: once a redactor exists, every long-lived secret.Value
//     (those alive when it was made, and those created later) registers a
//     keyed fingerprint of its plaintext (no copy of it), and
//     any string that contains the plaintext of a live cell has it
//     replaced. A secret that leaked into an ordinary string, an error or
//     a URL still does not reach the log. A destroyed cell stops matching.
//     Volatile cells (per-request tokens) and sealed cells are not
//     registered: their plaintext is not meant to outlive a read, and
//     registering every request's token would cost the request path.
//     Secrets shorter than 8 bytes are not tracked.
//
// Values of other kinds (numbers, times, durations, booleans) are passed
// through unless their key names a secret.
//
// # Cost
//
// A record that needs no change reaches the wrapped handler as it was,
// with no allocation; the redactor then costs a scan of each string's
// bytes and a lookup of each key (the verdicts on the first few hundred
// distinct keys a redactor sees are remembered; other keys are matched
// each time). Strings longer than RedactOptions.MaxLen are cut, so a huge
// value costs bounded time. The benchmarks beside the code give the
// numbers.
//
// # What it cannot do
//
// A redactor only sees what passes through slog. It cannot recognise a
// random-looking secret that is neither live in a secret.Value nor under a
// secret key nor in a known format, and it does not see bytes written to
// the log's io.Writer by other code.
package logging
