// Command httpbench measures what the secretmem middleware stack costs a chi
// service: it starts servers on 127.0.0.1, a bare chi router and the same
// router behind middleware.Logger, Tokens and RequireBearer, and runs wrk
// against them in turn, A B A B, so that machine noise falls on both. A third
// server, Tokens and RequireBearer without the Logger, runs in the same
// rounds (A B C A B C) to show which part of the stack costs what; it is
// informational. A fourth, "logged", is the bare router with the request
// log a service keeps anyway, written the usual way (chi's response wrapper
// and slog.Logger.LogAttrs into the same JSON handler): stack ÷ logged is
// what secretmem costs a service that already logs its requests. Every
// request carries a valid bearer token. It writes a JSON summary to stdout.
//
// With -serve it is one of those servers (internal).
package main

import (
	"bufio"
	"context"
	"crypto/rand"
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
	"os/exec"
	"os/signal"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"

	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/secret"
)

const path = "/api/ping"

// Run is one wrk run against one server.
type Run struct {
	Pair     int     `json:"pair"`
	Side     string  `json:"side"` // "bare", "stack", "auth" or "logged"
	RPS      float64 `json:"rps"`
	Requests int     `json:"requests"`
	P50      float64 `json:"p50_us"`
	P75      float64 `json:"p75_us"`
	P90      float64 `json:"p90_us"`
	P99      float64 `json:"p99_us"`
	Non2xx   int     `json:"non_2xx"`
	Errors   string  `json:"socket_errors,omitempty"`
}

// Summary is what cmd/report reads.
type Summary struct {
	Threads     int       `json:"threads"`
	Connections int       `json:"connections"`
	Seconds     int       `json:"seconds"`
	Key         string    `json:"key"` // how the stack holds the accepted key
	Runs        []Run     `json:"runs"`
	BareRPS     float64   `json:"bare_rps_median"`
	StackRPS    float64   `json:"stack_rps_median"`
	AuthRPS     float64   `json:"auth_rps_median"`
	LoggedRPS   float64   `json:"logged_rps_median"`
	Ratio       float64   `json:"ratio"`           // StackRPS / BareRPS
	AuthRatio   float64   `json:"auth_ratio"`      // AuthRPS / BareRPS
	LoggedRatio float64   `json:"logged_ratio"`    // LoggedRPS / BareRPS
	StackVsLog  float64   `json:"stack_vs_logged"` // StackRPS / LoggedRPS
	PairRatios  []float64 `json:"pair_ratios"`     // stack/bare in each round
	WrkVersion  string    `json:"wrk_version"`
}

func main() {
	serve := flag.Bool("serve", false, "run as a server (internal)")
	mode := flag.String("mode", "bare", "server: bare, stack (Logger+Tokens+RequireBearer), auth (Tokens+RequireBearer) or logged (a plain slog request log)")
	pairs := flag.Int("pairs", 4, "number of A B pairs")
	secs := flag.Int("seconds", 5, "seconds per wrk run")
	threads := flag.Int("threads", 2, "wrk threads")
	conns := flag.Int("connections", 32, "wrk connections")
	wrk := flag.String("wrk", "wrk", "wrk binary")
	keyKind := flag.String("key", "pooled", "how the stack holds the accepted key: guarded or pooled")
	flag.Parse()
	if *serve {
		if err := runServer(*mode); err != nil {
			fmt.Fprintln(os.Stderr, "httpbench server:", err)
			os.Exit(1)
		}
		return
	}
	if *pairs < 1 || *pairs > 20 || *secs < 1 || *secs > 60 {
		fmt.Fprintln(os.Stderr, "httpbench: -pairs must be 1..20 and -seconds 1..60")
		os.Exit(2)
	}
	if *keyKind != "guarded" && *keyKind != "pooled" {
		fmt.Fprintln(os.Stderr, "httpbench: -key must be guarded or pooled")
		os.Exit(2)
	}
	// The servers read the choice from the environment they inherit.
	if err := os.Setenv("BENCH_KEY", *keyKind); err != nil {
		fmt.Fprintln(os.Stderr, "httpbench:", err)
		os.Exit(1)
	}
	sum, err := drive(*wrk, *pairs, *secs, *threads, *conns)
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpbench:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sum); err != nil {
		fmt.Fprintln(os.Stderr, "httpbench:", err)
		os.Exit(1)
	}
}

// runServer serves on 127.0.0.1 only, prints its address, and stops on
// SIGTERM or when stdin closes (so it never outlives the driver).
func runServer(mode string) error {
	r := chi.NewRouter()
	switch mode {
	case "bare":
	case "logged":
		r.Use(plainLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))))
	case "stack", "auth":
		tok := os.Getenv("BENCH_TOKEN")
		_ = os.Unsetenv("BENCH_TOKEN")
		// Pooled by default, as the testserver holds its API key (a key
		// compared on every request); -key guarded shows what guard pages
		// cost: two mprotect calls per request.
		var kopts []secret.Option
		if os.Getenv("BENCH_KEY") == "guarded" {
			kopts = append(kopts, secret.Guarded())
		}
		key, err := secret.FromString(tok, kopts...)
		if err != nil {
			return err
		}
		defer key.Destroy()
		if mode == "stack" {
			r.Use(middleware.Logger(slog.New(slog.NewJSONHandler(io.Discard, nil))))
		}
		r.Use(middleware.Tokens())
		r.Use(middleware.RequireBearer(key))
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	r.Get(path, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	fmt.Printf("listening %s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// plainLogger is a request log as services write it without secretmem: the
// same fields as middleware.Logger, through slog.Logger.LogAttrs.
func plainLogger(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := chimw.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", ww.Status()),
				slog.Int("bytes", ww.BytesWritten()),
				slog.Duration("duration", time.Since(start)),
				slog.String("remote_addr", r.RemoteAddr),
			)
		})
	}
}

type server struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	url   string
}

func start(mode, token string) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve", "-mode="+mode)
	cmd.Env = append(os.Environ(), "BENCH_TOKEN="+token)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok || !strings.HasPrefix(addr, "127.0.0.1:") {
		s.stop()
		return nil, fmt.Errorf("server did not report a 127.0.0.1 address (%q, %v)", line, err)
	}
	s.url = "http://" + addr + path
	return s, nil
}

// stop ends the server this program started: closing stdin asks it to shut
// down; its own pid is killed if it has not exited within five seconds.
func (s *server) stop() {
	_ = s.stdin.Close()
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// check makes sure both servers answer a valid token with 200 and that the
// stack really checks it (401 without one), so wrk measures the right thing.
func check(bare, stack, auth, logged *server, token string) error {
	c := &http.Client{Timeout: 5 * time.Second}
	get := func(url, auth string) (int, error) {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}
	for _, tc := range []struct {
		name, url, auth string
		want            int
	}{
		{"bare with token", bare.url, "Bearer " + token, 200},
		{"stack with token", stack.url, "Bearer " + token, 200},
		{"stack without token", stack.url, "", 401},
		{"stack with a wrong token", stack.url, "Bearer x" + token, 401},
		{"auth with token", auth.url, "Bearer " + token, 200},
		{"auth without token", auth.url, "", 401},
		{"logged with token", logged.url, "Bearer " + token, 200},
	} {
		got, err := get(tc.url, tc.auth)
		if err != nil {
			return fmt.Errorf("%s: %w", tc.name, err)
		}
		if got != tc.want {
			return fmt.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	return nil
}

func drive(wrk string, pairs, secs, threads, conns int) (*Summary, error) {
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	token := hex.EncodeToString(raw)
	servers := map[string]*server{}
	sides := []string{"bare", "stack", "auth", "logged"}
	for _, side := range sides {
		s, err := start(side, token)
		if err != nil {
			return nil, err
		}
		defer s.stop()
		servers[side] = s
	}
	if err := check(servers["bare"], servers["stack"], servers["auth"], servers["logged"], token); err != nil {
		return nil, err
	}
	sum := &Summary{Threads: threads, Connections: conns, Seconds: secs, Key: os.Getenv("BENCH_KEY") + " secret.Value"}
	if out, err := exec.Command(wrk, "-v").CombinedOutput(); len(out) > 0 {
		sum.WrkVersion = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	} else if err != nil {
		return nil, fmt.Errorf("%s -v: %w", wrk, err)
	}
	bench := func(s *server, d int) (Run, error) {
		args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", strconv.Itoa(d) + "s",
			"--latency", "-H", "Authorization: Bearer " + token, s.url}
		out, err := exec.Command(wrk, args...).CombinedOutput()
		if err != nil {
			return Run{}, fmt.Errorf("wrk: %w: %s", err, out)
		}
		return parseWrk(string(out))
	}
	// One short unrecorded run each, so both start warm.
	for _, side := range sides {
		if _, err := bench(servers[side], 1); err != nil {
			return nil, err
		}
	}
	var bareRPS, stackRPS, authRPS, loggedRPS []float64
	for p := 1; p <= pairs; p++ {
		var pr [4]float64
		for i, side := range sides {
			r, err := bench(servers[side], secs)
			if err != nil {
				return nil, err
			}
			r.Pair, r.Side = p, side
			if r.Non2xx > 0 {
				return nil, fmt.Errorf("pair %d %s: %d responses were not 2xx", p, side, r.Non2xx)
			}
			sum.Runs = append(sum.Runs, r)
			pr[i] = r.RPS
			fmt.Fprintf(os.Stderr, "httpbench: pair %d %-5s %9.0f req/s  p50 %6.0fus  p99 %6.0fus\n", p, side, r.RPS, r.P50, r.P99)
		}
		bareRPS = append(bareRPS, pr[0])
		stackRPS = append(stackRPS, pr[1])
		authRPS = append(authRPS, pr[2])
		loggedRPS = append(loggedRPS, pr[3])
		sum.PairRatios = append(sum.PairRatios, pr[1]/pr[0])
	}
	sum.BareRPS, sum.StackRPS, sum.AuthRPS = median(bareRPS), median(stackRPS), median(authRPS)
	sum.Ratio = sum.StackRPS / sum.BareRPS
	sum.AuthRatio = sum.AuthRPS / sum.BareRPS
	sum.LoggedRPS = median(loggedRPS)
	sum.LoggedRatio = sum.LoggedRPS / sum.BareRPS
	sum.StackVsLog = sum.StackRPS / sum.LoggedRPS
	return sum, nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

var (
	reRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reReqs    = regexp.MustCompile(`(\d+) requests in`)
	rePct     = regexp.MustCompile(`(?m)^\s+(50|75|90|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	reNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	reSockErr = regexp.MustCompile(`Socket errors:[^\n]*`)
)

// parseWrk reads wrk's text output (with --latency); latencies in µs.
func parseWrk(out string) (Run, error) {
	var r Run
	m := reRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk output: %s", out)
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	if m := reReqs.FindStringSubmatch(out); m != nil {
		r.Requests, _ = strconv.Atoi(m[1])
	}
	scale := map[string]float64{"us": 1, "ms": 1e3, "s": 1e6}
	found := 0
	for _, m := range rePct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		v *= scale[m[3]]
		switch m[1] {
		case "50":
			r.P50 = v
		case "75":
			r.P75 = v
		case "90":
			r.P90 = v
		case "99":
			r.P99 = v
		}
		found++
	}
	if found != 4 {
		return r, fmt.Errorf("latency distribution missing from wrk output: %s", out)
	}
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.Atoi(m[1])
	}
	r.Errors = reSockErr.FindString(out)
	return r, nil
}
