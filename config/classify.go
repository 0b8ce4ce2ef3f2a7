package config

import (
	"strings"
)

// classifier is the one place that decides what a configuration value is:
// a reference to a secret elsewhere, secret text, or a plain value. Every
// source asks it about each scalar with its key, before it keeps any copy
// of the text, so a secret goes into a cell from the first byte it is
// taken.
type classifier struct {
	secretKeys []string // SecretKeys patterns
	plainKeys  []string // PlainKeys patterns
	names      []string // the name rule's words
	references bool     // file: and env: references are on
}

// what a scalar is.
type verdict uint8

const (
	plainValue verdict = iota
	secretText
	fileRef
	envRef
)

// secret reports whether key is secret by SecretKeys or the name rule.
// SecretKeys wins over PlainKeys, which wins over the name rule.
func (c *classifier) secret(key string) bool {
	if matchAny(c.secretKeys, key) {
		return true
	}
	if len(c.names) == 0 || matchAny(c.plainKeys, key) {
		return false
	}
	return nameRule(c.names, key)
}

// decide says what the text of a string scalar at key is, and for a
// reference its target. Only strings can be references: a YAML plain
// scalar, a quoted one, a JSON or TOML string, a variable's value.
func (c *classifier) decide(key, text string) (verdict, string) {
	if c.references && mayBeReference(text) {
		if kind, target := parseReference(text); kind != plainValue {
			return kind, target
		}
	}
	if c.secret(key) {
		return secretText, ""
	}
	return plainValue, ""
}

// mayBeReference is decide's cheap first look, for text a source holds
// as bytes: only text that passes it need become a string.
func mayBeReference[T ~string | ~[]byte](text T) bool {
	return len(text) >= len("env:x") &&
		(string(text[:4]) == "env:" || string(text[:5]) == "file:")
}

// consumes reports whether an env:NAME reference unsets and wipes the
// variable: only when NAME, read as a key in lower case, is secret by the
// same rules as keys. DB_PASSWORD and GITHUB_TOKEN hold secrets and
// nothing else; PATH, HOME or DATABASE_HOST are read into the cell and
// left in place, because the process and its children need them.
func (c *classifier) consumes(name string) bool {
	return c.secret(strings.ToLower(name))
}
