package logging_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/secretmem/secretmem/logging"
	"github.com/secretmem/secretmem/secret"
)

// dropTime keeps example output stable.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func ExampleNew() {
	// On a terminal this is coloured tint text; here stdout is not one,
	// so it is JSON. Only the password of the DSN is redacted.
	logger := logging.New(os.Stdout, &logging.Options{Format: logging.FormatJSON, TimeFormat: "-"})
	logger.Info("connecting", "db", "postgres://app:hunter22@db/app")
	// Output:
	// {"time":"-","level":"INFO","msg":"connecting","db":"postgres://app:[REDACTED]@db/app"}
}

func ExampleRedact() {
	h := logging.Redact(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: dropTime}), nil)
	logger := slog.New(h)
	logger.Info("login",
		"user", "bob",
		"password", "hunter22", // by key
		"header", "Authorization: Bearer abc123def456", // by pattern
		"err", errors.New("token=ghp_0123456789abcdefghijklmnopqrstuvwxyz rejected"), // inside an error
	)
	// Output:
	// level=INFO msg=login user=bob password=[REDACTED] header="Authorization: Bearer [REDACTED]" err="token=[REDACTED] rejected"
}

func ExampleRedact_liveSecret() {
	logger := slog.New(logging.Redact(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: dropTime}), nil))
	key, err := secret.FromString("s3cr3t-signing-key-42")
	if err != nil {
		fmt.Println(err)
		return
	}
	// The plaintext leaked into an ordinary string (a copy made with
	// Reveal, a misconfigured URL): it is still redacted while the cell
	// lives. The Value itself always prints redacted.
	logger.Info("oops", "note", "signing with s3cr3t-signing-key-42", "key", key)
	key.Destroy()
	// Output:
	// level=INFO msg=oops note="signing with [REDACTED]" key=[REDACTED]
}
