// Command capacity counts how many live 32-byte secrets an unprivileged
// process can hold under a given RLIMIT_MEMLOCK, for secretmem and memguard.
//
// Run as root without arguments, it starts one child per library and limit,
// as uid/gid 65534 (root ignores RLIMIT_MEMLOCK), and writes a JSON summary
// to stdout. Each child lowers its own RLIMIT_MEMLOCK with setrlimit, then
// creates cells until the library refuses, printing a running count after
// every cell. memguard panics (or may deadlock) when mlock fails, so the
// parent takes the last count a child printed and treats its death, or a
// stall, as the end.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/awnumar/memguard"
	"golang.org/x/sys/unix"

	"github.com/secretmem/secretmem/secret"
)

// maxCells bounds every child's loop: far above what 8 MiB can hold for any
// of the libraries (secretmem needs 40 bytes a cell, so about 210,000).
const maxCells = 4 << 20

// Result is one child's outcome.
type Result struct {
	Lib     string  `json:"lib"`
	Limit   int     `json:"limit_bytes"`
	Count   int     `json:"count"`
	End     string  `json:"end"`     // how the child stopped
	Backend string  `json:"backend"` // secretmem's memory backend, if reported
	Locked  int     `json:"locked"`  // secretmem's locked bytes at the end, if reported
	Seconds float64 `json:"seconds"` // wall time of the child
	UID     int     `json:"uid"`     // the uid the child reported running as
	Stderr  string  `json:"stderr,omitempty"`
}

var libs = []string{"secretmem-pooled", "secretmem-guarded", "memguard-buffer"}

func main() {
	child := flag.Bool("child", false, "run as a counting child (internal)")
	lib := flag.String("lib", "", "child: library to fill ("+strings.Join(libs, ", ")+")")
	limit := flag.Int("limit", 0, "child: RLIMIT_MEMLOCK in bytes")
	limits := flag.String("limits", "65536,8388608", "parent: comma-separated RLIMIT_MEMLOCK values in bytes")
	uid := flag.Int("uid", 65534, "parent: uid and gid of the children")
	stall := flag.Duration("stall", 5*time.Second, "parent: a child that prints nothing for this long is killed")
	timeout := flag.Duration("timeout", 90*time.Second, "parent: longest a child may run")
	flag.Parse()
	if *child {
		os.Exit(runChild(*lib, *limit))
	}
	var results []Result
	for _, ls := range strings.Split(*limits, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(ls))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "capacity: bad limit %q\n", ls)
			os.Exit(2)
		}
		for _, l := range libs {
			r := runParent(l, n, *uid, *stall, *timeout)
			fmt.Fprintf(os.Stderr, "capacity: %-18s limit %8d B: %7d cells (%s, %.1fs)\n", r.Lib, r.Limit, r.Count, r.End, r.Seconds)
			results = append(results, r)
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, "capacity:", err)
		os.Exit(1)
	}
}

func runParent(lib string, limit, uid int, stall, timeout time.Duration) Result {
	res := Result{Lib: lib, Limit: limit}
	self, err := os.Executable()
	if err != nil {
		res.End = "cannot find own executable: " + err.Error()
		return res
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, "-child", "-lib", lib, "-limit", strconv.Itoa(limit))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	cmd.Dir = "/"
	var stderr strings.Builder
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4096}
	out, err := cmd.StdoutPipe()
	if err != nil {
		res.End = err.Error()
		return res
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		res.End = "start: " + err.Error()
		return res
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	stalled := false
	timer := time.NewTimer(stall)
	defer timer.Stop()
read:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				break read
			}
			parseLine(&res, line)
			timer.Reset(stall)
		case <-timer.C:
			// A child that stops printing without exiting is stuck (memguard
			// can deadlock when mlock fails): end it, by its own pid.
			stalled = true
			_ = cmd.Process.Kill()
			for range lines {
			}
			break read
		}
	}
	werr := cmd.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.Stderr = firstLines(stderr.String(), 3)
	switch {
	case stalled:
		res.End = fmt.Sprintf("stalled (no output for %s), killed", stall)
	case ctx.Err() != nil:
		res.End = fmt.Sprintf("timed out after %s, killed", timeout)
	case res.End != "":
		// the child said why it stopped
		if werr != nil {
			res.End += "; " + werr.Error()
		}
	case werr != nil:
		res.End = "died: " + werr.Error()
	default:
		res.End = "exited without saying why"
	}
	return res
}

// parseLine reads one line of a child's stdout: a bare number is the running
// count; "# key value" lines carry metadata.
func parseLine(res *Result, line string) {
	if n, err := strconv.Atoi(line); err == nil {
		res.Count = n
		return
	}
	key, val, _ := strings.Cut(strings.TrimPrefix(line, "# "), " ")
	switch key {
	case "end":
		res.End = val
	case "backend":
		res.Backend = val
	case "locked":
		res.Locked, _ = strconv.Atoi(val)
	case "uid":
		res.UID, _ = strconv.Atoi(val)
	}
}

func firstLines(s string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && len(out) < n {
			out = append(out, l)
		}
	}
	return strings.Join(out, " | ")
}

type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		q := p
		if len(q) > l.n {
			q = q[:l.n]
		}
		l.n -= len(q)
		_, _ = l.w.Write(q)
	}
	return len(p), nil
}

// runChild fills one library until it refuses. Every count goes straight to
// stdout with its own write, so a panic loses nothing already counted.
func runChild(lib string, limit int) int {
	lim := unix.Rlimit{Cur: uint64(limit), Max: uint64(limit)}
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &lim); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		return 2
	}
	say := func(format string, args ...any) { _, _ = fmt.Fprintf(os.Stdout, format+"\n", args...) }
	say("# uid %d", os.Getuid())
	pattern := []byte("0123456789abcdef0123456789abcdef")
	src := make([]byte, len(pattern))
	switch lib {
	case "secretmem-pooled", "secretmem-guarded":
		var opts []secret.Option
		if lib == "secretmem-guarded" {
			opts = append(opts, secret.Guarded())
		}
		live := make([]secret.Value, 0, 1024)
		for len(live) < maxCells {
			copy(src, pattern)
			v, err := secret.New(src, opts...)
			if err != nil {
				st := secret.Stats()
				say("# backend %s", st.Backend)
				say("# locked %d", st.LockedBytes)
				if errors.Is(err, secret.ErrMemoryLock) {
					say("# end returned ErrMemoryLock")
				} else {
					say("# end returned %v", err)
				}
				return 0
			}
			live = append(live, v)
			say("%d", len(live))
		}
		say("# end reached the loop bound")
	case "memguard-buffer":
		live := make([]*memguard.LockedBuffer, 0, 1024)
		for len(live) < maxCells {
			copy(src, pattern)
			live = append(live, memguard.NewBufferFromBytes(src))
			say("%d", len(live))
		}
		say("# end reached the loop bound")
	default:
		fmt.Fprintln(os.Stderr, "unknown -lib", lib)
		return 2
	}
	return 0
}
