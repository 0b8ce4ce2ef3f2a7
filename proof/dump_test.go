//go:build linux

package proof

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/secretmem/secretmem/internal/procmaps"
)

// The load every run gets: at least 2,000 distinct invalid bearer tokens
// over a few keep-alive connections, and a request with the valid key after
// every tenth of them.
const (
	tokenCount = 2000
	conns      = 4
	validEvery = 10
)

// maxTokensInRegs bounds the token copies found in saved register state
// (see inSavedRegisters), the only token copies allowed: the testserver
// serves through middleware.Listener, so net/http's connection read
// buffers never hold a token (TestListenerLeavesNoTokenInADump measures
// the same server without it).
// They were the unexplained "fifth token" of earlier runs, about one run in
// twenty, always at page offset 0x703 inside an FXSAVE area: a signal (most
// often the runtime's preemption signal) that arrives while a copy or a
// scan holds request bytes in SSE/AVX registers makes the kernel save
// those registers on the thread's signal stack, and they stay there until
// the next signal on that thread. The signal stacks belong to the Go
// runtime, out of a library's reach; each OS thread holds one such frame
// at most. Any other token copy fails.
const maxTokensInRegs = 2

// parserSlack is how many copies of a secret that came from a parsed
// configuration file may survive. It was 2 while the YAML decoder's raw and
// decoded buffers were freed unwiped (about one run in forty found the
// whole file in both); config.YAML now wipes them, and no copy is allowed.
const parserSlack = 0

// A backend is a memory backend the testserver is forced onto.
type backend struct {
	name string // what /debug/secrets reports
	env  []string
}

var (
	memfd = backend{"memfd_secret", nil}
	mlock = backend{"mlock", []string{"SECRETMEM_DISABLE_MEMFD_SECRET=1"}}
	none  = backend{"none", nil} // the baseline: plain Go strings
)

// TestSecretsStayOutOfDumpsAndLiveMemory is the dump test and the live
// memory test of issue 8. For each server and backend, and each config
// file format, it hands the server secrets through every source at once,
// sends it the token load, and then counts every marker in the server's
// live memory (/proc/PID/mem), in a gdb gcore dump, and in the kernel's
// core dump after SIGABRT.
func TestSecretsStayOutOfDumpsAndLiveMemory(t *testing.T) {
	heavy(t)
	runs := []struct {
		srv server
		be  backend
	}{
		{testserver, memfd},
		{testserver, mlock},
		{baseline, none},
	}
	for _, r := range runs {
		for _, src := range fileSources {
			t.Run(r.srv.name+"/"+r.be.name+"/"+strings.TrimPrefix(src.ext, "."), func(t *testing.T) {
				proveRun(t, r.srv, r.be, src)
			})
		}
	}
}

func proveRun(t *testing.T, srv server, be backend, src source) {
	name := fmt.Sprintf("%s %s %s", srv.name, be.name, src.ext)
	dir := t.TempDir()
	ms := newMarkerSet()
	env, args := provision(t, dir, ms, src)
	ms.makeTokens(tokenCount)
	env = append(env, be.env...)
	env = append(env, "GOTRACEBACK=crash")
	p := start(t, srv, dir, env, args...)
	protected := srv == testserver
	if protected {
		var st debugSecrets
		if err := p.get("/debug/secrets", &st); err != nil {
			t.Fatal(err)
		}
		if st.Backend != be.name {
			t.Skipf("the testserver's backend is %q, not %q (kernel without memfd_secret?)", st.Backend, be.name)
		}
	}

	res, closeConns, err := load(p, ms, ms.config["api.key"], conns, validEvery)
	if err != nil {
		t.Fatal(err)
	}
	defer closeConns()
	loadOK := res.unexpected == 0 && res.firstError == nil && res.requests >= tokenCount
	found := fmt.Sprintf("%d requests (%d valid) on %d connections, %d unexpected", res.requests, res.valid, conns, res.unexpected)
	if res.firstError != nil {
		found += "; first error: " + res.firstError.Error()
	}
	record(t, "load: "+name, fmt.Sprintf(">= %d requests, 0 unexpected statuses", tokenCount), found, loadOK)
	if !loadOK {
		t.Errorf("load: %s", found)
	}

	// Live memory first: gcore and the kernel dump come after, and the
	// kernel's ends the process.
	live, err := readLive(p.Pid(), ms)
	switch {
	case errors.Is(err, errNoAccess):
		recordInfo(t, "live /proc/PID/mem: "+name, "skipped", err.Error())
	case err != nil:
		t.Errorf("reading live memory: %v", err)
	default:
		judge(t, "live /proc/PID/mem: "+name, srv, be, live.tally, true,
			fmt.Sprintf("; %d of %d regions read, refused: %s", live.read, live.regions, live.refusedSummary()))
		if protected && be.name == memfd.name && !refusedSecretmem(live.refused) {
			t.Errorf("live memory: no /secretmem mapping was refused (refused: %s)", live.refusedSummary())
		}
	}

	if gdb, err := exec.LookPath("gdb"); err != nil {
		recordInfo(t, "gcore: "+name, "skipped", "gdb not found")
	} else if path, err := gcore(gdb, p.Pid(), dir); err != nil {
		t.Errorf("gcore: %v", err)
	} else {
		tl, err := scanFile(path, ms)
		if err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(path)
		judge(t, "gcore: "+name, srv, be, tl, false, fmt.Sprintf("; %d MiB core", tl.bytes>>20))
	}

	if why := kernelCoreReady(); why != "" {
		recordInfo(t, "kernel core (SIGABRT): "+name, "skipped", why)
	} else if path, err := kernelCore(p, dir); err != nil {
		t.Errorf("kernel core: %v", err)
	} else {
		tl, err := scanFile(path, ms)
		if err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(path)
		judge(t, "kernel core (SIGABRT): "+name, srv, be, tl, false, fmt.Sprintf("; %d MiB core", tl.bytes>>20))
	}
}

func refusedSecretmem(refused []procmaps.Mapping) bool {
	for _, m := range refused {
		if strings.Contains(m.Path, "secretmem") {
			return true
		}
	}
	return false
}

// judge records one measurement and fails the test when the testserver
// holds more than it may. The baseline is reported, never judged.
func judge(t *testing.T, test string, srv server, be backend, tl tally, live bool, extra string) {
	t.Helper()
	copies, keys := tl.configCopies()
	found := fmt.Sprintf("config %d copies", copies)
	if len(keys) > 0 {
		found += fmt.Sprintf(" (%s; %d in saved registers)", strings.Join(keys, " "), tl.configInRegs)
	}
	found += fmt.Sprintf(", tokens %d copies of %d/%d distinct", tl.tokenCopies, tl.distinctTokens, tokenCount)
	if tl.tokensInRegs > 0 {
		found += fmt.Sprintf(" (%d in saved registers)", tl.tokensInRegs)
	}
	found += fmt.Sprintf(", %d fragments", tl.fragments)
	found += extra
	if srv != testserver {
		recordInfo(t, test, "no protection (comparison)", found)
		return
	}
	inRegs := min(tl.tokensInRegs, maxTokensInRegs)
	maxTokens := inRegs
	// Root reads mlock'd memory through /proc/PID/mem: with that backend
	// each config secret's own cell is there, once. memfd_secret pages
	// cannot be read, and no dump contains either kind.
	cellReadable := live && be.name == mlock.name
	own := 0
	tokensExpected := fmt.Sprintf("tokens 0 (+ <= %d in saved registers)", maxTokensInRegs)
	configExpected := "config 0"
	if cellReadable {
		own = 1
		configExpected = "config <= 1 per key, its mlock'd cell"
	}
	if parserSlack > 0 {
		configExpected += fmt.Sprintf(" (file-parsed <= %d more)", parserSlack)
	}
	expected := configExpected + ", " + tokensExpected
	ok := true
	for k, c := range tl.config {
		allowed := own
		if strings.HasPrefix(k, "filesecret.") {
			allowed += parserSlack
		}
		if c > allowed {
			ok = false
			t.Errorf("%s: %d copies of %s, at most %d allowed", test, c, k, allowed)
		}
	}
	if tl.tokenCopies > maxTokens {
		ok = false
		t.Errorf("%s: %d token copies (%d in saved registers), at most %d allowed (up to %d in saved registers, none elsewhere)",
			test, tl.tokenCopies, tl.tokensInRegs, maxTokens, maxTokensInRegs)
	}
	record(t, test, expected, found, ok)
}
