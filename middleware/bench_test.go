package middleware_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/secretmem/secretmem/internal/testalloc"
	"github.com/secretmem/secretmem/middleware"
)

// prepared is a request served again and again without a socket. Tokens
// removes the Authorization header, so reset puts it back (for the bare
// handler too, so both sides pay the same).
type prepared struct {
	req  *http.Request
	auth []string
	w    *discardWriter
}

func newPrepared(tok string) *prepared {
	p := &prepared{
		req:  httptest.NewRequest(http.MethodGet, "/me", nil),
		auth: []string{"Bearer " + tok},
		w:    &discardWriter{h: http.Header{}},
	}
	p.req.Header.Set("Accept", "application/json")
	p.req.Header.Set("User-Agent", "bench")
	return p
}

func (p *prepared) serve(h http.Handler) {
	p.req.Header["Authorization"] = p.auth
	clear(p.w.h)
	h.ServeHTTP(p.w, p.req)
}

var sink byte

func readToken(w http.ResponseWriter, r *http.Request) {
	tok, ok := middleware.Token(r.Context())
	if !ok {
		panic("no token")
	}
	if err := tok.Use(useToken); err != nil {
		panic(err)
	}
}

func useToken(b []byte) error { sink ^= b[0]; return nil }

func bare(w http.ResponseWriter, r *http.Request) {}

// stacks are the handler chains measured by the benchmarks and the
// allocation budget test.
func stacks(tb testing.TB, tok string) []struct {
	name string
	h    http.Handler
} {
	k := key(tb, tok)
	return []struct {
		name string
		h    http.Handler
	}{
		{"bare", http.HandlerFunc(bare)},
		{"Tokens+Token", middleware.Tokens()(http.HandlerFunc(readToken))},
		{"Tokens+Token.Equal", middleware.Tokens()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if v, _ := middleware.Token(r.Context()); !v.Equal([]byte(tok)) {
				panic("wrong token")
			}
		}))},
		{"RequireBearer+Token", middleware.RequireBearer(k)(http.HandlerFunc(readToken))},
		{"Tokens+RequireBearer+Token", middleware.Tokens()(middleware.RequireBearer(k)(http.HandlerFunc(readToken)))},
		{"Logger", middleware.Logger(slog.New(slog.NewJSONHandler(io.Discard, nil)))(http.HandlerFunc(bare))},
		{"Logger+Tokens+RequireBearer+Token", middleware.Logger(slog.New(slog.NewJSONHandler(io.Discard, nil)))(
			middleware.Tokens()(middleware.RequireBearer(k)(http.HandlerFunc(readToken))))},
	}
}

func BenchmarkMiddleware(b *testing.B) {
	tok := "0123456789abcdef0123456789abcdef0123456789abcdef" // a 48-byte token
	for _, s := range stacks(b, tok) {
		b.Run(s.name, func(b *testing.B) {
			p := newPrepared(tok)
			b.ReportAllocs()
			for b.Loop() {
				p.serve(s.h)
			}
		})
	}
}

// TestAllocationBudget holds Tokens and a Token read to the issue's
// budget: at most 4 allocations per request over a bare handler.
func TestAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	tok := "0123456789abcdef0123456789abcdef"
	all := stacks(t, tok)
	p := newPrepared(tok)
	base := testalloc.PerRun(200, func() { p.serve(all[0].h) })
	for _, c := range []struct {
		name   string
		stack  int
		budget float64
	}{
		{"Tokens and a Token read add at most 4 allocations", 1, 4},
		{"RequireBearer on its own adds at most 4 allocations", 3, 4},
		{"RequireBearer after Tokens adds nothing to Tokens' budget", 4, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newPrepared(tok)
			got := testalloc.PerRun(200, func() { p.serve(all[c.stack].h) }) - base
			if got > c.budget {
				t.Errorf("%s adds %v allocations per request, budget %v", all[c.stack].name, got, c.budget)
			}
		})
	}
}
