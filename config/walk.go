package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/knadh/koanf/maps"
	"github.com/secretmem/secretmem/internal/wipe"
)

// What every format does with the shapes it finds, whatever its syntax.

// null records a key written without a value (YAML ~ or nothing, JSON
// null). Under a secret key it is an error: an entry without a value is
// what a mistyped secret looks like (YAML password: {s3cret} is a map
// whose one entry is named s3cret), and the entry's name, which may be the
// secret, would be printed with the keys. The error names the map's key
// and line, never the entry. A secret key that is null itself is an empty
// secret.
func (l *layer) null(p loc, parentLine int) error {
	c := &l.s.rules
	key, parent := p.key, p.parent()
	if p.depth > 1 && c.secret(parent) {
		return fmt.Errorf("%w: %s: %s holds a map with an entry that has no value, where a secret belongs "+
			"(an unquoted {...} is a YAML map, and its entry's name would be shown as a key: quote the secret; write \"\" for an empty one)",
			ErrSecretType, l.at(parentLine), parent)
	}
	if c.secret(key) {
		return l.secretString(p, "", parentLine)
	}
	l.plain(p, nil)
	return nil
}

// listUnderSecret is the error for a list where a secret belongs.
func (l *layer) listUnderSecret(key string, line int) error {
	return fmt.Errorf("%w: %s: %s holds a list; a secret is one value (an unquoted [...] is a YAML list: quote the secret; if the key is not secret, exempt it with PlainKeys)",
		ErrSecretType, l.at(line), key)
}

// checkList refuses a list (under the plain key key) whose items are
// maps with a secret key or a reference: koanf keeps a list as one value,
// so the secret could not get a cell of its own and would be printed with
// the list.
func (l *layer) checkList(key string, list any, line int) error {
	if bad, ref := l.secretInList(key, reflect.ValueOf(list), 0); bad != "" {
		if ref {
			return fmt.Errorf("%w: %s: %s is a reference inside a list; a secret must be a key of its own", ErrSecretType, l.at(line), bad)
		}
		return fmt.Errorf("%w: %s: %s is a secret inside a list, where it cannot get a cell (make it a key of its own; if it is not secret, exempt it with PlainKeys(%q))",
			ErrSecretType, l.at(line), bad, bad)
	}
	return nil
}

// maxListDepth bounds secretInList on lists nested in lists.
const maxListDepth = 32

// secretInList returns the first key inside list that is secret, and
// whether it is a reference.
func (l *layer) secretInList(key string, list reflect.Value, depth int) (string, bool) {
	for list.Kind() == reflect.Interface && !list.IsNil() {
		list = list.Elem()
	}
	if depth > maxListDepth || (list.Kind() != reflect.Slice && list.Kind() != reflect.Array) {
		return "", false
	}
	for i := range list.Len() {
		item := list.Index(i)
		for item.Kind() == reflect.Interface && !item.IsNil() {
			item = item.Elem()
		}
		switch item.Kind() {
		case reflect.Slice, reflect.Array:
			if item.Type().Elem().Kind() != reflect.Uint8 {
				if bad, ref := l.secretInList(key, item, depth+1); bad != "" {
					return bad, ref
				}
			}
		case reflect.Map:
			if m, ok := item.Interface().(map[string]any); ok {
				if bad, ref := l.secretInItem(key, m, depth+1); bad != "" {
					return bad, ref
				}
			}
		}
	}
	return "", false
}

func (l *layer) secretInItem(prefix string, m map[string]any, depth int) (string, bool) {
	c := &l.s.rules
	for name, v := range m {
		key := prefix + "." + name
		switch x := v.(type) {
		case nil:
			continue
		case map[string]any:
			if bad, ref := l.secretInItem(key, x, depth); bad != "" {
				return bad, ref
			}
			continue
		case string:
			if x == "" {
				continue
			}
			if c.references && mayBeReference(x) {
				if kind, _ := parseReference(x); kind != plainValue {
					return key, true
				}
			}
		}
		if c.secret(key) {
			return key, false
		}
		if bad, ref := l.secretInList(key, reflect.ValueOf(v), depth); bad != "" {
			return bad, ref
		}
	}
	return "", false
}

// wipeStrings overwrites the parser strings in taken, whose text went
// into cells, where they are heap memory. Plain values and keys of the
// layer that share their bytes (a YAML alias of a secret under a plain
// key) get copies of their own first, so wiping a secret never changes a
// plain value.
func (l *layer) wipeStrings(taken []string) {
	if !l.s.wipes(WipeParserStrings) {
		return
	}
	secrets := wipe.NewSpans(taken)
	if secrets.Len() == 0 {
		return
	}
	var rekey []string
	for key, e := range l.entries {
		if secrets.Overlaps(key) {
			rekey = append(rekey, key)
		}
		if e.kind == plainValue {
			e.plain = unshare(e.plain, secrets)
			l.entries[key] = e
		}
	}
	for _, key := range rekey {
		e := l.entries[key]
		delete(l.entries, key)
		l.entries[strings.Clone(key)] = e
	}
	for _, s := range taken {
		if wipe.String(s) && wipedString != nil {
			wipedString(s)
		}
	}
}

// wipedString, when set by a test, sees every parser string after it was
// wiped.
var wipedString func(s string)

func unshare(v any, secrets *wipe.Spans) any {
	switch x := v.(type) {
	case string:
		if secrets.Overlaps(x) {
			return strings.Clone(x)
		}
	case map[string]any:
		var rekey []string
		for k, e := range x {
			if secrets.Overlaps(k) {
				rekey = append(rekey, k)
			}
			x[k] = unshare(e, secrets)
		}
		for _, k := range rekey {
			e := x[k]
			delete(x, k)
			x[strings.Clone(k)] = e
		}
	case []any:
		for i := range x {
			x[i] = unshare(x[i], secrets)
		}
	}
	return v
}

// readTyped returns the format for a map a parser or provider already
// decoded. Keys the layer already holds (taken from the source text
// before decoding) are skipped. An integer or a boolean secret is written
// in canonical form, and a secret of any other type is refused, its text
// being lost. seen, if not nil, holds the keys a pass over the source
// text already classified, with the line each was written on: their
// strings are plain.
func readTyped(m map[string]any, seen map[string]int) format {
	return func(l *layer, _ []byte) error {
		maps.IntfaceKeysToStrings(m)
		w := typedWalker{l: l, seen: seen}
		err := w.walk(loc{}, m)
		l.wipeStrings(w.taken)
		if l.s.wipes(WipeParserStrings) {
			for _, v := range w.boxed {
				wipe.Boxed(v)
			}
		}
		return err
	}
}

type typedWalker struct {
	l     *layer
	seen  map[string]int
	taken []string // strings that went into cells
	boxed []any    // other values that did
}

// line is where key was written, when the source knows.
func (w *typedWalker) line(key string) int {
	return w.seen[key]
}

func (w *typedWalker) walk(parent loc, m map[string]any) error {
	c := &w.l.s.rules
	for name, v := range m {
		p := parent.child(name)
		key := p.key
		if _, taken := w.l.entries[key]; taken {
			continue
		}
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 0 {
				w.l.plain(p, x)
				continue
			}
			if err := w.walk(p, x); err != nil {
				return err
			}
			continue
		case nil:
			if err := w.l.null(p, w.line(p.parent())); err != nil {
				return err
			}
			continue
		case string:
			if _, classified := w.seen[key]; classified {
				w.l.plain(p, x) // neither secret nor a reference, or it would be taken
				continue
			}
			switch verdict, target := c.decide(key, x); verdict {
			case fileRef, envRef:
				w.l.ref(p, verdict, target, w.line(key))
			case secretText:
				if err := w.l.secretString(p, x, 0); err != nil {
					return err
				}
				w.taken = append(w.taken, x)
			default:
				w.l.plain(p, x)
			}
			continue
		}
		if k := reflect.ValueOf(v).Kind(); k == reflect.Slice || k == reflect.Array {
			if c.secret(key) {
				return w.l.listUnderSecret(key, w.line(key))
			}
			if err := w.l.checkList(key, v, w.line(key)); err != nil {
				return err
			}
			w.l.plain(p, v)
			continue
		}
		if _, classified := w.seen[key]; classified || !c.secret(key) {
			w.l.plain(p, v)
			continue
		}
		text, ok := canonicalText(v)
		if !ok {
			return fmt.Errorf("%w: %s: %s holds a %T, whose text this source does not keep; give the secret as a string",
				ErrSecretType, w.l.at(w.line(key)), key, v)
		}
		err := w.l.secretBytes(p, text, 0)
		wipe.Zero(text)
		if err != nil {
			return err
		}
		w.boxed = append(w.boxed, v)
	}
	return nil
}

// canonicalText is the text of an integer or boolean secret whose
// source text is lost.
func canonicalText(v any) ([]byte, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		return strconv.AppendBool(nil, rv.Bool()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(nil, rv.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(nil, rv.Uint(), 10), true
	}
	return nil, false
}
