package secret_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/wine"
	"github.com/secretmem/secretmem/secret"
)

var placements = []struct {
	name string
	opts []secret.Option
}{
	{"pooled", nil},
	{"guarded", []secret.Option{secret.Guarded()}},
}

func TestNewCopiesTheSecretAndWipesTheInput(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			m := marker(t)
			in := []byte(m)
			v, err := secret.New(in, p.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Destroy()
			if !bytes.Equal(in, make([]byte, len(m))) {
				t.Error("the input slice was not wiped")
			}
			if !holds(v, m) {
				t.Error("the cell does not hold the secret")
			}
			if v.Len() != len(m) || !v.Alive() {
				t.Errorf("Len=%d Alive=%v, want %d true", v.Len(), v.Alive(), len(m))
			}
			err = v.Use(func(b []byte) error {
				if string(b) != m {
					return errors.New("Use saw other bytes")
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
}

func TestConstructors(t *testing.T) {
	m := marker(t)
	dir := wine.TempDir(t)
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte(m+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	crlf := filepath.Join(dir, "crlf")
	if err := os.WriteFile(crlf, []byte(m+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		make func() (secret.Value, error)
		want string
	}{
		{"FromString copies a string", func() (secret.Value, error) { return secret.FromString(m) }, m},
		{"Read takes exactly n bytes", func() (secret.Value, error) {
			return secret.Read(strings.NewReader(m+"tail"), len(m))
		}, m},
		{"ReadFile keeps the newline by default", func() (secret.Value, error) { return secret.ReadFile(file) }, m + "\n"},
		{"ReadFile trims one newline on request", func() (secret.Value, error) {
			return secret.ReadFile(file, secret.TrimNewline())
		}, m},
		{"ReadFile trims CRLF on request", func() (secret.Value, error) {
			return secret.ReadFile(crlf, secret.TrimNewline(), secret.Guarded())
		}, m},
		{"Read trims inside a guarded cell", func() (secret.Value, error) {
			return secret.Read(strings.NewReader(m+"\n"), len(m)+1, secret.Guarded(), secret.TrimNewline())
		}, m},
		{"an empty secret is a live empty cell", func() (secret.Value, error) { return secret.New(nil) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := tt.make()
			if err != nil {
				t.Fatal(err)
			}
			defer v.Destroy()
			if !holds(v, tt.want) || v.Len() != len(tt.want) {
				t.Errorf("the cell does not hold the expected %d bytes (Len=%d)", len(tt.want), v.Len())
			}
			if !v.Alive() {
				t.Error("the cell is not alive")
			}
		})
	}
}

func TestReadAllFromAPipe(t *testing.T) {
	m := marker(t)
	v, err := secret.ReadAll(pipe(t, []byte(m)))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Destroy()
	if !holds(v, m) {
		t.Error("the cell does not hold what came through the pipe")
	}
}

func TestRandomFillsDistinctCells(t *testing.T) {
	a, err := secret.Random(32)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Destroy()
	b, err := secret.Random(32, secret.Guarded())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	if a.Len() != 32 || b.Len() != 32 {
		t.Fatalf("lengths %d and %d, want 32", a.Len(), b.Len())
	}
	if a.EqualValue(b) {
		t.Error("two random cells are equal")
	}
	if a.Equal(make([]byte, 32)) {
		t.Error("a random cell is all zeros")
	}
}

func TestBadInputIsRefusedWithClearErrors(t *testing.T) {
	live := secret.Stats().Live
	m := marker(t)
	dir := wine.TempDir(t)
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(secret.MaxSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	tests := []struct {
		name string
		make func() (secret.Value, error)
		is   error
		says string
	}{
		{"a negative Read size", func() (secret.Value, error) { return secret.Read(strings.NewReader(m), -1) }, secret.ErrSize, "-1"},
		{"a huge Read size", func() (secret.Value, error) { return secret.Read(strings.NewReader(m), secret.MaxSize+1) }, secret.ErrSize, "limit"},
		{"a negative Random size", func() (secret.Value, error) { return secret.Random(-5) }, secret.ErrSize, "-5"},
		{"a short reader", func() (secret.Value, error) { return secret.Read(strings.NewReader(m), len(m)+10) }, nil, "reading"},
		{"a zero TTL", func() (secret.Value, error) { return secret.New([]byte(m), secret.TTL(0)) }, secret.ErrOption, "TTL"},
		{"a directory", func() (secret.Value, error) { return secret.ReadFile(dir) }, nil, "directory"},
		{"a missing file", func() (secret.Value, error) { return secret.ReadFile(filepath.Join(dir, "nope")) }, os.ErrNotExist, "nope"},
		{"a file over MaxSize", func() (secret.Value, error) { return secret.ReadFile(big) }, secret.ErrSize, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := tt.make()
			if err == nil {
				v.Destroy()
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
			if strings.Contains(err.Error(), m) {
				t.Error("the error message contains the secret")
			}
			if v.Alive() {
				t.Error("a failed constructor returned a live Value")
			}
		})
	}
	if got := secret.Stats().Live; got != live {
		t.Errorf("failed constructors leaked cells: %d live, want %d", got, live)
	}
}

func TestNewLeavesTheInputAloneWhenItFails(t *testing.T) {
	in := []byte("keep-me-intact")
	if _, err := secret.New(in, secret.TTL(-time.Second)); err == nil {
		t.Fatal("no error for a negative TTL")
	}
	if string(in) != "keep-me-intact" {
		t.Error("New wiped its input although it failed")
	}
}

func TestEndedCellsReadAsEnded(t *testing.T) {
	tests := []struct {
		name string
		end  func(secret.Value)
		opts []secret.Option
		want error
	}{
		{"destroyed", secret.Value.Destroy, nil, secret.ErrDestroyed},
		{"destroyed guarded", secret.Value.Destroy, []secret.Option{secret.Guarded()}, secret.ErrDestroyed},
		{"consumed", func(v secret.Value) { _ = v.Use(func([]byte) error { return nil }) }, []secret.Option{secret.Volatile()}, secret.ErrConsumed},
		{"consumed by Reveal", func(v secret.Value) {
			b, _ := v.Reveal()
			secret.Wipe(b)
		}, []secret.Option{secret.Volatile(), secret.Guarded()}, secret.ErrConsumed},
		{"consumed even when the callback fails", func(v secret.Value) {
			_ = v.Use(func([]byte) error { return errors.New("no") })
		}, []secret.Option{secret.Volatile()}, secret.ErrConsumed},
		{"purged", func(secret.Value) { secret.Purge() }, nil, secret.ErrDestroyed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := marker(t)
			v := mustNew(t, m, tt.opts...)
			if !inArena(m) {
				t.Fatal("the scan cannot see a live cell, so it proves nothing")
			}
			tt.end(v)
			err := v.Use(func([]byte) error {
				t.Error("the callback ran on an ended cell")
				return nil
			})
			if !errors.Is(err, tt.want) {
				t.Errorf("Use returned %v, want %v", err, tt.want)
			}
			if _, err := v.Reveal(); !errors.Is(err, tt.want) {
				t.Errorf("Reveal returned %v, want %v", err, tt.want)
			}
			if v.Alive() || v.Len() != 0 || v.Equal([]byte(m)) {
				t.Error("an ended cell still looks alive")
			}
			if inArena(m) {
				t.Error("the plaintext is still in protected memory after the cell ended")
			}
			v.Destroy() // idempotent
		})
	}
}

func TestTheZeroValueBehavesAsDestroyed(t *testing.T) {
	var v secret.Value
	if err := v.Use(func([]byte) error { return nil }); !errors.Is(err, secret.ErrDestroyed) {
		t.Errorf("Use: %v", err)
	}
	if v.Alive() || v.Len() != 0 || v.Equal(nil) || v.EqualValue(v) {
		t.Error("the zero Value looks alive")
	}
	if v.Masked(4) != secret.Redacted || v.String() != secret.Redacted {
		t.Error("the zero Value does not print redacted")
	}
	v.Destroy()
}

func TestVolatileCellsBurnAfterOneRead(t *testing.T) {
	m := marker(t)
	v := mustNew(t, m, secret.Volatile())
	if !v.Equal([]byte(m)) || v.Masked(4) == secret.Redacted {
		t.Fatal("Equal and Masked must not consume a volatile cell")
	}
	if !v.Alive() {
		t.Fatal("comparing consumed the cell")
	}
	first := v.Use(func(b []byte) error {
		if string(b) != m {
			return errors.New("first read saw other bytes")
		}
		return nil
	})
	if first != nil {
		t.Fatal(first)
	}
	if err := v.Use(func([]byte) error { return nil }); !errors.Is(err, secret.ErrConsumed) {
		t.Errorf("second read: %v, want ErrConsumed", err)
	}
	if inArena(m) {
		t.Error("the consumed cell was not wiped")
	}
}

func TestOnlyOneConcurrentReaderGetsAVolatileCell(t *testing.T) {
	for range 50 {
		v := mustNew(t, "one-shot-token-value", secret.Volatile())
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if v.Use(func([]byte) error { return nil }) == nil {
					mu.Lock()
					got++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if got != 1 {
			t.Fatalf("%d readers got the volatile cell, want exactly 1", got)
		}
	}
}

func TestTTLCellsExpire(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			var m string
			var v secret.Value
			var life time.Duration
			beforeTTL(t, 30*time.Millisecond, func(ttl time.Duration) bool {
				m, life = marker(t), ttl
				made := time.Now()
				v = mustNew(t, m, append([]secret.Option{secret.TTL(ttl)}, p.opts...)...)
				if holds(v, m) {
					return true
				}
				if time.Since(made) < ttl {
					t.Fatal("the cell does not hold the secret before expiry")
				}
				return false
			})
			deadline := time.Now().Add(life + 5*time.Second)
			for v.Alive() && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if err := v.Use(func([]byte) error { return nil }); !errors.Is(err, secret.ErrExpired) {
				t.Fatalf("Use after expiry: %v, want ErrExpired", err)
			}
			// The timer wipes even if nobody reads again.
			for inArena(m) && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if inArena(m) {
				t.Error("the expired cell was not wiped")
			}
		})
	}
}

func TestDestroyWaitsForReadersInFlight(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			m := marker(t)
			v := mustNew(t, m, p.opts...)
			inside := make(chan struct{})
			destroyed := make(chan struct{})
			errc := make(chan error, 1)
			go func() {
				errc <- v.Use(func(b []byte) error {
					close(inside)
					<-destroyed
					if string(b) != m {
						return errors.New("the bytes changed under a reader")
					}
					return nil
				})
			}()
			<-inside
			v.Destroy()
			if v.Alive() {
				t.Error("the cell is alive after Destroy")
			}
			close(destroyed)
			if err := <-errc; err != nil {
				t.Error(err)
			}
			if inArena(m) {
				t.Error("the last reader did not wipe the destroyed cell")
			}
		})
	}
}

func TestAStaleValueNeverReadsTheNextCellInItsSlot(t *testing.T) {
	old := mustNew(t, marker(t))
	old.Destroy()
	// The freed slot is the first to be reused.
	m := marker(t)
	next := mustNew(t, m)
	if err := old.Use(func([]byte) error { return nil }); !errors.Is(err, secret.ErrDestroyed) {
		t.Errorf("stale Use: %v", err)
	}
	old.Destroy()
	if !holds(next, m) {
		t.Error("destroying a stale Value harmed the next cell in its slot")
	}
}

func TestEqual(t *testing.T) {
	m := marker(t)
	a := mustNew(t, m)
	b := mustNew(t, m, secret.Guarded())
	c := mustNew(t, m+"x")
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"equal bytes", a.Equal([]byte(m)), true},
		{"other bytes of the same length", a.Equal([]byte(strings.ToUpper(m))), false},
		{"a prefix", a.Equal([]byte(m[:5])), false},
		{"two cells with the same secret", a.EqualValue(b), true},
		{"a cell with itself", a.EqualValue(a), true},
		{"cells of different lengths", a.EqualValue(c), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestMasked(t *testing.T) {
	tests := []struct {
		secret string
		suffix int
		want   string
	}{
		{"sk-live-1234", 4, "********1234"},
		{"sk-live-1234", 0, "************"},
		{"sk-live-1234", -3, "************"},
		{"sk-live-1234", 12, "********1234"}, // never more than a third
		{"abc", 2, "**c"},
		{"ab", 2, "**"},
		{"", 4, ""},
		{strings.Repeat("x", 100) + "tail", 4, strings.Repeat("*", 32) + "tail"},
		{"binary\x00\x01\x02\x03\x04\x05", 3, "************"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			v := mustNew(t, tt.secret)
			if got := v.Masked(tt.suffix); got != tt.want {
				// Both sides are masked forms, never the secret.
				t.Errorf("Masked(%d) = %q, want %q", tt.suffix, got, tt.want)
			}
		})
	}
}

func TestUnmarshalTextMovesConfigIntoCellsAndWipesTheInput(t *testing.T) {
	m := marker(t)
	doc := []byte(`{"user":"app","password":"` + m + `"}`)
	var cfg struct {
		User     string       `json:"user"`
		Password secret.Value `json:"password"`
	}
	if err := json.Unmarshal(doc, &cfg); err != nil {
		t.Fatal(err)
	}
	defer cfg.Password.Destroy()
	if !holds(cfg.Password, m) {
		t.Error("the decoded cell does not hold the password")
	}
	if bytes.Contains(doc, []byte(m)) {
		t.Error("the JSON input still holds the password")
	}
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte(m)) || !bytes.Contains(out, []byte(secret.Redacted)) {
		t.Errorf("re-encoding does not redact: %s", out)
	}
}

func TestPurgeEndsEveryCell(t *testing.T) {
	var vs []secret.Value
	for i := range 100 {
		opts := []secret.Option{}
		if i%10 == 0 {
			opts = append(opts, secret.Guarded())
		}
		vs = append(vs, mustNew(t, marker(t), opts...))
	}
	if n := secret.Purge(); n < len(vs) {
		t.Errorf("Purge ended %d cells, want at least %d", n, len(vs))
	}
	for _, v := range vs {
		if v.Alive() {
			t.Fatal("a cell survived Purge")
		}
	}
	if s := secret.Stats(); s.Live != 0 || s.Bytes != 0 || s.Guarded != 0 {
		t.Errorf("after Purge: %+v", s)
	}
}

func TestStatsCountCellsAndMemory(t *testing.T) {
	secret.Purge()
	v := mustNew(t, "0123456789abcdef0123456789abcdef")
	g := mustNew(t, "guarded-secret", secret.Guarded())
	s := secret.Stats()
	if onHeap() {
		// No guard pages, nothing locked, and Stats says so.
		if s.Live != 2 || s.Bytes != 32+14 || s.Guarded != 0 {
			t.Errorf("live=%d bytes=%d guarded=%d, want 2, 46, 0", s.Live, s.Bytes, s.Guarded)
		}
		if s.LockedBytes != 0 || s.UnlockedBytes == 0 || s.Chunks < 2 || s.Protected || s.Backend != "heap" {
			t.Errorf("heap memory not reported as unprotected: %+v", s)
		}
		v.Destroy()
		g.Destroy()
		return
	}
	if s.Live != 2 || s.Bytes != 32+14 || s.Guarded != 1 {
		t.Errorf("live=%d bytes=%d guarded=%d, want 2, 46, 1", s.Live, s.Bytes, s.Guarded)
	}
	if s.LockedBytes == 0 || s.Chunks < 2 || !s.Protected {
		t.Errorf("memory not reported as locked: %+v", s)
	}
	if s.Backend != "memfd_secret" && s.Backend != "mlock" {
		t.Errorf("backend %q", s.Backend)
	}
	v.Destroy()
	g.Destroy()
	if s := secret.Stats(); s.Live != 0 || s.Bytes != 0 {
		t.Errorf("after Destroy: %+v", s)
	}
}

func TestIdleChunksGoBackToTheSystem(t *testing.T) {
	secret.Purge()
	before := secret.Stats().Chunks
	var vs []secret.Value
	for range 20000 {
		vs = append(vs, mustNew(t, "a 32 byte secret for the chunks."))
	}
	grown := secret.Stats().Chunks
	if grown <= before+2 {
		t.Fatalf("20000 cells used only %d new chunks", grown-before)
	}
	for _, v := range vs {
		v.Destroy()
	}
	after := secret.Stats().Chunks
	if after > before+1 {
		t.Errorf("%d chunks stay mapped after every cell ended (was %d, peak %d)", after, before, grown)
	}
}

func TestIdleGuardedRunsGoBackToTheSystem(t *testing.T) {
	secret.Purge()
	before := secret.Stats()
	var vs []secret.Value
	for range 15 {
		vs = append(vs, mustNew(t, "a guarded secret", secret.Guarded()))
	}
	for _, v := range vs {
		v.Destroy()
	}
	// One idle run is kept for the next guarded cell, as one empty chunk is
	// kept per size class; the rest hold locked memory for nothing.
	after := secret.Stats()
	if after.Chunks > before.Chunks+1 {
		t.Errorf("%d regions stay mapped after 15 guarded cells ended (was %d): %+v", after.Chunks, before.Chunks, after)
	}
}

func TestPurgeReleasesMemoryKeptForReuse(t *testing.T) {
	// Compare with what a first Purge leaves, whatever earlier tests did.
	secret.Purge()
	base := secret.Stats()
	for range 3 {
		mustNew(t, "a guarded secret", secret.Guarded()).Destroy()
		mustNew(t, "a pooled secret").Destroy()
	}
	if s := secret.Stats(); s.Chunks <= base.Chunks {
		t.Fatalf("nothing was kept for reuse to begin with: %+v", s)
	}
	secret.Purge()
	if s := secret.Stats(); s.Chunks != base.Chunks || s.LockedBytes != base.LockedBytes || s.UnlockedBytes != base.UnlockedBytes {
		t.Errorf("after Purge, with no cell alive: %+v, want what the first Purge left: %+v", s, base)
	}
}
