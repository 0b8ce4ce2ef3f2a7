package middleware

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	chimw "github.com/go-chi/chi/v5/middleware"

	"github.com/secretmem/secretmem/internal/secretname"
)

// Logger logs one record per request when the handler returns: method,
// path, query (with secret-looking parameters redacted), status, bytes
// written, duration, request id (chi's middleware.RequestID, else the
// X-Request-Id header) and remote address, plus the headers named by
// WithHeaders. A nil logger means slog.Default().
//
// It never logs Authorization, Proxy-Authorization, Cookie, Set-Cookie,
// the API-key headers named by WithAPIKeys, or any header whose name
// mentions auth, token, key, secret, password, session or signature,
// whatever WithHeaders says. Query parameters whose names look secret (see
// WithSecretParams) are logged as name=[REDACTED].
//
// Records are at slog.LevelInfo (see WithLevel), and at least
// slog.LevelError for 5xx responses and for handlers that panic; a panic
// is logged and then continues unrecovered. The response writer keeps
// http.Flusher, http.Hijacker and io.ReaderFrom, and unwraps for
// http.ResponseController. Records go straight to the logger's handler
// with no source position (it would always name this file), so
// HandlerOptions.AddSource adds nothing to them.
func Logger(logger *slog.Logger, opts ...Option) func(http.Handler) http.Handler {
	c := collect(opts)
	l := &requestLogger{logger: logger, level: c.logLevel, params: c.secretParams}
	for _, h := range c.logHeaders {
		if !sensitiveHeader(h, c.apiKeys) {
			l.headers = append(l.headers, h)
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := chimw.NewWrapResponseWriter(w, r.ProtoMajor)
			panicked := true
			defer func() { l.log(r, ww, start, panicked) }()
			next.ServeHTTP(ww, r)
			panicked = false
		})
	}
}

type requestLogger struct {
	logger  *slog.Logger
	level   slog.Level
	headers []string // canonical, already filtered
	params  []string // lower case
}

func (l *requestLogger) log(r *http.Request, ww chimw.WrapResponseWriter, start time.Time, panicked bool) {
	logger := l.logger
	if logger == nil {
		logger = slog.Default()
	}
	status := ww.Status()
	switch {
	case status == 0 && panicked:
		status = http.StatusInternalServerError
	case status == 0:
		status = http.StatusOK
	}
	level := l.level
	if (status >= 500 || panicked) && level < slog.LevelError {
		level = slog.LevelError
	}
	ctx := r.Context()
	h := logger.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	now := time.Now()
	// The record goes straight to the handler: slog.Logger would walk the
	// stack for a source position, and for this record it is always this
	// line. That walk was a tenth of the middleware's cost.
	rec := slog.NewRecord(now, level, "http request", 0)
	rec.AddAttrs(
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
	)
	if r.URL.RawQuery != "" {
		rec.AddAttrs(slog.String("query", redactQuery(r.URL.RawQuery, l.params)))
	}
	rec.AddAttrs(
		slog.Int("status", status),
		slog.Int("bytes", ww.BytesWritten()),
		slog.Duration("duration", now.Sub(start)),
	)
	if id := requestID(r); id != "" {
		rec.AddAttrs(slog.String("request_id", id))
	}
	rec.AddAttrs(slog.String("remote_addr", r.RemoteAddr))
	if panicked {
		rec.AddAttrs(slog.Bool("panic", true))
	}
	if len(l.headers) > 0 {
		hs := make([]any, 0, len(l.headers))
		for _, name := range l.headers {
			if vals := r.Header[name]; len(vals) > 0 {
				hs = append(hs, slog.String(name, redactURLParams(strings.Join(vals, ", "), l.params)))
			}
		}
		if len(hs) > 0 {
			rec.AddAttrs(slog.Group("headers", hs...))
		}
	}
	_ = h.Handle(ctx, rec)
}

// requestID returns chi's request id, else a well-behaved X-Request-Id.
func requestID(r *http.Request) string {
	if id := chimw.GetReqID(r.Context()); id != "" {
		return id
	}
	id := r.Header.Get("X-Request-Id")
	if len(id) > 128 || !validCredential(id) {
		return ""
	}
	return id
}

// requestNames decides which header and parameter names look secret:
// the toolkit's one word list and rule (internal/secretname), with the
// fragments that mark credentials in requests. Over-redaction is the safe
// mistake.
var requestNames = secretname.Compile(secretname.Request())

func looksSecret(name string) bool { return requestNames.Match(name) }

// sensitiveHeader reports whether a header must never be logged.
func sensitiveHeader(canonical string, apiKeys []string) bool {
	switch canonical {
	case "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie":
		return true
	}
	return indexOf(apiKeys, canonical) >= 0 || looksSecret(canonical)
}

// redactURLParams redacts the parameters of a URL inside a header value
// (Referer, X-Original-Url, Location), after its '?' or '#': the header
// is safe to log by name, but "?code=..." in it is a credential all the
// same.
func redactURLParams(v string, extra []string) string {
	i := strings.IndexAny(v, "?#")
	if i < 0 {
		return v
	}
	return v[:i+1] + redactQuery(v[i+1:], extra)
}

// redactQuery returns the raw query with the values of secret-looking
// parameters replaced by [REDACTED]. Pairs that do not decode are
// redacted whole, since their names cannot be judged. Pairs end at '&',
// and at ';' and '#' too: net/http no longer splits at ';', but
// http.AllowQuerySemicolons and other frameworks do, so a token after one
// is a parameter to someone; '#' starts a fragment in a URL a header
// carries, where OAuth's implicit flow puts tokens.
func redactQuery(raw string, extra []string) string {
	var b strings.Builder
	b.Grow(len(raw))
	for rest := raw; rest != ""; {
		pair := rest
		sep := byte(0)
		if i := strings.IndexAny(rest, "&;#"); i >= 0 {
			pair, sep, rest = rest[:i], rest[i], rest[i+1:]
		} else {
			rest = ""
		}
		writePair(&b, pair, extra)
		if sep != 0 {
			b.WriteByte(sep)
		}
	}
	return b.String()
}

// writePair writes one name=value pair of a query, redacted.
func writePair(b *strings.Builder, pair string, extra []string) {
	rawName, _, hasValue := strings.Cut(pair, "=")
	if !hasValue && len(pair) > 16 {
		// A long bare parameter may be a credential itself ("?<token>").
		b.WriteString("[REDACTED]")
		return
	}
	name, err := url.QueryUnescape(rawName)
	if err != nil {
		b.WriteString("[REDACTED]")
		return
	}
	if !looksSecret(name) && indexOf(extra, strings.ToLower(name)) < 0 {
		b.WriteString(pair)
		return
	}
	b.WriteString(rawName)
	if hasValue {
		b.WriteString("=[REDACTED]")
	}
}
