package wipe

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"unsafe"
)

// readMap reads /proc/self/maps. A region counts as heap when it is
// anonymous, private and writable, and does not start where a file
// mapping ends: that is where a loaded image keeps its bss, and with it
// globals such as the runtime's table of one-byte strings. Other writable
// regions (the stack the environment block lives on) are kept, not heap.
func readMap() *memoryMap {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return &memoryMap{}
	}
	defer f.Close()
	var mm memoryMap
	var fileEnd uintptr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// lo-hi perms offset dev inode [path]
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		l, err1 := strconv.ParseUint(lo, 16, 64)
		h, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		perms := fields[1]
		anonymous := fields[4] == "0" && len(fields) == 5
		r := region{lo: uintptr(l), hi: uintptr(h)}
		writable := len(perms) > 1 && perms[1] == 'w'
		r.heap = anonymous && len(perms) == 4 && perms[0] == 'r' && writable && perms[3] == 'p' &&
			r.lo != fileEnd
		if writable {
			mm = append(mm, r)
		}
		if !anonymous {
			fileEnd = r.hi
		}
	}
	return &mm
}

// Env overwrites the values of the environment variables names in the Go
// runtime's copy of the environment (heap strings that os.Environ and
// os.Getenv share) and in the original block the kernel wrote on the
// initial stack, which /proc/self/environ shows. The runtime copies the
// block at start-up (runtime.goenvs_unix uses gostring, not
// gostringnocopy, as of Go 1.26), so the two are separate and both need
// wiping. Strings the program got from os.Getenv for a variable read as
// zeros afterwards. The caller unsets the variables next.
func Env(names ...string) {
	if len(names) == 0 {
		return
	}
	wanted := make(map[string]bool, len(names))
	for _, n := range names {
		wanted[n] = true
	}
	for _, kv := range os.Environ() {
		if name, v, ok := strings.Cut(kv, "="); ok && wanted[name] {
			String(v)
		}
	}
	block := originalEnviron()
	for len(block) > 0 {
		entry := block
		if i := bytes.IndexByte(block, 0); i >= 0 {
			entry, block = block[:i], block[i+1:]
		} else {
			block = nil
		}
		if name, v, ok := bytes.Cut(entry, []byte("=")); ok && wanted[string(name)] {
			Zero(v)
		}
	}
}

// originalEnviron returns the environment block the kernel wrote (the
// range env_start..env_end of /proc/self/stat), or nil. Its address is
// found from os.Args, whose strings the runtime does not copy and which
// sit just below the block.
func originalEnviron() []byte {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return nil
	}
	// Fields after the command name in parentheses, starting at field 3.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	fields := strings.Fields(string(stat[i+1:]))
	field := func(n int) uintptr {
		if n-3 >= len(fields) {
			return 0
		}
		v, _ := strconv.ParseUint(fields[n-3], 10, 64)
		return uintptr(v)
	}
	argStart, argEnd, envStart, envEnd := field(48), field(49), field(50), field(51)
	if argStart == 0 || envStart == 0 || envEnd <= envStart {
		return nil
	}
	for _, a := range os.Args {
		if len(a) == 0 {
			continue
		}
		p := unsafe.Pointer(unsafe.StringData(a))
		addr := uintptr(p)
		if addr < argStart || addr >= argEnd {
			// os.Args was replaced by the program.
			return nil
		}
		if !mapped(envStart, envEnd-envStart) {
			return nil
		}
		return unsafe.Slice((*byte)(unsafe.Add(p, int(envStart)-int(addr))), int(envEnd-envStart))
	}
	return nil
}

// mapped reports whether [p, p+n) lies in one writable region.
func mapped(p, n uintptr) bool {
	m := known.Load()
	if _, ok := m.find(p, n); ok {
		return true
	}
	_, ok := reread(m).find(p, n)
	return ok
}
