package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/secretmem/secretmem/secret"
)

// A layer is what one source yields, and all it yields: flat keys, each
// holding a plain value, secret bytes in a cell, or a reference to be
// resolved once the layers are merged. Sources build layers and call
// nothing else; the pipeline (pipeline.go) does the rest.
type layer struct {
	s       *settings
	name    string // for errors: the file, "environment APP_", a provider's type
	entries map[string]entry
	levels  map[string][]string     // a key's levels, where its dots do not tell them
	cells   []secret.Value          // every cell the layer made
	env     map[string]secret.Value // variables whose values went into cells
	// What a reload depends on, with the stamp of what this load read,
	// and when the source's versions expire (zero: never).
	versions []version
	reloadBy time.Time
	// undo gives back what a failed load took outside the process (a
	// Vault lease nobody will hold), after its cells are destroyed.
	undo []func()
}

// depend records that the layer was read from d, at the version st.
func (l *layer) depend(d dependency, st stamp) {
	l.versions = append(l.versions, version{dep: d, stamp: st})
}

// entry is one key of a layer.
type entry struct {
	kind   verdict
	plain  any          // plainValue: the value as koanf's parser gives it
	cell   secret.Value // secretText: the bytes as they were written
	target string       // fileRef: a path; envRef: a variable's name
	line   int          // where it was written, when known
}

// A loc is where an entry goes: its flat key, which joins its levels
// with dots as koanf does, and the levels themselves when the dots do not
// tell them: a level may hold a dot (the YAML key "a.b" is one level,
// which koanf keeps whole). Only then are the levels kept, so an ordinary
// key costs one string.
type loc struct {
	key    string
	levels []string // nil: the dot-separated parts of key
	depth  int      // 0 at the root
}

// flatLoc is the loc of a key whose dots separate levels (a variable's
// key, a file in a secret directory).
func flatLoc(key string) loc { return loc{key: key, depth: 1 + strings.Count(key, ".")} }

// oneLevel is the loc of a key that is one level, dots and all (a .env
// name, as koanf's dotenv parser keeps it).
func oneLevel(key string) loc { return loc{key: key, levels: []string{key}, depth: 1} }

// child is the loc one level below p.
func (p loc) child(name string) loc {
	c := loc{key: name, depth: p.depth + 1}
	if p.depth > 0 {
		c.key = p.key + "." + name
	}
	if p.levels != nil || strings.Contains(name, ".") {
		base := p.levels
		if base == nil && p.depth > 0 {
			base = strings.Split(p.key, ".")
		}
		c.levels = append(base[:len(base):len(base)], name)
	}
	return c
}

// parent is the key p is in, "" at the top level.
func (p loc) parent() string {
	switch {
	case p.depth < 2:
		return ""
	case p.levels != nil:
		return strings.Join(p.levels[:len(p.levels)-1], ".")
	}
	return p.key[:strings.LastIndexByte(p.key, '.')]
}

// place puts v into tree at key's levels (levels, or the dot-separated
// parts of key when levels is nil). When one key is a prefix of
// another (APP_DB and APP_DB__PASSWORD) the nested one wins, whatever the
// order: a map replaces a leaf on the way down, and a leaf never replaces
// a map.
func place(tree map[string]any, key string, levels []string, v any) {
	m, rest := tree, key
	for {
		var level string
		more := false
		if levels != nil {
			level, levels, more = levels[0], levels[1:], len(levels) > 1
		} else {
			level, rest, more = strings.Cut(rest, ".")
		}
		if !more {
			if _, isMap := m[level].(map[string]any); !isMap {
				m[level] = v
			}
			return
		}
		sub, ok := m[level].(map[string]any)
		if !ok {
			sub = make(map[string]any)
			m[level] = sub
		}
		m = sub
	}
}

func newLayer(s *settings, name string) *layer {
	return &layer{s: s, name: name, entries: make(map[string]entry)}
}

// discard destroys every cell the layer made, for a load that failed.
func (l *layer) discard() {
	destroyAll(l.cells)
	l.cells = nil
	for _, f := range l.undo {
		f()
	}
	l.undo = nil
}

func (l *layer) plain(p loc, v any) { l.put(p, entry{kind: plainValue, plain: v}) }

func (l *layer) ref(p loc, kind verdict, target string, line int) {
	l.put(p, entry{kind: kind, target: target, line: line})
}

// put records e at p, and p's levels when its dots do not tell them.
func (l *layer) put(p loc, e entry) {
	l.entries[p.key] = e
	if p.levels != nil {
		if l.levels == nil {
			l.levels = make(map[string][]string)
		}
		l.levels[p.key] = p.levels
	}
}

// secretString puts text into a new cell for p. The caller wipes text.
func (l *layer) secretString(p loc, text string, line int) error {
	key := p.key
	c, err := secret.FromString(text, l.s.cellOptions(key, false)...)
	return l.keep(key, p, c, err, line)
}

// secretBytes copies b into a new cell for p. The caller wipes b.
func (l *layer) secretBytes(p loc, b []byte, line int) error {
	key := p.key
	c, err := secret.Read(bytes.NewReader(b), len(b), l.s.cellOptions(key, false)...)
	return l.keep(key, p, c, err, line)
}

// secretFill makes a cell of n bytes for p and lets fill write them
// straight into it.
func (l *layer) secretFill(p loc, n int, fill func([]byte), line int) error {
	key := p.key
	c, err := secret.Read(fillReader(fill), n, l.s.cellOptions(key, false)...)
	return l.keep(key, p, c, err, line)
}

func (l *layer) keep(key string, p loc, c secret.Value, err error, line int) error {
	if err != nil {
		return l.s.cellError(key, err)
	}
	l.cells = append(l.cells, c)
	l.put(p, entry{kind: secretText, cell: c, line: line})
	return nil
}

// fillReader hands secret.Read's buffer, the cell itself, to a function
// that writes the secret there in one go.
type fillReader func([]byte)

func (f fillReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, io.EOF
	}
	f(p)
	return len(p), nil
}

// at names a place in a layer for an error: "c.yaml:3" or "c.yaml".
func (l *layer) at(line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", l.name, line)
	}
	return l.name
}

// cellError says why a cell for key could not be made, and for a refused
// memory lock what to do about it.
func (s *settings) cellError(key string, err error) error {
	if !errors.Is(err, secret.ErrMemoryLock) {
		return fmt.Errorf("config: %s: %w", key, err)
	}
	// secret's message names ulimit, systemd and Docker already.
	fix := "under Kubernetes the limit is the container runtime's (containerd, CRI-O) default, or grant CAP_IPC_LOCK"
	if s.guarded {
		fix += "; or drop config.Guarded(): it locks a page of its own for every secret, where pooled cells share pages"
	}
	return fmt.Errorf("config: %s: %w; %s", key, err, fix)
}
