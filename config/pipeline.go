package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/internal/wipe"
	"github.com/secretmem/secretmem/secret"
)

// A source reads one kind of configuration into a layer and does nothing
// else. consumed holds the cells of environment variables earlier loads
// took and unset: the environment no longer has them.
//
// A new source is one file: a type with read, which makes a layer with
// newLayer, asks s.rules about what it finds (unless, like a secret
// directory, everything it yields is secret), fills the layer with plain,
// ref, secretBytes or secretFill (the bytes go from the source's own
// buffer straight into a cell), lists in watch what a reload depends on,
// and discards the layer if it fails; and an Option that appends it to
// settings.sources.
type source interface {
	read(s *settings, consumed map[string]secret.Value) (*layer, error)
}

// state is one loaded configuration. It never changes; a reload makes a
// new one.
type state struct {
	k       *koanf.Koanf            // plain values; secret keys hold placeholders
	secrets map[string]secret.Value // flat key -> cell
	owned   map[secret.Value]struct{}
	watch   []string                // files and directories a reload depends on
	env     map[string]secret.Value // every variable consumed so far, by name
}

// load runs the pipeline once: every source into a layer, the layers
// merged in order, the references that survived resolved, Require
// checked, and the result committed (overridden cells destroyed,
// consumed variables unset). prev is the state a reload replaces, or nil.
// On failure no cell the load made survives and the environment is
// untouched.
func (s *settings) load(prev *state) (*state, error) {
	if s.err != nil {
		return nil, s.err
	}
	t := &txn{s: s, env: make(map[string]secret.Value)}
	if prev != nil {
		t.consumed = prev.env
	}
	st, err := t.run()
	if err != nil {
		for _, l := range t.layers {
			l.discard()
		}
		destroyAll(t.made)
		return nil, err
	}
	return st, nil
}

// txn is one load in progress.
type txn struct {
	s        *settings
	consumed map[string]secret.Value // by earlier loads
	layers   []*layer
	env      map[string]secret.Value // variables this load takes, by name
	made     []secret.Value          // cells made resolving references
	watch    []string
}

func (t *txn) run() (*state, error) {
	for _, src := range t.s.sources {
		l, err := src.read(t.s, t.consumed)
		if err != nil {
			return nil, err
		}
		t.layers = append(t.layers, l)
	}
	k, finals, err := t.merge()
	if err != nil {
		return nil, err
	}
	secrets, err := t.resolve(finals)
	if err != nil {
		return nil, err
	}
	if err := t.require(k, secrets); err != nil {
		return nil, err
	}
	return t.commit(k, secrets), nil
}

// merge applies the layers in order, as koanf merges maps: a later layer
// overrides an earlier one key by key, and a value replaces a whole map.
// It returns the plain values, and the secret keys that are still leaves
// with the layer each comes from.
func (t *txn) merge() (*koanf.Koanf, map[string]*layer, error) {
	k := koanf.New(".")
	finals := make(map[string]*layer)
	for _, l := range t.layers {
		for key, e := range l.entries {
			if e.kind == plainValue {
				delete(finals, key)
			} else {
				finals[key] = l
			}
		}
		if err := k.Load(mapProvider(l.tree()), nil); err != nil {
			return nil, nil, fmt.Errorf("config: %s: %w", l.name, err)
		}
		for name, c := range l.env {
			t.env[name] = c
		}
		t.watch = append(t.watch, l.watch...)
	}
	leaves := make(map[string]bool, len(finals))
	for _, key := range k.Keys() {
		leaves[key] = true
	}
	for key := range finals {
		if !leaves[key] {
			delete(finals, key)
		}
	}
	return k, finals, nil
}

// resolve gives every surviving secret key its cell: reading the files
// and variables that references name. An overridden reference is never
// read.
func (t *txn) resolve(finals map[string]*layer) (map[string]secret.Value, error) {
	keys := make([]string, 0, len(finals))
	for key := range finals {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	secrets := make(map[string]secret.Value, len(finals))
	for _, key := range keys {
		l := finals[key]
		e := l.entries[key]
		switch e.kind {
		case secretText:
			secrets[key] = e.cell
		case fileRef:
			c, err := t.s.readSecretFile(key, e.target)
			if err != nil {
				return nil, err
			}
			t.made = append(t.made, c)
			t.watch = append(t.watch, e.target)
			secrets[key] = c
		case envRef:
			c, err := t.takeEnv(key, e.target, l.at(e.line))
			if err != nil {
				return nil, err
			}
			secrets[key] = c
		}
	}
	return secrets, nil
}

// takeEnv puts the variable an env: reference names into a cell. A
// variable this load already took (an Env source's secret, another
// reference) shares its cell; one an earlier load took and unset is served
// from that load's cell. Whether the variable is then unset and wiped is
// the classifier's call (classifier.consumes).
func (t *txn) takeEnv(key, name, at string) (secret.Value, error) {
	if c, ok := t.env[name]; ok {
		return c, nil
	}
	v, set := os.LookupEnv(name)
	if !set {
		if c, ok := t.consumed[name]; ok {
			t.env[name] = c
			return c, nil
		}
		return secret.Value{}, fmt.Errorf("%w: %s: %s refers to environment variable %s, which is not set",
			ErrReference, at, key, name)
	}
	c, err := secret.FromString(v, t.s.cellOptions(key, false)...)
	if err != nil {
		return secret.Value{}, t.s.cellError(key, err)
	}
	t.made = append(t.made, c)
	if t.s.rules.consumes(name) {
		t.env[name] = c
	}
	return c, nil
}

// require fails with ErrMissing, naming every required key at once, when
// one is absent or holds nothing.
func (t *txn) require(k *koanf.Koanf, secrets map[string]secret.Value) error {
	var missing []string
	for _, r := range t.s.require {
		switch {
		case !k.Exists(r):
			missing = append(missing, r)
		case isEmpty(k, secrets, r):
			missing = append(missing, r+" (set but empty)")
		}
	}
	if len(missing) > 0 {
		return &requiredMissing{strings.Join(missing, ", ")}
	}
	return nil
}

// requiredMissing is ErrMissing as Require reports it, every key at once.
type requiredMissing struct{ keys string }

func (e *requiredMissing) Error() string { return "config: required keys missing: " + e.keys }
func (e *requiredMissing) Unwrap() error { return ErrMissing }

// isEmpty reports whether a key that exists holds nothing: an empty secret
// cell, an empty string, list or map, or null. A required secret that is
// set but empty (APP_API__KEY=) is a misconfiguration as surely as a
// missing one, and would otherwise reach a service as a key of no bytes.
func isEmpty(k *koanf.Koanf, secrets map[string]secret.Value, key string) bool {
	if c, ok := secrets[key]; ok {
		return c.Len() == 0
	}
	switch v := k.Get(key).(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// commit builds the state once nothing can fail any more: cells a later
// layer overrode are destroyed, and the variables this load took secrets
// from are unset and wiped.
func (t *txn) commit(k *koanf.Koanf, secrets map[string]secret.Value) *state {
	st := &state{
		k:       k,
		secrets: secrets,
		owned:   make(map[secret.Value]struct{}, len(secrets)+len(t.env)),
		watch:   t.watch,
		env:     make(map[string]secret.Value, len(t.consumed)+len(t.env)),
	}
	for name, c := range t.consumed {
		st.env[name] = c
	}
	for name, c := range t.env {
		st.env[name] = c
	}
	for _, c := range secrets {
		st.owned[c] = struct{}{}
	}
	for _, c := range st.env {
		st.owned[c] = struct{}{}
	}
	for _, l := range t.layers {
		destroyUnowned(l.cells, st.owned)
	}
	destroyUnowned(t.made, st.owned)
	t.unsetEnv()
	return st
}

func destroyUnowned(cells []secret.Value, owned map[secret.Value]struct{}) {
	for _, c := range cells {
		if _, ok := owned[c]; !ok {
			c.Destroy()
		}
	}
}

// unsetEnv unsets the variables this load took secrets from and, first,
// overwrites their bytes in the process's two copies of the environment.
func (t *txn) unsetEnv() {
	if !t.s.wipes(WipeEnv) {
		return
	}
	var names []string
	for name := range t.env {
		if _, set := os.LookupEnv(name); set {
			names = append(names, name)
		}
	}
	if t.s.wipes(WipeEnvMemory) {
		wipe.Env(names...)
	}
	for _, name := range names {
		_ = os.Unsetenv(name)
	}
}

func destroyAll(cells []secret.Value) {
	for _, v := range cells {
		v.Destroy()
	}
}

// tree is the layer as the nested map koanf loads, with a placeholder
// for every secret.
func (l *layer) tree() map[string]any {
	tree := make(map[string]any)
	for key, e := range l.entries {
		var v any = placeholder{Key: key}
		if e.kind == plainValue {
			v = e.plain
		}
		place(tree, key, l.levels[key], v)
	}
	return tree
}

// mapProvider hands a map to koanf without the deep copy confmap makes.
type mapProvider map[string]any

func (m mapProvider) Read() (map[string]any, error) { return m, nil }
func (m mapProvider) ReadBytes() ([]byte, error) {
	return nil, errors.New("config: map provider has no bytes")
}
