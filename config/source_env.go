package config

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/secretmem/secretmem/secret"
)

// envSource is Env.
type envSource struct{ prefix string }

// read maps the variables under the prefix to keys. A secret variable's
// value goes into a cell and the variable is recorded in the layer's env,
// to be unset and wiped when the load commits; a _FILE variable becomes a
// file reference. A variable an earlier load took and unset is served
// from that load's cell.
func (e *envSource) name() string { return "environment " + e.prefix }

func (e *envSource) read(t *txn) (*layer, error) {
	s, consumed := t.s, t.consumed
	l := newLayer(s, "environment "+e.prefix)
	l.env = make(map[string]secret.Value)
	from := make(map[string]string) // key -> variable, to catch X beside X_FILE
	vars := os.Environ()
	var gone []string
	for name := range consumed {
		if _, set := os.LookupEnv(name); !set && strings.HasPrefix(name, e.prefix) {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	vars = append(vars, gone...)
	for _, kv := range vars {
		name, value, isSet := strings.Cut(kv, "=")
		key, file, ok := envKey(e.prefix, name)
		if !ok {
			continue
		}
		if other, dup := from[key]; dup {
			l.discard()
			return nil, fmt.Errorf("%w: %s and %s both set %s; keep one", ErrReference, other, name, key)
		}
		from[key] = name
		p := flatLoc(key)
		if !isSet {
			c := consumed[name]
			l.put(p, entry{kind: secretText, cell: c})
			l.env[name] = c
			continue
		}
		if file {
			if value == "" {
				l.discard()
				return nil, fmt.Errorf("%w: %s is empty; it should name a secret file", ErrReference, name)
			}
			l.ref(p, fileRef, value, 0)
			continue
		}
		switch verdict, target := s.rules.decide(key, value); verdict {
		case fileRef, envRef:
			l.ref(p, verdict, target, 0)
		case secretText:
			if err := l.secretString(p, value, 0); err != nil {
				l.discard()
				return nil, err
			}
			l.env[name] = l.entries[key].cell
		default:
			// A copy: an env: reference elsewhere may consume (and wipe)
			// this very variable.
			l.plain(p, strings.Clone(value))
		}
	}
	return l, nil
}
