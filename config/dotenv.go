package config

import (
	"errors"
	"fmt"
)

// envFileParser parses .env files. It replaces koanf's dotenv parser, which
// hands the whole file to godotenv as one string and lets godotenv copy it
// again: copies of every secret in the file that nobody can reach to wipe
// (the proof suite found three per secret in a core dump). This parser makes
// exactly one string per value, which Load then overwrites like any other
// parser string, and wipes its own scratch buffers.
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
// '$' is kept as written.
type envFileParser struct{}

// Unmarshal parses b into a flat map of keys to string values.
func (envFileParser) Unmarshal(b []byte) (map[string]any, error) {
	out := make(map[string]any)
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
			return nil, fmt.Errorf("dotenv: line %d: a name must start with a letter or '_'", line)
		}
		key := string(b[start:i])
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		if i >= len(b) || (b[i] != '=' && b[i] != ':') {
			return nil, fmt.Errorf("dotenv: line %d: expected '=' after a name", line)
		}
		i++
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		val, next, lines, err := envValue(b, i)
		if err != nil {
			return nil, fmt.Errorf("dotenv: line %d: %w", line, err)
		}
		out[key] = val
		line += lines
		i = next
	}
	return out, nil
}

// Marshal is not supported: a Config never writes its secrets back out.
func (envFileParser) Marshal(map[string]any) ([]byte, error) {
	return nil, errors.New("dotenv: writing is not supported")
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

// envValue reads the value starting at b[i]. It returns the value, the
// index after it (past the line's end), and how many newlines it consumed.
func envValue(b []byte, i int) (string, int, int, error) {
	if i < len(b) && (b[i] == '\'' || b[i] == '"') {
		q := b[i]
		i++
		buf := make([]byte, 0, 64)
		defer func() { clear(buf[:cap(buf)]) }()
		lines := 0
		for ; i < len(b); i++ {
			c := b[i]
			switch {
			case c == q:
				val := string(buf)
				// The rest of the line may hold only a comment.
				j := i + 1
				for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\r') {
					j++
				}
				if j < len(b) && b[j] != '\n' && b[j] != '#' {
					return "", 0, 0, errors.New("unexpected text after the closing quote")
				}
				for j < len(b) && b[j] != '\n' {
					j++
				}
				return val, j, lines, nil
			case c == '\\' && q == '"' && i+1 < len(b):
				i++
				switch b[i] {
				case 'n':
					c = '\n'
				case 'r':
					c = '\r'
				case 't':
					c = '\t'
				default: // \" \\ \$ and anything else: the character itself
					c = b[i]
				}
			case c == '\n':
				lines++
			}
			if len(buf) == cap(buf) {
				grown := make([]byte, len(buf), 2*cap(buf))
				copy(grown, buf)
				clear(buf)
				buf = grown
			}
			buf = append(buf, c)
		}
		return "", 0, 0, errors.New("a quoted value is never closed")
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
	return string(b[start:end]), i, 0, nil
}
