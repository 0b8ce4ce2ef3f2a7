package keyed

import (
	"bytes"
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
	"unsafe"
)

// A match that ends its goroutine (runtime.Goexit, which t.FailNow
// calls) returns neither to check nor to EraseMAC: before callMatch
// handled it, neither the wipe nor check's clearing of the digest ran.
// The goroutine's stack went back to the runtime holding what the HMAC
// computation left (with the hash in generic Go, as on 386 or without
// SHA-NI and AVX2, its state and the inner hash), and the Digest,
// dropped rather than returned to its pool, held the expected MAC.

// goexitSpan is how much of a goroutine's stack the Goexit tests read:
// all that Check may use, EraseMAC's growth included, and 1 KiB more.
const goexitSpan = wipeDepth + growHeadroom + 1<<10

// goexitDepths is how many depths the tests run the Goexit at: 0 to 15
// frames below match, so that the frames left live above the wipe
// (match's and the Goexit's) lie over every part of what sum used.
const goexitDepths = 16

// goexitDown calls runtime.Goexit n frames below its caller.
//
//go:noinline
func goexitDown(n int) int {
	if n == 0 {
		runtime.Goexit()
	}
	return goexitDown(n-1) + 1
}

// goexitCase is a Check to run with a match that ends its goroutine.
type goexitCase struct {
	name    string
	h       Hash
	d       *Digest
	k       Key
	msg     []byte
	needles NeedlesForTest
}

// goexitCases are Checks of both hashes, with states saved raw and
// marshaled, over a message shorter than a block (it is gathered with its
// padding in the digest's scratch) and one longer than two.
func goexitCases(t *testing.T) []*goexitCase {
	var cs []*goexitCase
	for _, c := range hashes {
		for _, form := range []string{"raw", "marshaled"} {
			for _, n := range []int{20, 300} {
				gc := &goexitCase{name: fmt.Sprintf("%v/%s/%dB", c.h, form, n), h: c.h, msg: filled(n, 2)}
				gc.d = mustDigest(t, c.h)
				if form == "marshaled" {
					gc.d = marshalingDigest(t, c)
				}
				key := filled(c.h.BlockSize()/2, 0x55)
				gc.k.Set(gc.d, key)
				gc.needles = needles(t, c.h, key)
				word := c.h.Size() / 8
				gc.needles.AddWords("inner hash", innerHash(c, key, gc.msg), word)
				gc.needles.AddWords("expected MAC", refHMAC(c.new, key, gc.msg), word)
				cs = append(cs, gc)
			}
		}
	}
	return cs
}

// goexitMatch is a match that decodes its tag (here: copies the MAC) and
// then ends its goroutine, depth frames further down.
func goexitMatch(depth int) func(mac, scratch []byte) bool {
	return func(mac, scratch []byte) bool {
		copy(scratch, mac)
		goexitDown(depth)
		return false
	}
}

// count reports how many pieces of the needles hay holds.
func (n NeedlesForTest) count(hay []byte) int {
	c := 0
	for _, pieces := range n {
		for _, p := range pieces {
			c += bytes.Count(hay, p)
		}
	}
	return c
}

// withoutGoexitHandling runs f with Check as it was before it handled a
// Goexit: no wipes, the digest left as the Goexit found it.
func withoutGoexitHandling(f func()) {
	defer SkipWipesForTest()()
	defer IgnoreGoexitForTest()()
	f()
}

// After a match's Goexit the goroutine's stack, once the goroutine has
// ended, holds none of what the key computed (padded keys, midstates,
// inner hash, expected MAC), the registers neither, and the Digest holds
// the hash's blank state and zero scratch. Without the Goexit handling
// the Digest keeps the expected MAC, and the stack or the registers a
// piece of key material, so the scan can see.
func TestAGoexitingMatchLeavesNothing(t *testing.T) {
	for _, c := range goexitCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var stack, regs, kept int
			for depth := range goexitDepths {
				call := func() { _, _ = c.k.Check(c.d, goexitMatch(depth), c.msg) }
				a := GoexitForTest(call, goexitSpan)
				if !a.Ended {
					t.Fatal("the match did not end the goroutine")
				}
				if name, at := c.needles.Find(a.Stack); at >= 0 {
					t.Errorf("Goexit %d frames below match: the dead goroutine's stack holds the %s, %d bytes below Check's caller", depth, name, len(a.Stack)-at)
				}
				if name, at := c.needles.Find(a.Early); at >= 0 {
					t.Errorf("Goexit %d frames below match: in the goroutine's last deferred call its stack holds the %s, %d bytes below Check's caller", depth, name, len(a.Early)-at)
				}
				if name, at := c.needles.Find(a.Regs[:]); at >= 0 {
					t.Errorf("Goexit %d frames below match: the registers hold the %s", depth, name)
				}
				if !isBlank(c.d) {
					t.Errorf("Goexit %d frames below match: the Digest is not blank", depth)
				}
				if RuntimeErases {
					// runtime/secret clears the whole stack of a goroutine
					// that ends inside Do (runtime.goexit0): not only what
					// the wipe reaches, the live frames as well.
					assertClearedSoon(t, a)
				}

				withoutGoexitHandling(func() { a = GoexitForTest(call, goexitSpan) })
				stack += c.needles.count(a.Stack)
				regs += c.needles.count(a.Regs[:])
				if c.d.want != [MaxSize]byte{} {
					kept++
				}
				c.d.wipe()
				c.d.zeroScratch()
			}
			t.Logf("without the Goexit handling, over %d depths: %d pieces of key material on the dead stack, %d in registers; the Digest kept the expected MAC %d times",
				goexitDepths, stack, regs, kept)
			if kept != goexitDepths {
				t.Errorf("without the Goexit handling the Digest kept the expected MAC only %d times in %d: the test cannot see it", kept, goexitDepths)
			}
			if stack+regs == 0 && !RuntimeErases {
				t.Errorf("without the Goexit handling the scan finds no key material on the stack or in registers: it cannot see")
			}
		})
	}
}

// The needles are the values an HMAC names; the hash's rounds compute
// many more from the key (a round's state runs back to the midstate, given
// the block). So the stack is also compared across keys: the same Check,
// Goexit and stack, run twice under each of four keys, as A B C D D C B
// A. A byte that agrees within each key and differs between every two
// keys depends on the key. One that counts up from run to run (a
// goroutine's id) does not agree within a key, one that takes fewer
// values (which processor ran the goroutine, whether a wait slept)
// cannot differ between four, and a random one passes once in 2^32
// (three keys were not enough under qemu, where timings vary more). With
// the Goexit handling no byte of the dead goroutine's stack, and none of
// its registers, depends on the key.
func TestAGoexitingMatchLeavesNoByteThatDependsOnTheKey(t *testing.T) {
	keys := [4][]byte{filled(40, 0x55), filled(40, 0x99), filled(40, 0xdd), filled(40, 0x21)}
	seen := 0
	for _, c := range goexitCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var stackSeen, regsSeen int
			for depth := range goexitDepths {
				call := func() { _, _ = c.k.Check(c.d, goexitMatch(depth), c.msg) }
				stack, regs := keyDependent(t, c, keys, call)
				if len(stack) > 0 {
					t.Errorf("Goexit %d frames below match: %d bytes of the dead goroutine's stack depend on the key, %d to %d bytes below Check's caller",
						depth, len(stack), stack[len(stack)-1], stack[0])
				}
				if regs > 0 {
					t.Errorf("Goexit %d frames below match: %d bytes of the registers depend on the key", depth, regs)
				}
				withoutGoexitHandling(func() { stack, regs = keyDependent(t, c, keys, call) })
				stackSeen += len(stack)
				regsSeen += regs
			}
			t.Logf("without the Goexit handling, over %d depths: %d bytes of the stack depend on the key, %d of the registers", goexitDepths, stackSeen, regsSeen)
			seen += stackSeen + regsSeen
		})
	}
	// Under runtimesecret the runtime clears the stack in the end and
	// the registers at every switch to the system stack: what the
	// control finds there is in the deferred calls' window (Early).
	if seen == 0 {
		t.Error("without the Goexit handling no byte of the stack or registers depends on the key: the comparison cannot see")
	}
}

// keyDependent runs call under keys 0, 1, 2, 3, 3, 2, 1, 0 on one stack and
// returns the offsets below the probe of the stack bytes that depend on
// the key (deepest first), once the goroutine has ended or in its last
// deferred call, and how many register bytes do.
func keyDependent(t *testing.T, c *goexitCase, keys [4][]byte, call func()) (stack []int, regs int) {
	t.Helper()
	order := [...]int{0, 1, 2, 3, 3, 2, 1, 0}
	var runs [len(order)]AfterGoexitForTest
	// With one processor the goroutines take their stacks from one cache,
	// last freed first: each runs on the stack the one before it left.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for try := 0; ; try++ {
		same := true
		for i, key := range order {
			c.k.Set(c.d, keys[key])
			runs[i] = GoexitForTest(call, goexitSpan)
			same = same && runs[i].Base == runs[0].Base
			c.d.wipe() // for the runs without the Goexit handling
			c.d.zeroScratch()
		}
		if same {
			break
		}
		if try == 10 {
			t.Fatal("eight goroutines in a row never ran on the same stack: their stacks cannot be compared")
		}
	}
	// depends reports whether byte i of each run's b agrees within each
	// key and differs between any two.
	depends := func(i int, b func(*AfterGoexitForTest) []byte) bool {
		var v [len(order)]byte
		for r := range runs {
			v[r] = b(&runs[r])[i]
		}
		for k := range 4 {
			if v[k] != v[len(v)-1-k] {
				return false
			}
			for j := range k {
				if v[j] == v[k] {
					return false
				}
			}
		}
		return true
	}
	for i := range runs[0].Stack {
		if depends(i, func(a *AfterGoexitForTest) []byte { return a.Stack }) ||
			depends(i, func(a *AfterGoexitForTest) []byte { return a.Early }) {
			stack = append(stack, len(runs[0].Stack)-i)
		}
	}
	for i := range runs[0].Regs {
		if depends(i, func(a *AfterGoexitForTest) []byte { return a.Regs[:] }) {
			regs++
		}
	}
	return stack, regs
}

// The Goexit's frames and the wipe below them run where EraseMAC grew the
// stack for: were the stack copied to a larger one meanwhile, the old one
// would go back to the runtime unwiped. Run in fresh goroutines below 0 to
// 64 frames of 256 bytes (as TestErasingNeverMovesTheStack does), with the
// Goexit right in match or 15 frames further down, the stack does not move
// between match and the goroutine's end. A match that uses 64 KiB of
// stack first does move it: the test can see a move.
func TestAGoexitingMatchNeverMovesTheStack(t *testing.T) {
	d := mustDigest(t, SHA512)
	var k Key
	k.Set(d, filled(20, 1))
	msg := filled(300, 2)
	moves := func(depth int, use func()) (moved bool) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			var local byte
			var at uintptr
			defer func() { moved = uintptr(unsafe.Pointer(&local)) != at }()
			belowFrames(depth, func() {
				_, _ = k.Check(d, func(mac, scratch []byte) bool {
					at = uintptr(unsafe.Pointer(&local))
					use()
					return false
				}, msg)
			})
		}()
		<-done
		return moved
	}
	for depth := 0; depth <= 64; depth++ {
		for _, down := range []int{0, goexitDepths - 1} {
			// runtime/secret.Do clears an old stack itself.
			if moves(depth, func() { goexitDown(down) }) && !RuntimeErases {
				t.Errorf("below %d frames, a Goexit %d frames below match moved the stack", depth, down)
			}
		}
	}
	if !moves(0, func() { useLargeStack(); runtime.Goexit() }) {
		t.Error("a match that uses 64 KiB of stack did not move it: the test cannot see a move")
	}
}

// assertClearedSoon requires the stack a's goroutine left to read zero
// within a second: the runtime clears it on the scheduler's stack, after
// the goroutine's last deferred call.
func assertClearedSoon(t *testing.T, a AfterGoexitForTest) {
	t.Helper()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	zero := make([]byte, len(a.Stack))
	for wait := time.Now().Add(time.Second); ; time.Sleep(time.Millisecond) {
		if bytes.Equal(readStack(a.Base, len(a.Stack)), zero) {
			return
		}
		if time.Now().After(wait) {
			t.Errorf("the stack of a goroutine that ended inside runtime/secret.Do is not cleared")
			return
		}
	}
}

// Check costs a Sum, the call to match and one more MAC wipe than Sum
// (before match: see check).
func BenchmarkCheck(b *testing.B) {
	for _, c := range hashes {
		key := filled(32, 1)
		for _, n := range []int{32, 1024} {
			msg := filled(n, 2)
			tag := refHMAC(c.new, key, msg)
			d := mustDigest(b, c.h)
			var k Key
			k.Set(d, key)
			match := func(mac, _ []byte) bool { return bytes.Equal(mac, tag) }
			b.Run(fmt.Sprintf("%v/%dB", c.h, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_, _ = k.Check(d, match, msg)
				}
			})
		}
	}
}
