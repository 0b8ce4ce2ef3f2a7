package logging

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/secretmem/secretmem/internal/fingerprint"
	"github.com/secretmem/secretmem/secret"
)

func TestLiveSecrets(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Redact(slog.NewJSONHandler(&buf, nil), nil)) // activates registration
	m := marker(t)                                               // no key, no known format: only its fingerprint can find it
	v, err := secret.FromString(m)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Destroy()
	if _, ok := fingerprint.Scrub(m, secret.Redacted); !ok {
		t.Fatal("the secret package does not register cells with internal/fingerprint: nothing below can be tested")
	}
	leaks := []struct {
		name string
		log  func()
	}{
		{"in a sentence", func() { log.Info("event", "note", "the value "+m+" leaked") }},
		{"in the message", func() { log.Info("got " + m) }},
		{"in an error chain", func() {
			log.Info("event", "err", fmt.Errorf("outer: %w", errors.New("inner "+m)))
		}},
		{"as []byte in a group", func() { log.Info("event", slog.Group("g", slog.Any("raw", []byte(m)))) }},
		{"via With", func() { log.With("ctx", "x"+m+"x").Info("event") }},
	}
	for _, lk := range leaks {
		t.Run("a live secret's plaintext "+lk.name+" is redacted", func(t *testing.T) {
			buf.Reset()
			lk.log()
			if bytes.Contains(buf.Bytes(), []byte(m)) {
				t.Fatal("the live secret reached the log")
			}
			if !bytes.Contains(buf.Bytes(), []byte(secret.Redacted)) {
				t.Fatal("nothing was redacted")
			}
		})
	}
	t.Run("after Destroy the same text is no longer redacted", func(t *testing.T) {
		v.Destroy()
		buf.Reset()
		log.Info("event", "note", "the value "+m+" leaked")
		if !strings.Contains(buf.String(), m) {
			t.Fatal("a destroyed secret still matched")
		}
	})
}

// BenchmarkLiveSecretScan reports the cost of live-secret detection per
// KiB of string (ns/op is per KiB) with 100 live cells, none of which
// occurs in the text.
func BenchmarkLiveSecretScan(b *testing.B) {
	fingerprint.Activate()
	for range 100 {
		v, err := secret.Random(32)
		if err != nil {
			b.Fatal(err)
		}
		defer v.Destroy()
	}
	text := strings.Repeat("GET /api/v1/users?id=12345 200 OK 3.2ms ua=curl/8 ", 21)[:1024]
	b.Run("fingerprint only", func(b *testing.B) {
		b.SetBytes(1024)
		b.ReportAllocs()
		for b.Loop() {
			fingerprint.Scrub(text, secret.Redacted)
		}
	})
	b.Run("patterns only", func(b *testing.B) {
		c := compile(&RedactOptions{Disable: PatternLiveSecret})
		b.SetBytes(1024)
		b.ReportAllocs()
		for b.Loop() {
			c.text(text)
		}
	})
	b.Run("patterns and fingerprint", func(b *testing.B) {
		c := compile(nil)
		b.SetBytes(1024)
		b.ReportAllocs()
		for b.Loop() {
			c.text(text)
		}
	})
}

// TestLiveSecretCreatedBeforeTheRedactor covers the usual start-up order:
// configuration (and its cells) first, then the logger.
func TestLiveSecretCreatedBeforeTheRedactor(t *testing.T) {
	m := marker(t)
	v, err := secret.FromString(m)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Destroy()
	var buf bytes.Buffer
	slog.New(Redact(slog.NewJSONHandler(&buf, nil), nil)).Info("event", "note", "the value "+m+" leaked")
	if bytes.Contains(buf.Bytes(), []byte(m)) {
		t.Fatal("a secret created before the redactor reached the log")
	}
}

// TestTruncationNeverSplitsASecret puts the MaxLen cut inside a secret:
// the part before the cut must not be printed either.
func TestTruncationNeverSplitsASecret(t *testing.T) {
	const maxLen = 1000
	var buf bytes.Buffer
	log := slog.New(Redact(slog.NewJSONHandler(&buf, nil), &RedactOptions{MaxLen: maxLen}))
	m := marker(t)
	v, err := secret.FromString(m)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Destroy()
	for _, c := range []struct {
		name   string
		before string // what precedes the secret, with no space to cut at
	}{
		{"a live secret", ""},
		{"a secret after a secret key", ",token="},
	} {
		for _, into := range []int{8, len(m) / 2, len(m) - 1} {
			t.Run(fmt.Sprintf("%s cut %d bytes in is redacted whole", c.name, into), func(t *testing.T) {
				buf.Reset()
				pad := strings.Repeat("x", maxLen-into-len(c.before))
				log.Info("event", "s", pad+c.before+m+strings.Repeat("y", 100))
				if bytes.Contains(buf.Bytes(), []byte(m[:into])) {
					t.Fatal("the part of the secret before the cut reached the log")
				}
				if !bytes.Contains(buf.Bytes(), []byte("[TRUNCATED")) {
					t.Fatal("the string was not cut, so the test proves nothing")
				}
			})
		}
	}
}
