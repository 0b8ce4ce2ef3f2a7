package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/internal/wipe"
	"github.com/secretmem/secretmem/secret"
)

// A source reads one kind of configuration into a layer and does nothing
// else. It finds the settings in t.s, the cells of environment variables
// earlier loads took and unset in t.consumed (the environment no longer
// has them), and the load's context in t.ctx, which a source that waits
// (on a network, say) honours.
//
// A new source is one file: a type with read, which makes a layer with
// newLayer, asks s.rules about what it finds (unless, like a secret
// directory, everything it yields is secret), fills the layer with plain,
// ref, secretBytes or secretFill (the bytes go from the source's own
// buffer straight into a cell), lists with depend what a reload depends on
// (see dependency), and discards the layer if it fails; a name for
// errors; and an Option that appends it to settings.sources.
type source interface {
	read(t *txn) (*layer, error)
	name() string
}

// A closingSource holds something between loads (a Vault client, its
// token and leases) and lets it go when the Config is closed, or when Load
// fails.
type closingSource interface {
	close(ctx context.Context) error
}

// closeSources closes the sources that hold something.
func (s *settings) closeSources(ctx context.Context) error {
	var errs []error
	for _, src := range s.sources {
		if c, ok := src.(closingSource); ok {
			if err := c.close(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// state is one loaded configuration. Once installed it never changes; a
// reload makes a new one.
type state struct {
	k        *koanf.Koanf            // plain values; secret keys hold placeholders
	secrets  map[string]secret.Value // flat key -> cell
	owned    map[secret.Value]struct{}
	env      map[string]secret.Value // every variable consumed so far, by name
	versions []version               // what the load read, dependency by dependency
	reloadBy time.Time               // a source's versions expire then; zero: never
	unset    []string                // variables to unset and wipe when installed
	fresh    []secret.Value          // cells this load made, to destroy if never installed
	undo     []func()                // what its sources took outside the process, to give back if never installed

	gen uint64 // set by install
}

// load runs the pipeline once: every source into a layer, the layers
// merged in order, the references that survived resolved, Require
// checked, and the result committed (overridden cells destroyed). prev is
// the state a reload replaces, or nil. On failure no cell the load made
// survives; the environment is touched only when the state is installed.
func (s *settings) load(ctx context.Context, prev *state, stamps *stamper) (*state, error) {
	return s.newTxn(ctx, prev, stamps).load()
}

func (s *settings) newTxn(ctx context.Context, prev *state, stamps *stamper) *txn {
	t := &txn{ctx: ctx, s: s, env: make(map[string]secret.Value), stamps: stamps, links: make(map[string]string)}
	if prev != nil {
		t.consumed = prev.env
		t.prev = prev
	}
	return t
}

func (t *txn) load() (*state, error) {
	if t.s.err != nil {
		return nil, t.s.err
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
	ctx      context.Context
	s        *settings
	consumed map[string]secret.Value // by earlier loads
	layers   []*layer
	env      map[string]secret.Value // variables this load takes, by name
	made     []secret.Value          // cells made resolving references
	versions []version
	reloadBy time.Time
	stamps   *stamper
	links    map[string]string      // directory -> its ..data generation, "" for none
	reading  atomic.Pointer[string] // what the load reads now, for a reload that hangs
	prev     *state                 // the state this load replaces, nil for the first
	before   []stamp                // a probe of prev.versions just before this load (nil: none)
	kept     []secret.Value         // cells of prev a source kept (a lease still good)
	wipeVars []string               // variables a source consumed outside the layers (VAULT_TOKEN)
}

// what says what the load reads now.
func (t *txn) what() string {
	if p := t.reading.Load(); p != nil {
		return *p
	}
	return "nothing yet"
}

// at records what the load is about to read, and fails once the load's
// context is done.
func (t *txn) at(what string) error {
	t.reading.Store(&what)
	return t.ctx.Err()
}

func (t *txn) run() (*state, error) {
	for _, src := range t.s.sources {
		if err := t.at(src.name()); err != nil {
			return nil, err
		}
		l, err := src.read(t)
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
		t.versions = append(t.versions, l.versions...)
		if !l.reloadBy.IsZero() && (t.reloadBy.IsZero() || l.reloadBy.Before(t.reloadBy)) {
			t.reloadBy = l.reloadBy
		}
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
			path := t.follow(e.target)
			if err := t.at(path); err != nil {
				return nil, err
			}
			c, err := t.s.readSecretFile(key, path)
			if err != nil {
				return nil, err
			}
			t.made = append(t.made, c)
			t.versions = append(t.versions, version{fileDep{path: path, trim: true, generation: path != e.target}, t.stamps.ofCell(c)})
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
// from are listed, to be unset and wiped when the state is installed.
func (t *txn) commit(k *koanf.Koanf, secrets map[string]secret.Value) *state {
	st := &state{
		k:        k,
		secrets:  secrets,
		owned:    make(map[secret.Value]struct{}, len(secrets)+len(t.env)),
		env:      make(map[string]secret.Value, len(t.consumed)+len(t.env)),
		versions: t.versions,
		reloadBy: t.reloadBy,
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
		st.undo = append(st.undo, l.undo...)
	}
	destroyUnowned(t.made, st.owned)
	inherited := make(map[secret.Value]bool, len(t.consumed)+len(t.kept))
	for _, c := range t.consumed {
		inherited[c] = true
	}
	for _, c := range t.kept {
		inherited[c] = true
	}
	for c := range st.owned {
		if !inherited[c] {
			st.fresh = append(st.fresh, c)
		}
	}
	if t.s.wipes(WipeEnv) {
		for name := range t.env {
			if _, set := os.LookupEnv(name); set {
				st.unset = append(st.unset, name)
			}
		}
		for _, name := range t.wipeVars {
			if _, set := os.LookupEnv(name); set && !slices.Contains(st.unset, name) {
				st.unset = append(st.unset, name)
			}
		}
		slices.Sort(st.unset)
	}
	return st
}

// discard destroys the cells of a state that is not installed (the cells
// it shares with earlier loads stay) and gives back what its sources took
// outside the process: a Vault lease read for it that nobody will hold.
// That may take a request, and discard may run under the owner's lock,
// so it happens on a goroutine of its own.
func (st *state) discard() {
	destroyAll(st.fresh)
	if undo := st.undo; len(undo) > 0 {
		st.undo = nil
		go giveBack(undo)
	}
}

// giveBack runs a load's undo functions.
func giveBack(undo []func()) {
	for _, f := range undo {
		f()
	}
}

func destroyUnowned(cells []secret.Value, owned map[secret.Value]struct{}) {
	for _, c := range cells {
		if _, ok := owned[c]; !ok {
			c.Destroy()
		}
	}
}

// unsetEnv unsets the variables the state took secrets from and, first,
// overwrites their bytes in the process's two copies of the environment.
func (st *state) unsetEnv(s *settings) {
	var names []string
	for _, name := range st.unset {
		if _, set := os.LookupEnv(name); set {
			names = append(names, name)
		}
	}
	if s.wipes(WipeEnvMemory) {
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
