package sign

import (
	"bytes"
	"encoding"
	"hash"
	"runtime"
	"testing"

	"github.com/secretmem/secretmem/internal/keyed"
)

// hmacNeedles are what an HMAC computes from key: the key padded with
// ipad and opad, the hash states after each (as the hash's words), and
// the HMAC of msg.
func hmacNeedles(t *testing.T, newHash func() hash.Hash, key, msg []byte) keyed.NeedlesForTest {
	t.Helper()
	h := newHash()
	word := h.Size() / 8
	n := keyed.NeedlesForTest{}
	for name, x := range map[string]byte{"inner": 0x36, "outer": 0x5c} {
		p := make([]byte, h.BlockSize())
		copy(p, key)
		for i := range p {
			p[i] ^= x
		}
		n.Add(name+" padded key", p)
		h.Reset()
		h.Write(p)
		s, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		n.AddWords(name+" midstate", s[4:4+h.Size()], word) // after the magic, big-endian words
	}
	n.AddWords("expected MAC", refMAC(newHash, key, msg), word)
	return n
}

// goexitBelow calls runtime.Goexit n frames below its caller.
//
//go:noinline
func goexitBelow(n int) int {
	if n == 0 {
		runtime.Goexit()
	}
	return goexitBelow(n-1) + 1
}

// A match that ends its goroutine (runtime.Goexit: t.FailNow in a test's
// match) leaves HMAC.Check through the cell's Use and keyed.Key.Check's
// Goexit handling, and the digest is dropped rather than returned to the
// pool. The goroutine's stack, read once it has ended, and its registers
// hold none of the key's pads, states or the expected MAC; the HMAC works
// on afterwards (the cell's Use released it on the way out). As Check
// was before it handled a Goexit, the scan finds key material (in
// registers on amd64, whose SHA-2 code keeps its state there; on the
// stack with the hash in generic Go, as on 386).
func TestAGoexitingMatchInHMACCheckLeavesNothing(t *testing.T) {
	const span = 8 << 10
	msg := []byte("a message shorter than a block")
	total := 0
	for _, c := range hmacHashes {
		key := bytes.Repeat([]byte{0x5a}, 32)
		m, err := NewHMAC(c.h, Static(newCell(t, key)), "k")
		if err != nil {
			t.Fatal(err)
		}
		nd := hmacNeedles(t, c.new, key, msg)
		seen := 0
		for _, down := range []int{0, 7, 15} {
			call := func() {
				_ = m.Check(func(mac, scratch []byte) bool {
					copy(scratch, mac)
					goexitBelow(down)
					return false
				}, msg)
			}
			a := keyed.GoexitForTest(call, span)
			if !a.Ended {
				t.Fatalf("%v: the match did not end the goroutine", c.h)
			}
			if name, at := nd.Find(a.Stack); at >= 0 {
				t.Errorf("%v, Goexit %d frames below match: the dead goroutine's stack holds the %s, %d bytes below Check's caller", c.h, down, name, len(a.Stack)-at)
			}
			if name, at := nd.Find(a.Regs[:]); at >= 0 {
				t.Errorf("%v, Goexit %d frames below match: the registers hold the %s", c.h, down, name)
			}
			tag := refMAC(c.new, key, msg)
			if err := m.Check(func(mac, _ []byte) bool { return bytes.Equal(mac, tag) }, msg); err != nil {
				t.Errorf("%v: Check after a Goexit in match: %v", c.h, err)
			}
			if keyed.RuntimeErases {
				continue
			}
			func() {
				defer keyed.SkipWipesForTest()()
				defer keyed.IgnoreGoexitForTest()()
				a = keyed.GoexitForTest(call, span)
			}()
			_, onStack := nd.Find(a.Stack)
			_, inRegs := nd.Find(a.Regs[:])
			if onStack >= 0 || inRegs >= 0 {
				seen++
			}
		}
		if !keyed.RuntimeErases {
			t.Logf("%v: as Check was before it handled a Goexit, %d of 3 depths left key material on the stack or in registers", c.h, seen)
		}
		total += seen
		m.Close()
	}
	// Which hash leaves a needle where depends on the hash code: on 386
	// generic SHA-512 spills its rounds' state, not the midstate words.
	if total == 0 && !keyed.RuntimeErases {
		t.Error("as Check was before it handled a Goexit, the scan finds nothing: it cannot see")
	}
}
