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
	// ErrMissing: a key is absent. Load fails with it when keys given to
	// Require are absent or empty, listing them all; a Value that
	// Config.Secret returns for a missing or plain key fails every read
	// with it, naming the key.
	ErrMissing = errors.New("config: missing key")
	// ErrSecretFile: a secret file is too large, not a regular file (a
	// directory, a named pipe, a device), unreadable, or (with Strict)
	// world-readable.
	ErrSecretFile = errors.New("config: unusable secret file")
	// ErrReference: a file:/env: reference or a _FILE variable cannot be
	// resolved, or a variable is set both plainly and as _FILE.
	ErrReference = errors.New("config: unresolvable secret reference")
	// ErrSecretType: a secret key holds something other than one value:
	// a list, a map with an entry that has no value (YAML {s3cret}), or a
	// type whose text its source does not keep; or a list holds a secret
	// (an item with a secret key). Secrets must be scalars with keys of
	// their own. The message names the key and line, never the value.
	ErrSecretType = errors.New("config: secret is not one value")
	// ErrPlainField: Unmarshal met a secret key whose target field is not a
	// secret.Value.
	ErrPlainField = errors.New("config: secret key decoded into a field that is not a secret.Value")
	// ErrNotSecret: Unmarshal met a plain key whose target field is a
	// secret.Value.
	ErrNotSecret = errors.New("config: plain key decoded into a secret.Value field")
	// ErrOption: an option with a value that cannot work.
	ErrOption = errors.New("config: invalid option")
	// ErrClosed: the Config was closed.
	ErrClosed = errors.New("config: closed")
	// ErrRetired: a Snapshot was kept longer than the grace period after a
	// reload replaced the secret asked for, whose cell is destroyed.
	ErrRetired = errors.New("config: secret retired")
	// ErrUnsettled: a reload found what it read changed when it looked
	// again, several times in a row: a file still being written, or a
	// writer that never stops. Nothing was installed; it is retried.
	ErrUnsettled = errors.New("config: sources kept changing while they were read")
	// ErrReloadTimeout: a reload did not finish within ReloadTimeout, or
	// Close did not wait for one: a read hangs (a stuck network file
	// system, a provider that blocks). It was abandoned and installs
	// nothing.
	ErrReloadTimeout = errors.New("config: reload timed out")
	// ErrUnhealthy: Health's verdict on a Config whose reloads keep
	// failing or whose watcher has stalled.
	ErrUnhealthy = errors.New("config: unhealthy")
)

func optionError(msg string) error { return fmt.Errorf("%w: %s", ErrOption, msg) }
