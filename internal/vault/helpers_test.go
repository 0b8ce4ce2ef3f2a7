package vault

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/secretmem/secretmem/internal/testsecret"
	"github.com/secretmem/secretmem/secret"
)

// cell returns a cell holding s, destroyed when t ends.
func cell(t *testing.T, s string) secret.Value { return testsecret.Cell(t, s) }

// debugLogger logs every level as text into w: tests search the log for
// secrets, and the debug lines are where a careless one would be.
func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// started applies edit (when not nil) to cfg and returns the Client made
// with it, closed when t ends.
func started(t *testing.T, cfg Config, edit func(*Config)) *Client {
	t.Helper()
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background(), CloseOptions{}) })
	return c
}
