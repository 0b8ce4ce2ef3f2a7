package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/secretmem/secretmem/secret"
)

var lineInMessage = regexp.MustCompile(`\bline (\d+)\b`)

// Prefixes that parsers put before the reason, line numbers included.
var noisePrefix = regexp.MustCompile(`^(yaml|toml|json|dotenv)?:?\s*(line \d+:\s*)?`)

func syntaxError(name string, data []byte, err error) error {
	msg := err.Error()
	line := 0
	var pos interface{ Position() (int, int) }
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &pos): // go-toml
		line, _ = pos.Position()
	case errors.As(err, &se):
		line = lineAt(data, faultOffset(se.Offset))
	case errors.As(err, &te):
		line = lineAt(data, faultOffset(te.Offset))
	default: // yaml: "yaml: line 3: ..."
		if m := lineInMessage.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
	}
	reason, quoted := stripQuoted(msg)
	if line == 0 {
		// dotenv quotes the rest of the input ("near %q"): find it.
		for _, q := range quoted {
			if line = locate(data, q); line > 0 {
				break
			}
		}
	}
	reason = plainWords(strings.TrimSpace(noisePrefix.ReplaceAllString(reason, "")))
	if reason == "" || leaks(reason, data, line) {
		reason = "syntax error"
	}
	if line > 0 {
		return fmt.Errorf("%w: %s:%d: %s", ErrSyntax, name, line, reason)
	}
	return fmt.Errorf("%w: %s: %s", ErrSyntax, name, reason)
}

// stripQuoted replaces every quoted part of msg ("...", '...', `...`) with
// an ellipsis and returns the parts. A quote that is never closed hides
// the rest of the message. A single quoted punctuation character (':')
// is kept: it tells the reader what was expected and carries no secret.
func stripQuoted(msg string) (string, []string) {
	var out strings.Builder
	var quoted []string
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c != '"' && c != '\'' && c != '`' {
			out.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(msg) && msg[j] != c {
			if msg[j] == '\\' {
				j++
			}
			j++
		}
		inner := msg[i+1 : min(j, len(msg))]
		if len(inner) == 1 && isPunct(inner[0]) && j < len(msg) {
			out.WriteString(msg[i : j+1])
		} else {
			out.WriteString("…")
			quoted = append(quoted, inner)
		}
		i = j
	}
	return out.String(), quoted
}

// plainWords keeps the words of a parser's reason that read as its own
// vocabulary (lower-case words, numbers, !!tags, Go type names such as
// map[string]interface {}) and turns every other word into an ellipsis.
// Parsers print some input unquoted and transformed: yaml.v3 names a local
// tag after URI-decoding it, which no search of the raw input would find.
func plainWords(reason string) string {
	words := strings.Fields(reason)
	changed := false
	for i, w := range words {
		if !parserWord(w) {
			words[i] = "…"
			changed = true
		}
	}
	if !changed {
		return reason
	}
	return strings.Join(words, " ")
}

func parserWord(w string) bool {
	w = strings.ReplaceAll(w, "…", "")
	w = strings.Trim(w, ":,.;()")
	if w == "" {
		return true
	}
	w = strings.TrimPrefix(w, "!!")
	digits, letters := true, true
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case '0' <= c && c <= '9':
			letters = false
		case 'a' <= c && c <= 'z', c == '_', c == '[', c == ']', c == '{', c == '}', c == '*', c == '-', c == '\'', c == '(', c == ')':
			digits = false
		default:
			return false
		}
	}
	// A word mixing letters and digits is a name or a value, not prose.
	return digits || letters
}

func isPunct(c byte) bool {
	return c > ' ' && c < 0x7f && !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z')
}

// faultOffset turns encoding/json's Offset, the number of bytes read when
// the error occurred, into the offset of the byte at fault: the last one
// read. Counting the offset itself gave the line after a string broken by
// a newline, and after the last line of a file that ends too soon.
func faultOffset(n int64) int64 { return max(n-1, 0) }

func lineAt(data []byte, off int64) int {
	if off < 0 || off > int64(len(data)) {
		return 0
	}
	return 1 + bytes.Count(data[:off], []byte{'\n'})
}

// locate finds q in data and returns its line, or 0.
func locate(data []byte, q string) int {
	// Escapes (\n, \") differ from the input: search up to the first one.
	if i := strings.IndexByte(q, '\\'); i >= 0 {
		q = q[:i]
	}
	if len(q) < 3 {
		return 0
	}
	b := []byte(q)
	defer secret.Wipe(b)
	i := bytes.Index(data, b)
	if i < 0 {
		return 0
	}
	return lineAt(data, int64(i))
}

// leaks reports whether reason contains a word of the input near line (or
// anywhere, when the line is unknown): the last guard against a parser
// that echoes input unquoted.
func leaks(reason string, data []byte, line int) bool {
	region := data
	if line > 0 {
		lines := bytes.SplitAfter(data, []byte{'\n'})
		lo, hi := max(line-2, 0), min(line+1, len(lines))
		if lo < hi {
			start := 0
			for _, l := range lines[:lo] {
				start += len(l)
			}
			end := start
			for _, l := range lines[lo:hi] {
				end += len(l)
			}
			region = data[start:end]
		}
	}
	r := []byte(reason)
	for _, tok := range bytes.FieldsFunc(region, isDelimiter) {
		if len(tok) >= 4 && bytes.Contains(r, tok) {
			return true
		}
	}
	return false
}

func isDelimiter(c rune) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '=', ':', ',', ';', '"', '\'', '`', '{', '}', '[', ']', '(', ')', '#':
		return true
	}
	return false
}
