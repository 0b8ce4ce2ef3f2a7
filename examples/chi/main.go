// Command chi runs the middleware stack (Logger, Tokens, RequireBearer) on
// a chi router, calls it once with a good and once with a bad token, and
// exits.
//
//	go run ./examples/chi
package main

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"

	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/secret"
)

func main() {
	apiKey, err := secret.New([]byte("example-api-key-123"))
	if err != nil {
		log.Fatal(err)
	}
	defer apiKey.Destroy()

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "duration" || a.Key == "remote_addr" {
				return slog.Attr{}
			}
			return a
		},
	}))
	r := chi.NewRouter()
	r.Use(middleware.Logger(logger))
	r.Use(middleware.Tokens())
	r.Use(middleware.RequireBearer(apiKey))
	r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
		tok, _ := middleware.Token(r.Context())
		// The header is gone: nothing downstream can log it.
		fmt.Fprintf(w, "authorization header seen by the handler: %q; token cell: %v, %d bytes",
			r.Header.Get("Authorization"), tok, tok.Len())
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: r}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	for _, token := range []string{"example-api-key-123", "wrong-token"} {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d %s\n", resp.StatusCode, body)
	}
}
