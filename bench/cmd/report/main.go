// Command report turns the raw results of bench/run.sh into BENCHMARKS.md and
// an SVG chart of the ratios, and prints PASS or FAIL for every promise the
// project makes. It is a report, not a test: it exits 0 whatever the verdicts,
// and non-zero only when results are missing or unreadable.
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	dir := flag.String("results", "results", "directory with the raw results")
	out := flag.String("out", "../BENCHMARKS.md", "markdown report to write")
	svg := flag.String("svg", "ratios.svg", "SVG chart to write")
	svgLink := flag.String("svglink", "bench/ratios.svg", "the chart's path as linked from the report")
	goVersion := flag.String("go", runtime.Version(), "Go version that ran the benchmarks")
	elapsed := flag.Duration("elapsed", 0, "how long the run took")
	flag.Parse()

	cur, err := load(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	// results/earlier holds a part's previous figures when run.sh reran only
	// that part; both are reported.
	earlier, _ := load(filepath.Join(*dir, "earlier"))

	ps := promises(cur)
	var eps []promise
	if earlier != nil {
		eps = promises(earlier)
	}
	pass := 0
	for i, p := range ps {
		line := fmt.Sprintf("%s  %-55s measured %s (required %s)", verdict(p), p.Name, p.Show(p.Value), p.Rule())
		if i < len(eps) && eps[i].OK {
			line += fmt.Sprintf("  [earlier run: %s %s]", verdict(eps[i]), eps[i].Show(eps[i].Value))
		}
		fmt.Println(line)
		if p.Pass() {
			pass++
		}
	}
	fmt.Printf("%d of %d promises pass\n", pass, len(ps))

	md := render(cur, earlier, ps, eps, *svgLink, *goVersion, *elapsed)
	if err := os.WriteFile(*out, md, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*svg, chart(ps), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s and %s\n", *out, *svg)
}

func verdict(p promise) string {
	switch {
	case !p.OK:
		return "MISSING"
	case p.Pass():
		return "PASS"
	default:
		return "FAIL"
	}
}

// ---- inputs ----------------------------------------------------------------

// stat is one benchstat summary: the median and its confidence interval.
type stat struct {
	Median float64
	CI     string
}

// results is everything one run (or one earlier part) left behind.
type results struct {
	Bench    map[string]map[string]stat // unit -> benchmark -> stat
	Text     map[string]string          // part -> benchstat text output
	Capacity []capacityResult
	HTTP     *httpSummary
	Machine  map[string]string
	Commands []string // the run.sh invocations behind these figures
}

type capacityResult struct {
	Lib     string  `json:"lib"`
	Limit   int     `json:"limit_bytes"`
	Count   int     `json:"count"`
	End     string  `json:"end"`
	Backend string  `json:"backend"`
	Locked  int     `json:"locked"`
	Seconds float64 `json:"seconds"`
	UID     int     `json:"uid"`
	Stderr  string  `json:"stderr"`
}

type httpRun struct {
	Pair     int     `json:"pair"`
	Side     string  `json:"side"`
	RPS      float64 `json:"rps"`
	Requests int     `json:"requests"`
	P50      float64 `json:"p50_us"`
	P75      float64 `json:"p75_us"`
	P90      float64 `json:"p90_us"`
	P99      float64 `json:"p99_us"`
	Non2xx   int     `json:"non_2xx"`
	Errors   string  `json:"socket_errors"`
}

type httpSummary struct {
	Threads     int       `json:"threads"`
	Connections int       `json:"connections"`
	Seconds     int       `json:"seconds"`
	Key         string    `json:"key"`
	Runs        []httpRun `json:"runs"`
	BareRPS     float64   `json:"bare_rps_median"`
	StackRPS    float64   `json:"stack_rps_median"`
	AuthRPS     float64   `json:"auth_rps_median"`
	Ratio       float64   `json:"ratio"`
	AuthRatio   float64   `json:"auth_ratio"`
	LoggedRPS   float64   `json:"logged_rps_median"`
	LoggedRatio float64   `json:"logged_ratio"`
	StackVsLog  float64   `json:"stack_vs_logged"`
	PairRatios  []float64 `json:"pair_ratios"`
	WrkVersion  string    `json:"wrk_version"`
}

// load reads a results directory; parts that are absent stay empty. It fails
// only when the directory holds nothing at all.
func load(dir string) (*results, error) {
	r := &results{Bench: map[string]map[string]stat{}, Text: map[string]string{}, Machine: map[string]string{}}
	found := false
	for _, part := range []string{"cells", "log"} {
		if b, err := os.ReadFile(filepath.Join(dir, part+".csv")); err == nil {
			if err := parseCSV(b, r.Bench); err != nil {
				return nil, fmt.Errorf("%s.csv: %w", part, err)
			}
			found = true
		}
		if b, err := os.ReadFile(filepath.Join(dir, part+".benchstat")); err == nil {
			r.Text[part] = string(b)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "capacity.json")); err == nil {
		if err := json.Unmarshal(b, &r.Capacity); err != nil {
			return nil, fmt.Errorf("capacity.json: %w", err)
		}
		found = true
	}
	if b, err := os.ReadFile(filepath.Join(dir, "http.json")); err == nil {
		r.HTTP = new(httpSummary)
		if err := json.Unmarshal(b, r.HTTP); err != nil {
			return nil, fmt.Errorf("http.json: %w", err)
		}
		found = true
	}
	if b, err := os.ReadFile(filepath.Join(dir, "commands.txt")); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if line != "" {
				r.Commands = append(r.Commands, line)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "machine.txt")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				r.Machine[k] = strings.TrimSpace(v)
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("no results in %s", dir)
	}
	return r, nil
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// parseCSV reads `benchstat -format csv` output: blocks separated by blank
// lines, each with a header naming its unit, then name,median,CI rows.
func parseCSV(b []byte, into map[string]map[string]stat) error {
	for _, block := range strings.Split(string(b), "\n\n") {
		rd := csv.NewReader(strings.NewReader(block))
		rd.FieldsPerRecord = -1
		rows, err := rd.ReadAll()
		if err != nil {
			return err
		}
		unit := ""
		for _, row := range rows {
			if len(row) < 3 {
				continue
			}
			if row[0] == "" {
				// ",sec/op,CI" names the unit; ",file,"
				// names the input.
				if row[2] == "CI" {
					unit = row[1]
				}
				continue
			}
			if unit == "" || row[0] == "geomean" {
				continue
			}
			v, err := strconv.ParseFloat(row[1], 64)
			if err != nil {
				continue
			}
			if into[unit] == nil {
				into[unit] = map[string]stat{}
			}
			into[unit][procSuffix.ReplaceAllString(row[0], "")] = stat{Median: v, CI: row[2]}
		}
	}
	return nil
}

func (r *results) ns(name string) (float64, bool) {
	s, ok := r.Bench["sec/op"][name]
	return s.Median * 1e9, ok && s.Median > 0
}

func (r *results) capacity(lib string, limit int) (capacityResult, bool) {
	for _, c := range r.Capacity {
		if c.Lib == lib && c.Limit == limit {
			return c, true
		}
	}
	return capacityResult{}, false
}

// ---- promises --------------------------------------------------------------

type promise struct {
	Name      string
	Short     string // label in the chart
	Threshold float64
	AtMost    bool // the value must not exceed Threshold (else: reach it)
	Value     float64
	OK        bool // the inputs were there
	Percent   bool // show as a percentage
}

func (p promise) Pass() bool {
	if !p.OK {
		return false
	}
	if p.AtMost {
		return p.Value <= p.Threshold
	}
	return p.Value >= p.Threshold
}

func (p promise) Show(v float64) string {
	if !p.OK {
		return "n/a"
	}
	if p.Percent {
		return fmt.Sprintf("%.1f%%", v*100)
	}
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0fx", v)
	case v >= 10:
		return fmt.Sprintf("%.1fx", v)
	default:
		return fmt.Sprintf("%.2fx", v)
	}
}

func (p promise) Rule() string {
	op := ">="
	if p.AtMost {
		op = "<="
	}
	if p.Percent {
		return fmt.Sprintf("%s %.0f%%", op, p.Threshold*100)
	}
	return fmt.Sprintf("%s %gx", op, p.Threshold)
}

func promises(r *results) []promise {
	ratio := func(num, den string) (float64, bool) {
		a, ok1 := r.ns(num)
		b, ok2 := r.ns(den)
		return a / b, ok1 && ok2
	}
	var ps []promise
	add := func(name, short string, threshold float64, atMost, percent bool, v float64, ok bool) {
		ps = append(ps, promise{Name: name, Short: short, Threshold: threshold, AtMost: atMost, Percent: percent, Value: v, OK: ok})
	}
	v, ok := ratio("CreateDestroy/lib=memguard-buffer", "CreateDestroy/lib=secretmem-pooled")
	add("pooled create+destroy vs memguard (times faster)", "pooled create+destroy, x faster than memguard", 200, false, false, v, ok)
	v, ok = ratio("CreateDestroy/lib=memguard-buffer", "CreateDestroy/lib=secretmem-guarded")
	add("guarded create+destroy vs memguard (times faster)", "guarded create+destroy, x faster than memguard", 2, false, false, v, ok)
	v, ok = ratio("Read/lib=memguard-enclave-open", "Read/lib=secretmem-sealed")
	add("sealed Use vs memguard Enclave Open+Destroy (times faster)", "sealed Use, x faster than Enclave.Open", 5, false, false, v, ok)
	a, ok1 := r.capacity("secretmem-pooled", 8<<20)
	b, ok2 := r.capacity("memguard-buffer", 8<<20)
	add("live cells at RLIMIT_MEMLOCK 8 MiB vs memguard (times more)", "cells at 8 MiB memlock, x memguard's", 50, false, false,
		float64(a.Count)/float64(b.Count), ok1 && ok2 && b.Count > 0)
	if r.HTTP != nil {
		add("HTTP req/s with the stack vs bare chi", "HTTP req/s with stack, share of bare chi", 0.95, false, true, r.HTTP.Ratio, r.HTTP.Ratio > 0)
	} else {
		add("HTTP req/s with the stack vs bare chi", "HTTP req/s with stack, share of bare chi", 0.95, false, true, 0, false)
	}
	v, ok = ratio("Log/handler=json-redacted", "Log/handler=json-bare")
	add("redactor over JSON handler vs bare (times the cost)", "redactor cost, x bare JSON handler", 1.5, true, false, v, ok)
	return ps
}

// ---- markdown --------------------------------------------------------------

func render(r, earlier *results, ps, eps []promise, svgLink, goVersion string, elapsed time.Duration) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := r.Machine
	w("# Benchmarks: secretmem against its peers\n\n")
	w("Generated by `bench/run.sh`; do not edit by hand. Each comparison below was measured\n")
	w("side by side in one run on the machine described here, so both sides shared its noise.\n")
	w("The commands that produced these figures, in order:\n\n")
	for _, c := range r.Commands {
		w("    %s\n", c)
	}
	w("\n")
	w("| | |\n|---|---|\n")
	w("| date | %s |\n", or(m["date"], time.Now().UTC().Format(time.RFC3339)))
	w("| CPU | %s |\n", or(m["cpu"], "unknown"))
	w("| cores | %s |\n", or(m["cores"], strconv.Itoa(runtime.NumCPU())))
	w("| kernel | %s |\n", or(m["kernel"], "unknown"))
	w("| Go | %s |\n", goVersion)
	w("| secretmem tree | %s |\n", or(m["tree"], "unknown"))
	w("| memguard | %s |\n", or(m["memguard"], "unknown"))
	if r.HTTP != nil {
		w("| wrk | %s |\n", r.HTTP.WrkVersion)
	}
	w("| load average before the last command | %s |\n", or(m["loadavg_start"], "unknown"))
	w("| load average after the last command | %s |\n", or(m["loadavg_end"], "unknown"))
	if elapsed > 0 {
		w("| duration of the last command | %s |\n", elapsed.Round(time.Second))
	}
	w("\nReproduce: from the repository root, `bench/run.sh` (needs Go, root for the capacity\n")
	w("children, and installs wrk from apt when missing; about 2 to 4 minutes on 2 cores).\n\n")

	w("## Promises\n\n")
	hasEarlier := false
	for _, e := range eps {
		hasEarlier = hasEarlier || e.OK
	}
	if hasEarlier {
		w("| promise | required | measured | result | earlier run |\n|---|---|---|---|---|\n")
	} else {
		w("| promise | required | measured | result |\n|---|---|---|---|\n")
	}
	for i, p := range ps {
		w("| %s | %s | %s | **%s** |", p.Name, p.Rule(), p.Show(p.Value), verdict(p))
		if hasEarlier {
			if i < len(eps) && eps[i].OK {
				w(" %s %s |", verdict(eps[i]), eps[i].Show(eps[i].Value))
			} else {
				w(" |")
			}
		}
		w("\n")
	}
	if hasEarlier {
		w("\nThe \"earlier run\" column holds the first figures of parts that were run again\n(`bench/run.sh PART`); the measured column is the rerun. Both are real runs.\n")
	}
	if a, ok := r.ns("CreateDestroyWithLogging/lib=secretmem-pooled"); ok {
		if m, ok := r.ns("CreateDestroy/lib=memguard-buffer"); ok {
			w("\nInformational, not a promise: in a process that links package logging (live-secret\n")
			w("registration on), pooled create+destroy is %s faster than memguard.\n", times(m/a))
		}
	}
	w("\n![ratios against the promised thresholds](%s)\n\n", svgLink)

	w("## Create and destroy a 32-byte secret\n\n")
	benchTable(&b, r, "CreateDestroy", "lib", []row{
		{"plain", "plain `[]byte`: make, copy, clear (the floor)"},
		{"secretmem-pooled", "secretmem `New` + `Destroy`, pooled"},
		{"secretmem-guarded", "secretmem `New(Guarded())` + `Destroy`"},
		{"secretmem-sealed", "secretmem `New(Sealed())` + `Destroy`"},
		{"memguard-buffer", "memguard `NewBufferFromBytes` + `Destroy`"},
		{"memguard-enclave", "memguard `NewEnclave` (has no Destroy; GC reclaims it)"},
	}, "CreateDestroy/lib=memguard-buffer", "memguard buffer ÷ this")
	if _, ok := r.ns("CreateDestroyWithLogging/lib=secretmem-pooled"); ok {
		w("The same secretmem cases in a process that links package logging and has a redactor,\n")
		w("as a service that logs through it does: every new cell then registers a keyed\n")
		w("fingerprint of its plaintext so the redactor can find it in log text (run in the log\n")
		w("processes; compared with memguard's figure above).\n\n")
		benchTable(&b, r, "CreateDestroyWithLogging", "lib", []row{
			{"secretmem-pooled", "secretmem `New` + `Destroy`, pooled, logging linked"},
			{"secretmem-guarded", "secretmem `New(Guarded())` + `Destroy`, logging linked"},
			{"secretmem-sealed", "secretmem `New(Sealed())` + `Destroy`, logging linked"},
		}, "CreateDestroy/lib=memguard-buffer", "memguard buffer ÷ this")
	}

	w("## Read a 32-byte secret\n\n")
	benchTable(&b, r, "Read", "lib", []row{
		{"plain", "plain `[]byte` index (the floor)"},
		{"secretmem-pooled", "secretmem `Use`, pooled"},
		{"secretmem-guarded", "secretmem `Use`, guarded (mprotect open and close)"},
		{"secretmem-sealed", "secretmem `Use`, sealed (decrypt into scratch, wipe)"},
		{"memguard-buffer-frozen", "memguard `Bytes` on a frozen `LockedBuffer`"},
		{"memguard-enclave-open", "memguard `Enclave.Open` + read + `Destroy`"},
	}, "Read/lib=memguard-enclave-open", "Enclave.Open ÷ this")

	w("## Capacity under RLIMIT_MEMLOCK\n\n")
	w("Live 32-byte secrets one unprivileged process (uid 65534, which RLIMIT_MEMLOCK binds;\n")
	w("root ignores it) holds before the library refuses. Each figure is a child process that\n")
	w("lowers its own limit with setrlimit, then creates cells until refused, printing a\n")
	w("running count; memguard panics at its limit, so its count is the last one printed.\n\n")
	w("| library | RLIMIT_MEMLOCK | live cells | bytes locked per cell | how it ended |\n|---|---|---|---|---|\n")
	for _, c := range r.Capacity {
		per := "n/a"
		if c.Count > 0 {
			per = fmt.Sprintf("%.0f", float64(c.Limit)/float64(c.Count))
		}
		end := c.End
		if c.Backend != "" {
			end += " (backend " + c.Backend + ")"
		}
		if c.Stderr != "" && strings.Contains(c.End, "died") {
			end += ": `" + truncate(c.Stderr, 90) + "`"
		}
		if c.UID != 65534 {
			end += fmt.Sprintf(" (ran as uid %d!)", c.UID)
		}
		w("| %s | %s | %d | %s | %s |\n", c.Lib, size(c.Limit), c.Count, per, strings.ReplaceAll(end, "|", "/"))
	}
	w("\n")

	w("## Logging: the redactor over slog handlers\n\n")
	w("One record of 8 attributes (strings, ints, a duration, an error), none of them secret, so\n")
	w("the redactor checks everything and changes nothing; `Handler.Handle` into `io.Discard`.\n\n")
	benchTable(&b, r, "Log", "handler", []row{
		{"json-bare", "`slog.NewJSONHandler`"},
		{"json-redacted", "`logging.Redact(slog.NewJSONHandler)`"},
		{"tint-bare", "`tint.NewTextHandler`"},
		{"tint-redacted", "`logging.Redact(tint.NewTextHandler)`"},
	}, "", "")
	if v1, ok1 := r.ns("Log/handler=json-redacted"); ok1 {
		if v0, ok0 := r.ns("Log/handler=json-bare"); ok0 {
			w("Redacted JSON costs %.2fx bare JSON", v1/v0)
		}
		if t1, ok := r.ns("Log/handler=tint-redacted"); ok {
			if t0, ok := r.ns("Log/handler=tint-bare"); ok {
				w("; redacted tint costs %.2fx bare tint", t1/t0)
			}
		}
		w(".\n\n")
	}

	w("## HTTP: chi with and without the secretmem stack\n\n")
	if h := r.HTTP; h != nil {
		w("wrk, %d threads, %d connections, %d s a run, every request with a valid bearer token,\n", h.Threads, h.Connections, h.Seconds)
		w("servers on 127.0.0.1 (separate processes, GOMAXPROCS default), rounds interleaved A B C D.\n")
		w("**bare**: chi router and a handler writing `ok`. **stack**: the same behind\n")
		w("`middleware.Logger` (slog JSON handler into io.Discard), `middleware.Tokens` and\n")
		w("`middleware.RequireBearer` with the key in a %s, as the testserver holds it.\n", h.Key)
		w("**auth** (informational): Tokens and RequireBearer without the Logger.\n")
		w("**logged** (informational): the bare router with the request log services write without\n")
		w("secretmem (chi's response wrapper and `slog.Logger.LogAttrs` into the same JSON handler).\n\n")
		w("| round | server | req/s | p50 | p75 | p90 | p99 |\n|---|---|---|---|---|---|---|\n")
		for _, x := range h.Runs {
			w("| %d | %s | %.0f | %s | %s | %s | %s |\n", x.Pair, x.Side, x.RPS, us(x.P50), us(x.P75), us(x.P90), us(x.P99))
		}
		w("\nMedian req/s: bare %.0f, stack %.0f, auth %.0f. **stack ÷ bare = %.1f%%** (per round:",
			h.BareRPS, h.StackRPS, h.AuthRPS, h.Ratio*100)
		for _, pr := range h.PairRatios {
			w(" %.1f%%", pr*100)
		}
		w("); auth ÷ bare = %.1f%%.", h.AuthRatio*100)
		if h.LoggedRPS > 0 {
			w(" logged ÷ bare = %.1f%%: a plain request log alone costs that much;"+
				" **stack ÷ logged = %.1f%%**, what secretmem costs a service that logs its requests anyway.",
				h.LoggedRatio*100, h.StackVsLog*100)
		}
		w("\n\n")
	} else {
		w("Not run.\n\n")
	}

	w("## benchstat output\n\n")
	for _, part := range []string{"cells", "log"} {
		if t := r.Text[part]; t != "" {
			w("<details><summary>%s</summary>\n\n```\n%s```\n\n</details>\n\n", part, t)
		}
	}

	w("## Method and caveats\n\n")
	w("- Go benchmarks: `-benchtime %s`, one process per round, %s rounds, so every benchmark\n", or(m["benchtime"], "?"), or(m["rounds"], "?"))
	w("  sees the same drift; medians and 95%% intervals from benchstat. Ratios use the medians.\n")
	w("- The logging benchmarks (package bench/logbench) run in a test binary of their own: once\n")
	w("  package logging is linked and a redactor exists, every new cell registers a fingerprint,\n")
	w("  which would change the create+destroy figures of package bench, which does not link it.\n")
	w("- The capacity children and the HTTP servers do not link package logging either.\n")
	w("- The machine is shared (other work ran during this run; see the load averages), so\n")
	w("  absolute numbers carry noise; each comparison was measured side by side to cancel it.\n")
	if earlier != nil {
		w("- Some parts were run again; see the \"earlier run\" column above.\n")
	}
	return b.Bytes()
}

type row struct{ key, label string }

// benchTable writes one table of benchmark medians; base names the
// benchmark each row is compared with ("" for none).
func benchTable(b *bytes.Buffer, r *results, bench, dim string, rows []row, base, baseLabel string) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if baseLabel != "" {
		w("| | time/op | ± | B/op | allocs/op | %s |\n|---|---|---|---|---|---|\n", baseLabel)
	} else {
		w("| | time/op | ± | B/op | allocs/op |\n|---|---|---|---|---|\n")
	}
	baseNS, haveBase := r.ns(base)
	for _, x := range rows {
		name := bench + "/" + dim + "=" + x.key
		s, ok := r.Bench["sec/op"][name]
		if !ok {
			continue
		}
		bop := r.Bench["B/op"][name]
		aop := r.Bench["allocs/op"][name]
		w("| %s | %s | %s | %.0f | %.0f |", x.label, dur(s.Median), s.CI, bop.Median, aop.Median)
		if baseLabel != "" {
			if haveBase && s.Median > 0 {
				w(" %s |", times(baseNS/(s.Median*1e9)))
			} else {
				w(" |")
			}
		}
		w("\n")
	}
	w("\n")
}

func times(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0fx", v)
	case v >= 10:
		return fmt.Sprintf("%.1fx", v)
	default:
		return fmt.Sprintf("%.2fx", v)
	}
}

func dur(sec float64) string {
	ns := sec * 1e9
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.1f ns", ns)
	}
}

func us(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f ms", v/1000)
	}
	return fmt.Sprintf("%.0f µs", v)
}

func size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ---- chart -----------------------------------------------------------------

// chart draws one bar per promise on a log scale, from 1x to the measured
// ratio, with the promised threshold as a dashed mark: green bars keep the
// promise, red ones break it.
func chart(ps []promise) []byte {
	const (
		width, left, right = 860.0, 330.0, 90.0
		top, rowH, barH    = 56.0, 44.0, 22.0
	)
	lo, hi := 1.0, 1.0
	for _, p := range ps {
		for _, v := range []float64{p.Value, p.Threshold} {
			if v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	lo = math.Pow(10, math.Floor(math.Log10(lo*0.8)))
	hi = math.Pow(10, math.Ceil(math.Log10(hi*1.25)))
	plotW := width - left - right
	x := func(v float64) float64 {
		v = math.Max(lo, math.Min(hi, v))
		return left + plotW*(math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))
	}
	height := top + rowH*float64(len(ps)) + 46
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="13">`+"\n", width, height, width, height)
	w(`<rect width="100%%" height="100%%" fill="#fff"/>` + "\n")
	w(`<text x="%.0f" y="24" font-size="16" font-weight="bold">secretmem: measured ratios against the promised thresholds</text>`+"\n", 12.0)
	w(`<text x="%.0f" y="42" fill="#555">log scale; bars start at 1x; dashed mark = threshold; green keeps the promise, red breaks it</text>`+"\n", 12.0)
	for d := lo; d <= hi*1.0001; d *= 10 {
		xx := x(d)
		w(`<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#ddd"/>`+"\n", xx, top-6, xx, top+rowH*float64(len(ps)))
		w(`<text x="%.1f" y="%.0f" text-anchor="middle" fill="#555">%sx</text>`+"\n", xx, top+rowH*float64(len(ps))+18, strconv.FormatFloat(d, 'g', -1, 64))
	}
	w(`<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#333"/>`+"\n", x(1), top-6, x(1), top+rowH*float64(len(ps)))
	for i, p := range ps {
		y := top + rowH*float64(i)
		w(`<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-10, y+barH/2+5, escape(p.Short))
		colour := "#2e7d32"
		if !p.Pass() {
			colour = "#c62828"
		}
		if p.OK && p.Value > 0 {
			x0, x1 := x(1), x(p.Value)
			if x1 < x0 {
				x0, x1 = x1, x0
			}
			w(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.0f" fill="%s"/>`+"\n", x0, y, math.Max(x1-x0, 1), barH, colour)
			w(`<text x="%.1f" y="%.1f">%s %s</text>`+"\n", math.Max(x(p.Value), x(1))+6, y+barH/2+5, escape(p.Show(p.Value)), verdict(p))
		} else {
			w(`<text x="%.1f" y="%.1f" fill="#c62828">not measured</text>`+"\n", x(1)+6, y+barH/2+5)
		}
		tx := x(p.Threshold)
		w(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000" stroke-width="2" stroke-dasharray="4,3"/>`+"\n", tx, y-4, tx, y+barH+4)
		w(`<text x="%.1f" y="%.1f" font-size="11" fill="#333" text-anchor="middle">%s</text>`+"\n", tx, y+barH+15, escape(p.Rule()))
	}
	w("</svg>\n")
	return b.Bytes()
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
