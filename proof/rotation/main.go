// Command rotation is the proof suite's rotation soak server: a service
// that reads all its secrets from one config.Snapshot on every request,
// while the soak rotates them under load, and counts every read that is
// not a value written in full (rotvalue.Check) and every snapshot whose
// Kubernetes volume keys come from more than one generation.
//
//	-vol DIR     a Kubernetes secret volume: api.key and vol.k000...
//	-dir DIR     a plain secret directory rotated by non-atomic writers
//	-config F    a JSON file, rotated by a non-atomic writer
//	-poll d      Watch's poll interval; -grace d its grace period
//
// GET /read (bearer api.key, RequireBearerFrom) checks one snapshot: 200,
// or 500 naming what was wrong, never a value. GET /stats gives the
// counts, the config's reload status and the live cells. It logs one JSON
// "listening" line with the address.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/secretmem/secretmem/config"
	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/proof/internal/rotvalue"
	"github.com/secretmem/secretmem/secret"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rotation:", err)
		os.Exit(2)
	}
}

type counts struct {
	Reads, Checks, Partial, Wrong, Mixed atomic.Int64
}

func run() error {
	fs := flag.NewFlagSet("rotation", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	fs.String("log-format", "json", "accepted for the harness; always JSON")
	vol := fs.String("vol", "", "Kubernetes secret volume")
	dir := fs.String("dir", "", "plain secret directory")
	cfgFile := fs.String("config", "", "JSON configuration file")
	poll := fs.Duration("poll", 50*time.Millisecond, "poll interval")
	grace := fs.Duration("grace", 5*time.Second, "grace period")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := config.Load(config.File(*cfgFile), config.SecretDir(*vol), config.SecretDir(*dir),
		config.Require("api.key"), config.PollInterval(*poll), config.GracePeriod(*grace), config.Logger(logger))
	if err != nil {
		return err
	}
	defer cfg.Close()
	var volume, singles []string
	for _, k := range cfg.Keys() {
		switch {
		case k == "api.key" || strings.HasPrefix(k, "vol."):
			volume = append(volume, k)
		case cfg.IsSecret(k):
			singles = append(singles, k)
		}
	}
	var n counts
	if err := cfg.Watch(context.Background(), func(err error) {
		if err != nil {
			logger.Warn("reload failed", "err", err)
		}
	}); err != nil {
		return err
	}
	r := chi.NewRouter()
	r.With(middleware.RequireBearerFrom(cfg, "api.key")).Get("/read", func(w http.ResponseWriter, _ *http.Request) {
		if what := n.read(cfg.Snapshot(), volume, singles); what != "" {
			http.Error(w, what, http.StatusInternalServerError)
		}
	})
	r.Get("/stats", func(w http.ResponseWriter, _ *http.Request) {
		// api.key's generation in the current snapshot: what the guard
		// accepts now. Checked outside the counts.
		var apiKeyGen int
		_ = cfg.Secret("api.key").Use(func(b []byte) error {
			apiKeyGen, _ = rotvalue.Check(b, "api.key")
			return nil
		})
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"reads": n.Reads.Load(), "checks": n.Checks.Load(), "partial": n.Partial.Load(),
			"wrong": n.Wrong.Load(), "mixed": n.Mixed.Load(), "api_key_gen": apiKeyGen,
			"keys": len(volume) + len(singles), "status": cfg.Status(), "live": secret.Stats().Live,
		})
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	logger.Info("listening", "addr", ln.Addr().String(), "volume_keys", len(volume), "other_keys", len(singles))
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// read checks every secret of one snapshot and says what was wrong, or "".
func (n *counts) read(snap config.Snapshot, volume, singles []string) string {
	n.Reads.Add(1)
	var what string
	gen := -1
	for _, key := range volume {
		g, verdict := n.check(snap.Secret(key), key)
		if verdict == rotvalue.Whole && gen >= 0 && g != gen && what == "" {
			n.Mixed.Add(1)
			what = "mixed generations"
		}
		if verdict != rotvalue.Whole && what == "" {
			what = "bad value of " + key
		}
		gen = g
	}
	for _, key := range singles {
		if _, verdict := n.check(snap.Secret(key), key); verdict != rotvalue.Whole && what == "" {
			what = "bad value of " + key
		}
	}
	return what
}

func (n *counts) check(v secret.Value, key string) (gen, verdict int) {
	n.Checks.Add(1)
	verdict = rotvalue.Wrong // an unreadable cell
	_ = v.Use(func(b []byte) error {
		gen, verdict = rotvalue.Check(b, key)
		return nil
	})
	switch verdict {
	case rotvalue.Partial:
		n.Partial.Add(1)
	case rotvalue.Wrong:
		n.Wrong.Add(1)
	}
	return gen, verdict
}
