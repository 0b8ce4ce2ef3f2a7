package outbound_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/outbound"
	"github.com/secretmem/secretmem/secret"
)

func TestEachCredentialArrivesAsTheServiceExpectsIt(t *testing.T) {
	srv, s := recorder(t)
	m := marker(t)
	v := cell(t, m)
	for _, c := range []struct {
		name   string
		cred   outbound.Credential
		header string
		want   string
	}{
		{"bearer", outbound.Bearer(fixed(v), "k"), "Authorization", "Bearer " + m},
		{"a custom scheme", outbound.Scheme("Token", fixed(v), "k"), "Authorization", "Token " + m},
		{"an API-key header", outbound.APIKey("x-api-key", fixed(v), "k"), "X-Api-Key", m},
		{"basic", outbound.Basic("svc", fixed(v), "k"), "Authorization",
			"Basic " + base64.StdEncoding.EncodeToString([]byte("svc:"+m))},
	} {
		t.Run(c.name, func(t *testing.T) {
			get(t, newTransport(t, nil, c.cred), srv.URL+"/x")
			h := s.last(t)
			if got := h.Values(c.header); len(got) != 1 || got[0] != c.want {
				t.Errorf("%s arrived as %d values, not the one expected (lengths %v, want %d)", c.header, len(got), lengths(got), len(c.want))
			}
			if c.header != "Authorization" && h.Get("Authorization") != "" {
				t.Error("an API-key credential also sent an Authorization header")
			}
		})
	}
	t.Run("basic, as the server decodes it", func(t *testing.T) {
		srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
			user, pw, ok := r.BasicAuth()
			if !ok || user != "svc" || pw != m {
				w.WriteHeader(http.StatusUnauthorized)
			}
		})
		if resp := get(t, newTransport(t, nil, outbound.Basic("svc", fixed(v), "k")), srv.URL); resp.StatusCode != http.StatusOK {
			t.Errorf("status %d: the server did not decode the Basic credential", resp.StatusCode)
		}
	})
}

// Basic's base64 is written in three pieces (the user's whole groups, the
// group straddling user and password, the rest); every split must give
// exactly what encoding the joined string gives.
func TestBasicEncodesEverySplitOfUserAndPassword(t *testing.T) {
	for ul := 0; ul <= 5; ul++ {
		for pl := 1; pl <= 7; pl++ {
			user := strings.Repeat("u", ul)
			pw := strings.Repeat("\x00p\xff", 3)[:pl] // binary passwords are fine in Basic
			cap := &capture{}
			rt := newTransport(t, cap, outbound.Basic(user, fixed(cell(t, pw)), "k"))
			req, _ := http.NewRequest("GET", "http://example.test/", nil)
			if _, err := rt.RoundTrip(req); err != nil {
				t.Fatal(err)
			}
			want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
			if got := cap.header("Authorization"); got != want {
				t.Errorf("user %d bytes, password %d bytes: wrong encoding", ul, pl)
			}
		}
	}
}

func TestTheCallersRequestIsLeftAlone(t *testing.T) {
	srv, s := recorder(t)
	m := marker(t)
	rt := newTransport(t, nil, outbound.Bearer(fixed(cell(t, m)), "k"))
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Authorization", "Bearer caller-set")
	req.Header.Add("X-Trace", "a")
	req.Header.Add("X-Trace", "b")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := req.Header.Get("Authorization"); got != "Bearer caller-set" {
		t.Error("RoundTrip changed the caller's Authorization header")
	}
	if len(req.Header) != 2 {
		t.Errorf("the caller's header has %d keys, want 2", len(req.Header))
	}
	if resp.Request != req {
		t.Error("resp.Request is not the caller's request: code inspecting it would see the credential")
	}
	h := s.last(t)
	if got := h.Values("Authorization"); len(got) != 1 || got[0] != "Bearer "+m {
		t.Error("the credential did not replace the caller's Authorization header")
	}
	if got := h.Values("X-Trace"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("other headers did not pass through: %q", got)
	}
}

func TestARotatedCellIsSentByTheNextRequest(t *testing.T) {
	srv, s := recorder(t)
	m1, m2 := marker(t), marker(t)
	v1, err := secret.FromString(m1)
	if err != nil {
		t.Fatal(err)
	}
	src := newRotating(v1)
	cap := &capture{base: http.DefaultTransport}
	rt := newTransport(t, cap, outbound.Bearer(src, "upstream.token"))

	get(t, rt, srv.URL)
	old := cap.header("Authorization") // the string net/http was handed
	src.set(cell(t, m2))
	get(t, rt, srv.URL)
	if s.last(t).Get("Authorization") != "Bearer "+m2 {
		t.Fatal("the request after the rotation did not send the new secret")
	}
	if n := outbound.WireLive(rt); n != 2 {
		t.Errorf("%d formatted credentials held while the old cell lives, want 2 (the old one stays for requests in flight)", n)
	}
	if old != "Bearer "+m1 {
		t.Error("the old credential was changed while its cell was alive")
	}
	v1.Destroy() // the grace period is over
	get(t, rt, srv.URL)
	if n := outbound.WireLive(rt); n != 1 {
		t.Errorf("%d formatted credentials held after the old cell died, want 1", n)
	}
	if strings.Trim(old, "\x00") != "" {
		t.Error("the old credential was not wiped after its cell died")
	}
}

func TestACellThatCannotBeReadFailsTheRequest(t *testing.T) {
	m := marker(t)
	destroyed, _ := secret.FromString(m)
	destroyed.Destroy()
	expiring, _ := secret.FromString(m, secret.TTL(time.Millisecond))
	t.Cleanup(expiring.Destroy)
	time.Sleep(5 * time.Millisecond)
	for _, c := range []struct {
		name string
		v    secret.Value
		want error
	}{
		{"destroyed", destroyed, secret.ErrDestroyed},
		{"missing (the zero Value)", secret.Value{}, secret.ErrDestroyed},
		{"expired", expiring, secret.ErrExpired},
	} {
		t.Run(c.name, func(t *testing.T) {
			rt := newTransport(t, &capture{}, outbound.Bearer(fixed(c.v), "upstream.token"))
			body := &closeRecorder{Reader: strings.NewReader("payload")}
			req, _ := http.NewRequest("POST", "http://example.test/", body)
			_, err := rt.RoundTrip(req)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), "upstream.token") || strings.Contains(err.Error(), m) {
				t.Errorf("the error must name the key and never the secret: %v", err)
			}
			if !body.closed.Load() {
				t.Error("the request body was not closed on error")
			}
		})
	}
	t.Run("volatile: the first request consumes it", func(t *testing.T) {
		v := cell(t, m, secret.Volatile())
		rt := newTransport(t, &capture{}, outbound.Bearer(fixed(v), "k"))
		req, _ := http.NewRequest("GET", "http://example.test/", nil)
		if _, err := rt.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
		if _, err := rt.RoundTrip(req); !errors.Is(err, secret.ErrConsumed) {
			t.Errorf("second request: %v, want ErrConsumed", err)
		}
	})
}

func TestASecretAHeaderCannotCarryIsRefused(t *testing.T) {
	m := marker(t)
	for _, c := range []struct {
		name   string
		secret string
		cred   func(secret.Source) outbound.Credential
		ok     bool
	}{
		{"a trailing newline", m + "\n", func(s secret.Source) outbound.Credential { return outbound.Bearer(s, "k") }, false},
		{"a CR LF in the middle", m[:4] + "\r\nX-Evil: 1", func(s secret.Source) outbound.Credential { return outbound.APIKey("X-Key", s, "k") }, false},
		{"DEL", m + "\x7f", func(s secret.Source) outbound.Credential { return outbound.Bearer(s, "k") }, false},
		{"a tab (allowed)", m + "\tx", func(s secret.Source) outbound.Credential { return outbound.Bearer(s, "k") }, true},
		{"a newline in a Basic password (base64 carries it)", m + "\n", func(s secret.Source) outbound.Credential { return outbound.Basic("u", s, "k") }, true},
		{"empty", "", func(s secret.Source) outbound.Credential { return outbound.Bearer(s, "k") }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var v secret.Value
			if c.secret != "" {
				v = cell(t, c.secret)
			} else {
				var err error
				if v, err = secret.New(nil); err != nil {
					t.Fatal(err)
				}
			}
			rt := newTransport(t, &capture{}, c.cred(fixed(v)))
			req, _ := http.NewRequest("GET", "http://example.test/", nil)
			_, err := rt.RoundTrip(req)
			if c.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if c.secret == "" && errors.Is(err, secret.ErrDestroyed) {
				return // an empty cell reads as destroyed: refused either way
			}
			if !errors.Is(err, outbound.ErrCredential) {
				t.Fatalf("error %v, want ErrCredential", err)
			}
			if c.secret != "" && strings.Contains(err.Error(), m[:8]) {
				t.Errorf("the error quotes the secret: %v", err)
			}
		})
	}
}

func TestMistakesInTheCredentialAreReportedByNew(t *testing.T) {
	v := fixed(cell(t, "x"))
	for name, c := range map[string]outbound.Credential{
		"an API-key header with a space": outbound.APIKey("X Api Key", v, "k"),
		"a scheme with a space":          outbound.Scheme("My Scheme", v, "k"),
		"a Basic user with a colon":      outbound.Basic("a:b", v, "k"),
		"a Basic user with a newline":    outbound.Basic("a\nb", v, "k"),
		"no Secrets":                     outbound.Bearer(nil, "k"),
		"the zero Credential":            {},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := outbound.New(nil, c); !errors.Is(err, outbound.ErrCredential) {
				t.Errorf("New: %v, want ErrCredential", err)
			}
		})
	}
}

func TestCloseWipesTheCredentialAndRefusesRequests(t *testing.T) {
	m := marker(t)
	cap := &capture{}
	rt, err := outbound.New(cap, outbound.Bearer(fixed(cell(t, m)), "k"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://example.test/", nil)
	if _, err := rt.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	sent := cap.header("Authorization")
	_ = rt.Close()
	if strings.Trim(sent, "\x00") != "" {
		t.Error("Close left the formatted credential in memory")
	}
	if _, err := rt.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("a request after Close: %v, want a closed error", err)
	}
	_ = rt.Close() // idempotent
}

// Under load, with the cell rotated every few milliseconds and each old
// cell destroyed after a grace period, every request carries one whole
// credential: the current one or the one before.
func TestRotationUnderLoadNeverSendsAMixedOrWipedCredential(t *testing.T) {
	var valid sync.Map
	var bad atomic.Int64
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if _, ok := valid.Load(r.Header.Get("Authorization")); !ok {
			bad.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	newCell := func() secret.Value {
		m := marker(t)
		valid.Store("Bearer "+m, true)
		v, err := secret.FromString(m)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	src := newRotating(newCell())
	rt := newTransport(t, nil, outbound.Bearer(src, "k"))
	client := &http.Client{Transport: rt}

	// A replaced cell's grace period ends once every request that began
	// before the replacement has finished: the package documentation asks
	// for a grace period longer than any request may wait, and a fixed
	// 50 ms was not, on a loaded machine (a request held up 60 ms before
	// net/http wrote it found its header wiped, and net/http refused it).
	var (
		mu       sync.Mutex
		gen      int
		inFlight = map[int]int{} // requests by the generation they began in
	)
	begin := func() int {
		mu.Lock()
		defer mu.Unlock()
		inFlight[gen]++
		return gen
	}
	finish := func(g int) {
		mu.Lock()
		defer mu.Unlock()
		inFlight[g]--
	}
	finishedBy := func(g int) bool { // no request of generation g or before in flight
		mu.Lock()
		defer mu.Unlock()
		for k, n := range inFlight {
			if k <= g && n > 0 {
				return false
			}
		}
		return true
	}
	type retiring struct {
		v   secret.Value
		gen int
	}
	retire := make(chan retiring, 64)
	var waiting atomic.Int64
	retired := make(chan struct{})
	go func() {
		defer close(retired)
		for r := range retire {
			for !finishedBy(r.gen) {
				time.Sleep(time.Millisecond)
			}
			r.v.Destroy()
			waiting.Add(-1)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var sent atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300 && ctx.Err() == nil; i++ {
				g := begin()
				resp, err := client.Get(srv.URL)
				if err != nil {
					finish(g)
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				finish(g)
				sent.Add(1)
			}
		}()
	}
	rotations := 0
	for ctx.Err() == nil && sent.Load() < 2400 {
		// A Transport refuses a source that keeps 64 versions alive: no
		// more than 16 replaced cells wait out their grace at once.
		if waiting.Load() >= 16 {
			time.Sleep(time.Millisecond)
			continue
		}
		mu.Lock()
		old := *src.v.Load()
		src.set(newCell())
		g := gen
		gen++
		mu.Unlock()
		rotations++
		waiting.Add(1)
		retire <- retiring{old, g}
		time.Sleep(5 * time.Millisecond)
	}
	wg.Wait()
	close(retire)
	<-retired
	if n := bad.Load(); n > 0 {
		t.Errorf("%d of %d requests carried no valid credential across %d rotations", n, sent.Load(), rotations)
	}
	if rotations < 5 {
		t.Errorf("only %d rotations happened during the load", rotations)
	}
}

// capture is a RoundTripper that keeps the request it was given (its
// header strings are what net/http would have been handed) and answers
// 204, for tests that need no network.
type capture struct {
	mu   sync.Mutex
	req  *http.Request
	base http.RoundTripper
}

func (c *capture) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.req = req
	c.mu.Unlock()
	if c.base != nil {
		return c.base.RoundTrip(req)
	}
	if req.Body != nil {
		_ = req.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: req, Header: http.Header{}}, nil
}

func (c *capture) header(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.req == nil {
		return ""
	}
	if vv := c.req.Header[name]; len(vv) > 0 {
		return vv[0]
	}
	return ""
}

type closeRecorder struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeRecorder) Close() error { c.closed.Store(true); return nil }

func lengths(ss []string) []int {
	var n []int
	for _, s := range ss {
		n = append(n, len(s))
	}
	return n
}

// A secret.SourceFunc that makes a new cell at every call (from a
// variable it keeps as a string, say) sends the same secret each time: it
// must cost neither a formatted copy nor a locked page per request.
func TestASourceThatMakesANewCellPerCallCostsNothingPerRequest(t *testing.T) {
	m := marker(t)
	src := secret.SourceFunc(func(string) secret.Value {
		v, err := secret.FromString(m)
		if err != nil {
			t.Error(err)
		}
		return v // never destroyed: left to its cleanup
	})
	cap := &capture{}
	rt := newTransport(t, cap, outbound.Bearer(src, "k"))
	for range 300 {
		req, _ := http.NewRequest("GET", "http://example.test/", nil)
		if _, err := rt.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
		if cap.header("Authorization") != "Bearer "+m {
			t.Fatal("the wrong credential was sent")
		}
	}
	if n := outbound.WireLive(rt); n != 1 {
		t.Errorf("%d formatted credentials held after 300 requests, want 1", n)
	}
}

// Requests, rotations and Close at once, under -race: every request either
// goes out with a whole credential (unless it was still in flight when
// Close began) or fails with the closed error, and nothing is left
// formatted after Close.
func TestCloseDuringRequestsAndRotations(t *testing.T) {
	var valid sync.Map
	newCell := func() secret.Value {
		m := marker(t)
		valid.Store("Bearer "+m, true)
		return cell(t, m)
	}
	src := newRotating(newCell())
	var bad atomic.Int64
	var closing atomic.Bool
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		h := strings.Clone(r.Header.Get("Authorization"))
		// Read before Close began, the value must be whole; a request
		// still in flight during Close may see it wiped, as documented.
		if _, ok := valid.Load(h); !ok && !closing.Load() {
			bad.Add(1)
		}
		return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
	})
	rt, err := outbound.New(base, outbound.Bearer(src, "k"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var closedErrs, sent atomic.Int64
	var unexpected atomic.Value
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", "http://example.test/", nil)
				_, err := rt.RoundTrip(req)
				switch {
				case err == nil:
					sent.Add(1)
				case strings.Contains(err.Error(), "closed"):
					closedErrs.Add(1)
				default:
					unexpected.Store(err.Error())
					sent.Add(1) // keep the rotations below moving
				}
			}
		}()
	}
	for range 50 { // fewer than the 64 versions a Transport keeps alive at once
		src.set(newCell()) // old cells live until the test ends: no grace period runs out
		for n := sent.Load(); sent.Load() < n+4; {
			runtime.Gosched()
		}
	}
	closing.Store(true)
	_ = rt.Close()
	for closedErrs.Load() == 0 {
		runtime.Gosched()
	}
	close(stop)
	wg.Wait()
	if e := unexpected.Load(); e != nil {
		t.Errorf("a request failed: %s", e)
	}
	if bad.Load() != 0 {
		t.Errorf("%d of %d requests sent before Close carried no whole credential", bad.Load(), sent.Load())
	}
	if n := outbound.WireLive(rt); n != 0 {
		t.Errorf("%d formatted credentials left after Close", n)
	}
}

// A header map filled by hand can hold the credential's header under a
// key net/http did not canonicalise ("authorization"); net/http sends
// every key. The server must still see one value, the credential.
func TestACallersHeaderUnderAnotherCaseIsReplacedToo(t *testing.T) {
	srv, s := recorder(t)
	m := marker(t)
	for _, c := range []struct {
		name   string
		cred   outbound.Credential
		header string
	}{
		{"authorization", outbound.Bearer(fixed(cell(t, m)), "k"), "Authorization"},
		{"x-api-key", outbound.APIKey("X-Api-Key", fixed(cell(t, m)), "k"), "X-Api-Key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL, nil)
			req.Header[c.name] = []string{"caller-set"}
			resp, err := newTransport(t, nil, c.cred).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			got := s.last(t).Values(c.header)
			if len(got) != 1 || !strings.HasSuffix(got[0], m) {
				t.Errorf("the server saw %d values of %s (lengths %v), want the credential alone", len(got), c.header, lengths(got))
			}
			if req.Header[c.name][0] != "caller-set" {
				t.Error("the caller's header changed")
			}
		})
	}
}
