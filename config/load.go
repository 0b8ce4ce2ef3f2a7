package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/knadh/koanf/maps"
	"github.com/knadh/koanf/parsers/json"
	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/internal/wipe"
	"github.com/secretmem/secretmem/secret"
)

// A source is one layer of configuration: a file, the environment, a
// secret directory or a koanf provider.
type source interface {
	load(t *txn, k *koanf.Koanf) error
}

// state is one loaded configuration. It never changes; a reload makes a
// new one.
type state struct {
	k       *koanf.Koanf            // plain values; secret keys hold secret.Value{}
	secrets map[string]secret.Value // flat key -> cell
	owned   map[secret.Value]struct{}
	watch   []string                // files and directories a reload depends on
	env     map[string]secret.Value // environment variables consumed so far
}

// txn is one load in progress: every cell it made (destroyed if the load
// fails), the environment variables it took secrets from, and the last
// secret cell of every flat key in merge order.
type txn struct {
	s        *settings
	envCache map[string]secret.Value // consumed by earlier loads: gone from the environment
	created  []secret.Value
	consumed map[string]secret.Value
	final    map[string]secret.Value
	watch    []string
}

// load runs every source in order. On failure no cell it made survives
// and the environment is untouched.
func (s *settings) load(envCache map[string]secret.Value) (*state, error) {
	if s.err != nil {
		return nil, s.err
	}
	t := &txn{
		s:        s,
		envCache: envCache,
		consumed: make(map[string]secret.Value),
		final:    make(map[string]secret.Value),
	}
	st, err := t.run()
	if err != nil {
		for _, c := range t.created {
			c.Destroy()
		}
		return nil, err
	}
	return st, nil
}

func (t *txn) run() (*state, error) {
	k := koanf.New(".")
	for _, src := range t.s.sources {
		if err := src.load(t, k); err != nil {
			return nil, err
		}
	}
	var missing []string
	for _, r := range t.s.require {
		switch {
		case !k.Exists(r):
			missing = append(missing, r)
		case t.isEmpty(k, r):
			missing = append(missing, r+" (set but empty)")
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrMissing, strings.Join(missing, ", "))
	}

	st := &state{
		k:       k,
		secrets: make(map[string]secret.Value, len(t.final)),
		owned:   make(map[secret.Value]struct{}, len(t.final)+len(t.consumed)),
		watch:   t.watch,
		env:     t.consumed,
	}
	leaves := make(map[string]bool, len(t.final))
	for _, key := range k.Keys() {
		leaves[key] = true
	}
	for key, c := range t.final {
		if leaves[key] {
			st.secrets[key] = c
			st.owned[c] = struct{}{}
		}
	}
	for _, c := range t.consumed {
		st.owned[c] = struct{}{}
	}
	// Cells a later source overrode are not needed.
	for _, c := range t.created {
		if _, ok := st.owned[c]; !ok {
			c.Destroy()
		}
	}
	t.commitEnv()
	return st, nil
}

// commitEnv unsets the environment variables this load took secrets from,
// once nothing can fail any more.
func (t *txn) commitEnv() {
	if !t.s.wipes(WipeEnv) {
		return
	}
	var names []string
	for name := range t.consumed {
		if _, ok := os.LookupEnv(name); ok {
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

// merge loads one layer into k and records which of its keys are secret.
func (t *txn) merge(k *koanf.Koanf, m map[string]any, layer map[string]secret.Value) error {
	if err := k.Load(mapProvider(m), nil); err != nil {
		return err
	}
	flat, _ := maps.Flatten(m, nil, ".")
	for key := range flat {
		if c, ok := layer[key]; ok {
			t.final[key] = c
		} else {
			delete(t.final, key)
		}
	}
	return nil
}

// mapProvider hands a map to koanf without the deep copy confmap makes.
type mapProvider map[string]any

func (m mapProvider) Read() (map[string]any, error) { return m, nil }
func (m mapProvider) ReadBytes() ([]byte, error) {
	return nil, errors.New("config: map provider has no bytes")
}

// isEmpty reports whether a key that exists holds nothing: an empty secret
// cell, an empty string, list or map, or null. A required secret that is
// set but empty (APP_API__KEY=) is a misconfiguration as surely as a
// missing one, and would otherwise reach a service as a key of no bytes.
func (t *txn) isEmpty(k *koanf.Koanf, key string) bool {
	if c, ok := t.final[key]; ok {
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

// cellFromString makes a cell from a string and remembers it.
func (t *txn) cellFromString(key, s string) (secret.Value, error) {
	c, err := secret.FromString(s, t.s.cellOptions(key, false)...)
	if err != nil {
		return secret.Value{}, fmt.Errorf("config: %s: %w", key, err)
	}
	t.created = append(t.created, c)
	return c, nil
}

// addMap protects the secret keys of a parsed map, scrubs the parser's
// strings and merges the map.
func (t *txn) addMap(k *koanf.Koanf, m map[string]any) error {
	if m == nil {
		return nil
	}
	maps.IntfaceKeysToStrings(m)
	layer := make(map[string]secret.Value)
	var scrub []string
	if err := t.protect(m, "", layer, &scrub); err != nil {
		return err
	}
	if t.s.wipes(WipeParserStrings) {
		scrubStrings(m, scrub)
	}
	return t.merge(k, m, layer)
}

// protect replaces the value of every secret key in m (and its nested
// maps) with secret.Value{} and records the key's cell in layer. The
// strings the cells were made from are appended to scrub.
func (t *txn) protect(m map[string]any, prefix string, layer map[string]secret.Value, scrub *[]string) error {
	for name, v := range m {
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		switch x := v.(type) {
		case map[string]any:
			if err := t.protect(x, key, layer, scrub); err != nil {
				return err
			}
			continue
		case string:
			if kind, target := t.reference(x); kind != refNone {
				c, err := t.resolve(key, kind, target)
				if err != nil {
					return err
				}
				layer[key], m[name] = c, secret.Value{}
				continue
			}
			if !t.s.isSecret(key) {
				continue
			}
			c, err := t.cellFromString(key, x)
			if err != nil {
				return err
			}
			layer[key], m[name] = c, secret.Value{}
			*scrub = append(*scrub, x)
			continue
		}
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
			if !t.s.isSecret(key) {
				// koanf keeps a list as one value, so a secret inside
				// its items would stay a plain string and be printed
				// with the list.
				if err := t.checkList(key, rv, 0); err != nil {
					return err
				}
				continue
			}
			if rv.Len() == 0 {
				continue
			}
			return fmt.Errorf("%w: %s (a secret is one value; if the key is not secret, exempt it with PlainKeys)", ErrSecretType, key)
		}
		if !t.s.isSecret(key) {
			continue
		}
		// Numbers, booleans and dates under a secret name: their text
		// goes into the cell and the heap copy is wiped by secret.New.
		var text []byte
		if v != nil {
			text = fmt.Appendf(nil, "%v", v)
		}
		c, err := secret.New(text, t.s.cellOptions(key, false)...)
		if err != nil {
			secret.Wipe(text)
			return fmt.Errorf("config: %s: %w", key, err)
		}
		t.created = append(t.created, c)
		layer[key], m[name] = c, secret.Value{}
	}
	return nil
}

// checkList refuses a list (under the plain key key) whose items are maps
// with a secret key or a reference: koanf keeps a list as one value, so
// the secret could not get a cell of its own.
func (t *txn) checkList(key string, list reflect.Value, depth int) error {
	if depth > maxListDepth {
		return nil
	}
	for i := range list.Len() {
		item := list.Index(i)
		for item.Kind() == reflect.Interface && !item.IsNil() {
			item = item.Elem()
		}
		switch item.Kind() {
		case reflect.Slice, reflect.Array:
			if item.Type().Elem().Kind() != reflect.Uint8 {
				if err := t.checkList(key, item, depth+1); err != nil {
					return err
				}
			}
		case reflect.Map:
			if m, ok := item.Interface().(map[string]any); ok {
				if err := t.checkListItem(key, m, depth+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (t *txn) checkListItem(prefix string, m map[string]any, depth int) error {
	for name, v := range m {
		key := prefix + "." + name
		switch x := v.(type) {
		case nil:
			continue
		case map[string]any:
			if err := t.checkListItem(key, x, depth); err != nil {
				return err
			}
			continue
		case string:
			if x == "" {
				continue
			}
			if kind, _ := t.reference(x); kind != refNone {
				return fmt.Errorf("%w: %s is a reference inside a list; a secret must be a key of its own", ErrSecretType, key)
			}
		}
		if !t.s.isSecret(key) {
			if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
				if err := t.checkList(key, rv, depth); err != nil {
					return err
				}
			}
			continue
		}
		return fmt.Errorf("%w: %s is a secret inside a list, where it cannot get a cell (make it a key of its own; if it is not secret, exempt it with PlainKeys(%q))",
			ErrSecretType, key, key)
	}
	return nil
}

// maxListDepth bounds checkList on lists nested in lists.
const maxListDepth = 32

func (t *txn) reference(s string) (refKind, string) {
	if t.s.noReferences || len(s) < 5 {
		return refNone, ""
	}
	return parseReference(s)
}

func (t *txn) resolve(key string, kind refKind, target string) (secret.Value, error) {
	if kind == refFile {
		return t.readSecretFile(key, target)
	}
	c, ok, err := t.takeEnv(key, target)
	if err != nil {
		return secret.Value{}, err
	}
	if !ok {
		return secret.Value{}, fmt.Errorf("%w: %s refers to environment variable %s, which is not set", ErrReference, key, target)
	}
	return c, nil
}

// takeEnv puts the environment variable name into a cell, once per load:
// a second key naming the same variable shares the cell. A variable an
// earlier load consumed (and unset) is served from the cache.
func (t *txn) takeEnv(key, name string) (secret.Value, bool, error) {
	if c, ok := t.consumed[name]; ok {
		return c, true, nil
	}
	v, set := os.LookupEnv(name)
	if !set {
		c, ok := t.envCache[name]
		if ok {
			t.consumed[name] = c
		}
		return c, ok, nil
	}
	c, err := t.cellFromString(key, v)
	if err != nil {
		return secret.Value{}, false, err
	}
	t.consumed[name] = c
	return c, true, nil
}

// readSecretFile reads one secret file straight into a cell, after the
// checks that give clear errors: size, type, permissions.
func (t *txn) readSecretFile(key, path string) (secret.Value, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return secret.Value{}, fmt.Errorf("%w: %s (key %s): %w", ErrSecretFile, path, key, unwrapPath(err))
	}
	if fi.IsDir() {
		return secret.Value{}, fmt.Errorf("%w: %s (key %s) is a directory, not a file", ErrSecretFile, path, key)
	}
	if fi.Mode().IsRegular() && fi.Size() > t.s.maxSecret {
		return secret.Value{}, fmt.Errorf("%w: %s (key %s) holds %d bytes, more than the limit of %d (see MaxSecretSize)",
			ErrSecretFile, path, key, fi.Size(), t.s.maxSecret)
	}
	if fi.Mode().Perm()&0o004 != 0 {
		if t.s.strict {
			return secret.Value{}, fmt.Errorf("%w: %s (key %s) is readable by every user; chmod o-r it", ErrSecretFile, path, key)
		}
		t.s.warn("config: secret file is readable by every user; chmod o-r it (Strict makes this an error)",
			"path", path, "key", key)
	}
	c, err := secret.ReadFile(path, t.s.cellOptions(key, true)...)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return secret.Value{}, fmt.Errorf("%w: %s (key %s) cannot be read by this process: %w", ErrSecretFile, path, key, os.ErrPermission)
		}
		return secret.Value{}, fmt.Errorf("%w: %s (key %s): %w", ErrSecretFile, path, key, err)
	}
	if int64(c.Len()) > t.s.maxSecret {
		c.Destroy()
		return secret.Value{}, fmt.Errorf("%w: %s (key %s) is larger than the limit of %d (see MaxSecretSize)", ErrSecretFile, path, key, t.s.maxSecret)
	}
	t.created = append(t.created, c)
	t.watch = append(t.watch, path)
	return c, nil
}

// unwrapPath drops the *PathError layer, whose message repeats the path.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fileSource is File.
type fileSource struct{ path string }

func parserFor(path string) (koanf.Parser, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext == "" && strings.HasPrefix(filepath.Base(path), ".env") {
		ext = ".env"
	}
	switch ext {
	case ".yaml", ".yml":
		return yamlParser{}, nil
	case ".json":
		return json.Parser(), nil
	case ".toml":
		return toml.Parser(), nil
	case ".env":
		return envFileParser{}, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrFormat, path)
}

func (f *fileSource) load(t *txn, k *koanf.Koanf) error {
	pa, err := parserFor(f.path)
	if err != nil {
		return err
	}
	t.watch = append(t.watch, f.path)
	if !t.s.wipes(WipeFileBuffers) {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		m, err := parse(f.path, b, pa)
		if err != nil {
			return err
		}
		return t.addMap(k, m)
	}
	// Protected scratch memory: read(2) writes the file there, the parser
	// reads it there, and Destroy wipes it. Unlocked memory is accepted
	// for the scratch: it is still better than the heap.
	buf, err := secret.ReadFile(f.path, secret.AllowUnlocked())
	if err != nil {
		return fmt.Errorf("config: reading %s: %w", f.path, unwrapPath(err))
	}
	defer buf.Destroy()
	var m map[string]any
	if err := buf.Use(func(b []byte) error {
		var err error
		m, err = parse(f.path, b, pa)
		return err
	}); err != nil {
		return err
	}
	return t.addMap(k, m)
}

// providerSource is Source.
type providerSource struct {
	p  koanf.Provider
	pa koanf.Parser
}

func (p *providerSource) load(t *txn, k *koanf.Koanf) error {
	name := fmt.Sprintf("%T", p.p)
	if p.pa == nil {
		m, err := p.p.Read()
		if err != nil {
			return fmt.Errorf("config: %s: %w", name, err)
		}
		return t.addMap(k, m)
	}
	b, err := p.p.ReadBytes()
	if err != nil {
		return fmt.Errorf("config: %s: %w", name, err)
	}
	m, err := parse(name, b, p.pa)
	if t.s.wipes(WipeFileBuffers) {
		secret.Wipe(b)
	}
	if err != nil {
		return err
	}
	return t.addMap(k, m)
}

// envSource is Env.
type envSource struct{ prefix string }

func (e *envSource) load(t *txn, k *koanf.Koanf) error {
	layer := make(map[string]secret.Value)
	from := make(map[string]string) // key -> variable, to catch X beside X_FILE
	var failed error
	environ := func() []string {
		list := os.Environ()
		// Variables an earlier load consumed were unset; their cells
		// stand in for them.
		for name := range t.envCache {
			if _, set := os.LookupEnv(name); !set && strings.HasPrefix(name, e.prefix) {
				list = append(list, name+"=")
			}
		}
		return list
	}
	transform := func(name, value string) (string, any) {
		key, file, ok := envKey(e.prefix, name)
		if !ok || failed != nil {
			return "", nil
		}
		if other, dup := from[key]; dup {
			failed = fmt.Errorf("%w: %s and %s both set %s; keep one", ErrReference, other, name, key)
			return "", nil
		}
		from[key] = name
		c, isSecret, err := t.envValue(key, name, value, file)
		if err != nil {
			failed = err
			return "", nil
		}
		if !isSecret {
			// A copy: an env: reference elsewhere may consume (and wipe)
			// this very variable.
			return key, strings.Clone(value)
		}
		layer[key] = c
		return key, secret.Value{}
	}
	m, err := env.Provider(".", env.Opt{Prefix: e.prefix, EnvironFunc: environ, TransformFunc: transform}).Read()
	if failed != nil {
		return failed
	}
	if err != nil {
		return fmt.Errorf("config: environment: %w", err)
	}
	return t.merge(k, m, layer)
}

// envValue decides what one variable of an Env source holds: a _FILE
// reference, a file:/env: reference, a secret, or a plain value.
func (t *txn) envValue(key, name, value string, file bool) (secret.Value, bool, error) {
	if file {
		if value == "" {
			return secret.Value{}, false, fmt.Errorf("%w: %s is empty; it should name a secret file", ErrReference, name)
		}
		c, err := t.readSecretFile(key, value)
		return c, true, err
	}
	if _, set := os.LookupEnv(name); !set {
		if _, cached := t.envCache[name]; cached {
			c, _, err := t.takeEnv(key, name)
			return c, true, err
		}
	}
	if kind, target := t.reference(value); kind != refNone {
		c, err := t.resolve(key, kind, target)
		return c, true, err
	}
	if !t.s.isSecret(key) {
		return secret.Value{}, false, nil
	}
	c, _, err := t.takeEnv(key, name)
	return c, true, err
}

// dirSource is SecretDir and SystemdCredentials.
type dirSource struct {
	dir     string
	fromEnv string
}

func (d *dirSource) load(t *txn, k *koanf.Koanf) error {
	dir := d.dir
	if d.fromEnv != "" {
		if dir = os.Getenv(d.fromEnv); dir == "" {
			return nil
		}
	}
	layer := make(map[string]secret.Value)
	flat := make(map[string]any)
	if err := t.readDir(dir, "", 0, layer, flat); err != nil {
		return err
	}
	return t.merge(k, maps.Unflatten(flat, "."), layer)
}

const maxDirDepth = 8

func (t *txn) readDir(dir, prefix string, depth int, layer map[string]secret.Value, flat map[string]any) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%w: secret directory %s: %w", ErrSecretFile, dir, unwrapPath(err))
	}
	t.watch = append(t.watch, dir)
	for _, e := range entries {
		name := e.Name()
		// Hidden entries: Kubernetes' ..data and timestamped directories,
		// editor leftovers.
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		key := prefix + name
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("%w: %s (key %s): %w", ErrSecretFile, p, key, unwrapPath(err))
		}
		if fi.IsDir() {
			if depth >= maxDirDepth {
				return fmt.Errorf("%w: %s is nested more than %d levels deep", ErrSecretFile, p, maxDirDepth)
			}
			if err := t.readDir(p, key+".", depth+1, layer, flat); err != nil {
				return err
			}
			continue
		}
		c, err := t.readSecretFile(key, p)
		if err != nil {
			return err
		}
		layer[key], flat[key] = c, secret.Value{}
	}
	return nil
}
