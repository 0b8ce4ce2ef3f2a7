package config

import (
	"path"
	"strings"
)

// defaultSecretNames is the name rule's word list. It errs on the side of
// protection: a plain value mistaken for a secret is redacted and easy to
// exempt with PlainKeys; a secret mistaken for a plain value leaks.
var defaultSecretNames = []string{
	"password", "passwd", "passphrase", "secret", "token", "apikey", "api_key",
	"private_key", "privatekey", "credential", "access_key", "signing_key",
	"encryption_key", "session_key", "master_key", "auth_key", "dsn",
	"connection_string", "database_url", "cookie_key", "salt", "pepper",
	"=key", "=pass", "=pwd", "=pin", "=otp",
}

// DefaultSecretNames returns the name rule's default word list, for
// callers that want to extend it with SecretNames.
func DefaultSecretNames() []string { return append([]string(nil), defaultSecretNames...) }

func normalizeNames(words []string) []string {
	out := make([]string, 0, len(words))
	for _, w := range words {
		w = strings.ReplaceAll(strings.ToLower(w), "-", "_")
		if w != "" && w != "=" {
			out = append(out, w)
		}
	}
	return out
}

func nameRule(words []string, key string) bool {
	for level := range strings.SplitSeq(key, ".") {
		level = strings.ReplaceAll(strings.ToLower(level), "-", "_")
		for _, w := range words {
			if exact, ok := strings.CutPrefix(w, "="); ok {
				if level == exact {
					return true
				}
			} else if strings.Contains(level, w) {
				return true
			}
		}
	}
	return false
}

func checkPattern(p string) error {
	if p == "" {
		return optionError("empty key pattern")
	}
	if _, err := path.Match(toSlashes(p), ""); err != nil {
		return optionError("bad key pattern " + p)
	}
	return nil
}

// toSlashes turns a dotted key into a path so that path.Match's * stops at
// a level boundary.
func toSlashes(s string) string { return strings.ReplaceAll(s, ".", "/") }

// matchAny reports whether a pattern matches key or one of its parents.
func matchAny(patterns []string, key string) bool {
	if len(patterns) == 0 {
		return false
	}
	k := toSlashes(key)
	for _, p := range patterns {
		p = toSlashes(p)
		for cand := k; ; {
			if ok, _ := path.Match(p, cand); ok {
				return true
			}
			i := strings.LastIndexByte(cand, '/')
			if i < 0 {
				break
			}
			cand = cand[:i]
		}
	}
	return false
}

// envKey maps an environment variable name to a key: the prefix is
// removed, the rest lower-cased, and "__" separates levels. file reports a
// _FILE variable, whose key is that of the name without the suffix. ok is
// false for names outside the prefix and names that map to no valid key
// (an empty level, a dot).
func envKey(prefix, name string) (key string, file, ok bool) {
	rest, found := strings.CutPrefix(name, prefix)
	if !found || rest == "" {
		return "", false, false
	}
	if base, cut := strings.CutSuffix(rest, "_FILE"); cut && base != "" {
		rest, file = base, true
	}
	if strings.ContainsAny(rest, ".=\x00") {
		return "", false, false
	}
	parts := strings.Split(rest, "__")
	for i, p := range parts {
		if p == "" {
			return "", false, false
		}
		parts[i] = strings.ToLower(p)
	}
	return strings.Join(parts, "."), file, true
}

// envName is envKey's inverse for keys in canonical form.
func envName(prefix, key string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(key, ".", "__"))
}
