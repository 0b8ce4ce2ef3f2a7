package middleware_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/secretmem/secretmem/middleware"
)

// benchRequest is a keep-alive request carrying a bearer token.
var benchRequest = []byte("GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bench-token-0123456789abcdef\r\nAccept: */*\r\n\r\n")

// benchServer serves Tokens and readToken on a loopback socket, through
// Listener or not, and returns its address.
func benchServer(b *testing.B, withListener bool) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var l net.Listener = ln
	if withListener {
		l = middleware.Listener(ln)
	}
	srv := &http.Server{Handler: middleware.Tokens()(http.HandlerFunc(readToken))}
	go func() { _ = srv.Serve(l) }()
	b.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// roundTrip sends req on c and reads the response.
func roundTrip(c net.Conn, br *bufio.Reader, req []byte) error {
	if _, err := c.Write(req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

var listenerModes = []struct {
	name string
	with bool
}{{"without", false}, {"with", true}}

// BenchmarkListener serves keep-alive requests carrying a bearer token on
// a loopback socket, through Tokens, with and without Listener: the cost
// Listener adds per request.
func BenchmarkListener(b *testing.B) {
	for _, m := range listenerModes {
		b.Run(m.name, func(b *testing.B) {
			c, err := net.Dial("tcp", benchServer(b, m.with))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			b.ReportAllocs()
			for b.Loop() {
				if err := roundTrip(c, br, benchRequest); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkListenerLongLine is BenchmarkListener for a request with a
// 40 KiB header line before its token, as a proxy forwards a big header
// (Envoy takes 60 KiB): Listener streams the line through and takes the
// token after it.
func BenchmarkListenerLongLine(b *testing.B) {
	req := []byte("GET /me HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 40<<10) +
		"\r\nAuthorization: Bearer bench-token-0123456789abcdef\r\n\r\n")
	for _, m := range listenerModes {
		b.Run(m.name, func(b *testing.B) {
			c, err := net.Dial("tcp", benchServer(b, m.with))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			b.SetBytes(int64(len(req)))
			b.ReportAllocs()
			for b.Loop() {
				if err := roundTrip(c, br, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkListenerParallel is BenchmarkListener over many connections at
// once, as a loaded server sees them.
func BenchmarkListenerParallel(b *testing.B) {
	for _, m := range listenerModes {
		b.Run(m.name, func(b *testing.B) {
			addr := benchServer(b, m.with)
			b.SetParallelism(8)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				br := bufio.NewReader(c)
				for pb.Next() {
					if err := roundTrip(c, br, benchRequest); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
