package config

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// spyReader hands out its data and remembers the buffer the decoder read
// into: the decoder's raw buffer, seen without reflection.
type spyReader struct {
	r   io.Reader
	buf []byte
}

func (s *spyReader) Read(p []byte) (int, error) {
	if s.buf == nil {
		s.buf = p[:cap(p)]
	}
	return s.r.Read(p)
}

func TestYAMLParserWipesTheDecodersBuffers(t *testing.T) {
	const marker = "Zq7YAMLMARKERx9Kv2"
	doc := "db:\n  host: localhost\n  password: " + marker + "\nlist: [a, b]\n"
	spy := &spyReader{r: strings.NewReader(doc)}
	m, err := decodeYAML(spy)
	if err != nil {
		t.Fatal(err)
	}
	db, _ := m["db"].(map[string]any)
	if got, _ := db["password"].(string); got != marker {
		t.Fatal("the decoded value is not the one in the file")
	}
	if spy.buf == nil {
		t.Fatal("the decoder never read")
	}
	if bytes.Contains(spy.buf, []byte("localhost")) || bytes.Contains(spy.buf, []byte(marker)) {
		t.Error("the decoder's raw buffer still holds the file")
	}
	if n := len(spy.buf) - len(bytes.Trim(spy.buf, "\x00")); n != len(spy.buf) {
		t.Errorf("%d bytes of the raw buffer are not zero", len(spy.buf)-n)
	}
}

func TestYAMLParserMatchesKoanfs(t *testing.T) {
	for _, doc := range []string{
		"", "# only a comment\n", "a: 1\nb: [x, y]\nc: {d: true}\n", "a: 1\n---\na: 2\n",
		"s: 'quoted'\nn: ~\nf: 1.5\n", "- not a map\n", "a: [\n",
	} {
		got, gerr := yamlParser{}.Unmarshal([]byte(doc))
		var want map[string]any
		werr := yaml.Unmarshal([]byte(doc), &want)
		if (gerr == nil) != (werr == nil) {
			t.Errorf("%q: error %v, yaml.Unmarshal says %v", doc, gerr, werr)
			continue
		}
		if gerr != nil {
			continue
		}
		if want == nil {
			want = map[string]any{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: decoded %v, yaml.Unmarshal gives %v", doc, got, want)
		}
	}
}
