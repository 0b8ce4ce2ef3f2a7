package keyed

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"runtime/debug"
	"unsafe"
)

// Test support: reading the dead stack. These functions are used by this
// package's tests and by package secret's; the linker drops them from
// programs.

// stackGap is how far below its anchor a probe leaves the stack alone when
// it paints: the rest of the probe's own frame lies there.
const stackGap = 256

// GrowStackForTest grows the goroutine's stack to hold at least n more
// bytes below the caller, so that a probe afterwards reads and paints
// memory of this stack, not beyond it. Call it right before the probe: a
// garbage collection may shrink the stack again.
func GrowStackForTest(n int) { growBy(n / 1024) }

//go:noinline
func growBy(kib int) byte {
	var b [1024]byte
	escapeNothing(unsafe.Pointer(&b))
	if kib <= 0 {
		return b[0]
	}
	return growBy(kib-1) + b[1]
}

// DeadStackForTest calls f and copies into out the len(out) bytes of stack
// below the probe's own locals as f left them: f's frames and those of
// everything it called. The copy is the only call made after f, and it
// lands on the first bytes below the probe's frame.
//
//go:noinline
//go:norace
//go:nocheckptr
func DeadStackForTest(f func(), out []byte) {
	var anchor byte
	region := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(&anchor), -len(out))), len(out))
	f()
	copy(out, region)
}

// StackDepthForTest reports how many bytes of stack f used below the
// probe's frame, to the nearest byte it wrote: it paints span bytes below
// the probe, calls f and looks for the lowest byte that changed. A value
// near span means f may have used more.
//
//go:noinline
//go:norace
//go:nocheckptr
func StackDepthForTest(f func(), span int) int {
	var anchor byte
	region := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(&anchor), -span)), span-stackGap)
	for i := range region {
		region[i] = 0xa5
	}
	f()
	for i := range region {
		if region[i] != 0xa5 {
			return span - i
		}
	}
	return 0
}

// UnzeroedForTest paints span bytes below the probe, calls f and reports
// how many bytes from depth bytes below the probe's anchor up to its own
// frame f left non-zero: 0 if f zeroed all of them, as a wipe of that
// depth must.
//
//go:noinline
//go:norace
//go:nocheckptr
func UnzeroedForTest(f func(), span, depth int) int {
	var anchor byte
	region := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(&anchor), -span)), span-stackGap)
	for i := range region {
		region[i] = 0xa5
	}
	f()
	n := 0
	for _, c := range region[span-depth:] {
		if c != 0 {
			n++
		}
	}
	return n
}

// AfterCallForTest calls f with the garbage collector off (so that the
// stack it grows for the probe cannot shrink under it) and returns the
// span bytes of dead stack below the probe's frame and the registers, as
// f left them.
func AfterCallForTest(f func(), span int) (stack []byte, regs [RegisterFileSize]byte) {
	stack = make([]byte, span)
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	GrowStackForTest(span + 32<<10)
	DeadStackForTest(f, stack)
	SpillRegistersForTest(&regs)
	return stack, regs
}

// NeedlesForTest are what a scan of the stack and registers looks for:
// named secrets, each cut in pieces short enough to survive in a register
// or a partly overwritten frame.
type NeedlesForTest map[string][][]byte

// Add adds v in 8-byte pieces.
func (n NeedlesForTest) Add(name string, v []byte) {
	for i := 0; i+8 <= len(v); i += 8 {
		n[name] = append(n[name], v[i:i+8:i+8])
	}
}

// AddWords adds v as words of the given size (4 or 8 bytes) in both byte
// orders: hash code keeps chaining values as machine words, SHA-NI
// permuted across registers.
func (n NeedlesForTest) AddWords(name string, v []byte, word int) {
	for i := 0; i+word <= len(v); i += word {
		w := append([]byte(nil), v[i:i+word]...)
		r := make([]byte, word)
		for j := range w {
			r[j] = w[word-1-j]
		}
		n[name] = append(n[name], w, r)
	}
}

// Merge adds every needle of o.
func (n NeedlesForTest) Merge(o NeedlesForTest) {
	for name, pieces := range o {
		n[name] = append(n[name], pieces...)
	}
}

// Find reports which needle has a piece in hay, and where (-1 for none).
func (n NeedlesForTest) Find(hay []byte) (name string, at int) {
	for name, pieces := range n {
		for _, p := range pieces {
			if at := bytes.Index(hay, p); at >= 0 {
				return name, at
			}
		}
	}
	return "", -1
}

// TBForTest is the part of testing.TB that CheckErasedForTest reports
// through: this package does not import testing.
type TBForTest interface {
	Helper()
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
}

// ErasureForTest is one check for CheckErasedForTest.
type ErasureForTest struct {
	Call    func()         // the computation whose leftovers are looked for
	Span    int            // how many bytes of dead stack below the caller to scan
	Needles NeedlesForTest // what must not be left
	// NeedlesAfter, if set, is asked after each call instead of Needles:
	// some needles (a seal's nonce) exist only once the call ran.
	NeedlesAfter func() NeedlesForTest
	// BeforeControl, if set, runs before the control call.
	BeforeControl func()
	// ControlMayMiss logs, rather than fails, a control that finds
	// nothing: for a computation that need not leave anything behind on
	// every machine.
	ControlMayMiss bool
}

// CheckErasedForTest runs e.Call and fails t if the dead stack below the
// caller or the registers hold a piece of a needle. Then, unless
// RuntimeErases (no wipe to skip), it runs the control: the same call
// with the wipes skipped, whose scan must find something, or the check
// cannot see what it looks for.
func CheckErasedForTest(t TBForTest, e ErasureForTest) {
	t.Helper()
	needles := func() NeedlesForTest {
		if e.NeedlesAfter != nil {
			return e.NeedlesAfter()
		}
		return e.Needles
	}
	stack, regs := AfterCallForTest(e.Call, e.Span)
	nd := needles()
	if name, at := nd.Find(stack); at >= 0 {
		t.Errorf("the %s is on the dead stack, %d bytes below the caller", name, len(stack)-at)
	}
	if name, at := nd.Find(regs[:]); at >= 0 {
		t.Errorf("the %s is in a register", name)
	}
	if RuntimeErases {
		return
	}
	if e.BeforeControl != nil {
		e.BeforeControl()
	}
	restore := SkipWipesForTest()
	stack, regs = AfterCallForTest(e.Call, e.Span)
	restore()
	nd = needles()
	name, _ := nd.Find(stack)
	rname, _ := nd.Find(regs[:])
	t.Logf("without the wipes: the stack holds the %q, the registers the %q", name, rname)
	if name == "" && rname == "" && !e.ControlMayMiss {
		t.Errorf("without the wipes the scan finds nothing: it cannot see")
	}
}

// CheckDepthForTest measures how deep Key.Check's computation goes with a
// match of the caller's (newMatch returns one for a MAC of size bytes), for
// SHA-256 and SHA-512, with states saved raw and marshaled, over a
// 1,000-byte message. It returns the depths and how much of them the wipe
// after Check covers: each depth must be at most that. Package jwt uses it
// to measure the match it passes to Check, which runs inside the erasure.
func CheckDepthForTest(newMatch func(size int) func(mac, scratch []byte) bool) (depths map[string]int, covered int) {
	depths = map[string]int{}
	msg := make([]byte, 1000)
	for _, h := range []Hash{SHA256, SHA512} {
		for _, form := range []string{"raw", "marshaled"} {
			d, err := NewDigest(h)
			if err == nil && form == "marshaled" {
				hh := sha256.New()
				if h == SHA512 {
					hh = sha512.New()
				}
				d, err = newDigest(h, hh, rawLayout{})
			}
			if err != nil {
				continue
			}
			var k Key
			k.Set(d, []byte("CheckDepthForTest"))
			match := newMatch(h.Size())
			f := func() { _, _, _ = k.check(d, match, [][]byte{msg}) }
			f()
			func() {
				// Without the wipes: the zeros check writes below sum's
				// frames before match runs are not data.
				defer SkipWipesForTest()()
				defer debug.SetGCPercent(debug.SetGCPercent(-1))
				GrowStackForTest(64 << 10)
				depths[h.String()+"/"+form] = StackDepthForTest(f, 48<<10)
			}()
		}
	}
	return depths, macWipeDepthNow() - stackGap
}
