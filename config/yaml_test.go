package config

import (
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

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
