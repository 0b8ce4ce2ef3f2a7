package config

import (
	"errors"
	"fmt"
)

// readDotenv reads a .env file. This parser replaces koanf's dotenv
// parser, which hands the whole file to godotenv as one string and lets
// godotenv copy it again: copies of every secret that nobody can reach to
// wipe. Here a secret goes from the file's scratch memory straight into
// its cell, unescaped on the way, and only plain values become strings.
//
// The syntax is the common subset of dotenv implementations:
//
//	# comment
//	KEY=value             unquoted: trimmed, " #..." ends it
//	export KEY=value      "export " is ignored
//	KEY='literal value'   single quotes: no escapes, may span lines
//	KEY="a\nb \"c\""      double quotes: \n \r \t \" \\ \$ escapes, may span lines
//
// Variable expansion ($VAR, ${VAR}) is not performed: a secret containing
// '$' is kept as written. Keys are used as they are (DB_PASSWORD stays
// DB_PASSWORD; a dot makes levels).
func readDotenv(l *layer, data []byte) error {
	c := &l.s.rules
	err := scanDotenv(data, func(key string, v dotenvValue, line int) error {
		p := oneLevel(key) // a dot in a name is part of it, as koanf's dotenv parser has it
		if c.references && mayBeReference(v.raw) {
			if kind, target := parseReference(v.String()); kind != plainValue {
				l.ref(p, kind, target, line)
				return nil
			}
		}
		if c.secret(key) {
			return l.secretFill(p, v.len(), v.writeTo, line)
		}
		l.plain(p, v.String())
		return nil
	})
	var se *dotenvError
	if errors.As(err, &se) {
		return syntaxError(l.name, data, err)
	}
	return err
}

// dotenvError is a syntax error: a line and what is wrong, never the text.
type dotenvError struct {
	line int
	msg  string
}

func (e *dotenvError) Error() string { return fmt.Sprintf("dotenv: line %d: %s", e.line, e.msg) }

// dotenvValue is a value as written: raw is a slice of the input without
// its quotes, quote the quote character or 0.
type dotenvValue struct {
	raw   []byte
	quote byte
}

// escaped reports whether raw[i] starts an escape: only double quotes
// have escapes.
func (v dotenvValue) escaped(i int) bool {
	return v.quote == '"' && v.raw[i] == '\\' && i+1 < len(v.raw)
}

// len is the value's length once unescaped.
func (v dotenvValue) len() int {
	n := 0
	for i := 0; i < len(v.raw); i++ {
		if v.escaped(i) {
			i++
		}
		n++
	}
	return n
}

// writeTo writes the unescaped value into dst, which is v.len() long.
func (v dotenvValue) writeTo(dst []byte) {
	j := 0
	for i := 0; i < len(v.raw); i++ {
		c := v.raw[i]
		if v.escaped(i) {
			i++
			// \n \r \t; \" \\ \$ and anything else: the character itself
			c = unescapeControl(v.raw[i])
		}
		dst[j] = c
		j++
	}
}

// String returns the unescaped value on the heap, for plain values.
func (v dotenvValue) String() string {
	b := make([]byte, v.len())
	v.writeTo(b)
	return string(b)
}

// scanDotenv calls fn for every KEY=value statement in b, in order.
func scanDotenv(b []byte, fn func(key string, v dotenvValue, line int) error) error {
	line := 1
	i := 0
	for i < len(b) {
		// Start of a statement: skip blank space and comment lines.
		switch c := b[i]; {
		case c == '\n':
			line++
			i++
			continue
		case c == ' ' || c == '\t' || c == '\r':
			i++
			continue
		case c == '#':
			for i < len(b) && b[i] != '\n' {
				i++
			}
			continue
		}
		if hasPrefixAt(b, i, "export ") {
			i += len("export ")
			for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
				i++
			}
		}
		start := i
		for i < len(b) && isEnvKeyByte(b[i], i == start) {
			i++
		}
		if i == start {
			return &dotenvError{line, "a name must start with a letter or '_'"}
		}
		key := string(b[start:i])
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		if i >= len(b) || (b[i] != '=' && b[i] != ':') {
			return &dotenvError{line, "expected '=' after a name"}
		}
		i++
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		v, next, lines, msg := scanValue(b, i)
		if msg != "" {
			return &dotenvError{line, msg}
		}
		if err := fn(key, v, line); err != nil {
			return err
		}
		line += lines
		i = next
	}
	return nil
}

func hasPrefixAt(b []byte, i int, p string) bool {
	return len(b)-i >= len(p) && string(b[i:i+len(p)]) == p
}

func isEnvKeyByte(c byte, first bool) bool {
	switch {
	case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
		return true
	case c >= '0' && c <= '9', c == '.', c == '-':
		return !first
	}
	return false
}

// scanValue finds the value starting at b[i]. It returns the value, the
// index after it (past the line's end), how many newlines it spans, and
// what is wrong with it, if anything.
func scanValue(b []byte, i int) (dotenvValue, int, int, string) {
	if i < len(b) && (b[i] == '\'' || b[i] == '"') {
		q := b[i]
		i++
		start := i
		lines := 0
		for ; i < len(b); i++ {
			switch c := b[i]; {
			case c == q:
				v := dotenvValue{raw: b[start:i], quote: q}
				// The rest of the line may hold only a comment.
				j := i + 1
				for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\r') {
					j++
				}
				if j < len(b) && b[j] != '\n' && b[j] != '#' {
					return dotenvValue{}, 0, 0, "unexpected text after the closing quote"
				}
				for j < len(b) && b[j] != '\n' {
					j++
				}
				return v, j, lines, ""
			case c == '\\' && q == '"' && i+1 < len(b):
				if b[i+1] == '\n' {
					lines++
				}
				i++
			case c == '\n':
				lines++
			}
		}
		return dotenvValue{}, 0, 0, "a quoted value is never closed"
	}
	start := i
	end := i
	for i < len(b) && b[i] != '\n' {
		if b[i] == '#' && i > start && (b[i-1] == ' ' || b[i-1] == '\t') {
			break
		}
		i++
		end = i
	}
	for end > start && (b[end-1] == ' ' || b[end-1] == '\t' || b[end-1] == '\r') {
		end--
	}
	for i < len(b) && b[i] != '\n' {
		i++
	}
	return dotenvValue{raw: b[start:end]}, i, 0, ""
}

// unescapeControl is the character the escape \c stands for in the
// escapes dotenv and JSON share: \n, \r and \t, and c itself otherwise.
func unescapeControl(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return c
}
