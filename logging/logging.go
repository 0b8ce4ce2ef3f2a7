package logging

import (
	"io"
	"log/slog"
	"os"

	"github.com/lmittmann/tint"

	"github.com/secretmem/secretmem/internal/term"
)

// Format selects how New writes records.
type Format int

const (
	// FormatAuto writes coloured text (tint) when the writer is a terminal
	// and JSON otherwise.
	FormatAuto Format = iota
	// FormatText writes human-readable text with tint, coloured only on a
	// terminal.
	FormatText
	// FormatJSON writes one JSON object per record (slog.JSONHandler).
	FormatJSON
)

// Options configures New. The zero value logs at Info level, without
// source locations, as text on a terminal and JSON elsewhere, redacting
// with the defaults of RedactOptions.
type Options struct {
	// Format is FormatAuto, FormatText or FormatJSON; other values mean
	// FormatAuto.
	Format Format
	// Level is the minimum level logged; nil means slog.LevelInfo.
	Level slog.Leveler
	// AddSource adds the file and line of the logging call.
	AddSource bool
	// TimeFormat is a time layout for the record's time. Empty means
	// tint's default (time.StampMilli) for text and RFC 3339 with
	// nanoseconds for JSON.
	TimeFormat string
	// Redact configures the redactor every logger from New is wrapped in;
	// nil means the defaults. Redaction cannot be turned off here: wrap a
	// handler yourself if you must log without it.
	Redact *RedactOptions
}

// New returns a logger that writes to w through Redact. Text output is
// coloured only when w is a terminal and the NO_COLOR environment variable
// is unset or empty. A nil w discards everything.
func New(w io.Writer, opts *Options) *slog.Logger {
	if opts == nil {
		opts = &Options{}
	}
	if w == nil {
		w = io.Discard
	}
	tty := isTerminal(w)
	format := opts.Format
	if format != FormatText && format != FormatJSON {
		format = FormatJSON
		if tty {
			format = FormatText
		}
	}
	var h slog.Handler
	if format == FormatText {
		h = tint.NewTextHandler(w, &tint.Options{
			AddSource:  opts.AddSource,
			Level:      opts.Level,
			TimeFormat: opts.TimeFormat,
			NoColor:    !tty || os.Getenv("NO_COLOR") != "",
		})
	} else {
		ho := &slog.HandlerOptions{AddSource: opts.AddSource, Level: opts.Level}
		if layout := opts.TimeFormat; layout != "" {
			ho.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
				if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
					a.Value = slog.StringValue(a.Value.Time().Format(layout))
				}
				return a
			}
		}
		h = slog.NewJSONHandler(w, ho)
	}
	return slog.New(Redact(h, opts.Redact))
}

// fdWriter is what *os.File offers to find its descriptor.
type fdWriter interface{ Fd() uintptr }

func isTerminal(w io.Writer) bool {
	f, ok := w.(fdWriter)
	return ok && term.IsTerminal(f.Fd())
}
