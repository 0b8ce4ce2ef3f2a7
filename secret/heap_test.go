//go:build secretmem_heap

package secret_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/secretmem/secretmem/secret"
)

// Built with -tags secretmem_heap, cells live on the Go heap as they do on
// js/wasm, wasip1 and plan9. These tests hold the heap backend to what it
// still promises: wipe, redact, and never pass for protection.

func TestTheHeapBackendReportsItselfUnprotected(t *testing.T) {
	secret.Purge()
	mustNew(t, marker(t))
	mustNew(t, marker(t), secret.Guarded())
	s := secret.Stats()
	if s.Backend != "heap" || s.Protected {
		t.Errorf("backend %q, protected %v: want heap, false", s.Backend, s.Protected)
	}
	if s.LockedBytes != 0 || s.UnlockedBytes == 0 {
		t.Errorf("locked %d, unlocked %d bytes: heap memory is never locked", s.LockedBytes, s.UnlockedBytes)
	}
	if s.Guarded != 0 {
		t.Errorf("%d guarded cells reported where there are no guard pages", s.Guarded)
	}
	if s.Live != 2 {
		t.Errorf("%d live cells, want 2", s.Live)
	}
}

func TestTheHeapBackendWipesWhatItFrees(t *testing.T) {
	counts := watchFrees(t)
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			m := marker(t)
			in := []byte(m)
			v, err := secret.New(in, p.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(in, make([]byte, len(in))) {
				t.Error("New did not wipe its input")
			}
			if !inArena(m) {
				t.Fatal("the secret is not in the arena: the test would prove nothing")
			}
			v.Destroy()
			if inArena(m) {
				t.Error("the secret is still in memory after Destroy")
			}
		})
	}
	if freed, dirty := counts(); freed == 0 || dirty != 0 {
		t.Errorf("%d of %d freed cells held data", dirty, freed)
	}
}

func TestTheHeapBackendRedacts(t *testing.T) {
	m := marker(t)
	v := mustNew(t, m, secret.Label("api.key"))
	var out strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
		fmt.Fprintf(&out, verb+"\n", v)
	}
	fmt.Fprintf(&out, "%+v\n", struct{ Key secret.Value }{v})
	j, err := json.Marshal(map[string]secret.Value{"key": v})
	if err != nil {
		t.Fatal(err)
	}
	out.Write(j)
	slog.New(slog.NewTextHandler(&out, nil)).Info("loaded", "key", v)
	if strings.Contains(out.String(), m) {
		t.Fatal("the plaintext was printed")
	}
	if !strings.Contains(out.String(), "[REDACTED api.key]") {
		t.Errorf("no redaction marker in %q", out.String())
	}
}
