package config

import (
	"bytes"
	"strings"
	"unsafe"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
	"github.com/secretmem/secretmem/internal/wipe"
	"github.com/secretmem/secretmem/secret"
)

// readTOML parses TOML in two passes over the text in scratch memory.
// The first, go-toml's syntax parser, finds every key = value outside
// arrays and asks the classifier about it: a secret's cell gets the value
// as written (an integer's digits, a date's text, a string's content) and
// a reference is recorded. The second, go-toml's decoder, as koanf's
// parser runs it, gives the plain keys their typed values; it reads a
// copy of the text in which every secret value is blanked out, so it
// never makes a Go value of a secret.
func readTOML(l *layer, data []byte) error {
	t := tomlTaker{l: l, data: data, lines: make(map[string]int, bytes.Count(data, []byte{'\n'})+1)}
	if err := t.take(); err != nil {
		return err
	}
	decode := func(b []byte) error {
		var m map[string]any
		if err := toml.Unmarshal(b, &m); err != nil {
			return syntaxError(l.name, b, err)
		}
		return readTyped(m, t.lines)(l, b)
	}
	if len(t.spans) == 0 {
		return decode(data)
	}
	// The blanked copy holds no secret value, so it may live on the heap;
	// it is wiped all the same, for the comments it may hold.
	plain := make([]byte, len(data))
	defer secret.Wipe(plain)
	t.blank(plain)
	return decode(plain)
}

// tomlTaker is the first pass.
type tomlTaker struct {
	l     *layer
	data  []byte
	p     unstable.Parser
	lines map[string]int // where each key outside arrays was written
	// The last offset a line was counted to, and its line: keys come in
	// the order of the text, so counting goes on from there.
	counted, countedLine int
	spans                [][2]int // byte ranges of the secrets' values
}

func (t *tomlTaker) take() error {
	t.p.Reset(t.data)
	var table []string // the current table's key parts
	var at loc         // and where its keys go
	inArray := false
	arrays := make(map[string]bool)
	for t.p.NextExpression() {
		e := t.p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = t.keyParts(e.Key())
			at = loc{}
			for _, part := range table {
				at = at.child(part)
			}
			if e.Kind == unstable.ArrayTable {
				arrays[strings.Join(table, ".")] = true
			}
			inArray = false
			for i := range table {
				inArray = inArray || arrays[strings.Join(table[:i+1], ".")]
			}
		case unstable.KeyValue:
			if inArray {
				// An item of an array of tables: koanf keeps the list as
				// one value, which the second pass checks.
				continue
			}
			if err := t.keyValue(at, e); err != nil {
				return err
			}
		}
	}
	if err := t.p.Error(); err != nil {
		// go-toml's decoder says the same with a position: ask it, on
		// this text that failed to parse.
		var m map[string]any
		if derr := toml.Unmarshal(t.data, &m); derr != nil {
			return syntaxError(t.l.name, t.data, derr)
		}
		return syntaxError(t.l.name, t.data, err)
	}
	return nil
}

func (t *tomlTaker) keyValue(at loc, kv *unstable.Node) error {
	p := at
	for _, part := range t.keyParts(kv.Key()) {
		p = p.child(part)
	}
	key := p.key
	line := t.lineOfKey(kv)
	t.lines[key] = line
	v := kv.Value()
	c := &t.l.s.rules
	switch v.Kind {
	case unstable.InlineTable:
		for it := v.Children(); it.Next(); {
			if err := t.keyValue(p, it.Node()); err != nil {
				return err
			}
		}
		return nil
	case unstable.Array:
		if c.secret(key) {
			return t.l.listUnderSecret(key, line)
		}
		return nil
	case unstable.String:
		defer t.wipeData(v)
		if c.references && mayBeReference(v.Data) {
			if kind, target := parseReference(string(v.Data)); kind != plainValue {
				t.l.ref(p, kind, target, line)
				t.blankValue(v)
				return nil
			}
		}
	}
	if !c.secret(key) {
		return nil
	}
	if err := t.l.secretBytes(p, v.Data, line); err != nil {
		return err
	}
	t.blankValue(v)
	return nil
}

func (t *tomlTaker) keyParts(it unstable.Iterator) []string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

// lineOfKey is the line a key = value starts on.
func (t *tomlTaker) lineOfKey(kv *unstable.Node) int {
	it := kv.Key()
	if !it.Next() {
		return 0
	}
	r := it.Node().Raw
	off := int(r.Offset)
	if r.Length == 0 || off+int(r.Length) > len(t.data) {
		return 0
	}
	if off < t.counted {
		t.counted, t.countedLine = 0, 0
	}
	t.countedLine += bytes.Count(t.data[t.counted:off], []byte{'\n'})
	t.counted = off
	return t.countedLine + 1
}

// blankValue records the bytes of v's value token, quotes and all.
func (t *tomlTaker) blankValue(v *unstable.Node) {
	lo, hi := -1, -1
	if r := v.Raw; r.Length > 0 {
		lo, hi = int(r.Offset), int(r.Offset+r.Length)
	} else if off, ok := t.offset(v.Data); ok {
		lo, hi = off, off+len(v.Data)
	}
	if lo >= 0 && hi <= len(t.data) {
		t.spans = append(t.spans, [2]int{lo, hi})
	}
}

// offset is where b, a slice of the input, starts in it.
func (t *tomlTaker) offset(b []byte) (int, bool) {
	if len(b) == 0 || len(t.data) == 0 {
		return 0, false
	}
	off := uintptr(unsafe.Pointer(unsafe.SliceData(b))) - uintptr(unsafe.Pointer(unsafe.SliceData(t.data)))
	return int(off), off < uintptr(len(t.data))
}

// wipeData zeroes a string's content when the parser unescaped it into
// a buffer of its own; content that is a slice of the input stays for the
// scratch memory's own wipe.
func (t *tomlTaker) wipeData(v *unstable.Node) {
	if _, inInput := t.offset(v.Data); !inInput {
		wipe.Zero(v.Data)
	}
}

// blank writes the input into dst, of its length, with every recorded
// value replaced: a 0 where the value began,
// spaces for the rest of it, newlines kept, so the text stays valid TOML
// with every line where it was.
func (t *tomlTaker) blank(dst []byte) {
	copy(dst, t.data)
	for _, r := range t.spans {
		dst[r[0]] = '0'
		for i := r[0] + 1; i < r[1]; i++ {
			if dst[i] != '\n' {
				dst[i] = ' '
			}
		}
	}
}
