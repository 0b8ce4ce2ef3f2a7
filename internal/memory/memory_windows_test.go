//go:build windows && !secretmem_heap

package memory

import (
	"errors"
	"runtime"
	"runtime/debug"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

// memFree is VirtualQuery's State for an address no allocation holds
// (MEM_FREE, which x/sys does not name).
const memFree = 0x10000

// query returns what VirtualQuery says about the page holding addr.
func query(t *testing.T, addr uintptr) windows.MemoryBasicInformation {
	t.Helper()
	var mbi windows.MemoryBasicInformation
	if err := windows.VirtualQuery(addr, &mbi, unsafe.Sizeof(mbi)); err != nil {
		t.Fatalf("VirtualQuery(%#x): %v", addr, err)
	}
	return mbi
}

// sink keeps the loads in read from being optimized away.
var sink byte

// fault runs access and returns the address it faulted at, or ok false
// when it did not fault. Access violations become recoverable panics
// under debug.SetPanicOnFault, which carry the faulting address.
func fault(access func()) (addr uintptr, ok bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if e := recover(); e != nil {
			var f interface{ Addr() uintptr }
			if err, isErr := e.(error); isErr && errors.As(err, &f) {
				addr, ok = f.Addr(), true
				return
			}
			panic(e)
		}
	}()
	access()
	return 0, false
}

func read(p uintptr) func() {
	return func() { sink = *(*byte)(addrPointer(p)) }
}

func write(p uintptr) func() {
	return func() { *(*byte)(addrPointer(p)) = 0x5a }
}

func mapped(t *testing.T, size int, mode Mode) *Region {
	t.Helper()
	r, err := Map(size, mode)
	if err != nil {
		t.Fatalf("Map(%d): %v", size, err)
	}
	t.Cleanup(func() {
		if r.data != nil {
			_ = r.Unmap()
		}
	})
	return r
}

func TestMapGivesZeroedWritablePagesBetweenGuards(t *testing.T) {
	ps := PageSize()
	for _, mode := range []Mode{MustLock, NoLock} {
		r := mapped(t, 3*ps+1, mode)
		if r.Size() != 4*ps {
			t.Errorf("Size() = %d, want %d (whole pages)", r.Size(), 4*ps)
		}
		want, locked := Mlock, true
		if mode == NoLock {
			want, locked = Unlocked, false
		}
		if r.Backend() != want || r.Locked() != locked || !r.GuardPages() {
			t.Errorf("mode %v: backend %s, Locked %v, GuardPages %v", mode, r.Backend(), r.Locked(), r.GuardPages())
		}
		data := uintptr(r.Data())
		if m := query(t, data); m.State != windows.MEM_COMMIT || m.Protect != windows.PAGE_READWRITE || m.RegionSize < uintptr(r.Size()) {
			t.Errorf("usable pages: state %#x, protect %#x, %d bytes", m.State, m.Protect, m.RegionSize)
		}
		for _, g := range []uintptr{data - 1, data + uintptr(r.Size())} {
			if m := query(t, g); m.Protect != windows.PAGE_NOACCESS {
				t.Errorf("guard page at %#x: protect %#x, want PAGE_NOACCESS", g, m.Protect)
			}
		}
		b := r.Bytes()
		for i, c := range b {
			if c != 0 {
				t.Fatalf("byte %d of a fresh region is %#x", i, c)
			}
		}
		for i := range b {
			b[i] = byte(i)
		}
		for i, c := range b {
			if c != byte(i) {
				t.Fatalf("byte %d reads back %#x", i, c)
			}
		}
	}
}

func TestGuardPagesFault(t *testing.T) {
	r := mapped(t, PageSize(), MustLock)
	data := uintptr(r.Data())
	for _, c := range []struct {
		name string
		addr uintptr
	}{
		{"the byte before the region", data - 1},
		{"the byte after it", data + uintptr(r.Size())},
	} {
		for _, op := range []struct {
			name string
			do   func(uintptr) func()
		}{{"read", read}, {"write", write}} {
			got, ok := fault(op.do(c.addr))
			if !ok {
				t.Errorf("a %s of %s did not fault", op.name, c.name)
			} else if got != c.addr {
				t.Errorf("a %s of %s faulted at %#x, want %#x", op.name, c.name, got, c.addr)
			}
		}
	}
	// The region itself is still whole.
	if _, ok := fault(write(data)); ok {
		t.Error("writing the first usable byte faulted")
	}
}

var protName = map[Prot]string{NoAccess: "NoAccess", ReadOnly: "ReadOnly", ReadWrite: "ReadWrite"}

func TestProtectChangesAccessAndKeepsTheBytes(t *testing.T) {
	r := mapped(t, 2*PageSize(), MustLock)
	data, last := uintptr(r.Data()), uintptr(r.Data())+uintptr(r.Size())-1
	// Away from the first and last byte, which the probes below write.
	const kept = "kept across every change"
	copy(r.Bytes()[100:], kept)
	steps := []struct {
		prot          Prot
		win           uint32
		reads, writes bool
	}{
		{ReadOnly, windows.PAGE_READONLY, true, false},
		{NoAccess, windows.PAGE_NOACCESS, false, false},
		{ReadWrite, windows.PAGE_READWRITE, true, true},
		{NoAccess, windows.PAGE_NOACCESS, false, false},
		{ReadOnly, windows.PAGE_READONLY, true, false},
	}
	for _, s := range steps {
		if err := r.Protect(s.prot); err != nil {
			t.Fatalf("Protect(%s): %v", protName[s.prot], err)
		}
		if m := query(t, data); m.Protect != s.win || m.RegionSize < uintptr(r.Size()) {
			t.Errorf("after Protect(%s): protect %#x over %d bytes, want %#x over %d", protName[s.prot], m.Protect, m.RegionSize, s.win, r.Size())
		}
		for _, p := range []uintptr{data, last} {
			if _, faulted := fault(read(p)); faulted == s.reads {
				t.Errorf("after Protect(%s): a read at +%d faulted: %v", protName[s.prot], p-data, faulted)
			}
			if _, faulted := fault(write(p)); faulted == s.writes {
				t.Errorf("after Protect(%s): a write at +%d faulted: %v", protName[s.prot], p-data, faulted)
			}
		}
	}
	if got := string(r.Bytes()[100 : 100+len(kept)]); got != kept {
		t.Errorf("the region holds %q after the changes", got)
	}
}

func TestUnmapReleasesTheWholeMapping(t *testing.T) {
	r := mapped(t, 2*PageSize(), MustLock)
	base, data := uintptr(r.mapping), uintptr(r.Data())
	if err := r.Protect(NoAccess); err != nil {
		t.Fatal(err)
	}
	// Idle guarded cells are no-access when they are freed.
	if err := r.Unmap(); err != nil {
		t.Fatalf("Unmap: %v", err)
	}
	r.data = nil
	for _, p := range []uintptr{base, data} {
		m := query(t, p)
		// Another allocation may take the range at once; it must not be
		// ours any more.
		if m.State != memFree && m.AllocationBase == base {
			t.Errorf("%#x after Unmap: state %#x, still allocated at %#x", p, m.State, m.AllocationBase)
		}
	}
}

func TestMapRefusesBadSizes(t *testing.T) {
	for _, n := range []int{0, -1, maxRegion + 1} {
		if _, err := Map(n, MustLock); !errors.Is(err, ErrSize) {
			t.Errorf("Map(%d): %v, want ErrSize", n, err)
		}
	}
}

func TestProbeSaysMlock(t *testing.T) {
	if b := Best(); b != Mlock {
		t.Errorf("Best() = %s on %s, want mlock (VirtualLock)", b, runtime.GOOS)
	}
}
