package wipe

import (
	"bytes"
	"io"
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

func TestYAMLDecoderWipesTheDecodersBuffers(t *testing.T) {
	const marker = "Zq7YAMLMARKERx9Kv2"
	doc := "db:\n  host: localhost\n  password: " + marker + "\nlist: [a, b]\n"
	spy := &spyReader{r: strings.NewReader(doc)}
	d := yaml.NewDecoder(spy)
	var n yaml.Node
	if err := d.Decode(&n); err != nil {
		t.Fatal(err)
	}
	if !YAMLDecoder(d) {
		t.Fatal("YAMLDecoder did not recognise the decoder")
	}
	if spy.buf == nil {
		t.Fatal("the decoder never read")
	}
	if bytes.Contains(spy.buf, []byte("localhost")) || bytes.Contains(spy.buf, []byte(marker)) {
		t.Error("the decoder's raw buffer still holds the file")
	}
	if n := len(bytes.Trim(spy.buf, "\x00")); n != 0 {
		t.Errorf("%d bytes of the raw buffer are not zero", n)
	}
}

// The wiping reaches unexported fields of go.yaml.in/yaml/v3; a version
// with another layout must fail here, not stop wiping in silence.
func TestYAMLDecoderLayoutIsKnown(t *testing.T) {
	for _, doc := range []string{"a: 1\n", "", "a: [\n"} {
		d := yaml.NewDecoder(strings.NewReader(doc))
		var out yaml.Node
		_ = d.Decode(&out)
		if !YAMLDecoder(d) {
			t.Fatalf("YAMLDecoder does not know this yaml decoder's layout (input %q)", doc)
		}
	}
	for _, notDecoder := range []any{nil, 3, &struct{ parser int }{}, (*yaml.Decoder)(nil)} {
		if YAMLDecoder(notDecoder) {
			t.Errorf("YAMLDecoder(%T) reported success", notDecoder)
		}
	}
}
