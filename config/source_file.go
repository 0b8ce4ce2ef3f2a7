package config

import (
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/secret"
)

// A format reads one kind of configuration text into a layer. data lives
// in protected scratch memory (or, for Source, in the provider's buffer)
// and is wiped by the caller; a format takes secrets from it straight into
// cells and wipes every string of its own that held one.
type format func(l *layer, data []byte) error

// formatOf picks the format by the file's extension.
func formatOf(path string) (format, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext == "" && strings.HasPrefix(filepath.Base(path), ".env") {
		ext = ".env"
	}
	switch ext {
	case ".yaml", ".yml":
		return readYAML, nil
	case ".json":
		return readJSON, nil
	case ".toml":
		return readTOML, nil
	case ".env":
		return readDotenv, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrFormat, path)
}

// fileSource is File.
type fileSource struct{ path string }

func (f *fileSource) name() string { return f.path }

func (f *fileSource) read(t *txn) (*layer, error) {
	s := t.s
	parse, err := formatOf(f.path)
	if err != nil {
		return nil, err
	}
	l := newLayer(s, f.path)
	dep := fileDep{path: f.path}
	if !s.wipes(WipeFileBuffers) {
		b, err := readPlainFile(f.path)
		if err != nil {
			return nil, err
		}
		l.depend(dep, t.stamps.of([]byte("file\x00"), b))
		return l.fill(parse, b)
	}
	// Protected scratch memory: read(2) writes the file there, the parser
	// reads it there, and Destroy wipes it. Unlocked memory is accepted
	// for the scratch: it is still better than the heap.
	buf, err := readFileCell(f.path, secret.AllowUnlocked())
	if err != nil {
		return nil, fmt.Errorf("config: reading %s: %w", f.path, unwrapPath(err))
	}
	defer buf.Destroy()
	l.depend(dep, t.stamps.ofCell(buf))
	var out *layer
	err = buf.Use(func(b []byte) error {
		var err error
		out, err = l.fill(parse, b)
		return err
	})
	return out, err
}

// fill runs parse, and discards the layer if it fails.
func (l *layer) fill(parse format, data []byte) (*layer, error) {
	if err := parse(l, data); err != nil {
		l.discard()
		return nil, err
	}
	return l, nil
}

// readPlainFile reads a regular file onto the heap, for NoWipe(WipeFileBuffers).
func readPlainFile(path string) ([]byte, error) {
	f, _, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("config: reading %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("config: reading %s: %w", path, unwrapPath(err))
	}
	return b, nil
}

// providerSource is Source (and Protect).
type providerSource struct {
	p  koanf.Provider
	pa koanf.Parser
}

func (p *providerSource) name() string { return fmt.Sprintf("%T", p.p) }

func (p *providerSource) read(t *txn) (*layer, error) {
	s := t.s
	l := newLayer(s, p.name())
	if p.pa == nil {
		m, err := p.p.Read()
		if err != nil {
			return nil, fmt.Errorf("config: %s: %w", l.name, err)
		}
		return l.fill(readTyped(m, nil), nil)
	}
	b, err := p.p.ReadBytes()
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", l.name, err)
	}
	if s.wipes(WipeFileBuffers) {
		defer secret.Wipe(b)
	}
	if parse := knownParser(p.pa); parse != nil {
		return l.fill(parse, b)
	}
	m, err := p.pa.Unmarshal(b)
	if err != nil {
		return nil, syntaxError(l.name, b, err)
	}
	return l.fill(readTyped(m, nil), b)
}

// knownParser returns the format that parses what pa parses, keeping
// each secret's text: koanf's YAML, JSON and TOML v2 parsers, and YAML.
// Others are used as they are.
func knownParser(pa koanf.Parser) format {
	if _, ok := pa.(yamlParser); ok {
		return readYAML
	}
	t := reflect.TypeOf(pa)
	if t.Kind() != reflect.Pointer {
		return nil
	}
	switch t.Elem().PkgPath() + "." + t.Elem().Name() {
	case "github.com/knadh/koanf/parsers/yaml.YAML":
		return readYAML
	case "github.com/knadh/koanf/parsers/json.JSON":
		return readJSON
	case "github.com/knadh/koanf/parsers/toml/v2.TOML":
		return readTOML
	}
	return nil
}
