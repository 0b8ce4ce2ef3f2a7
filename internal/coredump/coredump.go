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

// Count counts the occurrences of each needle in the file at path,
// streaming it (cores run to gigabytes). Overlapping occurrences count
// once each; an empty needle counts nothing.
func Count(path string, needles map[string][]byte) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	keep := 0
	for _, n := range needles {
		keep = max(keep, len(n)-1)
	}
	counts := make(map[string]int, len(needles))
	buf := make([]byte, 8<<20+keep)
	have := 0
	for {
		n, err := io.ReadFull(f, buf[have:])
		end := have + n
		last := err != nil
		limit := end - keep // occurrences starting here are counted with the next chunk
		if last {
			limit = end
		}
		for name, nd := range needles {
			if len(nd) == 0 {
				continue
			}
			for off := 0; off < limit; {
				i := bytes.Index(buf[off:end], nd)
				if i < 0 || off+i >= limit {
					break
				}
				counts[name]++
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
