package logging

import (
	"context"
	"log/slog"
	"reflect"
	"regexp"

	"github.com/lmittmann/tint"

	"github.com/secretmem/secretmem/internal/fingerprint"
	"github.com/secretmem/secretmem/secret"
)

// RedactOptions configures Redact. The zero value redacts with every
// default: DefaultKeys, every Pattern, live secrets, and a 64 KiB limit
// per string.
type RedactOptions struct {
	// Keys are the words that mark an attribute key as secret (see
	// DefaultKeys for how they match). Nil means DefaultKeys; an empty,
	// non-nil slice turns key matching off.
	Keys []string
	// AllowKeys are keys that never match, compared after folding as in
	// DefaultKeys ("X-Key" is "xkey"): for example "key" in a service that
	// logs cache keys under it. Their values are still checked by pattern.
	AllowKeys []string
	// Disable turns built-in value checks off.
	Disable Pattern
	// Patterns are extra checks. A match is redacted whole, or only its
	// first parenthesized group when the expression has one. They cost a
	// regular expression search per string value; prefer few and anchored.
	Patterns []*regexp.Regexp
	// MaxLen bounds the bytes shown per string, error text and message:
	// anything longer is redacted as far as 8 KiB past MaxLen, then cut to
	// MaxLen (at a space when one is near) and marked "[TRUNCATED n
	// bytes]", so the cost per record stays bounded and a secret the cut
	// falls into is redacted whole rather than shown in part. Zero means
	// 64 KiB.
	MaxLen int
}

const (
	defaultMaxLen = 64 << 10
	// minBuiltin is the length of the shortest text a built-in check
	// redacts: "pwd=x".
	minBuiltin = 5
	// maxDepth bounds nested groups, and maxNodes the attributes visited
	// per record or With call, so a LogValuer that returns itself inside a
	// group costs bounded time.
	maxDepth   = 16
	maxNodes   = 4096
	maxResolve = 32
)

// Placeholders for values that could not be resolved safely. They never
// include the value, the panic or the type.
const (
	tooDeep       = "[REDACTED: nested too deep]"
	tooMany       = "[REDACTED: too many attributes]"
	valuerLoop    = "[REDACTED: LogValue did not resolve]"
	valuerPanic   = "[REDACTED: LogValue panicked]"
	errorPanic    = "[REDACTED: Error panicked]"
	renderFailure = "[REDACTED: value could not be checked]"
)

// compiled is the immutable form of RedactOptions, shared by every handler
// derived with WithAttrs and WithGroup.
type compiled struct {
	keys    *keyMatcher
	disable Pattern
	extra   []*regexp.Regexp
	maxLen  int
	minText int // the shortest text any check can change
}

func compile(o *RedactOptions) *compiled {
	if o == nil {
		o = &RedactOptions{}
	}
	keys := o.Keys
	if keys == nil {
		keys = DefaultKeys()
	}
	c := &compiled{
		keys:    newKeyMatcher(keys, o.AllowKeys),
		disable: o.Disable,
		maxLen:  o.MaxLen,
	}
	for _, re := range o.Patterns {
		if re != nil {
			c.extra = append(c.extra, re)
		}
	}
	if c.maxLen <= 0 {
		c.maxLen = defaultMaxLen
	}
	c.minText = minBuiltin
	if len(c.extra) > 0 {
		c.minText = 1
	}
	return c
}

// Redact wraps h so that nothing it logs carries a secret. Before a record
// or a With attribute reaches h, Redact:
//
//   - resolves every slog.LogValuer itself (secret.Value and config types
//     included), so a handler that ignores LogValuer cannot print the raw
//     value; a LogValuer that panics or never resolves is replaced by a
//     placeholder;
//   - replaces the value of every attribute whose key names a secret (see
//     DefaultKeys), at any depth of groups, and every attribute under a
//     WithGroup whose name does;
//   - checks strings, []byte values, error texts, other values as their
//     JSON and %+v text, and the message, with the enabled Patterns.
//
// Records that need no change reach h untouched and cost no allocation.
// A nil h yields a handler that discards everything.
func Redact(h slog.Handler, opts *RedactOptions) slog.Handler {
	if h == nil {
		h = slog.DiscardHandler
	}
	c := compile(opts)
	if c.disable&PatternLiveSecret == 0 {
		fingerprint.Activate()
	}
	return &handler{next: h, c: c}
}

type handler struct {
	next slog.Handler
	c    *compiled
	// all is set below a WithGroup whose name is a secret key: every
	// attribute value there is redacted.
	all bool
}

// Enabled reports whether the wrapped handler handles level.
func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// WithAttrs redacts attrs now, because handlers format them now.
func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	budget := maxNodes
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i], _ = h.c.attr(a, 0, h.all, &budget)
	}
	return &handler{next: h.next.WithAttrs(out), c: h.c, all: h.all}
}

// WithGroup opens a group in the wrapped handler.
func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	text, secretName, _ := h.c.key(name)
	return &handler{next: h.next.WithGroup(text), c: h.c, all: h.all || secretName}
}

// Handle redacts r and passes it on.
func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	msg, changed := h.c.text(r.Message)
	budget := maxNodes
	if !changed {
		// The common path: look, change nothing, pass r on as it is.
		r.Attrs(func(a slog.Attr) bool {
			changed = h.c.changes(a, h.all, &budget)
			return !changed
		})
		if !changed {
			return h.next.Handle(ctx, r)
		}
		budget = maxNodes
	}
	nr := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	var buf [16]slog.Attr
	attrs := buf[:0]
	r.Attrs(func(a slog.Attr) bool {
		a, _ = h.c.attr(a, 0, h.all, &budget)
		attrs = append(attrs, a)
		return true
	})
	nr.AddAttrs(attrs...)
	return h.next.Handle(ctx, nr)
}

// changes reports whether attr would change a, a top-level attribute,
// and spends the same budget. It is Handle's first look at every
// attribute, and most attributes need no change: for values that are
// neither LogValuers nor groups it does attr's checks itself, without
// building and returning the Attr that attr would, which took a fifth of
// the redactor's time on a typical record. TestChangesAgreesWithAttr
// holds the two together.
func (c *compiled) changes(a slog.Attr, all bool, budget *int) bool {
	k := a.Value.Kind()
	if k == slog.KindLogValuer || k == slog.KindGroup {
		_, changed := c.attr(a, 0, all, budget)
		return changed
	}
	*budget--
	if *budget < 0 {
		return true
	}
	if a.Key != "" {
		if _, secretName, changed := c.key(a.Key); changed || all || secretName {
			return true
		}
	}
	switch k {
	case slog.KindString:
		_, changed := c.text(a.Value.String())
		return changed
	case slog.KindAny:
		return c.anyChanges(a.Value)
	}
	return false
}

// attr returns a redacted, fully resolved a, and whether it differs.
// Resolving LogValuers and redacting by key are left to functions of
// their own, so the common case (neither) costs one Kind call, one key
// lookup and one check of the value.
func (c *compiled) attr(a slog.Attr, depth int, all bool, budget *int) (slog.Attr, bool) {
	*budget--
	if *budget < 0 {
		return slog.String(a.Key, tooMany), true
	}
	k := a.Value.Kind()
	if k == slog.KindLogValuer {
		return c.resolvedAttr(a, depth, all, budget)
	}
	key, keyChanged := a.Key, false
	if key != "" {
		var secretName bool
		if key, secretName, keyChanged = c.key(key); all || secretName {
			ra, changed := c.keyRedacted(key, a.Value, k, depth, budget)
			return ra, changed || keyChanged
		}
	}
	if k == slog.KindString { // the commonest kind, one call shorter
		if s, changed := c.text(a.Value.String()); changed {
			return slog.String(key, s), true
		}
	} else if v, changed := c.value(a.Value, k, depth, all, budget); changed {
		return slog.Attr{Key: key, Value: v}, true
	}
	if keyChanged {
		return slog.Attr{Key: key, Value: a.Value}, true
	}
	return a, false
}

// resolvedAttr is attr for a LogValuer: the result is the resolved value,
// redacted, and always differs from a.
func (c *compiled) resolvedAttr(a slog.Attr, depth int, all bool, budget *int) (slog.Attr, bool) {
	v, color, tinted := unwrapTint(a.Value)
	v = resolve(v)
	k := v.Kind()
	key := a.Key
	if key != "" {
		var secretName bool
		if key, secretName, _ = c.key(key); all || secretName {
			ra, _ := c.keyRedacted(key, v, k, depth, budget)
			if tinted {
				ra = tint.Attr(color, ra)
			}
			return ra, true
		}
	}
	if nv, changed := c.value(v, k, depth, all, budget); changed {
		v = nv
	}
	if tinted {
		// Keep tint's colour: the wrapper only returns v, already
		// resolved and redacted, to any handler that resolves it.
		return tint.Attr(color, slog.Attr{Key: key, Value: v}), true
	}
	return slog.Attr{Key: key, Value: v}, true
}

// keyRedacted is the attribute for a key that names a secret (or lies
// below one) and its value v, of kind k. A group stays a group, with
// every value in it redacted, so the output keeps its shape; an empty
// group is left for handlers to drop.
func (c *compiled) keyRedacted(key string, v slog.Value, k slog.Kind, depth int, budget *int) (slog.Attr, bool) {
	if k != slog.KindGroup {
		return slog.String(key, secret.Redacted), true
	}
	g := v.Group()
	if len(g) == 0 {
		return slog.Attr{Key: key, Value: v}, false
	}
	if depth >= maxDepth {
		return slog.String(key, tooDeep), true
	}
	out := make([]slog.Attr, len(g))
	for i, a := range g {
		out[i], _ = c.attr(a, depth+1, true, budget)
	}
	return slog.Attr{Key: key, Value: slog.GroupValue(out...)}, true
}

var tintValueType = reflect.TypeOf(tint.Attr(0, slog.Attr{}).Value.Any())

// unwrapTint opens the wrapper tint.Attr and tint.Err put around a value
// to colour it (a LogValuer of an unexported type with exported fields).
func unwrapTint(v slog.Value) (inner slog.Value, color uint8, ok bool) {
	lv := v.LogValuer()
	if reflect.TypeOf(lv) != tintValueType {
		return v, 0, false
	}
	rv := reflect.ValueOf(lv)
	// Checked, not assumed: a tint release that reshapes the wrapper must
	// not make the redactor panic (Interface panics on unexported fields).
	if rv.Kind() != reflect.Struct || rv.NumField() < 2 || !rv.Field(0).CanInterface() {
		return v, 0, false
	}
	inner, ok = rv.Field(0).Interface().(slog.Value)
	if !ok || rv.Field(1).Kind() != reflect.Uint8 {
		return v, 0, false
	}
	return inner, uint8(rv.Field(1).Uint()), true
}

// value redacts v, of kind k and not a LogValuer, and reports whether it
// changed. Kinds other than strings, groups and KindAny pass unchanged.
func (c *compiled) value(v slog.Value, k slog.Kind, depth int, all bool, budget *int) (slog.Value, bool) {
	switch k {
	case slog.KindString:
		if s, ok := c.text(v.String()); ok {
			return slog.StringValue(s), true
		}
	case slog.KindGroup:
		if depth >= maxDepth {
			return slog.StringValue(tooDeep), true
		}
		g := v.Group()
		var out []slog.Attr
		for i, a := range g {
			na, ch := c.attr(a, depth+1, all, budget)
			if ch && out == nil {
				out = make([]slog.Attr, len(g))
				copy(out, g[:i])
			}
			if out != nil {
				out[i] = na
			}
		}
		if out != nil {
			return slog.GroupValue(out...), true
		}
	case slog.KindAny:
		return c.anyValue(v)
	}
	return v, false
}

// resolve calls LogValue until the value is not a LogValuer, at most
// maxResolve times, and recovers from panics.
func resolve(v slog.Value) slog.Value {
	for range maxResolve {
		if v.Kind() != slog.KindLogValuer {
			return v
		}
		var ok bool
		if v, ok = logValue(v.LogValuer()); !ok {
			return slog.StringValue(valuerPanic)
		}
	}
	if v.Kind() == slog.KindLogValuer {
		return slog.StringValue(valuerLoop)
	}
	return v
}

func logValue(lv slog.LogValuer) (v slog.Value, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return lv.LogValue(), true
}
