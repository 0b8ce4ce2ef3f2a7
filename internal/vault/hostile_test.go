package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/secret"
)

// These tests play a compromised or misbehaving Vault (or a proxy in
// front of one) with a net/http server on 127.0.0.1: no real Vault sends
// these answers, and the client must hold up against them all the same.

// hostile starts a server answering with h, and a client of it that has
// the token tok installed (no lookup against the server) and no retries
// unless edit says otherwise.
func hostile(t *testing.T, h http.HandlerFunc, auth Auth, edit func(*Config)) (*Client, *bytes.Buffer) {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	logs := &bytes.Buffer{}
	return started(t, Config{Address: ts.URL, Auth: auth, MaxRetries: -1, Logger: debugLogger(logs)}, edit), logs
}

// A Vault (or a proxy) that echoes the request in its error: the secret
// comes back decoded, and a secret holding a quote, a backslash or a
// control byte is not the bytes the request body carried (those were
// escaped). Neither form may reach the error or the log, whichever way
// the echo encodes it.
func TestAnEchoedSecretIsRedactedHoweverItWasEscaped(t *testing.T) {
	for name, sid := range map[string]string{
		"a quote":        `sid-"quoted"-0123456789`,
		"a backslash":    `sid-back\slash-0123456789`,
		"a control byte": "sid-tab\there-0123456789",
		"HTML bytes":     "sid-<b>&amp;</b>-0123456789",
	} {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int32
			c, logs := hostile(t, func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				raw, _ := io.ReadAll(r.Body)
				var in struct {
					SecretID string `json:"secret_id"`
				}
				_ = json.Unmarshal(raw, &in)
				// encoding/json, as Vault writes its errors: the echo
				// decodes to the secret itself, and the raw body to its
				// escaped form.
				out, _ := json.Marshal(map[string][]string{"errors": {
					"invalid secret_id " + in.SecretID,
					"bad request body " + string(raw),
				}})
				w.WriteHeader(500)
				_, _ = w.Write(out)
			}, AppRole{RoleID: "r", SecretID: cell(t, sid)}, func(c *Config) {
				c.MaxRetries = 1
				c.Backoff = Backoff{Min: time.Millisecond, Max: time.Millisecond}
			})
			err := c.Login(context.Background())
			if err == nil {
				t.Fatal("login succeeded")
			}
			if calls.Load() != 2 {
				t.Fatalf("%d calls; want a retry, which logs the first error", calls.Load())
			}
			escaped, _ := json.Marshal(sid)
			for _, leak := range []string{sid, string(escaped[1 : len(escaped)-1]), "0123456789"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("the error holds the secret ID: %v", err)
				}
				if strings.Contains(logs.String(), leak) {
					t.Errorf("the log holds the secret ID")
				}
			}
			if !strings.Contains(err.Error(), "[REDACTED]") {
				t.Errorf("the echoes should read [REDACTED]: %v", err)
			}
		})
	}
}

// The scanner's object and list readers must check that an object or a
// list is there: a body where a number stands for an object is not JSON,
// and reading it as one would take the next bytes for members.
func TestAScalarWhereAnObjectBelongsIsRefused(t *testing.T) {
	for name, body := range map[string]string{
		"metadata data":     `{"data":1"current_version":9}}`,
		"metadata versions": `{"data":{"current_version":9,"versions":7"9":{}}}}`,
		"a version":         `{"data":{"current_version":9,"versions":{"9":5"created_time":"x"}}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, body)
			}, Token{Value: cell(t, "tok")}, nil)
			c.install(tokenState{cell: cell(t, "tok")})
			v, err := c.KVVersion(context.Background(), "secret/data/app")
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("accepted as version %d: %v", v, err)
			}
		})
	}
	t.Run("whitespace before an object is fine", func(t *testing.T) {
		c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"data": {"current_version": 3, "versions": { "3": {"created_time": "t"}}}}`)
		}, Token{Value: cell(t, "tok")}, nil)
		c.install(tokenState{cell: cell(t, "tok")})
		if v, err := c.KVVersion(context.Background(), "secret/data/app"); v != 3 || err != nil {
			t.Fatalf("version %d, %v; want 3", v, err)
		}
	})
	t.Run("token lookup", func(t *testing.T) {
		c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"data":5}}`)
		}, Token{Value: cell(t, "tok")}, nil)
		if err := c.Login(context.Background()); !errors.Is(err, ErrMalformed) {
			t.Fatalf("a lookup whose data is a number: %v", err)
		}
	})
	t.Run("KV v2 metadata", func(t *testing.T) {
		c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"data":{"data":{"a":"b"},"metadata":7"version":3}}}`)
		}, Token{Value: cell(t, "tok")}, nil)
		c.install(tokenState{cell: cell(t, "tok")})
		before := secret.Stats().Live
		if _, err := c.Read(context.Background(), Mapping{Path: "secret/data/app"}); !errors.Is(err, ErrMalformed) {
			t.Fatalf("a KV v2 secret whose metadata is a number: %v", err)
		}
		if after := secret.Stats().Live; after != before {
			t.Errorf("%d cells live, %d before", after, before)
		}
	})
}

// TTLs and lease durations are seconds; one that does not fit a
// time.Duration (or is negative) would wrap around into a token that
// never expires and is never renewed, or a lease that is always due.
func TestDurationsOutOfRangeAreRefused(t *testing.T) {
	for name, n := range map[string]string{"too long": "10000000000", "negative": "-5"} {
		t.Run(name, func(t *testing.T) {
			t.Run("login", func(t *testing.T) {
				c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
					fmt.Fprintf(w, `{"auth":{"client_token":"hvs.tok","lease_duration":%s,"renewable":true}}`, n)
				}, AppRole{RoleID: "r", SecretID: cell(t, "sid")}, nil)
				err := c.Login(context.Background())
				if info := c.TokenInfo(); err == nil && info.TTL <= 0 {
					t.Fatalf("a token of TTL %s s taken for one of %v", n, info.TTL)
				}
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("login: %v", err)
				}
			})
			t.Run("lease", func(t *testing.T) {
				c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
					fmt.Fprintf(w, `{"lease_id":"database/creds/app/x","renewable":true,"lease_duration":%s,"data":{"password":"p"}}`, n)
				}, Token{Value: cell(t, "tok")}, nil)
				c.install(tokenState{cell: cell(t, "tok")})
				s, err := c.Read(context.Background(), Mapping{Path: "database/creds/app"})
				if err == nil {
					defer s.Destroy()
					t.Fatalf("a lease of %s s taken for one of %v", n, s.Lease.Duration)
				}
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("read: %v", err)
				}
			})
		})
	}
}

// A login answer that names client_token twice: the first cell must not
// be left behind when the second replaces it.
func TestATokenSentTwiceLeavesNoCell(t *testing.T) {
	before := secret.Stats().Live
	sid := cell(t, "sid")
	c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"auth":{"client_token":"hvs.first","client_token":"hvs.second","lease_duration":60}}`)
	}, AppRole{RoleID: "r", SecretID: sid}, nil)
	if err := c.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(context.Background(), CloseOptions{}); err != nil {
		t.Fatal(err)
	}
	if after := secret.Stats().Live; after != before+1 { // the secret ID's own cell
		t.Errorf("%d cells live after Close, %d before (plus the secret ID)", after, before)
	}
}

// A redirect to another host is refused before anything is sent there:
// the other host sees no request at all, so neither the token nor a
// login's secret ID reaches it.
func TestARedirectElsewhereSendsNothingThere(t *testing.T) {
	var seen atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		fmt.Fprint(w, `{"auth":{"client_token":"hvs.x","lease_duration":60},"data":{"current_version":1}}`)
	}))
	defer elsewhere.Close()
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
				// 127.0.0.1 and localhost are one machine but two hosts.
				w.Header().Set("Location", strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1)+r.URL.Path)
				w.WriteHeader(code)
			}, AppRole{RoleID: "r", SecretID: cell(t, "sid-never-sent")}, nil)
			if err := c.Login(context.Background()); !errors.Is(err, ErrRedirect) {
				t.Fatalf("login: %v", err)
			}
			c.install(tokenState{cell: cell(t, "hvs.never-sent")})
			if _, err := c.KVVersion(context.Background(), "secret/data/x"); !errors.Is(err, ErrRedirect) {
				t.Fatalf("read: %v", err)
			}
		})
	}
	if n := seen.Load(); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
}

// A body at the size cap packed with small fields (over 100,000 of them)
// is read in linear time: a duplicate check that searched the fields read
// so far made this quadratic, 19 s of CPU here for one read (and again at
// every poll under Watch). The bound is on CPU time: the read takes 0.2 s
// of it (1.5 s under the race detector), while its wall time under the
// race detector on a loaded machine passed 13 s.
func TestABodyOfManyFieldsIsReadInLinearTime(t *testing.T) {
	if testing.Short() {
		t.Skip("makes 100,000 cells")
	}
	var b strings.Builder
	b.WriteString(`{"data":{`)
	for i := 0; b.Len() < defaultMaxBody-100; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%x":1`, i)
	}
	b.WriteString(`}}`)
	body := b.String()
	const timeout = 10 * time.Second // the quadratic check took four times as long
	c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, body)
	}, Token{Value: cell(t, "tok")}, func(c *Config) { c.Timeout = timeout })
	c.install(tokenState{cell: cell(t, "tok")})
	before := secret.Stats().Live
	cpu0, measured := cpuTime()
	s, err := c.Read(context.Background(), Mapping{Path: "kv/app", Prefix: "p"})
	cpu1, _ := cpuTime()
	if err != nil {
		t.Fatal(err)
	}
	n := len(s.Fields)
	s.Destroy()
	if n < 100_000 {
		t.Errorf("%d fields read, want all of them", n)
	}
	if used := cpu1 - cpu0; measured && used > 5*time.Second {
		t.Errorf("%d fields read with %v of CPU", n, used)
	}
	if after := secret.Stats().Live; after != before {
		t.Errorf("%d cells live after Destroy, %d before", after, before)
	}
}

// Bodies a misbehaving server may send for a secret: duplicate members
// (the last wins, or the read is refused, and no cell of the loser is
// left), a mapped field that is an object, NUL and bytes that are not
// UTF-8 in a value, numbers with exponents. Each value arrives as sent,
// and whatever the outcome no cell outlives Destroy.
func TestHostileSecretBodies(t *testing.T) {
	v2 := func(fields string) string { return `{"data":{"data":{` + fields + `},"metadata":{"version":1}}}` }
	for _, c := range []struct {
		name string
		body string
		m    Mapping
		want error             // nil: read
		has  map[string]string // key -> value, when read
	}{
		{"a field twice", v2(`"a":"x1","a":"x2"`), Mapping{Path: "s/data/x"}, ErrMalformed, nil},
		{"a mapped field twice", v2(`"a":"x1","a":"x2"`), Mapping{Path: "s/data/x", Fields: map[string]string{"a": "k"}}, ErrMalformed, nil},
		{"two fields mapped to one key", v2(`"a":"x1","b":"x2"`), Mapping{Path: "s/data/x", Fields: map[string]string{"a": "k", "b": "k"}}, ErrMalformed, nil},
		{"a dotted name and an object giving one key", v2(`"a.b":"x1","a":{"b":"x2"}`), Mapping{Path: "s/data/x"}, ErrMalformed, nil},
		{"data twice, the second deleted", `{"data":{"data":{"a":"x1"},"data":null,"metadata":{"version":2}}}`, Mapping{Path: "s/data/x"}, ErrNotFound, nil},
		{"data twice, both read", `{"data":{"data":{"a":"x1"},"data":{"b":"x2"},"metadata":{"version":2}}}`, Mapping{Path: "s/data/x"}, nil,
			map[string]string{"a": "x1", "b": "x2"}},
		{"a mapped field holding an object", v2(`"a":{"b":"x1"}`), Mapping{Path: "s/data/x", Fields: map[string]string{"a": "k"}}, ErrRefused, nil},
		{"NUL, control and non-UTF-8 bytes", v2(`"a":"x\u0000y\u001bz","b":"` + "\xff\xfe" + `"`), Mapping{Path: "s/data/x"}, nil,
			map[string]string{"a": "x\x00y\x1bz", "b": "\xff\xfe"}},
		{"numbers with exponents", v2(`"a":1e400,"b":-0.5E-7,"c":123456789012345678901234567890`), Mapping{Path: "s/data/x"}, nil,
			map[string]string{"a": "1e400", "b": "-0.5E-7", "c": "123456789012345678901234567890"}},
		{"a lease sent twice", `{"lease_id":"l/1","lease_duration":60,"lease_id":"l/2","data":{"a":"x1"}}`, Mapping{Path: "db/creds/x"}, nil,
			map[string]string{"a": "x1"}},
		{"nesting past the bound", v2(`"a":` + strings.Repeat(`{"b":`, 40) + `"x1"` + strings.Repeat("}", 40)), Mapping{Path: "s/data/x"}, ErrMalformed, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			c0, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, c.body)
			}, Token{Value: cell(t, "tok")}, nil)
			c0.install(tokenState{cell: cell(t, "tok")})
			before := secret.Stats().Live
			s, err := c0.Read(context.Background(), c.m)
			if !errors.Is(err, c.want) || (err == nil) != (c.want == nil) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if err != nil && (strings.Contains(err.Error(), "x1") || strings.Contains(err.Error(), "x2")) {
				t.Errorf("the error quotes a value: %v", err)
			}
			if err == nil {
				for key, want := range c.has {
					if v, ok := s.Value(key); !ok || !v.Equal([]byte(want)) {
						t.Errorf("%s does not hold what was sent", key)
					}
				}
				s.Destroy()
			}
			if after := secret.Stats().Live; after != before {
				t.Errorf("%d cells live, %d before", after, before)
			}
		})
	}
}

// A proxy (or a Vault plugin) that echoes part of what it was sent, a
// token cut to fit a line: any run of 16 bytes of a request's secret
// marks the message, not only the whole secret.
func TestAPartlyEchoedSecretIsRedacted(t *testing.T) {
	const tok = "hvs.CAESIJ0123456789abcdefghijklmnopqrstuvwxyz"
	c, logs := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("X-Vault-Token")
		out, _ := json.Marshal(map[string][]string{"errors": {
			"token " + got[:20] + "... is invalid",
			"token ending in " + got[len(got)-16:] + " is invalid",
			"permission denied",
		}})
		w.WriteHeader(403)
		_, _ = w.Write(out)
	}, Token{Value: cell(t, tok)}, nil)
	c.install(tokenState{cell: cell(t, tok)})
	_, err := c.Read(context.Background(), Mapping{Path: "secret/data/app"})
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("got %v", err)
	}
	for _, part := range []string{tok[4:20], tok[len(tok)-16:]} {
		if strings.Contains(err.Error(), part) || strings.Contains(logs.String(), part) {
			t.Errorf("part of the token reached the error or the log: %v", err)
		}
	}
	if !strings.Contains(err.Error(), "[REDACTED]; [REDACTED]; permission denied") {
		t.Errorf("Vault's own message should stay: %v", err)
	}
}

// FuzzResponseReaders runs every reader of a response body that holds
// secrets (a secret's fields, a login's auth block, an error's messages)
// over arbitrary bodies: none panics, none accepts a body encoding/json
// rejects, and none leaves a cell behind once what it read is destroyed.
func FuzzResponseReaders(f *testing.F) {
	for _, seed := range []string{
		`{"data":{"data":{"password":"x","n":1e5,"o":{"p":"q"}},"metadata":{"version":3,"created_time":"t"}}}`,
		`{"lease_id":"l/1","renewable":true,"lease_duration":60,"data":{"username":"u","password":"p"}}`,
		`{"auth":{"client_token":"hvs.x","lease_duration":60,"renewable":true},"errors":["a","b"]}`,
		`{"data":{"data":{"a":"b"},"metadata":7"version":3}}}`,
		`{"auth":{"client_token":"a","client_token":"b","lease_duration":99999999999}}`,
	} {
		f.Add([]byte(seed))
	}
	mappings := []Mapping{
		{Path: "s/data/x", Prefix: "p"},
		{Path: "s/data/x", Fields: map[string]string{"password": "k", "a": "l"}},
		{Path: "kv/x", KV: 1},
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		before := secret.Stats().Live
		valid := json.Valid(in)
		for _, m := range mappings {
			sec := &Secret{Path: m.Path}
			col := collector{s: &scanner{b: append([]byte(nil), in...)}, m: m, sec: sec}
			err := col.read(m.kv2())
			sec.Destroy()
			if err == nil && !valid {
				t.Fatalf("the collector (%+v) accepted what encoding/json rejects: %q", m, in)
			}
		}
		for _, withToken := range []bool{true, false} {
			l, err := parseAuth(append([]byte(nil), in...), withToken)
			l.token.Destroy()
			if err == nil && !valid {
				t.Fatalf("parseAuth accepted what encoding/json rejects: %q", in)
			}
		}
		_ = parseErrors(append([]byte(nil), in...), func([]byte) bool { return false })
		if after := secret.Stats().Live; after != before {
			t.Fatalf("%d cells live after reading %q, %d before", after, in, before)
		}
	})
}

// A namespace an HTTP header cannot carry (a newline from a file or a
// template) is a configuration error at New, not a request that fails
// as if Vault were unreachable and is retried for ever.
func TestANamespaceAHeaderCannotCarryIsRefused(t *testing.T) {
	for _, ns := range []string{"team-a\r\nX-Injected: 1", "team\x00a", "team-a\n"} {
		_, err := New(Config{Address: "http://127.0.0.1:1", Namespace: ns, Auth: Token{Value: cell(t, "tok")}})
		if !errors.Is(err, ErrConfig) {
			t.Errorf("namespace %q: %v", ns, err)
		}
	}
	for _, ns := range []string{"team-a/", "team a/sub", "ns1/ns2"} {
		c, err := New(Config{Address: "http://127.0.0.1:1", Namespace: ns, Auth: Token{Value: cell(t, "tok")}})
		if err != nil {
			t.Errorf("namespace %q: %v", ns, err)
			continue
		}
		_ = c.Close(context.Background(), CloseOptions{})
	}
}
