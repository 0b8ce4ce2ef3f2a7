package secretname

// A Matcher is a word list compiled for names that come by the thousand:
// log attribute keys, keys inside log text, header names. It applies the
// same rule as Match, but rejects most names in one pass over their bytes
// without folding them: only a name holding the first three folded bytes
// of some word (two for two-byte words) is read for the rule, against the
// words that could match there. A Matcher is immutable and safe for
// concurrent use.
type Matcher struct {
	byFirst [256][]word // words indexed by their first folded byte
	// starts has a bit for the hash of the first three bytes of each word
	// (the first two for two-byte words, which set pairs too).
	starts [1 << 16 / 64]uint64
	// first marks the name bytes that fold to the first byte of a word:
	// no word can start before the first of them.
	first [256]bool
	pairs bool // some word has two bytes only
	empty bool // no word at all
}

type word struct {
	text string // folded, without its mark
	kind wordKind
}

// Compile compiles words, spelled in any form Normalize accepts.
func Compile(words []string) *Matcher {
	m := &Matcher{}
	for _, w := range words {
		n := Normalize(w)
		if n == "" {
			continue
		}
		k, t := cutKind(n)
		wd := word{text: t, kind: k}
		m.byFirst[t[0]] = append(m.byFirst[t[0]], wd)
		for c := range 256 {
			if fold[c] == t[0] {
				m.first[c] = true
			}
		}
		var p uint32
		switch len(t) {
		case 1: // only exact words are this short
			p, m.pairs = tri(t[0], 0, 0), true
		case 2:
			p, m.pairs = tri(t[0], t[1], 0), true
		default:
			p = tri(t[0], t[1], t[2])
		}
		m.starts[p/64] |= 1 << (p % 64)
	}
	m.empty = true
	for _, ws := range m.byFirst {
		if len(ws) > 0 {
			m.empty = false
		}
	}
	return m
}

// tri hashes up to three folded bytes into the starts bitset; missing
// bytes are 0.
func tri(a, b, c byte) uint32 {
	return (uint32(a)*0x9E3779B1 ^ uint32(b)*0x85EBCA77 ^ uint32(c)*0xC2B2AE3D) >> 16
}

func (m *Matcher) has(p uint32) bool { return m.starts[p/64]&(1<<(p%64)) != 0 }

// Match reports whether name is secret by m's words.
func (m *Matcher) Match(name string) bool {
	if m.empty {
		return false
	}
	// Skip what cannot start a word, cheaply: names in text are often
	// numbers ("10.0.0.1:8080", "12:30").
	i := 0
	for i < len(name) && !m.first[name[i]] {
		i++
	}
	var a, b byte // the two folded bytes before name[i]
	n := 0        // folded bytes so far
	for ; i < len(name); i++ {
		c := fold[name[i]]
		if c == 0 {
			continue
		}
		n++
		if a != 0 && m.has(tri(a, b, c)) {
			return m.matchSlow(name)
		}
		if m.pairs && b != 0 && m.has(tri(b, c, 0)) {
			return m.matchSlow(name)
		}
		a, b = b, c
	}
	// A one-byte exact word: only a name that folds to one byte.
	if m.pairs && n == 1 && m.has(tri(b, 0, 0)) {
		return m.matchSlow(name)
	}
	return false
}

func (m *Matcher) matchSlow(name string) bool {
	var sc scratch
	f := foldName(name, &sc)
	for i := range f.b {
		for _, w := range m.byFirst[f.b[i]] {
			if len(f.b)-i < len(w.text) || string(f.b[i:i+len(w.text)]) != w.text {
				continue
			}
			if w.kind == exact {
				if i == 0 && len(f.b) == len(w.text) {
					return true
				}
			} else if matchAt(&f, w.text, i, w.kind) {
				return true
			}
		}
	}
	return false
}
