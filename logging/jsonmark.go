package logging

import (
	"strings"
	"unsafe"

	"github.com/secretmem/secretmem/internal/jsonstr"
	"github.com/secretmem/secretmem/secret"
)

// jsonMark copies JSON text, as encoding/json writes it, into dst with
// the values of members whose names are secret replaced by
// "[REDACTED]" (null stays null), and with member names and strings
// redacted as text is. The output is JSON of the same shape: an object
// stays an object with the secret member replaced. Strings are read back
// from their escapes into scratch memory, so a secret escaped as \u0073
// is found too.
type jsonMark struct {
	c       *compiled
	src     []byte
	i       int
	dst     *buffer
	dec     *buffer
	changed bool
}

// markJSON runs jsonMark over src. ok is false for text it cannot read
// (nesting past maxDepth, a malformed value), which the caller then
// treats as text.
func (c *compiled) markJSON(dst, dec *buffer, src []byte) (changed, ok bool) {
	m := jsonMark{c: c, src: src, dst: dst, dec: dec}
	if !m.value(false, 0) {
		return false, false
	}
	m.ws()
	return m.changed, m.i == len(m.src)
}

func (m *jsonMark) ws() { m.i = jsonstr.SkipSpace(m.src, m.i) }

func (m *jsonMark) value(secretName bool, depth int) bool {
	m.ws()
	if m.i >= len(m.src) || depth > maxDepth {
		return false
	}
	switch c := m.src[m.i]; c {
	case '{', '[':
		return m.container(c, secretName, depth)
	case '"':
		start := m.i
		end, ok := m.stringEnd()
		if !ok {
			return false
		}
		m.i = end
		raw := m.src[start:end]
		if secretName && len(raw) > 2 {
			m.redacted()
			return true
		}
		return m.text(raw)
	default: // a number, true, false or null
		start := m.i
		for m.i < len(m.src) && !isJSONDelim(m.src[m.i]) {
			m.i++
		}
		lit := m.src[start:m.i]
		if len(lit) == 0 {
			return false
		}
		if secretName && string(lit) != "null" {
			m.redacted()
		} else {
			_, _ = m.dst.Write(lit)
		}
		return true
	}
}

func isJSONDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ':', ' ', '\t', '\n', '\r', '"':
		return true
	}
	return false
}

func (m *jsonMark) container(open byte, secretName bool, depth int) bool {
	closer := byte('}')
	if open == '[' {
		closer = ']'
	}
	_ = m.dst.WriteByte(open)
	m.i++
	for first := true; ; first = false {
		m.ws()
		if m.i >= len(m.src) {
			return false
		}
		if m.src[m.i] == closer {
			_ = m.dst.WriteByte(closer)
			m.i++
			return true
		}
		if !first {
			if m.src[m.i] != ',' {
				return false
			}
			_ = m.dst.WriteByte(',')
			m.i++
			m.ws()
		}
		name := secretName
		if open == '{' {
			var ok bool
			if name, ok = m.member(secretName); !ok {
				return false
			}
		}
		if !m.value(name, depth+1) {
			return false
		}
	}
}

// member copies a member name and its colon, and reports whether the
// name is secret.
func (m *jsonMark) member(inSecret bool) (secretName, ok bool) {
	if m.i >= len(m.src) || m.src[m.i] != '"' {
		return false, false
	}
	start := m.i
	end, ok := m.stringEnd()
	if !ok {
		return false, false
	}
	m.i = end
	raw := m.src[start:end]
	name, ok := m.unescape(raw)
	if !ok {
		return false, false
	}
	s := unsafe.String(unsafe.SliceData(name), len(name))
	secretName = inSecret || m.c.keys.match(s)
	if !m.text(raw) {
		return false, false
	}
	m.ws()
	if m.i >= len(m.src) || m.src[m.i] != ':' {
		return false, false
	}
	_ = m.dst.WriteByte(':')
	m.i++
	return secretName, true
}

// stringEnd returns the index just past the string starting at m.i.
func (m *jsonMark) stringEnd() (int, bool) {
	for j := m.i + 1; j < len(m.src); j++ {
		switch m.src[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// unescape reads the quoted JSON string raw into m.dec, which is wiped
// first and is large enough not to grow (and drop a copy) meanwhile.
func (m *jsonMark) unescape(raw []byte) ([]byte, bool) {
	m.dec.reset()
	m.dec.grow(len(raw))
	plain, ok := jsonstr.AppendUnescaped(m.dec.b, raw[1:len(raw)-1])
	m.dec.b = plain
	return plain, ok
}

// text copies the quoted JSON string raw, redacted as text.
func (m *jsonMark) text(raw []byte) bool {
	plain, ok := m.unescape(raw)
	if !ok {
		return false
	}
	out, changed := m.c.text(unsafe.String(unsafe.SliceData(plain), len(plain)))
	if !changed {
		_, _ = m.dst.Write(raw)
		return true
	}
	m.changed = true
	// A cut at MaxLen may split a character: escape what is valid.
	out = strings.ToValidUTF8(out, "\ufffd")
	m.dst.grow(2 + 6*len(out))
	_ = m.dst.WriteByte('"')
	m.dst.b, _ = jsonstr.AppendEscaped(m.dst.b, []byte(out), false)
	_ = m.dst.WriteByte('"')
	return true
}

func (m *jsonMark) redacted() {
	m.changed = true
	_, _ = m.dst.WriteString(`"` + secret.Redacted + `"`)
}
