package logbench

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lmittmann/tint"

	"github.com/secretmem/secretmem/bench"
	"github.com/secretmem/secretmem/logging"
)

// logRecord is a typical request log line: 8 attributes, none secret, so
// the redactor has to check everything and change nothing.
func logRecord() slog.Record {
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

func BenchmarkLog(b *testing.B) {
	for _, c := range []struct {
		name string
		h    func() slog.Handler
	}{
		{"handler=json-bare", func() slog.Handler { return slog.NewJSONHandler(io.Discard, nil) }},
		{"handler=json-redacted", func() slog.Handler {
			return logging.Redact(slog.NewJSONHandler(io.Discard, nil), nil)
		}},
		{"handler=tint-bare", func() slog.Handler { return tint.NewTextHandler(io.Discard, nil) }},
		{"handler=tint-redacted", func() slog.Handler {
			return logging.Redact(tint.NewTextHandler(io.Discard, nil), nil)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := c.h()
			r := logRecord()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := h.Handle(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCreateDestroyWithLogging is bench.CreateDestroy for the secretmem
// cases in a process that has a redactor, as a service that logs through
// package logging does: every new cell registers a fingerprint.
func BenchmarkCreateDestroyWithLogging(b *testing.B) {
	_ = logging.Redact(slog.DiscardHandler, nil) // registration on, whatever the version
	bench.CreateDestroy(b, func(lib string) bool { return strings.HasPrefix(lib, "lib=secretmem-") })
}
