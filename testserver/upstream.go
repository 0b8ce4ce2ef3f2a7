package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/secretmem/secretmem/config"
	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/outbound"
	"github.com/secretmem/secretmem/secret"
)

// upstream is the service GET /api/upstream calls, with the bearer token
// upstream.token from the config, sent through outbound.Transport: the
// token goes from its cell to the request without a heap copy per
// request. upstream.url names the service; without it the testserver runs
// one itself, a second server on 127.0.0.1 that requires the same token,
// so the demo shows both ends.
type upstream struct {
	url    string
	client *http.Client
	rt     *outbound.Transport
	own    *http.Server // the built-in upstream, or nil
	logger *slog.Logger
}

// upstreamTimeout bounds one call to the upstream.
const upstreamTimeout = 10 * time.Second

func startUpstream(cfg *config.Config, logger *slog.Logger) (*upstream, error) {
	rt, err := outbound.New(&http.Transport{ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 8},
		outbound.Bearer(cfg, "upstream.token"))
	if err != nil {
		return nil, err
	}
	u := &upstream{url: cfg.String("upstream.url"), rt: rt, logger: logger,
		client: &http.Client{Transport: rt, Timeout: upstreamTimeout}}
	if u.url != "" {
		return u, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = rt.Close()
		return nil, fmt.Errorf("the built-in upstream cannot listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"service": "upstream", "authenticated": true})
	})
	h := middleware.Tokens(middleware.WithScrub())(middleware.RequireBearer(cfg.Secret("upstream.token"))(mux))
	u.own = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	u.url = "http://" + ln.Addr().String()
	go func() { _ = u.own.Serve(ln) }()
	logger.Info("upstream listening", "addr", ln.Addr().String())
	return u, nil
}

// serveHTTP is GET /api/upstream: it calls the upstream's /v1/status and
// reports what came back.
func (u *upstream) serveHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), "GET", u.url+"/v1/status", nil)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "bad upstream.url"})
		return
	}
	resp, err := u.client.Do(req)
	if err != nil {
		// The error names the key and the URL, never the token.
		u.logger.Error("upstream call failed", "err", err)
		status := http.StatusBadGateway
		if errors.Is(err, secret.ErrDestroyed) || errors.Is(err, secret.ErrExpired) || errors.Is(err, outbound.ErrCredential) {
			status = http.StatusServiceUnavailable // the token is missing or unusable: the call never left
		}
		writeJSON(w, status, map[string]string{"error": "the upstream call failed", "detail": err.Error()})
		return
	}
	defer resp.Body.Close()
	var body any
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body)
	writeJSON(w, http.StatusOK, map[string]any{"upstream": u.url, "status": resp.StatusCode, "body": body})
}

// close stops the built-in upstream and wipes the formatted token.
func (u *upstream) close(ctx context.Context) {
	if u.own != nil {
		_ = u.own.Shutdown(ctx)
	}
	u.client.CloseIdleConnections()
	_ = u.rt.Close()
}
