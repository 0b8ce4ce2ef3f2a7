package logging

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/lmittmann/tint"

	"github.com/secretmem/secretmem/secret"
)

// benchRecord is a typical request log line: 8 attributes, none secret.
func benchRecord() slog.Record {
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "request handled", 0)
	r.AddAttrs(
		slog.String("method", "GET"),
		slog.String("path", "/api/v1/users/12345/orders"),
		slog.Int("status", 200),
		slog.Duration("elapsed", 3200*time.Microsecond),
		slog.String("remote", "10.1.2.3:54321"),
		slog.String("user_agent", "curl/8.5.0"),
		slog.Int64("bytes", 5123),
		slog.Any("err", errors.New("upstream returned 503, retried once")),
	)
	return r
}

func benchHandle(b *testing.B, h slog.Handler) {
	r := benchRecord()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := h.Handle(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJSON compares a bare JSON handler with the redactor around it
// for a record of 8 attributes; the redactor's budget is +50% ns/op.
func BenchmarkJSON(b *testing.B) {
	b.Run("bare", func(b *testing.B) { benchHandle(b, slog.NewJSONHandler(io.Discard, nil)) })
	b.Run("redacted", func(b *testing.B) {
		benchHandle(b, Redact(slog.NewJSONHandler(io.Discard, nil), nil))
	})
}

// BenchmarkTint compares bare tint with the redactor around it.
func BenchmarkTint(b *testing.B) {
	b.Run("bare", func(b *testing.B) { benchHandle(b, tint.NewTextHandler(io.Discard, nil)) })
	b.Run("redacted", func(b *testing.B) {
		benchHandle(b, Redact(tint.NewTextHandler(io.Discard, nil), nil))
	})
}

// BenchmarkRedactOnly is the redactor's own cost over a handler that does
// nothing.
func BenchmarkRedactOnly(b *testing.B) {
	benchHandle(b, Redact(slog.DiscardHandler, nil))
}

// BenchmarkRedactOnlyLive is BenchmarkRedactOnly while a secret is live,
// so every string is also searched for it (and for its escaped forms).
func BenchmarkRedactOnlyLive(b *testing.B) {
	h := Redact(slog.DiscardHandler, nil)
	v, err := secret.FromString("live-secret-" + strconv.Itoa(int(time.Now().UnixNano())))
	if err != nil {
		b.Fatal(err)
	}
	defer v.Destroy()
	b.Run("typical", func(b *testing.B) { benchHandle(b, h) })
	b.Run("escapes", func(b *testing.B) {
		r := slog.NewRecord(time.Now(), slog.LevelInfo, "upstream", 0)
		r.AddAttrs(
			slog.String("url", "https://api.example/v1/search?q=caf%C3%A9&page=2&sort=desc"),
			slog.String("body", `{"path":"C:\\Users\\app","note":"line\none"}`),
		)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_ = h.Handle(ctx, r)
		}
	})
}
