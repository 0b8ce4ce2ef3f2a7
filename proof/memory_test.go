//go:build linux

package proof

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/secretmem/secretmem/internal/coredump"
	"github.com/secretmem/secretmem/internal/procmaps"
)

// maxRegion bounds what the live reader reads of one mapping. Go reserves
// address space it has not used yet; nothing larger than this is read.
const maxRegion = 1 << 30

// liveResult is what reading a process's memory through /proc/PID/mem
// found.
type liveResult struct {
	tally
	regions  int
	read     int
	refused  []procmaps.Mapping // reads failed with an error (EIO for memfd_secret)
	tooLarge int
}

// refusedSummary names the refused mappings, grouped.
func (r liveResult) refusedSummary() string {
	if len(r.refused) == 0 {
		return "none"
	}
	count := map[string]int{}
	for _, m := range r.refused {
		n := m.Path
		if n == "" {
			n = "anonymous " + m.Perms
		}
		count[n]++
	}
	var parts []string
	for n, c := range count {
		parts = append(parts, fmt.Sprintf("%s x%d", n, c))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// errNoAccess means this process may not read the target's memory.
var errNoAccess = errors.New("no access to /proc/PID/mem")

// readLive reads every mapping of pid through /proc/PID/mem, the way root
// (or a ptrace-capable attacker) would, and counts ms's markers region by
// region. PROT_NONE mappings are read too: /proc/PID/mem forces access,
// and an idle guarded cell is PROT_NONE.
func readLive(pid int, ms *markerSet) (liveResult, error) {
	maps, err := procmaps.Read(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return liveResult{}, err
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return liveResult{}, fmt.Errorf("%w: %v", errNoAccess, err)
		}
		return liveResult{}, err
	}
	defer f.Close()
	sc := newScanner(ms)
	var res liveResult
	buf := make([]byte, 0, 64<<20)
	for _, m := range maps {
		res.regions++
		size := m.Hi - m.Lo
		if size > maxRegion || m.Lo >= 1<<63 {
			res.tooLarge++ // [vsyscall] sits above the int64 offsets ReadAt takes
			continue
		}
		if uint64(cap(buf)) < size {
			buf = make([]byte, 0, size)
		}
		b := buf[:size]
		n, err := f.ReadAt(b, int64(m.Lo))
		if n > 0 {
			sc.scan(b[:n])
		}
		if err != nil {
			res.refused = append(res.refused, m)
			continue
		}
		res.read++
	}
	res.tally = sc.tally()
	return res, nil
}

// gcore dumps pid with gdb's gcore into dir and returns the core's path.
func gcore(gdb string, pid int, dir string) (string, error) { return coredump.Gcore(gdb, pid, dir) }

// kernelCoreReady reports why the kernel cannot leave a core file where
// the proof looks for it (in the process's working directory), or "".
func kernelCoreReady() string {
	b, err := os.ReadFile("/proc/sys/kernel/core_pattern")
	if err != nil {
		return "cannot read core_pattern: " + err.Error()
	}
	p := strings.TrimSpace(string(b))
	if strings.HasPrefix(p, "|") || strings.Contains(p, "/") || strings.Contains(p, "%") {
		return "core_pattern " + strconv.Quote(p) + " does not write a plain file in the working directory"
	}
	return ""
}

// kernelCore makes p die of SIGABRT with GOTRACEBACK=crash (set at its
// start) and RLIMIT_CORE raised, and returns the path of the kernel's core.
func kernelCore(p *process, dir string) (string, error) {
	lim := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	if err := unix.Prlimit(p.Pid(), unix.RLIMIT_CORE, &lim, nil); err != nil {
		return "", fmt.Errorf("raising RLIMIT_CORE: %w", err)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGABRT); err != nil {
		return "", err
	}
	select {
	case <-p.Exited():
	case <-time.After(2 * time.Minute):
		return "", errors.New("no exit 2 minutes after SIGABRT")
	}
	b, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	base := strings.TrimSpace(string(b))
	for _, name := range []string{base + "." + strconv.Itoa(p.Pid()), base} {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("no core file after SIGABRT (exit: %v)", p.Err())
}

// scanFile counts ms's markers in a file, streaming it: cores run to
// gigabytes.
func scanFile(path string, ms *markerSet) (tally, error) {
	sc := newScanner(ms)
	n, err := streamFile(path, sc.markerLen(), sc.scanStarts)
	sc.bytes = n
	if err != nil {
		return tally{}, err
	}
	return sc.tally(), nil
}

// streamFile hands a file to scan in chunks: scan counts what starts in
// b[:limit], and the bytes after limit come again at the start of the
// next chunk, so a needle of up to longest bytes is seen whole once.
func streamFile(path string, longest int, scan func(b []byte, limit int)) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	keep := longest - 1
	buf := make([]byte, 8<<20)
	have := 0 // bytes carried over from the previous chunk
	var total int64
	for {
		n, err := io.ReadFull(f, buf[have:])
		total += int64(n)
		end := have + n
		if err != nil { // the last chunk: every start counts
			scan(buf[:end], end)
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return total, nil
			}
			return total, err
		}
		scan(buf[:end], end-keep)
		have = copy(buf, buf[end-keep:end])
	}
}
