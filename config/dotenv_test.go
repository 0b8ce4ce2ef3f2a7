package config

import (
	"strings"
	"testing"
)

func TestEnvFileParser(t *testing.T) {
	in := "# a comment\n" +
		"PLAIN=value\n" +
		"  SPACED = padded value   # trailing comment\n" +
		"export EXPORTED=yes\n" +
		"EMPTY=\n" +
		"HASH=a#b\n" +
		"SINGLE='lit $HOME \\n # kept'\n" +
		"DOUBLE=\"tab\\tquote\\\" backslash\\\\ dollar\\$\"  # comment\n" +
		"MULTI=\"line one\nline two\"\n" +
		"dotted.key-name=ok\r\n" +
		"AFTER=multi-line values count lines\n"
	got, err := scanDotenvForTest([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"PLAIN": "value", "SPACED": "padded value", "EXPORTED": "yes", "EMPTY": "",
		"HASH": "a#b", "SINGLE": `lit $HOME \n # kept`, "DOUBLE": "tab\tquote\" backslash\\ dollar$",
		"MULTI": "line one\nline two", "dotted.key-name": "ok", "AFTER": "multi-line values count lines",
	}
	if len(got) != len(want) {
		t.Errorf("%d keys, want %d", len(got), len(want))
	}
	for k, w := range want {
		if g := got[k]; g != w {
			t.Errorf("%s = %q, want %q", k, g, w)
		}
	}
}

func TestEnvFileParserErrorsNameTheLineNotTheText(t *testing.T) {
	tests := []struct{ name, in, line string }{
		{"an unterminated quote", "A=1\n\nB=\"hunter2-secret\n", "line 3"},
		{"a line without a name", "A=1\n=hunter2-secret\n", "line 2"},
		{"a raw value on its own line", "A=1\nhunter2-secret\n", "line 2"},
		{"text after a closing quote", "A='x' hunter2-secret\n", "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scanDotenvForTest([]byte(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.line) {
				t.Errorf("the error does not say %s", tt.line)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Error("the error quotes the input")
			}
		})
	}
}

// scanDotenvForTest collects what scanDotenv finds, every value as the
// plain string it would become.
func scanDotenvForTest(b []byte) (map[string]string, error) {
	out := make(map[string]string)
	err := scanDotenv(b, func(key string, v dotenvValue, _ int) error {
		out[key] = v.String()
		return nil
	})
	return out, err
}
