package keyed

import (
	"bytes"
	"testing"
)

// Check runs a function the caller gives it (match) inside its Erase. If
// match panics, the panic used to leave Erase before the wipe: the dead
// stack kept the digest copies Sum made (the midstates, for a message
// shorter than a block), and the Digest kept the expected MAC in its
// scratch. A panic in match must cost no more than a panic: the wipe
// runs, the scratch is zeroed, and then the panic goes on.
func TestAPanickingMatchLeavesNothing(t *testing.T) {
	for _, c := range hashes {
		t.Run(c.h.String(), func(t *testing.T) {
			d := mustDigest(t, c.h)
			key := filled(c.h.BlockSize()/2, 0x55)
			msg := filled(20, 2) // shorter than a block: Sum's copies hold the midstates
			var k Key
			k.Set(d, key)
			nd := needles(t, c.h, key)
			nd.AddWords("expected MAC", refHMAC(c.new, key, msg), c.h.Size()/8)
			var recovered any
			call := func() {
				defer func() { recovered = recover() }()
				_, _ = k.Check(d, func(mac, scratch []byte) bool {
					copy(scratch, mac)
					panic("match failed")
				}, msg)
			}
			checkErased(t, call, nd)
			if recovered != "match failed" {
				t.Errorf("Check's caller recovered %v, want match's own panic value", recovered)
			}
			for name, b := range map[string][]byte{"want": d.want[:], "pad": d.pad[:], "inner": d.inner[:]} {
				if !bytes.Equal(b, make([]byte, len(b))) {
					t.Errorf("after the panic the Digest's %s scratch is not zero", name)
				}
			}
			// The Digest is usable afterwards: it holds the blank state.
			ok, err := k.Check(d, func(mac, _ []byte) bool { return bytes.Equal(mac, refHMAC(c.new, key, msg)) }, msg)
			if !ok || err != nil {
				t.Errorf("Check after a panic: %v, %v", ok, err)
			}
		})
	}
}

// The panic's own frames (gopanic, the deferred recover) run below match
// and must stay within what Erase grew the stack for, or the panic would
// move the stack and leave the dead frames in the old one.
func TestAPanickingMatchFitsTheGrownStack(t *testing.T) {
	for _, c := range hashes {
		d := mustDigest(t, c.h)
		var k Key
		k.Set(d, filled(20, 1))
		msg := filled(20, 2)
		var depth int
		probe(t, func() {
			depth = StackDepthForTest(func() {
				_, _, _ = k.check(d, func([]byte, []byte) bool { panic("x") }, [][]byte{msg})
			}, 48<<10)
		})
		t.Logf("%s: a panicking match uses %d bytes of stack", c.h, depth)
		if depth == 0 || depth > wipeDepth+growHeadroom-stackGap {
			t.Errorf("%s: a panicking match uses %d bytes of stack; Erase grows it by %d", c.h, depth, wipeDepth+growHeadroom-stackGap)
		}
	}
}
