//go:build linux

package proof

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/testchild"
)

// heavy skips t unless SECRETMEM_PROOF=1: the dump and live memory tests
// build two servers and dump a dozen processes (about 30 s and several GB
// of core files written and deleted), which the default go test ./...
// should not pay for. CI sets the variable.
func heavy(t *testing.T) {
	t.Helper()
	if os.Getenv("SECRETMEM_PROOF") != "1" {
		t.Skip("set SECRETMEM_PROOF=1 to run the dump and live memory proof (about 30 s)")
	}
	if testing.Short() {
		t.Skip("the dump and live memory proof does not run under -short")
	}
}

// binDir holds the server binaries built for this test run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "proof")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	printTable()
	os.Exit(code)
}

// A server is a program the proof runs: its name and its package.
type server struct {
	name string
	pkg  string // relative to this directory
}

var (
	testserver = server{"testserver", "../testserver"}
	baseline   = server{"baseline", "./baseline"}
)

var (
	buildMu  sync.Mutex
	builtBin = map[string]string{}
)

// binary builds s once per test binary and returns its path.
func (s server) binary(t testing.TB) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := builtBin[s.name]; ok {
		return p
	}
	if p := os.Getenv("SECRETMEM_PROOF_" + strings.ToUpper(s.name)); p != "" {
		// A prebuilt binary: a release build, or an experiment.
		builtBin[s.name] = p
		return p
	}
	p := filepath.Join(binDir, s.name)
	out, err := exec.Command("go", "build", "-o", p, s.pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("building %s: %v\n%s", s.name, err, out)
	}
	builtBin[s.name] = p
	return p
}

// Markers. Every secret the proof hands a server is a marker: a family
// prefix unique to this test run, then random hex. Config markers and
// bearer tokens have the same length, so the api.key (which valid requests
// send as their bearer token) and an invalid token occupy the same bytes
// of a connection's read buffer.
const markerHex = 16

func randHex(n int) string {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// A markerSet is the secrets and tokens of one server run.
type markerSet struct {
	configPrefix string            // "PRFc" + run id + "-"
	tokenPrefix  string            // "PRFt" + run id + "-"
	config       map[string]string // config key -> marker
	tokens       []string          // invalid bearer tokens, all distinct
}

func newMarkerSet() *markerSet {
	run := randHex(8)
	return &markerSet{
		configPrefix: "PRFc" + run + "-",
		tokenPrefix:  "PRFt" + run + "-",
		config:       map[string]string{},
	}
}

// secret returns a new config marker for key.
func (ms *markerSet) secret(key string) string {
	m := ms.configPrefix + randHex(markerHex)
	ms.config[key] = m
	return m
}

func (ms *markerSet) makeTokens(n int) {
	seen := map[string]bool{}
	for len(ms.tokens) < n {
		tok := ms.tokenPrefix + randHex(markerHex)
		if !seen[tok] {
			seen[tok] = true
			ms.tokens = append(ms.tokens, tok)
		}
	}
}

// A tally is what a scan found: how often each config key's marker
// occurs, how many token copies there are and of how many distinct
// tokens, and how many fragments (a family prefix without a whole known
// marker behind it: a truncated or partly overwritten copy).
type tally struct {
	config         map[string]int
	tokenCopies    int
	tokensInRegs   int // of tokenCopies, those inside saved register state
	configInRegs   int // of the config copies, those inside saved register state
	distinctTokens int
	fragments      int
	bytes          int64
}

// A scanner counts markers of one markerSet in chunks of memory. A marker
// split across two chunks is not counted; chunks are whole memory
// regions, and markers never span two of them.
type scanner struct {
	ms       *markerSet
	byMarker map[string]string // marker -> config key
	tokens   map[string]bool
	config   map[string]int
	tokenHit map[string]int
	inRegs   int
	cfgRegs  int
	frags    int
	bytes    int64
}

func newScanner(ms *markerSet) *scanner {
	s := &scanner{ms: ms, byMarker: map[string]string{}, tokens: map[string]bool{},
		config: map[string]int{}, tokenHit: map[string]int{}}
	for k, m := range ms.config {
		s.byMarker[m] = k
		s.config[k] = 0
	}
	for _, tok := range ms.tokens {
		s.tokens[tok] = true
	}
	return s
}

// markerLen is the length of every marker and token.
func (s *scanner) markerLen() int { return len(s.ms.configPrefix) + markerHex }

// scan counts the markers in b.
func (s *scanner) scan(b []byte) {
	s.bytes += int64(len(b))
	s.scanStarts(b, len(b))
}

// scanStarts counts the markers in b that start before limit; a caller
// streaming a file passes the bytes after limit again with the next chunk.
func (s *scanner) scanStarts(b []byte, limit int) {
	n := s.markerLen()
	for _, prefix := range []string{s.ms.configPrefix, s.ms.tokenPrefix} {
		p := []byte(prefix)
		for off := 0; off < limit; {
			i := bytes.Index(b[off:], p)
			if i < 0 || off+i >= limit {
				break
			}
			i += off
			if i+n <= len(b) {
				cand := string(b[i : i+n])
				if k, ok := s.byMarker[cand]; ok {
					s.config[k]++
					if inSavedRegisters(b, i) {
						s.cfgRegs++
					}
				} else if s.tokens[cand] {
					s.tokenHit[cand]++
					if inSavedRegisters(b, i) {
						s.inRegs++
					}
				} else {
					s.frags++
				}
			} else {
				s.frags++
			}
			off = i + len(p)
		}
	}
}

func (s *scanner) tally() tally {
	t := tally{config: s.config, distinctTokens: len(s.tokenHit), fragments: s.frags, bytes: s.bytes, tokensInRegs: s.inRegs, configInRegs: s.cfgRegs}
	for _, c := range s.tokenHit {
		t.tokenCopies += c
	}
	return t
}

// inSavedRegisters reports whether offset i of b lies in the XMM register
// slots of an x86 FXSAVE/XSAVE area: the register state the kernel saves on
// a thread's signal stack when a signal arrives. A signal that lands while
// memmove or bytes.Index holds request bytes in vector registers leaves
// them there until the next signal on that thread. The area is recognised
// by its default x87 control word (0x037f) at offset 0 and default MXCSR
// (0x1fa0) at offset 24, with XMM0..XMM15 at offsets 160..415.
func inSavedRegisters(b []byte, i int) bool {
	for start := i - 160; start >= 0 && start > i-416; start-- {
		if b[start] == 0x7f && b[start+1] == 0x03 &&
			b[start+24] == 0xa0 && b[start+25] == 0x1f && b[start+26] == 0 && b[start+27] == 0 {
			return true
		}
	}
	return false
}

// configCopies is the total of config marker copies, and the keys found.
func (t tally) configCopies() (int, []string) {
	total := 0
	var keys []string
	for k, c := range t.config {
		if c > 0 {
			total += c
			keys = append(keys, fmt.Sprintf("%s=%d", k, c))
		}
	}
	return total, keys
}

// A process is a running server, or another program the proof runs.
type process struct {
	*testchild.Process
	logs *testchild.Buffer // its stderr
	addr string
}

// start runs srv on a free loopback port with the given environment
// additions and arguments, and waits for its "listening" line.
func start(t *testing.T, srv server, dir string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(srv.binary(t), append([]string{"-addr", "127.0.0.1:0", "-log-format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = dir
	p := launch(t, cmd)
	err := p.Await(20*time.Second, 20*time.Millisecond, func() bool {
		sc := bufio.NewScanner(strings.NewReader(p.logs.String()))
		for sc.Scan() {
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
				p.addr = rec.Addr
				return true
			}
		}
		return false
	})
	switch {
	case errors.Is(err, testchild.ErrExited):
		t.Fatalf("%s exited at start: %v (%d bytes of log)", srv.name, p.Err(), len(p.logs.String()))
	case err != nil:
		t.Fatalf("%s did not say where it listens", srv.name)
	}
	return p
}

// launch starts cmd with its stderr collected, and kills it when t ends.
func launch(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	logs := &testchild.Buffer{}
	cmd.Stderr = logs
	return &process{Process: testchild.Launch(t, cmd), logs: logs}
}

// get fetches path from the server on a fresh connection.
func (p *process) get(path string, v any) error {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + p.addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// debugSecrets is the part of /debug/secrets the proof reads.
type debugSecrets struct {
	Backend string `json:"backend"`
	Live    int    `json:"live"`
}

// debugRuntime is /debug/runtime.
type debugRuntime struct {
	Goroutines int `json:"goroutines"`
}

// source is one way of writing a config file for -config.
type source struct {
	ext    string
	render func(appName, password, token string) string
}

var fileSources = []source{
	{".yaml", func(a, p, k string) string {
		return "app:\n  name: " + a + "\nfilesecret:\n  password: " + p + "\n  token: " + k + "\n"
	}},
	{".json", func(a, p, k string) string {
		return `{"app":{"name":"` + a + `"},"filesecret":{"password":"` + p + `","token":"` + k + `"}}` + "\n"
	}},
	{".toml", func(a, p, k string) string {
		return "[app]\nname = \"" + a + "\"\n\n[filesecret]\npassword = \"" + p + "\"\ntoken = \"" + k + "\"\n"
	}},
	{".env", func(a, p, k string) string {
		return "APP_NAME=" + a + "\nFILESECRET_PASSWORD=" + p + "\nFILESECRET_TOKEN=" + k + "\n"
	}},
}

// provision writes every source of secrets into dir and returns the
// environment additions and arguments that hand them to a server:
//
//   - the config file in format src: filesecret.password, filesecret.token
//   - environment variables: api.key, db.password
//   - _FILE variables: upstream.token, session.secret
//   - a secret directory in the Kubernetes layout (key -> ..data/key ->
//     ..TIMESTAMP/key): signing.key, cache.password
func provision(t *testing.T, dir string, ms *markerSet, src source) (env, args []string) {
	t.Helper()
	write := func(path, content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "app"+src.ext)
	write(cfg, src.render("proof", ms.secret("filesecret.password"), ms.secret("filesecret.token")))

	env = []string{
		"APP_API__KEY=" + ms.secret("api.key"),
		"APP_DB__PASSWORD=" + ms.secret("db.password"),
	}
	for _, k := range []string{"upstream.token", "session.secret"} {
		f := filepath.Join(dir, k)
		write(f, ms.secret(k)+"\n")
		env = append(env, "APP_"+strings.ToUpper(strings.ReplaceAll(k, ".", "__"))+"_FILE="+f)
	}

	secrets := filepath.Join(dir, "secrets")
	stamp := "..2026_01_01_00_00_00.123456789"
	if err := os.MkdirAll(filepath.Join(secrets, stamp), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(stamp, filepath.Join(secrets, "..data")); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"signing.key", "cache.password"} {
		write(filepath.Join(secrets, stamp, k), ms.secret(k)+"\n")
		if err := os.Symlink(filepath.Join("..data", k), filepath.Join(secrets, k)); err != nil {
			t.Fatal(err)
		}
	}
	return env, []string{"-config", cfg, "-secrets-dir", secrets}
}

// loadResult is what a load run saw.
type loadResult struct {
	requests   int
	valid      int
	unexpected int
	firstError error
}

// load sends every token of ms to p, spread over conns keep-alive
// connections, with a request carrying the valid key (apiKey) after every
// validEvery invalid ones. Requests alternate GET /api/whoami? and
// POST /api/sign?a, whose Authorization lines sit at the same offset, so
// each request overwrites the previous token in the server's read buffer.
// Each connection ends with an invalid token, and the connections stay
// open until the caller closes them: what the dump sees is a server
// between requests.
func load(p *process, ms *markerSet, apiKey string, conns, validEvery int) (loadResult, func(), error) {
	var (
		mu     sync.Mutex
		res    loadResult
		opened []net.Conn
		wg     sync.WaitGroup
	)
	closeAll := func() {
		for _, c := range opened {
			_ = c.Close()
		}
	}
	for i := range conns {
		c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
		if err != nil {
			closeAll()
			return res, nil, err
		}
		opened = append(opened, c)
		var mine []string
		for j := i; j < len(ms.tokens); j += conns {
			mine = append(mine, ms.tokens[j])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := drive(c, mine, apiKey, validEvery)
			mu.Lock()
			defer mu.Unlock()
			res.requests += r.requests
			res.valid += r.valid
			res.unexpected += r.unexpected
			if res.firstError == nil {
				res.firstError = r.firstError
			}
		}()
	}
	wg.Wait()
	return res, closeAll, nil
}

func drive(c net.Conn, tokens []string, apiKey string, validEvery int) loadResult {
	var res loadResult
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReader(c)
	send := func(n int, token string, want int) bool {
		var req string
		if n%2 == 0 {
			req = "GET /api/whoami? HTTP/1.1\r\nHost: proof\r\nAuthorization: Bearer " + token + "\r\n\r\n"
		} else {
			req = "POST /api/sign?a HTTP/1.1\r\nHost: proof\r\nAuthorization: Bearer " + token +
				"\r\nContent-Length: 5\r\n\r\nhello"
		}
		res.requests++
		if _, err := io.WriteString(c, req); err != nil {
			res.firstError = err
			return false
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			res.firstError = err
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != want {
			res.unexpected++
			if res.firstError == nil {
				res.firstError = fmt.Errorf("status %d, want %d", resp.StatusCode, want)
			}
		}
		return true
	}
	n := 0
	for i, tok := range tokens {
		if !send(n, tok, http.StatusUnauthorized) {
			return res
		}
		n++
		if validEvery > 0 && (i+1)%validEvery == 0 && i+1 < len(tokens) {
			if !send(n, apiKey, http.StatusOK) {
				return res
			}
			res.valid++
			n++
		}
	}
	return res
}

// The table. Tests add rows; TestMain prints them after the run.
type row struct{ test, expected, found, verdict string }

var (
	tableMu sync.Mutex
	table   []row
)

func record(t *testing.T, test, expected, found string, ok bool) {
	t.Helper()
	v := "pass"
	if !ok {
		v = "FAIL"
	}
	tableMu.Lock()
	table = append(table, row{test, expected, found, v})
	tableMu.Unlock()
	t.Logf("%s | expected %s | found %s | %s", test, expected, found, v)
}

// recordInfo adds a row that reports a measurement without a verdict.
func recordInfo(t *testing.T, test, expected, found string) {
	t.Helper()
	tableMu.Lock()
	table = append(table, row{test, expected, found, "info"})
	tableMu.Unlock()
	t.Logf("%s | %s | found %s", test, expected, found)
}

func printTable() {
	tableMu.Lock()
	defer tableMu.Unlock()
	if len(table) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("| test | expected | found | result |\n|---|---|---|---|\n")
	for _, r := range table {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.test, r.expected, r.found, r.verdict)
	}
	fmt.Print("\nproof table\n\n" + b.String())
	if path := os.Getenv("SECRETMEM_PROOF_TABLE"); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "writing the table:", err)
		}
	}
}
