package keyed

import "unsafe"

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
