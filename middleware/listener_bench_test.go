package middleware_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/secretmem/secretmem/middleware"
)

// BenchmarkListener serves keep-alive requests carrying a bearer token on
// a loopback socket, through Tokens, with and without Listener: the cost
// Listener adds per request.
func BenchmarkListener(b *testing.B) {
	for _, withListener := range []bool{false, true} {
		name := "without"
		if withListener {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
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
			defer srv.Close()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			req := []byte("GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bench-token-0123456789abcdef\r\nAccept: */*\r\n\r\n")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// BenchmarkListenerParallel is BenchmarkListener over many connections at
// once, as a loaded server sees them.
func BenchmarkListenerParallel(b *testing.B) {
	for _, withListener := range []bool{false, true} {
		name := "without"
		if withListener {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
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
			defer srv.Close()
			req := []byte("GET /me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bench-token-0123456789abcdef\r\nAccept: */*\r\n\r\n")
			b.SetParallelism(8)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				br := bufio.NewReader(c)
				for pb.Next() {
					if _, err := c.Write(req); err != nil {
						b.Error(err)
						return
					}
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}
