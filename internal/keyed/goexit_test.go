package keyed

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"
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
	restore := SkipWipesForTest()
	ignoreGoexit = true
	defer func() {
		ignoreGoexit = false
		restore()
	}()
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

// assertClearedSoon requires the stack a's goroutine left to read zero
// within a second: the runtime clears it on the scheduler's stack, after
// the goroutine's last deferred call.
func assertClearedSoon(t *testing.T, a AfterGoexitForTest) {
	t.Helper()
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
