package main

import (
	"crypto"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/secretmem/secretmem/config"
	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/sign"
	"github.com/secretmem/secretmem/sign/jwt"
	"github.com/secretmem/secretmem/tlscert"
)

// signing holds the service's signing keys, each read from the
// configuration at every use (a reload that changes a key takes effect
// at the next request) and used without leaving protected memory.
type signing struct {
	logger *slog.Logger
	hmac   *sign.HMAC   // signing.key
	ed     *sign.Signer // ed25519.private_key, optional
	jwtKey *jwt.Key     // jwt.secret, optional
	jwt    *jwt.Verifier
}

// jwtIssuer and jwtAudience are the iss and aud of the tokens POST
// /api/token issues and GET /api/jwt/whoami accepts.
const (
	jwtIssuer   = "secretmem-testserver"
	jwtAudience = "secretmem-testserver-api"
)

func newSigning(cfg *config.Config, logger *slog.Logger) (*signing, error) {
	s := &signing{logger: logger}
	var err error
	if s.hmac, err = sign.NewHMAC(sign.SHA256, cfg, "signing.key"); err != nil {
		return nil, err
	}
	if cfg.Exists("ed25519.private_key") {
		if s.ed, err = sign.NewSigner(cfg, "ed25519.private_key"); err != nil {
			return nil, err
		}
		if _, ok := s.ed.Public().(ed25519.PublicKey); !ok {
			return nil, errors.New("ed25519.private_key is not an Ed25519 key")
		}
	}
	if cfg.Exists("jwt.secret") {
		if s.jwtKey, err = jwt.HMACKey(jwt.HS256, "", cfg, "jwt.secret"); err != nil {
			return nil, err
		}
		s.jwt, err = jwt.NewVerifier(jwt.Options{Issuer: jwtIssuer, Audience: jwtAudience, Leeway: 30 * time.Second}, s.jwtKey)
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *signing) close() {
	s.hmac.Close()
	if s.ed != nil {
		s.ed.Close()
	}
	if s.jwtKey != nil {
		s.jwtKey.Close()
	}
}

// readBody reads a body to sign, refusing one over maxSignBody: a MAC of
// the first MiB of a longer body would vouch for bytes the client did not
// send alone.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSignBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("the body is over %d bytes", tooBig.Limit)})
			return nil, false
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "cannot read the body"})
		return nil, false
	}
	return body, true
}

func (s *signing) unavailable(w http.ResponseWriter, what string, err error) {
	s.logger.Error(what+" unavailable", "err", err)
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": what + " unavailable"})
}

// routes adds the endpoints that need the bearer key.
func (s *signing) routes(r chi.Router) {
	r.Post("/api/sign", func(w http.ResponseWriter, req *http.Request) {
		body, ok := readBody(w, req)
		if !ok {
			return
		}
		var buf [32]byte
		sum, err := s.hmac.Sum(buf[:0], body)
		if err != nil {
			s.unavailable(w, "signing key", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"alg": "HMAC-SHA256", "mac": hex.EncodeToString(sum)})
	})
	if s.ed != nil {
		r.Post("/api/sign/ed25519", func(w http.ResponseWriter, req *http.Request) {
			body, ok := readBody(w, req)
			if !ok {
				return
			}
			key, err := s.ed.Current()
			if err != nil {
				s.unavailable(w, "Ed25519 key", err)
				return
			}
			sig, err := key.Sign(nil, body, crypto.Hash(0))
			if err != nil {
				s.unavailable(w, "Ed25519 key", err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]string{
				"alg":        "Ed25519",
				"signature":  base64.StdEncoding.EncodeToString(sig),
				"public_key": base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)),
			})
		})
	}
	if s.jwtKey != nil {
		r.Post("/api/token", func(w http.ResponseWriter, req *http.Request) {
			sub := req.URL.Query().Get("sub")
			if sub == "" {
				sub = "api-client"
			}
			tok, err := s.jwtKey.Sign(map[string]any{
				"iss": jwtIssuer, "aud": jwtAudience, "sub": sub,
				"iat": time.Now().Unix(), "exp": time.Now().Add(15 * time.Minute).Unix(),
			})
			if err != nil {
				s.unavailable(w, "JWT key", err)
				return
			}
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 900})
		})
	}
}

// jwtRoutes adds the endpoints that take a JWT instead of the bearer key.
func (s *signing) jwtRoutes(r chi.Router) {
	if s.jwt == nil {
		return
	}
	r.With(middleware.RequireJWT(s.jwt)).Get("/api/jwt/whoami", func(w http.ResponseWriter, req *http.Request) {
		c, _ := middleware.JWTClaims(req.Context())
		writeJSON(w, http.StatusOK, map[string]any{"subject": c.Subject, "issuer": c.Issuer, "expires": c.ExpiresAt.Unix(), "auth": "jwt"})
	})
}

// serveTLS serves h over TLS on addr with the certificate whose key is
// tls.key (PEM, with the chain in the same value or in the file
// tls.cert_file), signing each handshake from its cells. It returns the
// server and the address it listens on.
func serveTLS(cfg *config.Config, addr string, h http.Handler, logger *slog.Logger) (*http.Server, *tlscert.Certificate, net.Listener, error) {
	cert, err := tlscert.New(cfg, "tls.key", &tlscert.Options{
		CertFile: cfg.String("tls.cert_file"),
		OnError:  func(err error) { logger.Error("TLS certificate not renewed", "err", err) },
	})
	if err != nil {
		return nil, nil, nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		cert.Close()
		return nil, nil, nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         &tls.Config{GetCertificate: cert.GetCertificate, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: durationOr(cfg, "http.read_header_timeout", 10*time.Second),
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return srv, cert, ln, nil
}
