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
// The redactor looks at every place text can appear before the wrapped
// handler sees it: the message, attribute keys, group names, the names
// given to WithGroup and the attributes given to With, at every depth of
// groups, and values of every kind:
//
//   - LogValuers are resolved by the redactor itself, so a secret.Value is
//     "[REDACTED]" even under a handler that never calls LogValue, and a
//     configuration type whose LogValue returns a group of its settings is
//     checked setting by setting. LogValuers that panic, return themselves
//     or nest without end become placeholders.
//   - Keys: an attribute whose key names a credential (see DefaultKeys:
//     "db_password", "X-Api-Key", "apiKey" and "access_token" do,
//     "max_tokens" and "token_count" do not) has its value replaced,
//     whatever its kind; a group under such a key stays a group with each
//     value replaced, and so does everything below a WithGroup of such a
//     name. The word list and the rule are the ones config and middleware
//     use. Struct fields (by Go and JSON name) and map keys, in
//     http.Header, url.Values and any other map, are matched the same way.
//   - Patterns: strings, []byte values, error texts (with their wrapped
//     chain, as Error prints it), and the text of other values are
//     searched for credentials: see Pattern. Only the secret part is
//     replaced, so "Bearer [REDACTED]" and
//     "postgres://app:[REDACTED]@db/app" stay useful.
//   - Live secrets: once a redactor exists, every long-lived secret.Value
//     (those alive when it was made, and those created later) registers a
//     keyed fingerprint of its plaintext (no copy of it) in each spelling
//     a log line can carry it in: as it is, hex, base64 (how JSON handlers
//     print []byte), JSON-escaped, and in the other case when it has only
//     one. Any text that holds a live secret, in any of them or written
//     with \u escapes, has it replaced. A destroyed cell stops matching.
//     Volatile cells (per-request tokens) and sealed cells are not
//     registered: their plaintext is not meant to outlive a read, and
//     registering every request's token would cost the request path.
//     Secrets shorter than 8 bytes are not tracked.
//
// Values of kind Any (structs, maps, slices, pointers, errors and other
// types) are rendered once, by the redactor, and the rendering it checked
// is what the handler prints: a String or Error method that answers
// differently on its second call cannot slip a secret past the check.
// Their data is checked where it lies, without rendering it (strings and
// bytes, including byte arrays and []byte fields that JSON would print as
// base64); a value that must change is copied with the secret replaced
// and only the copy is rendered, so its JSON keeps its shape (an object
// stays an object with the secret member "[REDACTED]"). Rendering happens
// in scratch memory that is wiped, and encoding/json's and fmt's own
// buffers never see the secret. Numbers, times, durations and booleans
// pass through unless their key names a secret.
//
// # Cost
//
// A record that needs no change reaches the wrapped handler as it was,
// with no allocation; the redactor then costs a scan of each string's
// bytes and a lookup of each key (the verdicts on the first few hundred
// distinct keys a redactor sees are remembered; other keys are matched
// each time). Values of kind Any other than errors made by errors.New and
// fmt.Errorf are rendered by the redactor and cost allocations. Strings
// longer than RedactOptions.MaxLen are cut, so a huge value costs bounded
// time. The benchmarks beside the code give the numbers.
//
// # What it cannot do
//
// A redactor only sees what passes through slog. It cannot recognise a
// random-looking secret that is neither live in a secret.Value nor under a
// secret key nor in a known format, and it does not see bytes written to
// the log's io.Writer by other code. A live secret embedded in a longer
// byte string and printed as base64 is found only when the JSON of a
// value of kind Any carries it (where the bytes are checked before
// encoding); as base64 inside another string it is found only when it
// starts on a 3-byte boundary of the encoded bytes and ends on one (or
// ends them). Methods of values
// nested inside a value of kind Any (a field's own String method) are
// called by the redactor to check them and again by the handler when the
// value needs no change. A Formatter (a type with its own Format method)
// is rendered through fmt: if its text holds a secret, fmt's buffer is
// overwritten right after, which covers the buffer of the processor the
// call ran on.
package logging
