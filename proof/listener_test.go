//go:build linux

package proof

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestListenerLeavesNoTokenInADump counts the bearer tokens a dump holds
// after the usual load (2,000 distinct tokens over 4 keep-alive
// connections), with middleware.Listener and without it. Without it,
// net/http's read buffer keeps the last token of each open connection;
// with it, net/http never reads a token, and no copy may remain outside
// saved register state.
func TestListenerLeavesNoTokenInADump(t *testing.T) {
	heavy(t)
	for _, c := range []struct {
		name     string
		args     []string
		listener bool
	}{
		{"with the listener", nil, true},
		{"without the listener", []string{"-credential-listener=false"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			ms := newMarkerSet()
			env, args := provision(t, dir, ms, fileSources[0])
			ms.makeTokens(tokenCount)
			p := start(t, testserver, dir, append(env, "GOTRACEBACK=crash"), append(args, c.args...)...)
			res, closeConns, err := load(p, ms, ms.config["api.key"], conns, validEvery)
			if err != nil {
				t.Fatal(err)
			}
			defer closeConns()
			if res.unexpected != 0 || res.firstError != nil || res.requests < tokenCount {
				t.Fatalf("load: %d requests, %d unexpected, first error %v", res.requests, res.unexpected, res.firstError)
			}
			gdb, err := exec.LookPath("gdb")
			if err != nil {
				t.Skip("gdb not found")
			}
			core, err := gcore(gdb, p.Pid(), dir)
			if err != nil {
				t.Fatal(err)
			}
			tl, err := scanFile(core, ms)
			_ = os.Remove(core)
			if err != nil {
				t.Fatal(err)
			}
			copies, keys := tl.configCopies()
			found := fmt.Sprintf("tokens %d copies of %d/%d distinct (%d in saved registers), config %d copies",
				tl.tokenCopies, tl.distinctTokens, tokenCount, tl.tokensInRegs, copies)
			if copies > 0 {
				// Which key, and where: the clients send api.key as a
				// bearer token too (every tenth request).
				found += fmt.Sprintf(" (%s; %d in saved registers)", strings.Join(keys, " "), tl.configInRegs)
			}
			found += fmt.Sprintf("; %d requests on %d connections", res.requests, conns)
			test := "gcore, tokens after the load, " + c.name
			if !c.listener {
				recordInfo(t, test, "the comparison: net/http's read buffers and header strings keep them", found)
				return
			}
			extra := tl.tokenCopies - min(tl.tokensInRegs, maxTokensInRegs)
			ok := extra == 0 && copies == 0
			if !ok {
				t.Errorf("%s: %s", test, found)
			}
			record(t, test, fmt.Sprintf("tokens 0 (+ <= %d in saved registers), config 0", maxTokensInRegs), found, ok)
		})
	}
}
