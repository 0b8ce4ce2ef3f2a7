package secret_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/lmittmann/tint"

	"github.com/secretmem/secretmem/secret"
)

type holder struct {
	Name   string
	Key    secret.Value
	hidden secret.Value
	Ptr    *secret.Value
	List   []secret.Value
	Map    map[string]secret.Value
	Any    any
}

func newHolder(t *testing.T, m string) holder {
	v := mustNew(t, m)
	g := mustNew(t, m, secret.Guarded(), secret.Label("db.password"))
	return holder{
		Name: "h", Key: v, hidden: g, Ptr: &v,
		List: []secret.Value{v, g}, Map: map[string]secret.Value{"k": g}, Any: v,
	}
}

func TestFmtNeverPrintsTheSecret(t *testing.T) {
	m := marker(t)
	h := newHolder(t, m)
	verbs := []string{"v", "+v", "#v", "s", "q", "x", "X", "d", "T", "p", "t", "b", "o", "c", "U", "e", "f", "g"}
	flags := []string{"", "-", "+", "#", " ", "0", "10", "-10", "#x", "% x", ".3", "08.2"}
	args := map[string]any{
		"a Value": h.Key, "a *Value": h.Ptr, "a guarded Value": h.hidden,
		"a struct holding Values": h, "a *struct holding Values": &h,
		"a slice of Values": h.List, "a map of Values": h.Map,
	}
	for name, arg := range args {
		for _, verb := range verbs {
			for _, flag := range flags {
				f := "%" + flag + verb
				out := fmt.Sprintf(f, arg)
				if strings.Contains(out, m) || containsHexOf(out, m) {
					t.Fatalf("%s with %s printed the secret", name, f)
				}
			}
		}
	}
	// And the other entry points.
	outs := []string{fmt.Sprint(h), fmt.Sprintln(h.Key, &h), h.Key.String(), h.Key.GoString()}
	var buf bytes.Buffer
	log.New(&buf, "", 0).Printf("%v %+v %#v", h, h, h)
	outs = append(outs, buf.String())
	for _, out := range outs {
		if strings.Contains(out, m) {
			t.Fatal("a print function printed the secret")
		}
	}
}

func TestRedactedFormsAreReadable(t *testing.T) {
	v := mustNew(t, marker(t))
	l := mustNew(t, marker(t), secret.Label("db.password"))
	tests := []struct {
		name, got, want string
	}{
		{"%v", fmt.Sprintf("%v", v), "[REDACTED]"},
		{"%s with a label", fmt.Sprintf("%s", l), "[REDACTED db.password]"},
		{"%#v", fmt.Sprintf("%#v", v), "secret.Value([REDACTED])"},
		{"%q", fmt.Sprintf("%q", v), `"[REDACTED]"`},
		{"%12v pads", fmt.Sprintf("%12v|", v), "  [REDACTED]|"},
		{"%-12v pads right", fmt.Sprintf("%-12v|", v), "[REDACTED]  |"},
		{"%x does not hex the secret", fmt.Sprintf("%x", v), "[REDACTED]"},
		{"a struct", fmt.Sprintf("%+v", struct{ K secret.Value }{v}), "{K:[REDACTED]}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestSlogNeverPrintsTheSecret(t *testing.T) {
	m := marker(t)
	h := newHolder(t, m)
	handlers := map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"tint": func(b *bytes.Buffer) slog.Handler { return tint.NewTextHandler(b, &tint.Options{NoColor: true}) },
		"tint in colour": func(b *bytes.Buffer) slog.Handler {
			return tint.NewTextHandler(b, &tint.Options{NoColor: false})
		},
	}
	for name, mk := range handlers {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(mk(&buf))
			logger.Info("loaded", "key", h.Key, "ptr", h.Ptr, "holder", h, "list", h.List, "any", h.Any)
			logger.With("key", h.Key).WithGroup("g").Info("with", slog.Any("key", h.hidden), slog.Group("inner", "k", h.Key))
			if strings.Contains(buf.String(), m) {
				t.Fatal("the log holds the secret")
			}
			if !strings.Contains(buf.String(), "[REDACTED") {
				t.Errorf("the log does not show the redaction:\n%s", buf.String())
			}
		})
	}
}

func TestEncodersNeverPrintTheSecret(t *testing.T) {
	m := marker(t)
	h := newHolder(t, m)
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	x, err := xml.Marshal(xmlDoc{Key: h.Key})
	if err != nil {
		t.Fatal(err)
	}
	txt, _ := h.Key.MarshalText()
	for name, out := range map[string][]byte{"json": j, "xml": x, "text": txt} {
		if bytes.Contains(out, []byte(m)) {
			t.Errorf("%s encoding holds the secret", name)
		}
		if !bytes.Contains(out, []byte("[REDACTED")) {
			t.Errorf("%s encoding does not show the redaction: %s", name, out)
		}
	}
}

// TestReflectionWalkersFindNoSecret walks a Value the way testify's diff
// (spew with DisableMethods) and go-cmp do: every field, exported or not,
// every pointer followed, every slice printed.
func TestReflectionWalkersFindNoSecret(t *testing.T) {
	m := marker(t)
	h := newHolder(t, m)
	var out strings.Builder
	walk(&out, reflect.ValueOf(&h), 0, map[uintptr]bool{})
	if strings.Contains(out.String(), m) || containsHexOf(out.String(), m) {
		t.Fatal("a reflection walk reached the secret bytes")
	}
	if out.Len() < 100 {
		t.Fatalf("the walk saw too little to prove anything: %q", out.String())
	}
}

func walk(w *strings.Builder, v reflect.Value, depth int, seen map[uintptr]bool) {
	if depth > 30 {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		walk(w, v.Elem(), depth+1, seen)
	case reflect.Interface:
		if !v.IsNil() {
			walk(w, v.Elem(), depth+1, seen)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			fmt.Fprintf(w, "%s:", v.Type().Field(i).Name)
			walk(w, v.Field(i), depth+1, seen)
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			// Read the bytes the way a printer would, unexported or not.
			if v.Len() > 0 {
				b := unsafe.Slice((*byte)(v.UnsafePointer()), v.Len())
				w.Write(b)
				fmt.Fprintf(w, "%x", b)
			}
			return
		}
		for i := range v.Len() {
			walk(w, v.Index(i), depth+1, seen)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			walk(w, it.Key(), depth+1, seen)
			walk(w, it.Value(), depth+1, seen)
		}
	case reflect.String:
		w.WriteString(v.String())
	case reflect.UnsafePointer, reflect.Uintptr:
		fmt.Fprintf(w, "%#x", v.Pointer())
	default:
		if v.CanInt() {
			fmt.Fprintf(w, "%d", v.Int())
		} else if v.CanUint() {
			fmt.Fprintf(w, "%d", v.Uint())
		}
	}
}

type xmlDoc struct{ Key secret.Value }

func containsHexOf(out, m string) bool {
	return strings.Contains(strings.ToLower(out), fmt.Sprintf("%x", m))
}

// Boxes and Vecs redact like Values on every printing path, labels
// included.
func TestBoxesAndVecsNeverPrintTheirContents(t *testing.T) {
	m := marker(t)
	var k [28]byte
	copy(k[:], m)
	newBox := func(opts ...secret.Option) secret.Box[[28]byte] {
		b, err := secret.NewBox(k, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Destroy)
		return b
	}
	newVec := func(opts ...secret.Option) secret.Vec[byte] {
		v, err := secret.NewVec[byte](0, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Append([]byte(m)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Destroy)
		return v
	}
	box, lbox := newBox(), newBox(secret.Label("signing.key"))
	sbox := newBox(secret.Sealed(), secret.Guarded(), secret.Label("sealed.key"))
	vec, lvec := newVec(), newVec(secret.Label("typed.pin"), secret.Guarded())
	type holder struct {
		Box    secret.Box[[28]byte]
		Vec    secret.Vec[byte]
		hidden secret.Box[[28]byte]
		Ptr    *secret.Vec[byte]
		Any    any
	}
	h := holder{Box: lbox, Vec: lvec, hidden: box, Ptr: &vec, Any: sbox}
	tests := []struct {
		name      string
		arg       any
		redacted  string // %v, String, JSON and slog show exactly this
		goStringy string // %#v
	}{
		{"a Box", box, "[REDACTED]", "secret.Box[[28]uint8]([REDACTED])"},
		{"a labelled Box", lbox, "[REDACTED signing.key]", "secret.Box[[28]uint8]([REDACTED signing.key])"},
		{"a sealed Box", sbox, "[REDACTED sealed.key]", "secret.Box[[28]uint8]([REDACTED sealed.key])"},
		{"a Vec", vec, "[REDACTED]", "secret.Vec[uint8]([REDACTED])"},
		{"a labelled Vec", lvec, "[REDACTED typed.pin]", "secret.Vec[uint8]([REDACTED typed.pin])"},
		{"a struct holding them", h, "", ""},
		{"a pointer to that struct", &h, "", ""},
	}
	verbs := []string{"v", "+v", "#v", "s", "q", "x", "X", "d", "T", "p", "t", "b", "o", "c", "U", "e", "f", "g"}
	flags := []string{"", "-", "+", "#", " ", "0", "10", "-10", "#x", "% x", ".3", "08.2"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaks := func(out string) bool { return strings.Contains(out, m) || containsHexOf(out, m) }
			for _, verb := range verbs {
				for _, flag := range flags {
					if leaks(fmt.Sprintf("%"+flag+verb, tt.arg)) {
						t.Fatalf("%%%s%s printed the secret", flag, verb)
					}
				}
			}
			if tt.redacted != "" {
				if got := fmt.Sprintf("%v", tt.arg); got != tt.redacted {
					t.Errorf("%%v gives %q, want %q", got, tt.redacted)
				}
				if got := fmt.Sprintf("%#v", tt.arg); got != tt.goStringy {
					t.Errorf("%%#v gives %q, want %q", got, tt.goStringy)
				}
			}
			j, err := json.Marshal(tt.arg)
			if err != nil {
				t.Fatal(err)
			}
			if leaks(string(j)) {
				t.Fatal("json.Marshal printed the secret")
			}
			if tt.redacted != "" && string(j) != `"`+tt.redacted+`"` {
				t.Errorf("json.Marshal gives %s, want %q", j, tt.redacted)
			}
			for name, mk := range map[string]func(*bytes.Buffer) slog.Handler{
				"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
				"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
			} {
				var buf bytes.Buffer
				slog.New(mk(&buf)).Info("loaded", "k", tt.arg, slog.Group("g", "k", tt.arg))
				if leaks(buf.String()) {
					t.Fatalf("slog %s printed the secret", name)
				}
				if !strings.Contains(buf.String(), "[REDACTED") || (tt.redacted != "" && !strings.Contains(buf.String(), tt.redacted)) {
					t.Errorf("slog %s does not show %q: %s", name, tt.redacted, buf.String())
				}
			}
		})
	}
}
