// Command baseline is the proof suite's comparison server: the testserver's
// API built the usual way, with plain koanf and chi and no secretmem.
// Secrets are ordinary Go strings, bearer tokens are compared from the
// request header, and nothing is wiped. The dump tests run it beside the
// testserver so the README can show what the library changes.
//
// It reads the same sources as the testserver: -config FILE (YAML, JSON,
// TOML or .env by extension), -secrets-dir DIR (one secret per file,
// dot-names skipped, so the Kubernetes ..data layout works), and APP_
// variables (APP_DB__PASSWORD -> db.password; a _FILE suffix names a file
// holding the value). It logs one JSON "listening" line with the address.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/knadh/koanf/parsers/dotenv"
	kjson "github.com/knadh/koanf/parsers/json"
	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`")
	cfgPath := fs.String("config", "", "configuration `file` (YAML, JSON, TOML or .env)")
	secretsDir := fs.String("secrets-dir", "", "`directory` with one secret per file")
	fs.String("log-format", "json", "accepted for the testserver's command line; always JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))

	k := koanf.New(".")
	if *cfgPath != "" {
		b, err := os.ReadFile(*cfgPath)
		if err != nil {
			return err
		}
		var pa koanf.Parser
		switch strings.ToLower(filepath.Ext(*cfgPath)) {
		case ".yaml", ".yml":
			pa = yaml.Parser()
		case ".json":
			pa = kjson.Parser()
		case ".toml":
			pa = toml.Parser()
		case ".env":
			pa = dotenv.Parser()
		default:
			return fmt.Errorf("unknown config format: %s", *cfgPath)
		}
		if err := k.Load(rawbytes.Provider(b), pa); err != nil {
			return err
		}
	}
	if *secretsDir != "" {
		entries, err := os.ReadDir(*secretsDir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(*secretsDir, e.Name()))
			if err != nil {
				return err
			}
			_ = k.Set(e.Name(), strings.TrimSuffix(string(b), "\n"))
		}
	}
	err := k.Load(env.Provider(".", env.Opt{
		Prefix: "APP_",
		TransformFunc: func(name, v string) (string, any) {
			name = strings.ToLower(strings.TrimPrefix(name, "APP_"))
			if base, ok := strings.CutSuffix(name, "_file"); ok {
				b, err := os.ReadFile(v)
				if err != nil {
					return "", nil
				}
				name, v = base, strings.TrimSuffix(string(b), "\n")
			}
			return strings.ReplaceAll(name, "__", "."), v
		},
	}), nil)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	logger.Info("listening", "addr", ln.Addr().String(), "backend", "none")
	return http.Serve(ln, routes(k))
}

func routes(k *koanf.Koanf) http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})
	r.Group(func(r chi.Router) {
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				token, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
				if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(k.String("api.key"))) != 1 {
					writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
					return
				}
				next.ServeHTTP(w, req)
			})
		})
		r.Get("/api/whoami", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"subject": "api-client", "app": k.String("app.name"), "auth": "bearer"})
		})
		r.Post("/api/sign", func(w http.ResponseWriter, req *http.Request) {
			body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "cannot read the body"})
				return
			}
			m := hmac.New(sha256.New, []byte(k.String("signing.key")))
			m.Write(body)
			writeJSON(w, http.StatusOK, map[string]string{"alg": "HMAC-SHA256", "mac": hex.EncodeToString(m.Sum(nil))})
		})
	})
	return r
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
