package keyed

import (
	"runtime"
	"runtime/debug"
	"time"
	"unsafe"
)

// Test support: reading the stack of a goroutine that ended with
// runtime.Goexit. Such a goroutine never returns to the frame that would
// wipe after it, and its stack goes back to the runtime as it is: with the
// starting size it stays with the dead goroutine for the next one to
// reuse, else it returns to the stack pool. Either way the memory stays
// mapped and unchanged until it is handed out again, so a test can read
// it once the goroutine is gone.

// AfterGoexitForTest is what GoexitForTest saw.
type AfterGoexitForTest struct {
	// Stack is the span bytes of stack below the probe's frame, read once
	// the goroutine had ended. Before the call they were painted 0xa5
	// (but for the stackGap bytes of the probe's own frame at the top).
	Stack []byte
	// Base is the address Stack was read from: two runs that reused the
	// same stack have the same Base.
	Base uintptr
	// Early is the same span, read in the goroutine's last deferred call,
	// after every deferred call of f's had run: what deferred calls above
	// f see (runtime/secret clears the stack only after them).
	Early []byte
	// Regs are the registers in the goroutine's last deferred call, after
	// every deferred call of f's had run.
	Regs [RegisterFileSize]byte
	// Ended reports that f ended the goroutine rather than returning.
	Ended bool
	// Moved reports that the stack moved (was copied to a larger one)
	// while f ran: Stack is then the old one, which the runtime freed.
	Moved bool
}

// Depth reports how many bytes below the probe's frame f and the Goexit
// wrote, to the nearest byte, as StackDepthForTest does.
func (a *AfterGoexitForTest) Depth() int {
	region := a.Stack[:len(a.Stack)-stackGap]
	for i := range region {
		if region[i] != 0xa5 {
			return len(a.Stack) - i
		}
	}
	return 0
}

// GoexitForTest runs f in a new goroutine, with its stack grown to hold
// span bytes and more below the probe, and the garbage collector off (a
// collection could shrink the stack). f must end the goroutine with
// runtime.Goexit. Once the goroutine has ended, GoexitForTest reads the
// span bytes below the probe's frame.
func GoexitForTest(f func(), span int) (a AfterGoexitForTest) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	before := runtime.NumGoroutine()
	done := make(chan struct{})
	a.Ended = true
	// Allocated here: allocating in the deferred call would run the
	// allocator's frames over the stack it reads.
	a.Early = make([]byte, span)
	go func() {
		defer close(done)
		GrowStackForTest(span + 4<<10)
		var local byte
		at := uintptr(unsafe.Pointer(&local))
		// Deferred calls run last in, first out: the registers are read
		// first, right after f's own deferred calls.
		defer func() { a.Moved = uintptr(unsafe.Pointer(&local)) != at }()
		defer func() { readStackInto(a.Early, a.Base) }()
		defer SpillRegistersForTest(&a.Regs)
		paintAndCall(f, span, &a.Base)
		a.Ended = false
	}()
	<-done
	// After its last deferred call the goroutine still runs a little of
	// the runtime's exit path (on its own stack, then the scheduler's)
	// before it is counted dead. Another goroutine ending meanwhile could
	// make this wait end early: the read then sees the stack as it is at
	// the end of the deferred calls, which holds no less.
	for wait := time.Now().Add(time.Second); runtime.NumGoroutine() > before && time.Now().Before(wait); {
		time.Sleep(50 * time.Microsecond)
	}
	a.Stack = readStack(a.Base, span)
	return a
}

// paintAndCall paints the span bytes below its frame (but for the
// stackGap bytes at the top, where its own frame lies), records where
// they start, and calls f.
//
//go:noinline
//go:norace
//go:nocheckptr
func paintAndCall(f func(), span int, base *uintptr) {
	var anchor byte
	start := unsafe.Add(unsafe.Pointer(&anchor), -span)
	region := unsafe.Slice((*byte)(start), span-stackGap)
	for i := range region {
		region[i] = 0xa5
	}
	*base = uintptr(start)
	f()
}

// readStack copies n bytes from the stack memory at addr, which belonged
// to a goroutine that has ended. The address stays a uintptr until this
// copy (read as a pointer through memory, which vet accepts): a pointer
// into a freed stack is not kept where the garbage collector, which the
// callers turn off, would check it.
//
//go:norace
//go:nocheckptr
func readStack(addr uintptr, n int) []byte {
	out := make([]byte, n)
	readStackInto(out, addr)
	return out
}

// readStackInto is readStack into dst.
//
//go:norace
//go:nocheckptr
func readStackInto(dst []byte, addr uintptr) {
	p := *(*unsafe.Pointer)(unsafe.Pointer(&addr))
	copy(dst, unsafe.Slice((*byte)(p), len(dst)))
}
