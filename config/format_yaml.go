package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/knadh/koanf/maps"
	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/internal/wipe"
	"go.yaml.in/yaml/v3"
)

// readYAML parses YAML as koanf's parser does (go.yaml.in/yaml/v3, the
// first document), but into the decoder's node tree, which keeps each
// scalar's text: a secret's cell gets the scalar as written (00123456,
// yes, 2024-01-02), and a plain key gets the value yaml.v3 decodes it to,
// as koanf would. Mappings are decoded by yaml.v3 itself, node by node,
// so merge keys, aliases and duplicate keys behave exactly as in koanf.
// The decoder's buffers, and every scalar string that became a secret,
// are wiped.
func readYAML(l *layer, data []byte) error {
	d := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := d.Decode(&doc)
	wipe.YAMLDecoder(d)
	if errors.Is(err, io.EOF) {
		return nil // no document at all: an empty configuration
	}
	if err != nil {
		return syntaxError(l.name, data, err)
	}
	var top map[string]yamlNode
	if err := doc.Decode(&top); err != nil {
		return syntaxError(l.name, data, err)
	}
	w := yamlWalker{l: l, data: data}
	err = w.mapping(loc{}, top, nil)
	l.wipeStrings(w.taken)
	return err
}

// yamlNode receives the node yaml.v3 decodes a mapping's value from,
// after it resolved aliases and merge keys. A null value leaves it nil.
type yamlNode struct{ n *yaml.Node }

// UnmarshalYAML keeps the node.
func (y *yamlNode) UnmarshalYAML(n *yaml.Node) error {
	y.n = n
	return nil
}

type yamlWalker struct {
	l     *layer
	data  []byte
	taken []string            // scalar strings that went into cells
	open  map[*yaml.Node]bool // the mappings being walked: an alias cycle
	// entries walked so far, against a budget: aliases to maps that hold
	// aliases to maps multiply what a small file yields (a "billion
	// laughs"), and each level decoded on its own escapes yaml.v3's check.
	walked int
}

// walkBudget is how many entries a YAML document of n bytes may yield.
func walkBudget(n int) int { return 16*n + 10000 }

// mapping walks the decoded mapping m found at at (nil for the root);
// parent is its node, nil for the root.
func (w *yamlWalker) mapping(at loc, m map[string]yamlNode, parent *yaml.Node) error {
	c := &w.l.s.rules
	w.walked += len(m)
	if w.walked > walkBudget(len(w.data)) {
		return fmt.Errorf("%w: %s: aliases expand to more entries than a document of this size may hold", ErrSyntax, w.l.at(parentLine(parent)))
	}
	for name, v := range m {
		p := at.child(name)
		key := p.key
		n := v.n
		if n == nil {
			if err := w.l.null(p, parentLine(parent)); err != nil {
				return err
			}
			continue
		}
		switch n.Kind {
		case yaml.MappingNode:
			if w.open[n] {
				// Each level is decoded on its own, so yaml.v3's check
				// for an anchor that contains itself never sees the cycle.
				// Like every syntax error, it names no key: a key is
				// input too.
				return fmt.Errorf("%w: %s: an alias refers to an anchor that encloses it", ErrSyntax, w.l.at(n.Line))
			}
			sub, err := w.submap(n)
			if err != nil {
				return err
			}
			if len(sub) == 0 {
				w.l.plain(p, map[string]any{})
				continue
			}
			if w.open == nil {
				w.open = make(map[*yaml.Node]bool)
			}
			w.open[n] = true
			err = w.mapping(p, sub, n)
			delete(w.open, n)
			if err != nil {
				return err
			}
		case yaml.SequenceNode:
			if c.secret(key) {
				return w.l.listUnderSecret(key, n.Line)
			}
			var list any
			if err := n.Decode(&list); err != nil {
				return syntaxError(w.l.name, w.data, err)
			}
			list = stringKeys(list)
			if err := w.l.checkList(key, list, n.Line); err != nil {
				return err
			}
			w.l.plain(p, list)
		default: // a scalar
			verdict, target := secretText, ""
			switch {
			case n.ShortTag() == "!!str":
				verdict, target = c.decide(key, n.Value)
			case !c.secret(key):
				verdict = plainValue
			}
			switch verdict {
			case fileRef, envRef:
				w.l.ref(p, verdict, target, n.Line)
			case secretText:
				if err := w.l.secretString(p, n.Value, n.Line); err != nil {
					return err
				}
				w.taken = append(w.taken, n.Value)
			default:
				if n.Tag == "!!str" {
					// What yaml.v3 decodes a string to, without a decoder.
					w.l.plain(p, n.Value)
					continue
				}
				var x any
				if err := n.Decode(&x); err != nil {
					return syntaxError(w.l.name, w.data, err)
				}
				w.l.plain(p, x)
			}
		}
	}
	return nil
}

// submap decodes a nested mapping node. Its keys are spelled as koanf
// spells them: yaml.v3 gives koanf a map with interface keys when one of
// the mapping's keys is not a string (1.0: x), and koanf prints each with
// %v ("1").
func (w *yamlWalker) submap(n *yaml.Node) (map[string]yamlNode, error) {
	if isStringMap(n) {
		var sub map[string]yamlNode
		if err := n.Decode(&sub); err != nil {
			return nil, syntaxError(w.l.name, w.data, err)
		}
		return sub, nil
	}
	var general map[any]yamlNode
	if err := n.Decode(&general); err != nil {
		return nil, syntaxError(w.l.name, w.data, err)
	}
	sub := make(map[string]yamlNode, len(general))
	for k, v := range general {
		sub[fmt.Sprintf("%v", k)] = v
	}
	return sub, nil
}

// isStringMap reports whether yaml.v3 decodes mapping n into an interface
// as a map with string keys: every key is tagged !!str, or is a merge key.
func isStringMap(n *yaml.Node) bool {
	for i := 0; i < len(n.Content); i += 2 {
		if t := n.Content[i].ShortTag(); t != "!!str" && t != "!!merge" {
			return false
		}
	}
	return true
}

func parentLine(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

// stringKeys converts the maps with interface keys that yaml.v3 puts in
// lists into maps with string keys, as koanf does when it loads a map.
func stringKeys(v any) any {
	m := map[string]any{"": v}
	maps.IntfaceKeysToStrings(m)
	return m[""]
}

// YAML returns a koanf.Parser that decodes exactly as koanf's YAML parser
// does (go.yaml.in/yaml/v3, the first document of the input), and then
// wipes the decoder's own buffers: the decoder copies its input into a raw
// buffer (512 bytes) and a decoded buffer (1,536 bytes) and keeps the
// scalars it scanned last in a token queue, and it frees all of them
// without wiping. Given to Source, it makes the provider's bytes parse as
// File parses YAML, each secret keeping its text.
//
// What the decoder frees while it scans (a scalar's bytes once its token
// is consumed) it cannot be made to wipe; see the README's proof section.
func YAML() koanf.Parser { return yamlParser{} }

type yamlParser struct{}

func (yamlParser) Unmarshal(b []byte) (map[string]any, error) {
	d := yaml.NewDecoder(bytes.NewReader(b))
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

func (yamlParser) Marshal(m map[string]any) ([]byte, error) { return yaml.Marshal(m) }
