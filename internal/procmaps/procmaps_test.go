//go:build linux

package procmaps

import (
	"os"
	"testing"
	"unsafe"
)

func TestParseReadsEachKindOfLine(t *testing.T) {
	for _, c := range []struct {
		name, line string
		ok         bool
		want       Mapping
		anonymous  bool
	}{
		{"an anonymous mapping", "7f0000000000-7f0000021000 rw-p 00000000 00:00 0", true,
			Mapping{Lo: 0x7f0000000000, Hi: 0x7f0000021000, Perms: "rw-p"}, true},
		{"a file", "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus daemon", true,
			Mapping{Lo: 0x400000, Hi: 0x452000, Perms: "r-xp", Inode: 173521, Path: "/usr/bin/dbus daemon"}, false},
		{"the heap, named", "01a2b000-01a4c000 rw-p 00000000 00:00 0                          [heap]", true,
			Mapping{Lo: 0x1a2b000, Hi: 0x1a4c000, Perms: "rw-p", Path: "[heap]"}, false},
		{"a memfd_secret cell", "7f12-7f13 rw-s 00000000 00:01 5 /secretmem (deleted)", true,
			Mapping{Lo: 0x7f12, Hi: 0x7f13, Perms: "rw-s", Inode: 5, Path: "/secretmem (deleted)"}, false},
		{"vsyscall, above 1<<63", "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]", true,
			Mapping{Lo: 0xffffffffff600000, Hi: 0xffffffffff601000, Perms: "--xp", Path: "[vsyscall]"}, false},
		{"an smaps field", "Size:                132 kB", false, Mapping{}, false},
		{"an smaps flag line", "VmFlags: rd wr mr mw me ac sd", false, Mapping{}, false},
		{"an empty range", "1000-1000 rw-p 00000000 00:00 0", false, Mapping{}, false},
		{"a range that is not hex", "10g0-2000 rw-p 00000000 00:00 0", false, Mapping{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := Parse(c.line)
			if ok != c.ok || got != c.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v, %v", c.line, got, ok, c.want, c.ok)
			}
			if ok && got.Anonymous() != c.anonymous {
				t.Errorf("Anonymous() = %v, want %v", got.Anonymous(), c.anonymous)
			}
		})
	}
}

// TestReadFindsThisProcesssHeapAndBinary: the map of this process holds
// an anonymous writable region around a heap object and this binary's
// text.
func TestReadFindsThisProcesssHeapAndBinary(t *testing.T) {
	maps, err := Read("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	obj := new([4096]byte)
	addr := uint64(uintptr(unsafe.Pointer(obj)))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var heap, text bool
	for _, m := range maps {
		if m.Lo <= addr && addr < m.Hi && m.Anonymous() && m.Perms[:2] == "rw" {
			heap = true
		}
		if m.Path == exe && m.Perms[2] == 'x' {
			text = true
		}
	}
	if !heap || !text {
		t.Errorf("%d mappings; a heap object's region found: %v, this binary's text: %v", len(maps), heap, text)
	}
}
