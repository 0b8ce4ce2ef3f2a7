package middleware_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/secret"
)

// seen is what a handler behind Listener and Tokens found.
type seen struct {
	token, apiKey, cookie, basicUser, basicPass, proxyTok string
	// rawLeak: the headers net/http parsed held a credential (Listener
	// did not take it); headerLeak and dumpLeak: after Tokens.
	rawLeak, headerLeak, dumpLeak bool
	body                          string
}

type rawLeakKey struct{}

// reveal reads a volatile cell for the test's comparison (the test's own
// copy, of a marker).
func reveal(v secret.Value, ok bool) string {
	if !ok {
		return ""
	}
	b, err := v.Reveal()
	if err != nil {
		return "!" + err.Error()
	}
	return string(b)
}

// listenerServer serves a handler behind Listener and Tokens on a real
// loopback socket and reports each request's findings on the channel.
func listenerServer(t *testing.T, secrets func() []string, wrap func(net.Listener) net.Listener) (string, <-chan seen) {
	t.Helper()
	opts := []middleware.Option{middleware.WithAPIKeys("X-Api-Key"), middleware.WithCookies("session")}
	found := make(chan seen, 64)
	h := middleware.Tokens(opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var s seen
		s.token = reveal(middleware.Token(ctx))
		s.apiKey = reveal(middleware.APIKey(ctx, "X-Api-Key"))
		s.cookie = reveal(middleware.Cookie(ctx, "session"))
		if u, pw, ok := middleware.BasicAuth(ctx); ok {
			s.basicUser, s.basicPass = u, reveal(pw, true)
		}
		s.proxyTok = reveal(middleware.ProxyToken(ctx))
		body, _ := io.ReadAll(r.Body)
		s.body = string(body)
		dump, _ := httputil.DumpRequest(r, false)
		for _, m := range secrets() {
			if strings.Contains(fmt.Sprint(r.Header), m) {
				s.headerLeak = true
			}
			if bytes.Contains(dump, []byte(m)) {
				s.dumpLeak = true
			}
		}
		s.rawLeak, _ = ctx.Value(rawLeakKey{}).(bool)
		found <- s
		_, _ = io.WriteString(w, "ok")
	}))
	tokens := h
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leak := false
		for _, m := range secrets() {
			leak = leak || strings.Contains(fmt.Sprint(r.Header), m)
		}
		tokens.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), rawLeakKey{}, leak)))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.Serve(middleware.Listener(ln, opts...)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), found
}

func TestListenerTakesCredentialsOnAKeepAliveConnection(t *testing.T) {
	tok, key, sess, user, pass, ptok := marker(t), marker(t), marker(t), "alice", marker(t), marker(t)
	secrets := []string{tok, key, sess, pass, ptok}
	addr, found := listenerServer(t, func() []string { return secrets }, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	// Pipelined, in one write, then split across writes byte by byte.
	reqs := "GET /1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\n\r\n" +
		"POST /2 HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + key + "\r\nContent-Length: 4\r\n\r\nbody" +
		"POST /3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nCookie: a=1; session=" + sess + "\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
		"GET /4 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + basic + "\r\nProxy-Authorization: Bearer " + ptok + "\r\n\r\n"
	go func() {
		_, _ = io.WriteString(c, reqs)
		for i := 0; i < len(reqs); i++ {
			_, _ = c.Write([]byte{reqs[i]})
		}
	}()
	br := bufio.NewReader(c)
	var got []seen
	for i := range 8 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		got = append(got, <-found)
	}
	for round := range 2 {
		g := got[4*round:]
		if g[0].token != tok || g[1].apiKey != key || g[1].body != "body" || g[2].cookie != sess || g[2].body != "abc" ||
			g[3].basicUser != user || g[3].basicPass != pass || g[3].proxyTok != ptok {
			t.Errorf("round %d: the handler did not get every credential through the placeholders", round)
		}
		for i, s := range g[:4] {
			if s.rawLeak || s.headerLeak || s.dumpLeak {
				t.Errorf("round %d request %d: r.Header or DumpRequest shows a credential", round, i)
			}
		}
	}
}

func TestListenerWithExpectContinue(t *testing.T) {
	tok := marker(t)
	addr, found := listenerServer(t, func() []string { return []string{tok} }, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "PUT /x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+tok+"\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, "100") {
		t.Fatalf("no 100 Continue before the body: %q, %v", line, err)
	}
	_, _ = br.ReadString('\n')
	_, _ = io.WriteString(c, "hello")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("response %v, %v", resp, err)
	}
	if s := <-found; s.token != tok || s.body != "hello" || s.headerLeak {
		t.Error("the credential or the body did not arrive as sent")
	}
}

func TestListenerBehindTLS(t *testing.T) {
	tok := marker(t)
	cert := httptest.NewTLSServer(http.NotFoundHandler())
	cfg := cert.TLS.Clone()
	cert.Close()
	cfg.NextProtos = []string{"http/1.1"}
	addr, found := listenerServer(t, func() []string { return []string{tok} }, func(ln net.Listener) net.Listener {
		return tls.NewListener(ln, cfg)
	})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := <-found; s.token != tok || s.headerLeak {
		t.Error("over TLS the credential did not arrive through its placeholder")
	}
}

// TestPlaceholdersCannotBeForged: a client that sends a placeholder gets
// it taken like any credential, and a server without Listener resolves a
// placeholder to nothing.
func TestPlaceholdersCannotBeForged(t *testing.T) {
	tok := marker(t)
	addr, found := listenerServer(t, func() []string { return []string{tok} }, nil)
	victim, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	// The victim's handler claims its own cell; a forger guessing
	// placeholders on other connections gets nothing.
	_, _ = io.WriteString(victim, "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+tok+"\r\n\r\n")
	<-found
	for _, forged := range []string{"secretmem-taken.000000000000000000000000.1.0", "Bearer secretmem-taken.x.1.0"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: "+forged+"\r\n\r\n")
		if s := <-found; s.token == tok {
			t.Error("a forged placeholder reached another connection's credential")
		}
		c.Close()
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "secretmem-taken.000000000000000000000000.1.0")
	middleware.Tokens()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := middleware.Token(r.Context()); ok {
			t.Error("a placeholder without a Listener resolved to a token")
		}
	})).ServeHTTP(httptest.NewRecorder(), req)
}

// TestUnclaimedCredentialsDieWithTheConnection: with no Tokens in front,
// handlers see placeholders, and the cells go when the connection closes.
func TestUnclaimedCredentialsDieWithTheConnection(t *testing.T) {
	tok := marker(t)
	var mu sync.Mutex
	var header string
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		header = r.Header.Get("Authorization")
		mu.Unlock()
	})}
	go func() { _ = srv.Serve(middleware.Listener(ln)) }()
	defer srv.Close()
	before := secret.Stats().Live
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+tok+"\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	mu.Lock()
	if strings.Contains(header, tok) || !strings.HasPrefix(header, "secretmem-taken.") {
		t.Errorf("the handler saw %q, want a placeholder", header)
	}
	mu.Unlock()
	if live := secret.Stats().Live; live <= before {
		t.Fatalf("no cell held the unclaimed credentials (%d live, %d before)", live, before)
	}
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for secret.Stats().Live > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the server notices the close asynchronously
	}
	if live := secret.Stats().Live; live > before {
		t.Errorf("%d cells outlived the connection", live-before)
	}
}

func TestListenerFallsBackWithoutHanging(t *testing.T) {
	tok := marker(t)
	addr, found := listenerServer(t, func() []string { return []string{tok} }, nil)
	for _, c := range []struct{ name, req string }{
		{"a header line over 16 KiB", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 20<<10) + "\r\nAuthorization: Bearer " + tok + "\r\n\r\n"},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\nAuthorization: Bearer " + tok + "\r\n\r\n"},
		{"HTTP/2's preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
		{"garbage", "\x00\x01\x02\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			_, _ = io.WriteString(conn, c.req)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				if strings.Contains(err.Error(), "timeout") {
					t.Fatal("the server hung")
				}
				return // net/http closed the connection: fine
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(c.req, tok) {
				// Passed through: net/http parsed the credential itself,
				// and Tokens still took it. A long header line is
				// streamed instead, and the credential after it taken.
				streamed := strings.HasPrefix(c.name, "a header line over")
				if s := <-found; s.token != tok || s.rawLeak == streamed {
					t.Errorf("a request passed through: token found %v, seen by net/http %v", s.token == tok, s.rawLeak)
				}
			}
		})
	}
}

// TestTokensOverHTTP2 is where Listener stops: HTTP/2 requests reach
// Tokens as net/http parsed them, and Tokens still takes the token.
func TestTokensOverHTTP2(t *testing.T) {
	tok := marker(t)
	var got string
	var proto int
	srv, client := serveHTTP2(t, middleware.Tokens()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, proto = reveal(middleware.Token(r.Context())), r.ProtoMajor
	})))
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if proto != 2 || got != tok {
		t.Fatalf("HTTP/%d, token found %v", proto, got == tok)
	}
}

// TestNoMiddlewareWritesIntoHeaderStrings pins the WithScrub finding: an
// earlier middleware that kept the Authorization header (here as a map
// key) must find it as it was, whatever Tokens and Listener do.
func TestNoMiddlewareWritesIntoHeaderStrings(t *testing.T) {
	tok := marker(t)
	for _, listener := range []bool{false, true} {
		seenBy := map[string]int{}
		var kept string
		keep := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				kept = r.Header.Get("Authorization") // the same bytes, not a copy
				seenBy[kept]++
				next.ServeHTTP(w, r)
			})
		}
		h := keep(middleware.Tokens(middleware.WithAPIKeys("X-Api-Key"), middleware.WithCookies("session"))(
			http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: h}
		var l net.Listener = ln
		if listener {
			l = middleware.Listener(ln)
		}
		go func() { _ = srv.Serve(l) }()
		req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_ = srv.Close()
		want := "Bearer " + tok
		if listener {
			want = kept // a placeholder, which must stay as it was too
		}
		if strings.Trim(kept, "\x00") == "" || kept != want || seenBy[want] != 1 {
			t.Errorf("listener %v: the string an earlier middleware kept was changed", listener)
		}
	}
}

// TestListenerTakesFromLongLines: a line longer than the first read
// buffer (a big Cookie header, a long token) moves to the larger one and
// is still taken.
func TestListenerTakesFromLongLines(t *testing.T) {
	sess, tok := marker(t), strings.Repeat("t", 6000)+marker(t)
	addr, found := listenerServer(t, func() []string { return []string{sess, tok} }, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	filler := strings.Repeat("x=1; ", 1500) // 7.5 KiB of other cookies
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nCookie: "+filler+"session="+sess+"\r\nAuthorization: Bearer "+tok+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := <-found; s.cookie != sess || s.token != tok || s.rawLeak || s.headerLeak || s.dumpLeak {
		t.Errorf("a credential on a long line was not taken (net/http saw it: %v)", s.rawLeak)
	}
}
