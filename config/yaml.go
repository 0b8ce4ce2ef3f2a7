package config

import (
	"bytes"
	"errors"
	"io"

	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/internal/wipe"
	"go.yaml.in/yaml/v3"
)

// YAML returns the koanf.Parser that Load uses for .yaml and .yml files.
// It decodes exactly as koanf's YAML parser does (go.yaml.in/yaml/v3, the
// first document of the input), and then wipes the decoder's own buffers:
// the decoder copies its input into a raw buffer (512 bytes) and a decoded
// buffer (1,536 bytes) and keeps the scalars it scanned last in a token
// queue, and it frees all of them without wiping. A small file sits in
// those buffers whole. Use it with Source for YAML that holds secrets.
//
// What the decoder frees while it scans (a scalar's bytes once its token
// is consumed) it cannot be made to wipe; see the README's proof section.
func YAML() koanf.Parser { return yamlParser{} }

type yamlParser struct{}

func (yamlParser) Unmarshal(b []byte) (map[string]any, error) {
	return decodeYAML(bytes.NewReader(b))
}

func (yamlParser) Marshal(m map[string]any) ([]byte, error) { return yaml.Marshal(m) }

// decodeYAML decodes the first document r holds and wipes the decoder.
func decodeYAML(r io.Reader) (map[string]any, error) {
	d := yaml.NewDecoder(r)
	var out map[string]any
	err := d.Decode(&out)
	wipe.YAMLDecoder(d)
	if errors.Is(err, io.EOF) {
		// No document at all: yaml.Unmarshal's answer is an empty map.
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}
