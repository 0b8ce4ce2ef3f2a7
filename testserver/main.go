// Command testserver is the secretmem demo service: a small HTTP API whose
// secrets live in protected memory cells.
//
//	go run ./testserver
//
// It serves on 127.0.0.1:8080 and prints how to call it.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/secretmem/secretmem/secret"
)

// Demo values, plainly marked: never use them outside a laptop.
const (
	demoAPIKey     = "demo-api-key-CHANGE-ME"
	demoSigningKey = "demo-signing-key-CHANGE-ME"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("testserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	apiKey, err := secret.FromString(demoAPIKey, secret.Guarded(), secret.Label("api.key"))
	if err != nil {
		return err
	}
	signingKey, err := secret.FromString(demoSigningKey, secret.Guarded(), secret.Label("signing.key"))
	if err != nil {
		return err
	}
	defer secret.Purge()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: routes(apiKey, signingKey), ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	log.Info("listening", "addr", ln.Addr().String(), "api_key", apiKey, "backend", secret.Stats().Backend)
	log.Info("try: curl " + base + "/healthz")
	log.Info("try: curl -H 'Authorization: Bearer " + demoAPIKey + "' " + base + "/api/whoami (demo key)")

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("secrets destroyed", "cells", secret.Purge())
	return nil
}

func routes(apiKey, signingKey secret.Value) http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	r.Get("/debug/secrets", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, secret.Stats()) })
	r.Group(func(r chi.Router) {
		r.Use(requireBearer(apiKey))
		r.Get("/api/whoami", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, map[string]string{"subject": "demo-client"})
		})
		r.Post("/api/sign", func(w http.ResponseWriter, req *http.Request) {
			body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
			if err != nil {
				http.Error(w, "cannot read body", http.StatusBadRequest)
				return
			}
			var sum []byte
			_ = signingKey.Use(func(k []byte) error {
				m := hmac.New(sha256.New, k)
				m.Write(body)
				sum = m.Sum(nil)
				return nil
			})
			writeJSON(w, map[string]string{"hmac_sha256": hex.EncodeToString(sum)})
		})
	})
	return r
}

// requireBearer is the minimal check until the middleware package lands.
func requireBearer(key secret.Value) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth := r.Header.Get("Authorization")
			tok, ok := strings.CutPrefix(auth, "Bearer ")
			r.Header.Del("Authorization")
			if !ok || !key.Equal([]byte(tok)) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="testserver"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
