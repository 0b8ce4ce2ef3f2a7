package middleware_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/secretmem/secretmem/middleware"
)

// An attacker's review of the middleware (issue 14): requests shaped to
// get a credential past Tokens, Listener and Logger, sent on real
// sockets to real servers.

// rawExchange writes reqs on one connection to addr and reads n
// responses. It returns their statuses and, when it read fewer than n,
// what ended the reading (and the writing, if that failed too), with
// how long after the dial.
func rawExchange(t *testing.T, addr, reqs string, n int) ([]int, error) {
	t.Helper()
	began := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	// Generous for a loaded machine under Wine; a slow exchange does not
	// pass by it unseen: the error says how long it took.
	_ = c.SetDeadline(began.Add(20 * time.Second))
	wrote := make(chan error, 1)
	go func() {
		_, err := io.WriteString(c, reqs)
		wrote <- err
	}()
	br := bufio.NewReader(c)
	var codes []int
	for range n {
		resp, err := http.ReadResponse(br, nil)
		for err == nil && resp.StatusCode == http.StatusContinue {
			resp, err = http.ReadResponse(br, nil)
		}
		if err != nil {
			ended := time.Since(began)
			c.Close()
			if werr := <-wrote; werr != nil {
				err = fmt.Errorf("%w (writing the requests: %v)", err, werr)
			}
			return codes, fmt.Errorf("reading response %d of %d, %v after the dial: %w", len(codes)+1, n, ended.Round(time.Millisecond), err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	c.Close()
	return codes, nil
}

func TestListenerAttacks(t *testing.T) {
	tok, key, sess, pass := marker(t), marker(t), marker(t), marker(t)
	secrets := []string{tok, key, sess, pass}
	basic := base64.StdEncoding.EncodeToString([]byte("bob:" + pass))
	const fakeAuth, fakeKey = "Authorization: Bearer abcdefghijklmnopqrstuvwxyz\r\n", "X-Api-Key: 0123456789abcdef\r\n"
	for _, c := range []struct {
		name, reqs string
		n          int
		// body is what the handler must read of the last request, exactly.
		body string
	}{
		{"names in odd case, no space and tabs after the colon",
			"GET / HTTP/1.1\r\nHost: x\r\nauthorization:bearer " + tok + "\r\nX-API-KEY:\t" + key + " \r\ncookie: a=1;session=" + sess + "\r\n\r\n", 1, ""},
		{"a bare LF after every line",
			"GET / HTTP/1.1\nHost: x\nAUTHORIZATION: Basic " + basic + "\n\n", 1, ""},
		{"a body that looks like credential headers is left as it is",
			"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(fakeAuth)) + "\r\n\r\n" + fakeAuth +
				"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\nContent-Length: " + strconv.Itoa(len(fakeKey)) + "\r\n\r\n" + fakeKey, 2,
			fakeKey},
		{"a chunked body with credential-looking chunks and trailers",
			"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nAuthorization: Bearer " + tok + "\r\n\r\n" +
				"1b\r\nCookie: session=notthetoken\r\n0\r\nX-Trailer: 1\r\n\r\n", 1, "Cookie: session=notthetoken"},
		{"HTTP/1.0 with Transfer-Encoding, which net/http ignores",
			"POST / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n" +
				"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\nContent-Length: 4\r\n\r\nbody", 2, "body"},
		{"duplicate Authorization headers in different case",
			"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\nauthorization: Bearer " + key + "\r\n\r\n", 1, ""},
		{"Expect: 100-continue pipelined behind a credential",
			"GET / HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + key + "\r\n\r\n" +
				"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nCookie: session=" + sess + "\r\nContent-Length: 4\r\n\r\nbody", 2, "body"},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, found := listenerServer(t, func() []string { return secrets }, nil)
			codes, err := rawExchange(t, addr, c.reqs, c.n)
			if err != nil {
				t.Fatalf("statuses %v, then %v", codes, err)
			}
			var got []seen
			for _, code := range codes {
				if code != http.StatusOK {
					t.Fatalf("status %d", code)
				}
				select {
				case s := <-found:
					got = append(got, s)
				case <-time.After(5 * time.Second):
					t.Fatal("the handler reported nothing")
				}
			}
			if len(got) == 0 {
				t.Fatal("no request reached the handler")
			}
			for i, s := range got {
				if s.headerLeak || s.dumpLeak {
					t.Errorf("request %d: r.Header or DumpRequest shows a credential", i)
				}
				for _, m := range secrets {
					if strings.Contains(s.body, m) {
						t.Errorf("request %d: a credential reached the body", i)
					}
				}
			}
			if last := got[len(got)-1]; c.body != "" && last.body != c.body {
				t.Errorf("the last body is %q, want %q: the stream was rewritten out of step with net/http", last.body, c.body)
			}
		})
	}
}

func TestLoggerAttacks(t *testing.T) {
	tok := marker(t)
	for _, c := range []struct {
		name   string
		target string
		header http.Header
	}{
		{"a token after a semicolon separator", "/x?page=1;access_token=" + tok, nil},
		{"a token after an encoded ampersand in the name", "/x?page=1&%61ccess_token=" + tok, nil},
		{"a token in a parameter named in upper case", "/x?API_KEY=" + tok, nil},
		{"a long bare token", "/x?" + tok, nil},
		{"a token in the Referer's query", "/x", http.Header{"Referer": {"https://app.example/cb?code=" + tok + "&state=1"}}},
		{"a token in X-Original-Url", "/x", http.Header{"X-Original-Url": {"/cb?access_token=" + tok}}},
		{"a bearer token in an unnamed header", "/x", http.Header{"X-Forwarded-Authorization": {"Bearer " + tok}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			done := make(chan struct{}, 1)
			r := chi.NewRouter()
			r.Use(finished(done))
			r.Use(middleware.Logger(slog.New(slog.NewJSONHandler(&out, nil)),
				middleware.WithHeaders("Referer", "X-Original-Url", "X-Forwarded-Authorization")))
			r.Use(middleware.Tokens())
			r.Get("/x", func(w http.ResponseWriter, r *http.Request) {})
			srv := serve(t, r)
			if code, _ := get(t, srv.URL+c.target, c.header); code == 0 {
				t.Fatal("the request failed")
			}
			<-done
			if strings.Contains(out.String(), tok) {
				t.Fatal("the request log holds the token")
			}
			if !strings.Contains(out.String(), "http request") {
				t.Fatal("nothing was logged, so the case tests nothing")
			}
		})
	}
}

// TestALongHeaderLineDoesNotDisarmTheConnection: a reverse proxy sends
// many clients' requests down one pooled connection, and forwards header
// lines and URLs far longer than 16 KiB (Envoy takes 60 KiB). One
// client's long line must not turn the Listener off for the requests of
// everyone who comes after it on that connection, nor cost a read of
// the connection per byte: the rest of a line past 16 KiB was read a
// byte at a time, 24,594 reads for 40 KiB, which took longer than 5 s
// under Wine on a loaded host.
func TestALongHeaderLineDoesNotDisarmTheConnection(t *testing.T) {
	tok := marker(t)
	var reads atomic.Int64
	addr, found := listenerServer(t, func() []string { return []string{tok} }, func(ln net.Listener) net.Listener {
		return countingListener{ln, &reads}
	})
	for _, first := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 40<<10) + "\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 40<<10-1) + "\r\n\r\n",
		"GET /?q=" + strings.Repeat("a", 40<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		reqs := first + "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\n\r\n"
		reads.Store(0)
		codes, err := rawExchange(t, addr, reqs, 2)
		if err != nil || codes[0] != http.StatusOK || codes[1] != http.StatusOK {
			t.Fatalf("statuses %v, want two 200s (%v)", codes, err)
		}
		// A read a KiB would do; one a byte is the fault.
		if n := reads.Load(); n > int64(len(reqs)>>10) {
			t.Errorf("%d reads of the connection for %d bytes", n, len(reqs))
		}
		<-found
		if s := <-found; s.token != tok || s.rawLeak {
			t.Fatalf("after a long line: token delivered %v, seen by net/http %v", s.token == tok, s.rawLeak)
		}
	}
}

// countingListener counts the reads of the connections it accepts.
type countingListener struct {
	net.Listener
	reads *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.reads}, nil
}

type countingConn struct {
	net.Conn
	reads *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(p)
}

// TestConnectionUpgradeAloneDoesNotDisarm: "Connection: upgrade" without
// an Upgrade header switches no protocol (nginx's common WebSocket
// snippet sends it on every request it proxies), so the requests after
// it are still HTTP/1.1 and their credentials are still taken.
func TestConnectionUpgradeAloneDoesNotDisarm(t *testing.T) {
	tok := marker(t)
	addr, found := listenerServer(t, func() []string { return []string{tok} }, nil)
	reqs := "GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n\r\n" +
		"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\n\r\n"
	codes, err := rawExchange(t, addr, reqs, 2)
	if err != nil {
		t.Fatalf("statuses %v, want two: %v", codes, err)
	}
	<-found
	if s := <-found; s.token != tok || s.rawLeak {
		t.Fatalf("after Connection: upgrade: token delivered %v, seen by net/http %v", s.token == tok, s.rawLeak)
	}
}
