// Package examples_test runs every example program and checks what it
// prints, so the examples in the README cannot rot.
package examples_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func runExample(t *testing.T, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "run", "./"+name).CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./examples/%s: %v\n%s", name, err, out)
	}
	return string(out)
}

func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example programs")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skipf("go run needs the go command: %v", err)
	}
	tests := []struct {
		name     string
		want     []string
		mustNot  []string
		wantOnce []string
	}{
		{
			name: "cells",
			want: []string{
				`input after New: "\x00\x00`, "length read inside Use: 21", "hmac: 2311432b02da4ba1 verifies: true", "fmt: [REDACTED stripe.key] [REDACTED stripe.key] secret.Value([REDACTED stripe.key]) [REDACTED stripe.key]",
				`key="[REDACTED stripe.key]"`, "masked: ", "1234", "equal: true false", "volatile: <nil> true", "ttl expired: true", "stats: backend=",
			},
			mustNot: []string{"sk-live-51Hx9demo1234", "51Hx9"},
		},
		{
			name: "config",
			want: []string{
				"http.addr: 127.0.0.1:8080", "db.password from the env wins: true", "api.key from the secret dir: true",
				"APP_DB__PASSWORD still set: false", `"db.password":"[REDACTED`,
			},
			mustNot: []string{"password-from-the-env", "from-the-file", "key-from-the-secret-dir"},
		},
		{
			name: "chi",
			want: []string{
				`200 authorization header seen by the handler: ""; token cell: [REDACTED], 19 bytes`,
				"401 unauthorized", "status=200", "status=401",
			},
			mustNot: []string{"example-api-key-123", "wrong-token"},
		},
		{
			name: "logging",
			want: []string{
				`"password_cell":"[REDACTED]"`, `"api_key":"[REDACTED]"`, "postgres://app:[REDACTED]@db:5432/app",
				"the password is [REDACTED]", "after Destroy", "destroyed: correct-horse-battery",
			},
			mustNot: []string{"plain-string-key", "hunter2-pattern", "eyJzdWIiOiJkZW1vIn0"},
			// The plaintext appears exactly once: in the record made after
			// Destroy, when it is an ordinary string again.
			wantOnce: []string{"correct-horse-battery"},
		},
		{
			name: "signing",
			want: []string{
				"hmac: ", "verifies: true", "ed25519 verifies: true", "jwt: 200 hello alice", "jwt: 401 unauthorized",
				"tls: ok over TLS 1.3 with a *ecdsa.PublicKey key",
			},
			mustNot: []string{"whsec-0123456789abcdef", "jwt-secret-0123456789", "PRIVATE KEY"},
		},
		{
			name: "outbound",
			want: []string{
				"api: bearer token matches: true", "status: 200", "the caller's request has no Authorization: true",
				"other origin: Authorization sent: false",
			},
			mustNot: []string{"tok-live-9f8e7d6c5b4a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runExample(t, tt.name)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("the output lacks %q", w)
				}
			}
			for _, s := range tt.mustNot {
				if strings.Contains(out, s) {
					t.Errorf("the output leaks a secret (%d bytes)", len(s))
				}
			}
			for _, s := range tt.wantOnce {
				if n := strings.Count(out, s); n != 1 {
					t.Errorf("a secret appears %d times, want once (after Destroy)", n)
				}
			}
			if t.Failed() {
				t.Logf("output of %s (secrets elided):\n%s", tt.name, elide(out, tt.mustNot))
			}
		})
	}
}

func elide(out string, secrets []string) string {
	for _, s := range secrets {
		out = strings.ReplaceAll(out, s, "<secret>")
	}
	return out
}
