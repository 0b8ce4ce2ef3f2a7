package wipe

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/secretmem/secretmem/internal/procmaps"
)

// readMap reads /proc/self/maps. A region counts as heap when it is
// anonymous, private and writable, and does not start where a file
// mapping ends: that is where a loaded image keeps its bss, and with it
// globals such as the runtime's table of one-byte strings. Other writable
// regions (the stack the environment block lives on) are kept, not heap.
func readMap() *memoryMap {
	maps, _ := procmaps.Read("/proc/self/maps")
	var mm memoryMap
	var fileEnd uintptr
	for _, m := range maps {
		r := region{lo: uintptr(m.Lo), hi: uintptr(m.Hi)}
		writable := len(m.Perms) > 1 && m.Perms[1] == 'w'
		r.heap = m.Anonymous() && len(m.Perms) == 4 && m.Perms[0] == 'r' && writable && m.Perms[3] == 'p' &&
			r.lo != fileEnd
		if writable {
			mm = append(mm, r)
		}
		if !m.Anonymous() {
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
