//go:build linux

// Package procmaps reads a Linux process's memory map, /proc/PID/maps:
// internal/wipe classifies this process's writable regions with it, and
// the tests that look at memory the way an attacker would (the proof
// suite, secret's placement tests) walk a process's mappings with it.
package procmaps

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// A Mapping is one line of a memory map:
//
//	lo-hi perms offset dev inode [path]
type Mapping struct {
	Lo, Hi uint64 // [Lo, Hi): uint64, since [vsyscall] lies above 1<<63
	Perms  string // "rw-p": read, write, execute, private or shared
	Inode  uint64 // 0 for memory no file backs
	Path   string // the file, or [heap], [stack], [vdso] ...; "" when anonymous
}

// Anonymous reports whether no file backs m and the kernel gives it no
// name ([heap] and [stack] have one).
func (m Mapping) Anonymous() bool { return m.Inode == 0 && m.Path == "" }

// Parse reads one line of a map, or the header line of an smaps entry. ok
// is false for anything else (an smaps field such as "Size: 4 kB").
func Parse(line string) (m Mapping, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 5 {
		return Mapping{}, false
	}
	lo, hi, ok := strings.Cut(fields[0], "-")
	if !ok {
		return Mapping{}, false
	}
	l, err1 := strconv.ParseUint(lo, 16, 64)
	h, err2 := strconv.ParseUint(hi, 16, 64)
	inode, err3 := strconv.ParseUint(fields[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || h <= l {
		return Mapping{}, false
	}
	return Mapping{Lo: l, Hi: h, Perms: fields[1], Inode: inode, Path: strings.Join(fields[5:], " ")}, true
}

// Read reads the map at path: /proc/self/maps, or /proc/PID/maps.
func Read(path string) ([]Mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := Parse(sc.Text()); ok {
			out = append(out, m)
		}
	}
	return out, sc.Err()
}
