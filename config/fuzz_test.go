package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	kjson "github.com/knadh/koanf/parsers/json"
	ktoml "github.com/knadh/koanf/parsers/toml/v2"
	kyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
)

// fuzzFormats are the file names parse is fuzzed under, one per parser.
var fuzzFormats = []string{"app.yaml", "app.json", "app.toml", "app.env"}

// FuzzParse feeds every file parser arbitrary input with a marker planted
// at an arbitrary place. The properties: no panic; a refused file yields an
// ErrSyntax whose text never holds the marker, wherever it sits (a value, a
// key, a broken quote, a comment); an accepted file yields a layer.
func FuzzParse(f *testing.F) {
	for _, seed := range []struct {
		format uint8
		data   string
		at     uint16
	}{
		{0, "db:\n  password: \n", 15},
		{0, "db: {password: \"\n", 16},
		{0, "a: !!int \n", 9},
		{0, "- [\n", 3},
		{1, `{"db": {"password": ""}}`, 21},
		{1, `{"db": {"password": }`, 20},
		{1, `{"a": 1, }`, 9},
		{2, "[db]\npassword = \"\"\n", 17},
		{2, "[db]\npassword = \n", 16},
		{2, "a = [1, \n", 8},
		{3, "DB_PASSWORD=\n", 12},
		{3, "DB_PASSWORD=\"\n", 13},
		{3, "export DB_PASSWORD='\n", 20},
		{3, "=\n", 0},
	} {
		f.Add(seed.format, seed.data, seed.at)
	}
	f.Fuzz(func(t *testing.T, format uint8, data string, at uint16) {
		if len(data) > 1<<14 {
			t.Skip("parsers are linear; long inputs only slow the fuzzer")
		}
		const marker = "Zq7MARKERx9Kv2"
		name := fuzzFormats[int(format)%len(fuzzFormats)]
		i := int(at) % (len(data) + 1)
		in := data[:i] + marker + data[i:]
		// Only the syntax is under test: no key is secret, so no other
		// error (which names keys, where the marker may sit) can arise.
		l, err := parseForTest(name, []byte(in), SecretNames(), NoReferences())
		if err != nil {
			if !strings.HasPrefix(err.Error(), ErrSyntax.Error()) {
				t.Fatalf("%s: a refused file gives an error that is not ErrSyntax", name)
			}
			if strings.Contains(err.Error(), marker) {
				t.Fatalf("%s: the error text holds the planted marker", name)
			}
			if bytes.Contains([]byte(err.Error()), []byte(marker[:8])) {
				t.Fatalf("%s: the error text holds part of the planted marker", name)
			}
			return
		}
		if l == nil || len(l.cells) != 0 {
			t.Fatalf("%s: an accepted file gave no layer, or cells without secrets", name)
		}
	})
}

// FuzzPlainValuesMatchKoanf checks that, with no key secret, a layer
// loads into koanf exactly what koanf's own parser loads: the node-tree
// YAML walk, the JSON walk and the two-pass TOML read must agree with
// yaml.v3, encoding/json and go-toml on every document, valid or not.
func FuzzPlainValuesMatchKoanf(f *testing.F) {
	for _, seed := range []struct {
		format uint8
		data   string
	}{
		{0, "a: 1\nb: [x, {c: 007}]\nd: {e: 2024-01-02, 1.0: x, ~: y}\n"},
		{0, "base: &b {x: 1, y: 2}\nchild: {<<: *b, y: 3}\nlist: [*b]\n"},
		{0, "a: !!binary aGk=\nb: .inf\nc: 0x1F\nd:\n"},
		{0, "e: &b {x: {y: *b}}\n"},
		{1, `{"a": 1, "b": [1, {"c": null}], "a": 2, "d": {"e": {}}}`},
		{1, `{"a": 1e400}`},
		{2, "a = 1\n[b]\nc = 2024-01-02\n[[d]]\ne = 1\n"},
		{2, "a = {b = {c = 1}}\nx.y = \"z\"\n"},
	} {
		f.Add(seed.format, seed.data)
	}
	parsers := []koanf.Parser{kyaml.Parser(), kjson.Parser(), ktoml.Parser()}
	f.Fuzz(func(t *testing.T, format uint8, data string) {
		if len(data) > 1<<12 {
			t.Skip("long inputs only slow the fuzzer")
		}
		i := int(format) % len(parsers)
		name := fuzzFormats[i]
		want := koanf.New(".")
		werr := want.Load(rawbytes.Provider([]byte(data)), parsers[i])
		l, gerr := parseForTest(name, []byte(data), SecretNames(), NoReferences())
		if gerr != nil {
			if werr == nil {
				t.Fatalf("%s: koanf accepts, the layer refuses: %v", name, gerr)
			}
			return
		}
		if werr != nil {
			t.Fatalf("%s: the layer accepts, koanf refuses: %v", name, werr)
		}
		got := koanf.New(".")
		if err := got.Load(mapProvider(l.tree()), nil); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.All(), want.All()) {
			t.Fatalf("%s: layer %#v, koanf %#v", name, got.All(), want.All())
		}
	})
}

// FuzzEverySecretPath makes every key secret, so that each format's way
// of taking a secret (a YAML node's text, a JSON value unescaped into its
// cell, a TOML value and its blanked copy, a .env value) meets arbitrary
// input. The properties: no panic; a refusal is ErrSyntax or
// ErrSecretType; an accepted file yields only secret entries, each with
// a live cell, and a plain JSON string's cell holds what encoding/json
// decodes (the only format with a second decoder to compare with).
func FuzzEverySecretPath(f *testing.F) {
	for _, seed := range []struct {
		format uint8
		data   string
	}{
		{0, "a: 00123\nb: \"x\\ty\"\nc: 'q''q'\nd: |\n  e\n"},
		{1, `{"a": "\u00e9\ud83d\ude00\"", "b": 1e400, "c": {"d": "\ud800"}}`},
		{2, "a = \"x\\u00e9\"\nb = 1979-05-27T07:32:00Z\n[c]\nd = '''\nz'''\n"},
		{3, "A=\"x\\ty\"\nB='$z'\nC=plain # c\n"},
	} {
		f.Add(seed.format, seed.data)
	}
	f.Fuzz(func(t *testing.T, format uint8, data string) {
		if len(data) > 1<<12 {
			t.Skip("long inputs only slow the fuzzer")
		}
		name := fuzzFormats[int(format)%len(fuzzFormats)]
		l, err := parseForTest(name, []byte(data), SecretKeys("*"), NoReferences())
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrSecretType) {
				t.Fatalf("%s: refused with %v", name, err)
			}
			return
		}
		defer l.discard()
		for key, e := range l.entries {
			switch e.kind {
			case secretText:
				if !e.cell.Alive() {
					t.Fatalf("%s: %s has no live cell", name, key)
				}
			case plainValue:
				if _, isMap := e.plain.(map[string]any); !isMap {
					t.Fatalf("%s: %s is plain though every key is secret", name, key)
				}
			}
		}
		if name != "app.json" {
			return
		}
		var top map[string]json.RawMessage
		if json.Unmarshal([]byte(data), &top) != nil {
			return
		}
		for key, raw := range top {
			var s string
			e, ok := l.entries[key]
			if !ok || e.kind != secretText || json.Unmarshal(raw, &s) != nil || !utf8.ValidString(s) ||
				bytes.ContainsRune(raw, utf8.RuneError) || !utf8.Valid(raw) {
				continue
			}
			if !e.cell.Equal([]byte(s)) {
				t.Fatalf("json: %s: the cell does not hold what encoding/json decodes", key)
			}
		}
	})
}
