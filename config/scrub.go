package config

import (
	"strings"

	"github.com/secretmem/secretmem/internal/wipe"
)

// scrubbed, when set by a test, sees every string after it was wiped.
var scrubbed func(s string)

// scrubStrings overwrites the parser strings in list with zeros where
// they are heap memory. Strings elsewhere in m that share their bytes (a
// YAML alias of a secret under a plain key) get copies of their own first,
// so wiping a secret never changes a plain value.
func scrubStrings(m map[string]any, list []string) {
	secrets := wipe.NewSpans(list)
	if secrets.Len() == 0 {
		return
	}
	unshareMap(m, secrets)
	for _, s := range list {
		if wipe.String(s) && scrubbed != nil {
			scrubbed(s)
		}
	}
}

func unshareMap(m map[string]any, secrets *wipe.Spans) {
	var rekey []string
	for k, v := range m {
		if secrets.Overlaps(k) {
			rekey = append(rekey, k)
		}
		m[k] = unshareValue(v, secrets)
	}
	for _, k := range rekey {
		v := m[k]
		delete(m, k)
		m[strings.Clone(k)] = v
	}
}

func unshareValue(v any, secrets *wipe.Spans) any {
	switch x := v.(type) {
	case string:
		if secrets.Overlaps(x) {
			return strings.Clone(x)
		}
	case map[string]any:
		unshareMap(x, secrets)
	case []any:
		for i := range x {
			x[i] = unshareValue(x[i], secrets)
		}
	}
	return v
}
