// Package coredump takes core dumps of running processes and counts byte
// strings in them, for the tests that prove what a process leaves in
// memory. Only tests import it.
package coredump

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Gcore dumps pid with gdb's gcore into dir and returns the core's path.
// gdb is the path of the gdb binary.
func Gcore(gdb string, pid int, dir string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := filepath.Join(dir, "gcore")
	cmd := exec.CommandContext(ctx, gdb, "-nx", "-p", strconv.Itoa(pid), "-batch", "-ex", "gcore "+out)
	log, err := cmd.CombinedOutput()
	path := out + "." + strconv.Itoa(pid)
	if _, serr := os.Stat(out); serr == nil {
		path = out
	}
	if _, serr := os.Stat(path); serr != nil {
		return "", fmt.Errorf("gdb wrote no core (%v): %s", err, lastLine(string(log)))
	}
	return path, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}

// Lookback is how many bytes before an occurrence a where function of
// Count may look at (when the file has them).
const Lookback = 512

// Count counts the occurrences of each needle in the file at path,
// streaming it (cores run to gigabytes). Overlapping occurrences count
// once each; an empty needle counts nothing. where, if not nil, is asked
// of each occurrence, with b[i:] starting it and up to Lookback bytes of
// b before i; marked counts those for which it answered true.
func Count(path string, needles map[string][]byte, where func(b []byte, i int) bool) (all, marked map[string]int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	tail := 0 // bytes an occurrence may run past its start
	for _, n := range needles {
		tail = max(tail, len(n)-1)
	}
	all, marked = make(map[string]int, len(needles)), make(map[string]int, len(needles))
	buf := make([]byte, 8<<20+Lookback+tail)
	have, from := 0, 0 // bytes carried over; of those, the ones already scanned
	for {
		n, err := io.ReadFull(f, buf[have:])
		end := have + n
		last := err != nil
		limit := end - tail // occurrences starting later are counted with the next chunk
		if last {
			limit = end
		}
		for name, nd := range needles {
			if len(nd) == 0 {
				continue
			}
			for off := from; off < limit; {
				i := bytes.Index(buf[off:end], nd)
				if i < 0 || off+i >= limit {
					break
				}
				all[name]++
				if where != nil && where(buf[:end], off+i) {
					marked[name]++
				}
				off += i + 1
			}
		}
		if last {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return all, marked, nil
			}
			return nil, nil, err
		}
		keepFrom := max(0, limit-Lookback)
		have = copy(buf, buf[keepFrom:end])
		from = limit - keepFrom
	}
}
