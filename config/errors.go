package config

import (
	"errors"
	"fmt"
)

// Errors returned by Load, the providers, Watch and Unmarshal. Test them
// with errors.Is; their messages name files, lines and keys, never values.
var (
	// ErrSyntax: a source is malformed. The message names the file and,
	// when it can be found, the line.
	ErrSyntax = errors.New("config: malformed source")
	// ErrFormat: a file's extension names no known format.
	ErrFormat = errors.New("config: unknown file format (use .yaml, .yml, .json, .toml or .env)")
	// ErrMissing: keys given to Require are absent or empty; the message
	// lists them all.
	ErrMissing = errors.New("config: required keys missing")
	// ErrSecretFile: a secret file is too large, a directory, unreadable,
	// or (with Strict) world-readable.
	ErrSecretFile = errors.New("config: unusable secret file")
	// ErrReference: a file:/env: reference or a _FILE variable cannot be
	// resolved, or a variable is set both plainly and as _FILE.
	ErrReference = errors.New("config: unresolvable secret reference")
	// ErrSecretType: a secret key holds a list, or a list holds a secret
	// (an item with a secret key); secrets must be scalars with keys of
	// their own.
	ErrSecretType = errors.New("config: secret in a list")
	// ErrPlainField: Unmarshal met a secret key whose target field is not a
	// secret.Value.
	ErrPlainField = errors.New("config: secret key decoded into a field that is not a secret.Value")
	// ErrOption: an option with a value that cannot work.
	ErrOption = errors.New("config: invalid option")
	// ErrClosed: the Config was closed.
	ErrClosed = errors.New("config: closed")
)

func optionError(msg string) error { return fmt.Errorf("%w: %s", ErrOption, msg) }
