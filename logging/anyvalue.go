package logging

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"unsafe"
)

// anyValue checks a value of kind Any and returns what the handler gets
// instead, and whether that differs from v. A value is rendered once, by
// the redactor: the text it checks is the text the handler prints, so a
// String method that answers differently on a second call cannot slip a
// secret past the check.
func (c *compiled) anyValue(v slog.Value) (slog.Value, bool) {
	switch x := v.Any().(type) {
	case nil:
		return v, false
	case []byte:
		if s, ok := c.text(unsafe.String(unsafe.SliceData(x), len(x))); ok {
			return slog.StringValue(s), true
		}
		return v, false
	case error:
		stable := stableError(x)
		text, ok := "", true
		if stable {
			text = x.Error() // a field read: it cannot panic
		} else if text, ok = errorText(x); !ok {
			return slog.StringValue(errorPanic), true
		}
		s, changed := c.text(text)
		if !changed && stable {
			return v, false
		}
		return slog.AnyValue(redactedError(s)), true
	}
	return slog.AnyValue(c.render(v.Any())), true
}

// anyChanges is anyValue's verdict without its work: whether Handle must
// pass a new record on.
func (c *compiled) anyChanges(v slog.Value) bool {
	switch x := v.Any().(type) {
	case nil:
		return false
	case []byte:
		_, changed := c.text(unsafe.String(unsafe.SliceData(x), len(x)))
		return changed
	case error:
		if !stableError(x) {
			return true
		}
		_, changed := c.text(x.Error()) // a field read: it cannot panic
		return changed
	}
	return true
}

// stableErrors are error types whose text is fixed when they are made
// (errors.New, fmt.Errorf): a handler may call Error again and print what
// was checked.
var stableErrors = [...]reflect.Type{
	reflect.TypeOf(errors.New("")),
	reflect.TypeOf(fmt.Errorf("%w", errors.New(""))),
	reflect.TypeOf(fmt.Errorf("%w %w", errors.New(""), errors.New(""))),
}

func stableError(err error) bool {
	t := reflect.TypeOf(err)
	return t == stableErrors[0] || t == stableErrors[1] || t == stableErrors[2]
}

// redactedError carries an error's checked text; it has no Unwrap, so a
// handler cannot reach the original chain through it.
type redactedError string

func (e redactedError) Error() string { return string(e) }

func errorText(err error) (s string, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return err.Error(), true
}

// rendered is a value as the redactor rendered and checked it: its JSON
// for JSON handlers (json.Marshaler), its text for text handlers
// (encoding.TextMarshaler, which slog's TextHandler and tint prefer) and
// for anything that formats it with fmt.
type rendered struct {
	json []byte // nil: JSON cannot encode the value; its text is used
	text string
}

// MarshalJSON returns the checked JSON.
func (r *rendered) MarshalJSON() ([]byte, error) {
	if r.json == nil {
		return json.Marshal(r.text)
	}
	return r.json, nil
}

// MarshalText returns the checked text.
func (r *rendered) MarshalText() ([]byte, error) { return []byte(r.text), nil }

// String returns the checked text.
func (r *rendered) String() string { return r.text }

// render renders x as a JSON handler and a text handler would, checks
// both, and returns the result. The renderings are made in scratch memory
// that is wiped; what the handler gets holds only checked text.
func (c *compiled) render(x any) (r *rendered) {
	sc := getScratch()
	defer sc.release()
	defer func() {
		if recover() != nil { // a method of x panicked
			r = &rendered{text: renderFailure}
		}
	}()
	w := walk{c: c, budget: maxValueNodes}
	data, src := view(x), x
	sanitized := w.dirty(data, false, 0)
	if sanitized {
		if w.budget < 0 {
			return &rendered{text: tooMany}
		}
		data = w.sanitize(data, false, 0)
		src = data.Interface()
	}
	// leak: a rendering of src held a secret the walk did not see (a
	// method answering differently the second time). Then encoding/json's
	// or fmt's pooled buffer holds it, and is overwritten below.
	var leak, changed bool
	r = &rendered{}
	switch m := x.(type) {
	case json.Marshaler:
		if b, err := m.MarshalJSON(); err == nil {
			r.json, _ = c.checkJSON(sc, b)
		}
	case encoding.TextMarshaler:
		if b, err := m.MarshalText(); err == nil {
			s, _ := c.text(unsafe.String(unsafe.SliceData(b), len(b)))
			r.json, _ = json.Marshal(s)
		}
	default:
		if err := sc.enc.Encode(src); err == nil {
			b := sc.json.b[:len(sc.json.b)-1] // Encode ends with a newline
			r.json, changed = c.checkJSON(sc, b)
			leak = changed && !sanitized
		}
	}
	_, formatter := x.(fmt.Formatter)
	switch m := x.(type) {
	case encoding.TextMarshaler:
		b, err := m.MarshalText()
		if err != nil {
			return &rendered{json: r.json, text: renderFailure}
		}
		r.text, _ = c.text(unsafe.String(unsafe.SliceData(b), len(b)))
	case fmt.Stringer:
		if !formatter {
			r.text, _ = c.text(m.String())
			break
		}
		r.text, changed = c.fmtText(sc, x)
		leak = leak || changed
	default:
		if formatter {
			src = x
		}
		r.text, changed = c.fmtText(sc, src)
		leak = leak || changed && (formatter || !sanitized)
	}
	if len(sc.text.b) > 0 && unsafe.StringData(r.text) == unsafe.SliceData(sc.text.b) {
		r.text = strings.Clone(r.text) // the scratch is wiped on return
	}
	if leak {
		overwriteRenderers(len(sc.json.b), len(sc.text.b))
	}
	return r
}

// checkJSON checks JSON text b and returns the checked copy for the
// handler, and whether it held a secret.
func (c *compiled) checkJSON(sc *scratch, b []byte) (js []byte, changed bool) {
	sc.out.reset()
	changed, ok := c.markJSON(&sc.out, &sc.dec, b)
	if !ok {
		s, _ := c.text(unsafe.String(unsafe.SliceData(b), len(b)))
		js, _ = json.Marshal(s)
		return js, true
	}
	return append([]byte(nil), sc.out.b...), changed
}

// fmtText formats x with %+v into the scratch and redacts it.
func (c *compiled) fmtText(sc *scratch, x any) (string, bool) {
	sc.text.reset()
	fmt.Fprintf(&sc.text, "%+v", x)
	return c.text(unsafe.String(unsafe.SliceData(sc.text.b), len(sc.text.b)))
}
