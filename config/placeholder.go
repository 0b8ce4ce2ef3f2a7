package config

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/secretmem/secretmem/secret"
)

// placeholder stands for a secret in the koanf instance, where the key
// must exist (Keys, Exists, merging) but the secret must not: it prints
// as [REDACTED] through every path, holds nothing that could be read as
// the secret, and names its key in an exported field, so that it survives
// koanf's deep copies (which drop unexported fields) and Unmarshal can
// hand the key's cell to a secret.Value field.
type placeholder struct{ Key string }

// String returns "[REDACTED]".
func (placeholder) String() string { return secret.Redacted }

// Format prints "[REDACTED]" for every verb.
func (placeholder) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, secret.Redacted) }

// LogValue makes slog print "[REDACTED]".
func (placeholder) LogValue() slog.Value { return slog.StringValue(secret.Redacted) }

// MarshalJSON encodes "[REDACTED]".
func (placeholder) MarshalJSON() ([]byte, error) { return json.Marshal(secret.Redacted) }

// MarshalText encodes "[REDACTED]".
func (placeholder) MarshalText() ([]byte, error) { return []byte(secret.Redacted), nil }
