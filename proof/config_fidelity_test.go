//go:build linux

package proof

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// yamlResidue is the most copies of one YAML secret a dump taken right
// after start-up may hold: the token buffer yaml.v3's scanner frees
// unwiped, and up to two strconv errors (int, uint) for a scalar it tries
// to read as a number. Measured at 1 to 3; the old loader left up to 6.
const yamlResidue = 3

// TestSecretsWrittenTheHardWayLeaveNoCopy gives the testserver, in each
// configuration format, secrets written the way parsers like to change
// or copy: numbers with leading zeros and more digits than int64 holds,
// timestamps, floats with exponents, and strings whose text exists only
// once unescaped (a character of the marker is written as an escape, so
// only a parser's output, never the file, holds the marker). Each path
// such a secret takes (yaml.v3's node tree, the JSON value slices, the
// TOML syntax pass and its blanked copy, the .env scanner) must leave no
// copy in a core dump, except what yaml.v3 itself drops (yamlResidue).
// The dumps are taken right after start-up, before any request churns the
// heap and reuses what the parsers freed.
func TestSecretsWrittenTheHardWayLeaveNoCopy(t *testing.T) {
	heavy(t)
	// What the parsers leave is the same on either memory backend (the
	// cells are out of every dump on both): the default one is enough.
	for _, format := range []string{"yaml", "json", "toml", "env"} {
		t.Run(format, func(t *testing.T) {
			proveFidelity(t, format)
		})
	}
}

// hardSecrets writes a configuration file in format with secrets of
// every awkward kind. Secrets that can hold a marker are registered in ms;
// the others (numbers, timestamps) are returned as needles, key -> text.
func hardSecrets(t *testing.T, path, format string, ms *markerSet) map[string]string {
	t.Helper()
	digits := func(n int) string {
		var b strings.Builder
		for range n {
			d, _ := rand.Int(rand.Reader, big.NewInt(10))
			b.WriteByte(byte('0' + d.Int64()))
		}
		return b.String()
	}
	// escaped writes the marker with its first character as an escape.
	escaped := func(m, esc string) string { return esc + m[1:] }
	needles := map[string]string{}
	var body string
	switch format {
	case "yaml":
		needles["fidelity.secret_octal"] = "00" + digits(24)
		needles["fidelity.secret_stamp"] = "2031-07-19T21:59:43." + digits(9) + "+02:00"
		needles["fidelity.secret_float"] = "6." + digits(20) + "E+23"
		body = "api_name: proof\nfidelity:\n" +
			"  secret_octal: " + needles["fidelity.secret_octal"] + "\n" +
			"  secret_stamp: " + needles["fidelity.secret_stamp"] + "\n" +
			"  secret_float: " + needles["fidelity.secret_float"] + "\n" +
			"  secret_escaped: \"" + escaped(ms.secret("fidelity.secret_escaped"), `\x50`) + "\\t\"\n" +
			"  secret_single: '" + ms.secret("fidelity.secret_single") + "'\n" +
			"  secret_block: |\n    " + ms.secret("fidelity.secret_block") + "\n" +
			"  secret_plain: " + ms.secret("fidelity.secret_plain") + "\n" +
			"  secret_digits: 9" + ms.secret("fidelity.secret_digits") + "\n"
	case "json":
		needles["fidelity.secret_number"] = "9" + digits(29)
		needles["fidelity.secret_float"] = "1." + digits(20) + "e-7"
		body = `{"api_name": "proof", "fidelity": {` +
			`"secret_number": ` + needles["fidelity.secret_number"] + `, ` +
			`"secret_float": ` + needles["fidelity.secret_float"] + `, ` +
			`"secret_escaped": "` + escaped(ms.secret("fidelity.secret_escaped"), `\u0050`) + `\n", ` +
			`"secret_plain": "` + ms.secret("fidelity.secret_plain") + `"}}` + "\n"
	case "toml":
		needles["fidelity.secret_integer"] = "9" + digits(24)
		needles["fidelity.secret_stamp"] = "1979-05-27T07:32:00." + digits(9) + "Z"
		body = "api_name = \"proof\"\n[fidelity]\n" +
			"secret_integer = " + needles["fidelity.secret_integer"] + "\n" +
			"secret_stamp = " + needles["fidelity.secret_stamp"] + "\n" +
			"secret_escaped = \"" + escaped(ms.secret("fidelity.secret_escaped"), `\u0050`) + "\\t\"\n" +
			"secret_literal = '" + ms.secret("fidelity.secret_literal") + "'\n"
	case "env":
		needles["FIDELITY_SECRET_NUMBER"] = "00" + digits(24)
		body = "API_NAME=proof\n" +
			"FIDELITY_SECRET_NUMBER=" + needles["FIDELITY_SECRET_NUMBER"] + "\n" +
			"FIDELITY_SECRET_ESCAPED=\"" + escaped(ms.secret("FIDELITY_SECRET_ESCAPED"), `\P`) + "\\t\"\n" +
			"FIDELITY_SECRET_SINGLE='" + ms.secret("FIDELITY_SECRET_SINGLE") + "'\n"
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return needles
}

func proveFidelity(t *testing.T, format string) {
	dir := t.TempDir()
	ms := newMarkerSet()
	env, args := provision(t, dir, ms, fileSources[0])
	// The file provision wrote is not loaded: its markers prove nothing.
	delete(ms.config, "filesecret.password")
	delete(ms.config, "filesecret.token")
	cfg := filepath.Join(dir, "fidelity."+format)
	needles := hardSecrets(t, cfg, format, ms)
	args[1] = cfg
	p := start(t, testserver, dir, append(env, "GOTRACEBACK=crash"), args...)
	var st debugSecrets
	if err := p.get("/debug/secrets", &st); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("hard-written secrets %s %s", st.Backend, format)
	var shown map[string]any
	if err := p.get("/config", &shown); err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprint(shown)
	for k, m := range ms.config {
		if strings.Contains(page, m) {
			t.Errorf("/config shows %s", k)
		}
	}
	for k, n := range needles {
		if strings.Contains(page, n) {
			t.Errorf("/config shows %s", k)
		}
	}
	if strings.Count(page, "[REDACTED]") < len(needles) {
		t.Errorf("/config redacts fewer keys than there are secrets: %s", page)
	}

	dumps := map[string]func() (string, error){}
	if gdb, err := exec.LookPath("gdb"); err == nil {
		dumps["gcore"] = func() (string, error) { return gcore(gdb, p.Pid(), dir) }
	} else {
		recordInfo(t, "gcore: "+name, "skipped", "gdb not found")
	}
	for _, kind := range []string{"gcore", "kernel core (SIGABRT)"} {
		dump := dumps[kind]
		if kind != "gcore" {
			if why := kernelCoreReady(); why != "" {
				recordInfo(t, kind+": "+name, "skipped", why)
				continue
			}
			dump = func() (string, error) { return kernelCore(p, dir) }
		}
		if dump == nil {
			continue
		}
		path, err := dump()
		if err != nil {
			t.Errorf("%s: %v", kind, err)
			continue
		}
		tl, err := scanFile(path, ms)
		if err != nil {
			t.Fatal(err)
		}
		counts, err := countNeedles(path, needles)
		_ = os.Remove(path)
		if err != nil {
			t.Fatal(err)
		}
		copies, keys := tl.configCopies()
		for k, c := range counts {
			if c > 0 {
				copies += c
				keys = append(keys, fmt.Sprintf("%s=%d", k, c))
			}
		}
		found := fmt.Sprintf("%d copies of %d secrets", copies, len(ms.config)+len(needles))
		if len(keys) > 0 {
			found += " (" + strings.Join(keys, " ") + ")"
		}
		if format != "yaml" {
			record(t, kind+": "+name, "0 copies", found, copies == 0)
			if copies != 0 {
				t.Errorf("%s: %s", kind, found)
			}
			continue
		}
		// yaml.v3 drops each scalar's token buffer unwiped once the
		// parser moved on, and strconv clones a scalar it fails to read
		// as a number into the error it drops: neither is in reach (see
		// the package doc). Copies beyond those are a regression.
		worst := 0
		for _, c := range tl.config {
			worst = max(worst, c)
		}
		for _, c := range counts {
			worst = max(worst, c)
		}
		record(t, kind+": "+name, "<= "+fmt.Sprint(yamlResidue)+" per secret (yaml.v3's freed buffers, strconv errors)", found, worst <= yamlResidue)
		if worst > yamlResidue {
			t.Errorf("%s: %s, more than yaml.v3's own leftovers", kind, found)
		}
	}
}

// countNeedles counts each needle in a file, streaming it: a needle
// across two chunks is counted once.
func countNeedles(path string, needles map[string]string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	longest := 0
	for _, n := range needles {
		longest = max(longest, len(n))
	}
	counts := make(map[string]int, len(needles))
	buf := make([]byte, 8<<20)
	have := 0
	for {
		n, err := io.ReadFull(f, buf[have:])
		end := have + n
		last := err != nil
		limit := max(end-(longest-1), 0)
		if last {
			limit = end
		}
		for k, needle := range needles {
			nb := []byte(needle)
			for off := 0; off < limit; {
				i := bytes.Index(buf[off:end], nb)
				if i < 0 || off+i >= limit {
					break
				}
				counts[k]++
				off += i + 1
			}
		}
		if last {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return counts, nil
			}
			return nil, err
		}
		have = copy(buf, buf[limit:end])
	}
}

// The needle counter streams too: a needle across the chunk boundary
// counts once, a truncated one not at all.
func TestTheNeedleCounterCountsEachNeedleOnce(t *testing.T) {
	chunk := 8 << 20
	b := bytes.Repeat([]byte{'x'}, 2*chunk)
	const n1, n2 = "001234567890123456789012", "2031-07-19T21:59:43.123456789+02:00"
	copy(b[10:], n1)
	copy(b[chunk-7:], n1) // straddles the boundary
	copy(b[2*chunk-len(n2):], n2)
	copy(b[chunk+100:], n2[:len(n2)-1]) // truncated
	path := filepath.Join(t.TempDir(), "core")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := countNeedles(path, map[string]string{"a": n1, "b": n2})
	if err != nil {
		t.Fatal(err)
	}
	if got["a"] != 2 || got["b"] != 1 {
		t.Errorf("counted %v, want a=2 b=1", got)
	}
}
