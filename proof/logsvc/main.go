// Command logsvc is the proof suite's logging service: a chi service that,
// on every GET /log, logs values carrying a live secret in every form a
// careless handler gives them, through the redactor, to a JSON handler
// (stderr) and a tint text handler. Its own copies of the secret are made
// in buffers it wipes right after logging, so whatever copy a core dump
// still holds afterwards was made by the redactor or the handlers.
//
// Flags: -addr (listen address), -secret-file (the secret, read straight
// into a cell), and -log-format, accepted for the proof harness and
// ignored: the log is JSON. It logs one JSON "listening" line with the
// address.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"unsafe"

	"github.com/go-chi/chi/v5"
	"github.com/lmittmann/tint"

	"github.com/secretmem/secretmem/logging"
	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/secret"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen `address`")
	secretFile := flag.String("secret-file", "", "`file` holding the live secret")
	flag.String("log-format", "json", "ignored: the log is JSON")
	flag.Parse()
	if err := run(*addr, *secretFile); err != nil {
		fmt.Fprintln(os.Stderr, "logsvc:", err)
		os.Exit(1)
	}
}

func run(addr, secretFile string) error {
	logger := logging.New(os.Stderr, &logging.Options{Format: logging.FormatJSON})
	text := slog.New(logging.Redact(tint.NewTextHandler(io.Discard, &tint.Options{NoColor: true}), nil))
	key, err := secret.ReadFile(secretFile, secret.TrimNewline())
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	logger.Info("listening", "addr", ln.Addr().String())
	r := chi.NewRouter()
	r.Use(middleware.Logger(logger))
	r.Get("/log", func(w http.ResponseWriter, _ *http.Request) {
		err := key.Use(func(b []byte) error {
			logCarelessly(logger, b)
			logCarelessly(text, b)
			return nil
		})
		if err != nil {
			http.Error(w, "no secret", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	return http.Serve(ln, r)
}

// carrier is a struct a handler logs whole.
type carrier struct {
	Name string
	Key  []byte // JSON prints it as base64
	Note string
	Raw  *[64]byte // fmt and JSON print it as numbers
}

// stringer prints the secret through its String method.
type stringer struct{ s string }

func (s stringer) String() string { return s.s }

// logCarelessly logs b, the live secret, every way careless code does,
// and wipes its own copies afterwards.
func logCarelessly(l *slog.Logger, b []byte) {
	var own [][]byte // every buffer of ours that holds the secret
	keep := func(p []byte) []byte { own = append(own, p); return p }
	str := func(p []byte) string { return unsafe.String(unsafe.SliceData(p), len(p)) }

	plain := keep(append([]byte(nil), b...))
	s := str(plain)
	hexLower := keep(make([]byte, hex.EncodedLen(len(b))))
	hex.Encode(hexLower, b)
	hexUpper := keep(bytes.ToUpper(hexLower))
	b64 := keep(make([]byte, base64.StdEncoding.EncodedLen(len(b))))
	base64.StdEncoding.Encode(b64, b)
	b64url := keep(make([]byte, base64.RawURLEncoding.EncodedLen(len(b))))
	base64.RawURLEncoding.Encode(b64url, b)
	msg := keep(append([]byte("request carried "), b...))
	bearer := keep(append([]byte("Bearer "), b...))
	raw := new([64]byte)
	copy(raw[:], b)
	own = append(own, raw[:])
	// base64 of a longer text and a fully percent-encoded copy: the
	// redactor decodes both into scratch memory to find the secret.
	userPass := keep(append([]byte("user:"), b...))
	basic := keep(make([]byte, base64.StdEncoding.EncodedLen(len(userPass))))
	base64.StdEncoding.Encode(basic, userPass)
	pctURL := append(make([]byte, 0, 64+3*len(b)), "https://api.example/cb?state="...)
	for _, c := range b {
		pctURL = append(pctURL, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
	}
	keep(pctURL)
	// Its bytes listed as %v prints them: found by the registry's list
	// spellings, each candidate decoded to be confirmed.
	listed := keep(fmt.Appendf(make([]byte, 0, 4*len(b)+2), "%v", b))

	l.Info(str(msg),
		"plain", s,
		"bytes", plain,
		"hex", str(hexLower),
		"HEX", str(hexUpper),
		"base64", str(b64),
		"base64url", str(b64url),
		s, "the secret as a key",
		slog.Group(s, "a", 1),
		"struct", carrier{Name: "svc", Key: plain, Note: str(bearer), Raw: raw},
		"pointer", &carrier{Key: plain},
		"map", map[string]string{"Authorization": str(bearer), "note": s},
		"header", http.Header{"X-Auth-Token": {s}, "Accept": {"*/*"}},
		"err", errors.New(str(msg)),
		"stringer", stringer{s},
		"basic", str(basic),
		"url", str(pctURL),
		"listed", str(listed),
	)
	l.With("ctx", s).WithGroup(s).Info("with", "k", s)

	for _, p := range own {
		clear(p)
	}
}
