package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

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
	cells   []secret.Value          // every cell the layer made
	env     map[string]secret.Value // variables whose values went into cells
	watch   []string                // files and directories a reload depends on
}

// entry is one key of a layer.
type entry struct {
	kind   verdict
	plain  any          // plainValue: the value as koanf's parser gives it
	cell   secret.Value // secretText: the bytes as they were written
	target string       // fileRef: a path; envRef: a variable's name
	line   int          // where it was written, when known
	path   keyPath      // the key's levels
}

// keyPath is a key's levels. The flat key joins them with dots, as koanf
// does; the levels are kept because a level may itself hold a dot (the
// YAML key "a.b" is one level), and koanf's tree must get it as one.
type keyPath []string

func (p keyPath) key() string { return strings.Join(p, ".") }

// child is p with one more level, sharing nothing a sibling could change.
func (p keyPath) child(name string) keyPath { return append(p[:len(p):len(p)], name) }

// parent is the key p is in, "" at the root.
func (p keyPath) parent() string {
	if len(p) < 2 {
		return ""
	}
	return p[:len(p)-1].key()
}

// splitKey is the path of a key written with dots for levels.
func splitKey(key string) keyPath { return strings.Split(key, ".") }

func newLayer(s *settings, name string) *layer {
	return &layer{s: s, name: name, entries: make(map[string]entry)}
}

// discard destroys every cell the layer made, for a load that failed.
func (l *layer) discard() {
	destroyAll(l.cells)
	l.cells = nil
}

func (l *layer) plain(p keyPath, v any) {
	l.entries[p.key()] = entry{kind: plainValue, plain: v, path: p}
}

func (l *layer) ref(p keyPath, kind verdict, target string, line int) {
	l.entries[p.key()] = entry{kind: kind, target: target, line: line, path: p}
}

// secretString puts text into a new cell for p. The caller wipes text.
func (l *layer) secretString(p keyPath, text string, line int) error {
	key := p.key()
	c, err := secret.FromString(text, l.s.cellOptions(key, false)...)
	return l.keep(key, p, c, err, line)
}

// secretBytes copies b into a new cell for p. The caller wipes b.
func (l *layer) secretBytes(p keyPath, b []byte, line int) error {
	key := p.key()
	c, err := secret.Read(bytes.NewReader(b), len(b), l.s.cellOptions(key, false)...)
	return l.keep(key, p, c, err, line)
}

// secretFill makes a cell of n bytes for p and lets fill write them
// straight into it.
func (l *layer) secretFill(p keyPath, n int, fill func([]byte), line int) error {
	key := p.key()
	c, err := secret.Read(fillReader(fill), n, l.s.cellOptions(key, false)...)
	return l.keep(key, p, c, err, line)
}

func (l *layer) keep(key string, p keyPath, c secret.Value, err error, line int) error {
	if err != nil {
		return l.s.cellError(key, err)
	}
	l.cells = append(l.cells, c)
	l.entries[key] = entry{kind: secretText, cell: c, line: line, path: p}
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
