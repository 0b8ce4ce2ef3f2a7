package middleware

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// fakeTaker records what the rewriter takes and stands a numbered
// placeholder in its place.
type fakeTaker struct{ taken []string }

func (f *fakeTaker) take(v []byte) []byte {
	f.taken = append(f.taken, string(v))
	return []byte("PH" + strconv.Itoa(len(f.taken)-1))
}

// rewriteIn runs stream through a rewriter in pieces of the given sizes
// (cycled), the way reads hand it over: each call sees what is left over
// plus the next piece.
func rewriteIn(stream []byte, sizes []int, names *credentialNames) (out []byte, taken []string) {
	out, taken, _ = rewriteHeld(stream, sizes, names)
	return out, taken
}

// rewriteHeld is rewriteIn that also says how many bytes at the end were
// left waiting for the rest of their line.
func rewriteHeld(stream []byte, sizes []int, names *credentialNames) (out []byte, taken []string, held int) {
	w := rewriter{names: names}
	var f fakeTaker
	var pending []byte
	for i, k := 0, 0; i < len(stream); k++ {
		n := min(sizes[k%len(sizes)], len(stream)-i)
		pending = append(pending, stream[i:i+n]...)
		i += n
		var used int
		out, used = w.rewrite(out, pending, f.take)
		pending = pending[used:]
	}
	return out, f.taken, len(pending)
}

var testNames = &credentialNames{
	headers: []string{"Authorization", "Proxy-Authorization", "X-Api-Key"},
	cookies: []string{"session"},
}

// stream is a keep-alive connection's worth of requests: every framing
// the rewriter follows, and bodies that look like credential headers.
const stream = "GET /a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer TOKEN-ONE\r\n\r\n" +
	"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 41\r\nX-Api-Key: KEY-TWO\r\n\r\n" +
	"Authorization: Bearer NOT-A-HEADER-1234\r\n" +
	"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nauthorization:Basic dXNlcjpQQVNTLVRIUkVF\r\n\r\n" +
	"1a;ext=1\r\nAuthorization: Bearer BODY\r\n0\r\nX-Trailer: t\r\n\r\n" +
	"PUT /d HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\nCookie: a=1; session=COOKIE-FOUR; b=2\r\n\r\nhello" +
	"GET /e HTTP/1.0\nHost: x\nProxy-Authorization: Basic UFJPWFktRklWRQ==\n\n"

var streamSecrets = []string{"TOKEN-ONE", "KEY-TWO", "dXNlcjpQQVNTLVRIUkVF", "COOKIE-FOUR", "UFJPWFktRklWRQ=="}

func TestRewriterTakesCredentialsHoweverTheStreamIsSplit(t *testing.T) {
	want, wantTaken := rewriteIn([]byte(stream), []int{len(stream)}, testNames)
	if len(wantTaken) != len(streamSecrets) {
		t.Fatalf("took %d values, want %d", len(wantTaken), len(streamSecrets))
	}
	for i, s := range streamSecrets {
		if !strings.HasSuffix(wantTaken[i], s) || bytes.Contains(want, []byte(s)) {
			t.Errorf("credential %d: taken %q; still in the stream: %v", i, wantTaken[i], bytes.Contains(want, []byte(s)))
		}
	}
	for _, body := range []string{"NOT-A-HEADER-1234", "Authorization: Bearer BODY", "hello"} {
		if !bytes.Contains(want, []byte(body)) {
			t.Errorf("the body %q was changed", body)
		}
	}
	r := rand.New(rand.NewPCG(1, 1))
	splits := [][]int{{1}, {2}, {3}, {7}, {64}}
	for range 200 {
		sizes := make([]int, 1+r.IntN(8))
		for i := range sizes {
			sizes[i] = 1 + r.IntN(40)
		}
		splits = append(splits, sizes)
	}
	for _, sizes := range splits {
		got, taken := rewriteIn([]byte(stream), sizes, testNames)
		if !bytes.Equal(got, want) || strings.Join(taken, "|") != strings.Join(wantTaken, "|") {
			t.Fatalf("split %v: the output differs from one read of the whole stream", sizes)
		}
	}
	// net/http reads the rewritten stream as the same requests, with
	// placeholders for the credentials and every body intact.
	br := bufio.NewReader(bytes.NewReader(want))
	for i, path := range []string{"/a", "/b", "/c", "/d", "/e"} {
		req, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if req.URL.Path != path {
			t.Fatalf("request %d is %s, want %s", i, req.URL.Path, path)
		}
		body, _ := io.ReadAll(req.Body)
		switch path {
		case "/a":
			if req.Header.Get("Authorization") != "PH0" {
				t.Errorf("/a Authorization = %q", req.Header.Get("Authorization"))
			}
		case "/b":
			if req.Header.Get("X-Api-Key") != "PH1" || len(body) != 41 {
				t.Errorf("/b: key %q, body %d bytes", req.Header.Get("X-Api-Key"), len(body))
			}
		case "/c":
			if string(body) != "Authorization: Bearer BODY" || req.Trailer.Get("X-Trailer") != "t" {
				t.Errorf("/c: body %q, trailer %q", body, req.Trailer.Get("X-Trailer"))
			}
		case "/d":
			if c, _ := req.Cookie("session"); c == nil || c.Value != "PH3" || req.Header.Get("Cookie") != "a=1; session=PH3; b=2" {
				t.Errorf("/d: Cookie %q", req.Header.Get("Cookie"))
			}
		case "/e":
			if req.Header.Get("Proxy-Authorization") != "PH4" {
				t.Errorf("/e Proxy-Authorization = %q", req.Header.Get("Proxy-Authorization"))
			}
		}
	}
}

// TestRewriterPassesThroughWhatItCannotFrame: from the first line it is
// not sure of, the rest of the connection passes unchanged (and the
// rewriter never waits for more than a line).
func TestRewriterPassesThroughWhatItCannotFrame(t *testing.T) {
	next := "GET /next HTTP/1.1\r\nAuthorization: Bearer LATER\r\n\r\n"
	for _, c := range []struct{ name, in string }{
		{"obs-fold", "GET / HTTP/1.1\r\nX-A: 1\r\n continued\r\n\r\n"},
		{"Content-Length with Transfer-Encoding", "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"two different Content-Lengths", "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"},
		{"a Transfer-Encoding other than chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"},
		{"HTTP/2's preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
		{"CONNECT", "CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"an Upgrade", "GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n"},
		{"a space before the colon", "GET / HTTP/1.1\r\nAuthorization : Bearer X\r\n\r\n"},
		{"a bare CR", "GET / HTTP/1.1\r\nX-A: 1\r2\r\n\r\n"},
		{"a bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.in + next
			out, _ := rewriteIn([]byte(in), []int{5}, testNames)
			if !bytes.HasSuffix(out, []byte(next)) {
				t.Errorf("the rest of the connection was rewritten: %q", out)
			}
		})
	}
	for _, long := range []string{
		"CONNECT " + strings.Repeat("a", maxLine+10) + ":443 HTTP/1.1\r\n\r\n",
		"GET /" + strings.Repeat("a", maxLine+10) + " HTTP/2.0\r\n\r\n",
		"GET / HTTP/1.1\r\nAuthorization: Bearer " + strings.Repeat("a", maxLine+10) + "\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: " + strings.Repeat("0", maxLine+10) + "\r\n\r\n",
		"GET / HTTP/1.1\r\nX-Big: " + strings.Repeat("a", maxLine+10) + "\r2\r\n\r\n",
	} {
		t.Run("a line over 16 KiB it cannot stream", func(t *testing.T) {
			in := long + next
			out, _ := rewriteIn([]byte(in), []int{4096}, testNames)
			if !bytes.Equal(out, []byte(in)) {
				t.Error("a connection with an over-long line was changed")
			}
		})
	}
}

// TestRewriterStreamsALongHeaderLine: a long header line of one client
// (forwarded by a proxy that shares the connection) is streamed as it
// is, and the credentials of the requests after it are still taken,
// whether or not a read ends between its CR and LF.
func TestRewriterStreamsALongHeaderLine(t *testing.T) {
	next := "GET /next HTTP/1.1\r\nAuthorization: Bearer LATER\r\n\r\n"
	for _, long := range []string{
		"GET / HTTP/1.1\r\nX-Big: " + strings.Repeat("a", maxLine+10) + "\r\nHost: x\r\n\r\n",
		"GET /?q=" + strings.Repeat("a", maxLine+10) + " HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /?q=" + strings.Repeat("a", maxLine+10) + " HTTP/1.0\nContent-Length: 5\n\nbody\n",
	} {
		for _, size := range []int{1, 7, 4096, maxLine + 33} {
			out, taken := rewriteIn([]byte(long+next), []int{size}, testNames)
			if !bytes.HasPrefix(out, []byte(long)) {
				t.Errorf("reads of %d: the long line's request was changed", size)
			}
			if len(taken) != 1 || taken[0] != "Bearer LATER" || bytes.Contains(out, []byte("LATER")) {
				t.Errorf("reads of %d: the credential after the long line was not taken (%q)", size, taken)
			}
		}
	}
}

// FuzzRewriter feeds arbitrary streams to the rewriter in pieces. The
// properties: no panic; the same output however the stream is split;
// nothing taken means nothing changed; and every value taken is gone from
// the output.
func FuzzRewriter(f *testing.F) {
	f.Add([]byte(stream), uint8(1))
	f.Add([]byte("GET / HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n"), uint8(3))
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nAuthorization: x\r\n0\r\n\r\n"), uint8(7))
	f.Add([]byte("GET / HTTP/1.1\r\nCookie: session=a; session=b\r\nX-Api-Key:k\n\n"), uint8(2))
	f.Add([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), uint8(5))
	// Lines over maxLine, streamed, with a credential after them.
	next := "GET / HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n"
	big := strings.Repeat("a", maxLine+1)
	f.Add([]byte("GET / HTTP/1.1\r\nX-Big: "+big+"\r\n\r\n"+next), uint8(0))
	f.Add([]byte("GET /"+big+" HTTP/1.0\n\n"+next), uint8(4))
	f.Add([]byte("GET /"+big+" HTTP/1.1\r\r\n\r\n"+next), uint8(9))
	f.Add([]byte("GET / HTTP/1.1\r\nX-Big: "+big+"\r\x00\r\n\r\n"+next), uint8(16))
	f.Fuzz(func(t *testing.T, in []byte, split uint8) {
		whole, taken, held := rewriteHeld(in, []int{len(in) + 1}, testNames)
		parts, _ := rewriteIn(in, []int{1 + int(split)%17, 3}, testNames)
		if !bytes.Equal(whole, parts) {
			t.Fatal("the output depends on how the stream was split")
		}
		if len(taken) == 0 && !bytes.Equal(whole, in[:len(in)-held]) {
			t.Fatal("nothing was taken, yet the stream changed")
		}
		for _, v := range taken {
			if len(v) >= 12 && bytes.Contains(whole, []byte(v)) && !bytes.Contains(in[bytes.Index(in, []byte(v))+1:], []byte(v)) {
				t.Fatal("a taken value is still in the output")
			}
		}
	})
}
