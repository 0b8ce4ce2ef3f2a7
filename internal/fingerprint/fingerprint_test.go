package fingerprint

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/secretmem/secretmem/internal/testalloc"
)

const repl = "[REDACTED]"

// cell stands in for a secret.Value: a byte slice the test owns, compared
// in constant time, that stops matching once ended.
type cell struct {
	b     []byte
	ended atomic.Bool
	calls atomic.Int64
}

func newCell(t testing.TB, s string) (*cell, ID) {
	t.Helper()
	c := &cell{b: []byte(s)}
	id := Add([]byte(s), c.confirm)
	t.Cleanup(func() { Remove(id) })
	return c, id
}

func (c *cell) confirm(candidate []byte) bool {
	c.calls.Add(1)
	return !c.ended.Load() && subtle.ConstantTimeCompare(c.b, candidate) == 1
}

// marker returns a unique random string of n hex characters.
func marker(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)[:n]
}

func TestMain(m *testing.M) {
	Activate()
	m.Run()
}

func TestSipHashMatchesTheReferenceVector(t *testing.T) {
	// The 64-bit test vector from the SipHash paper, appendix A: key
	// 00..0f, message 00..0e.
	msg := make([]byte, 15)
	for i := range msg {
		msg[i] = byte(i)
	}
	const k0, k1 = 0x0706050403020100, 0x0f0e0d0c0b0a0908
	if got := sipHash(k0, k1, msg); got != 0xa129ca6149be45e5 {
		t.Fatalf("sipHash = %#x, want 0xa129ca6149be45e5", got)
	}
}

func TestScrub(t *testing.T) {
	tests := []struct {
		name string
		// build returns the input and the expected output, given the secret.
		build func(sec string) (in, want string)
	}{
		{"a secret alone is replaced", func(s string) (string, string) { return s, repl }},
		{"a secret inside a sentence is replaced and the rest kept", func(s string) (string, string) {
			return "connecting with " + s + " now", "connecting with " + repl + " now"
		}},
		{"every occurrence is replaced", func(s string) (string, string) {
			return s + "," + s + s, repl + "," + repl
		}},
		{"a secret at the very end is found", func(s string) (string, string) {
			return "tail:" + s, "tail:" + repl
		}},
		{"a truncated secret is not a match", func(s string) (string, string) {
			return "x" + s[:len(s)-1], "x" + s[:len(s)-1]
		}},
		{"text without the secret is returned as is", func(string) (string, string) {
			return "nothing to see here, move along", "nothing to see here, move along"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sec := marker(t, 24)
			newCell(t, sec)
			in, want := tt.build(sec)
			got, changed := Scrub(in, repl)
			if strings.Contains(got, sec) {
				t.Fatal("the secret survived Scrub")
			}
			if got != want {
				t.Errorf("Scrub changed the text wrongly (lengths %d and %d)", len(got), len(want))
			}
			if changed != (in != want) {
				t.Errorf("changed = %v", changed)
			}
		})
	}
}

func TestScrubMergesOverlappingSecrets(t *testing.T) {
	a := marker(t, 16)
	b := a[8:] + marker(t, 12) // starts inside a
	newCell(t, a)
	newCell(t, b)
	in := "<" + a[:8] + b + ">"
	got, ok := Scrub(in, repl)
	if !ok || got != "<"+repl+">" {
		t.Fatalf("overlapping secrets were not replaced as one span (ok=%v)", ok)
	}
}

func TestScrubNeverRedactsWhatConfirmRefuses(t *testing.T) {
	sec := marker(t, 20)
	c, _ := newCell(t, sec)
	c.ended.Store(true) // the cell is gone but Remove has not run yet
	if _, ok := Scrub("say "+sec, repl); ok {
		t.Fatal("Scrub redacted a candidate its confirm refused")
	}
	if c.calls.Load() == 0 {
		t.Fatal("confirm was never asked, so the test proves nothing")
	}
}

func TestRemoveStopsMatching(t *testing.T) {
	sec := marker(t, 32)
	_, id := newCell(t, sec)
	if _, ok := Scrub(sec, repl); !ok {
		t.Fatal("a live secret was not found")
	}
	Remove(id)
	Remove(id) // twice is safe
	Remove(0)  // and so is the zero ID
	if got, ok := Scrub(sec, repl); ok || got != sec {
		t.Fatal("a removed secret still matched")
	}
}

func TestShortSecretsAreNotRegistered(t *testing.T) {
	for _, s := range []string{"", "1234", "7charsX"} {
		if id := Add([]byte(s), func([]byte) bool { return true }); id != 0 {
			Remove(id)
			t.Errorf("a %d-byte secret was registered", len(s))
		}
	}
	if id := Add([]byte("eight888"), nil); id != 0 {
		Remove(id)
		t.Error("a secret without confirm was registered")
	}
}

func TestAddDoesNotKeepThePlaintext(t *testing.T) {
	sec := marker(t, 16)
	b := []byte(sec)
	c := &cell{b: []byte(sec)}
	id := Add(b, c.confirm)
	defer Remove(id)
	for i := range b {
		b[i] = 'z' // the caller wipes its buffer after Add
	}
	if _, ok := Scrub(">"+sec+"<", repl); !ok {
		t.Fatal("matching depended on the caller's buffer after Add returned")
	}
}

func TestScrubWithoutMatchAllocatesNothing(t *testing.T) {
	for range 50 {
		newCell(t, marker(t, 16))
	}
	text := strings.Repeat("an ordinary log line with 42 words ", 30)
	allocs := testalloc.PerRun(100, func() {
		if _, ok := Scrub(text, repl); ok {
			t.Fatal("unexpected match")
		}
	})
	if allocs != 0 {
		t.Fatalf("Scrub without a match allocated %v times", allocs)
	}
}

func TestFilterGrowsAndKeepsEveryEntry(t *testing.T) {
	secrets := make([]string, 5000) // past 1<<minFilterBits/64 entries
	for i := range secrets {
		secrets[i] = marker(t, 16)
		newCell(t, secrets[i])
	}
	for i, s := range secrets {
		if _, ok := Scrub(s, repl); !ok {
			t.Fatalf("entry %d was lost when the filter grew", i)
		}
	}
}

func TestConcurrentUseIsSafe(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				sec := marker(t, 12+g)
				c := &cell{b: []byte(sec)}
				id := Add([]byte(sec), c.confirm)
				got, ok := Scrub("a "+sec+" b", repl)
				if !ok || strings.Contains(got, sec) {
					t.Error("a live secret survived a concurrent Scrub")
					return
				}
				if i%2 == 0 {
					c.ended.Store(true)
				}
				Remove(id)
				if _, ok := Scrub(sec, repl); ok {
					t.Error("a removed secret matched")
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkScrub reports the cost of scanning 1 KiB of text that contains
// no secret (the common case), for registries of different sizes: ns/op is
// the cost per KiB.
func BenchmarkScrub(b *testing.B) {
	text := strings.Repeat("GET /api/v1/users?id=12345 200 OK 3.2ms ua=curl/8 ", 21)[:1024]
	for _, n := range []int{1, 100, 10000} {
		b.Run(itoa(n)+"_live_secrets", func(b *testing.B) {
			ids := make([]ID, n)
			for i := range ids {
				c := &cell{b: []byte(marker(b, 24))}
				ids[i] = Add(c.b, c.confirm)
			}
			defer func() {
				for _, id := range ids {
					Remove(id)
				}
			}()
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				Scrub(text, repl)
			}
		})
	}
}

func itoa(n int) string {
	switch n {
	case 1:
		return "1"
	case 100:
		return "100"
	}
	return "10000"
}
