package keyed

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"golang.org/x/crypto/chacha20"
	"runtime/debug"
	"strings"
	"testing"
	"unsafe"
)

// probe runs a stack probe with the garbage collector off, so that the
// stack it grew for the probe cannot shrink under it.
func probe(t *testing.T, fn func()) {
	t.Helper()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	GrowStackForTest(64 << 10)
	fn()
}

// operations are the calls this package makes inside Erase, each as the
// f that Erase would run.
func operations(t *testing.T) map[string]func() {
	ops := map[string]func(){}
	for _, c := range hashes {
		d := mustDigest(t, c.h)
		var k2 Key
		long := filled(3*c.h.BlockSize(), 9)
		ops["Set/"+c.h.String()] = func() { k2.set(d, long) }
	}
	var key [KeySize]byte
	var nonce [NonceSize]byte
	var tag [TagSize]byte
	ad, data := filled(16, 1), filled(1024, 2)
	ops["XChaCha20-Poly1305 Seal"] = func() { seal(&key, &nonce, ad, data, &tag) }
	ops["XChaCha20-Poly1305 Open"] = func() { _ = open(&key, &nonce, ad, data, &tag) }
	pre := filled(16<<10, 3)
	ops["SealDerived (16 KiB secret)"] = func() {
		key = sha256.Sum256(pre)
		seal(&key, &nonce, ad, data, &tag)
	}
	ops["OpenDerived (16 KiB secret)"] = func() {
		key = sha256.Sum256(pre)
		_ = open(&key, &nonce, ad, data, &tag)
	}
	return ops
}

// macOperations are the calls this package makes inside EraseMAC.
func macOperations(t *testing.T) map[string]func() {
	ops := map[string]func(){}
	for _, c := range hashes {
		for _, form := range []string{"", " (marshaled)"} {
			d := mustDigest(t, c.h)
			if form != "" {
				d = marshalingDigest(t, c)
			}
			var k Key
			var s Stream
			k.Set(d, filled(20, 8))
			s.Set(d, filled(20, 8))
			msg := filled(1000, 4)
			tag := make([]byte, c.h.Size())
			out := make([]byte, 0, MaxSize)
			ops["Sum/"+c.h.String()+form] = func() { _, _ = k.sum(d, out, [][]byte{msg}) }
			ops["Verify/"+c.h.String()+form] = func() { _, _ = k.verify(d, tag, [][]byte{msg}) }
			ops["Stream.Write/"+c.h.String()+form] = func() {
				s.Reset()
				_ = s.write(d, msg)
			}
			ops["Stream.Verify/"+c.h.String()+form] = func() { _, _ = s.verify(d, tag) }
			// As a JWT verifier checks a base64url signature: it decodes
			// the token's signature into the scratch.
			sig := []byte(base64.RawURLEncoding.EncodeToString(tag))
			strict := base64.RawURLEncoding.Strict()
			ops["Check (base64url)/"+c.h.String()+form] = func() {
				_, _, _ = k.check(d, func(mac, scratch []byte) bool {
					n, err := strict.Decode(scratch[:len(mac)], sig)
					return err == nil && subtle.ConstantTimeCompare(scratch[:n], mac) == 1
				}, [][]byte{msg})
			}
			// The room Check's documentation promises a match.
			ops["Check (a match using 448 bytes of stack)/"+c.h.String()+form] = func() {
				_, _, _ = k.check(d, func(mac, _ []byte) bool { return useBytesOfStack(len(mac)) }, [][]byte{msg})
			}
		}
	}
	return ops
}

// hashOperations are the calls run in eraseHash: those of macOperations
// that run no match, on digests whose states are raw.
func hashOperations(t *testing.T) map[string]func() {
	ops := map[string]func(){}
	for name, op := range macOperations(t) {
		if !strings.HasPrefix(name, "Check") && !strings.Contains(name, "(marshaled)") {
			ops[name] = op
		}
	}
	return ops
}

// useBytesOfStack has a 448-byte frame, as a match that uses that much
// stack would.
//
//go:noinline
func useBytesOfStack(n int) bool {
	var b [448]byte
	escapeNothing(unsafe.Pointer(&b))
	return b[n%len(b)] == 1
}

// deepOperations are the calls this package makes inside EraseDeep.
func deepOperations(t *testing.T) map[string]func() {
	d := mustDigest(t, SHA512)
	var k, k2 Ed25519Key
	if err := k.SetSeed(d, filled(32, 3)); err != nil {
		t.Fatal(err)
	}
	var sig [Ed25519SignatureSize]byte
	msg := filled(1000, 5)
	dom := []byte("SigEd25519 no Ed25519 collisions\x00\x03ctx")
	return map[string]func(){
		"Ed25519 SetSeed": func() { k2.setSeed(d, filled(32, 4)) },
		"Ed25519 Sign":    func() { _ = k.sign(d, &sig, nil, msg) },
		"Ed25519ctx Sign": func() { _ = k.sign(d, &sig, dom, msg) },
	}
}

// The wipe covers every frame the package's operations use.
func TestEveryOperationFitsTheWipe(t *testing.T) {
	const span = 48 << 10
	check := func(ops map[string]func(), limit int, wipe string) {
		for name, op := range ops {
			var depth int
			// Without the wipes: check wipes sum's stack before match
			// runs, and those zeros, deeper than match goes, are not
			// data for the wipe after it to cover. (No other operation
			// here wipes.)
			restore := SkipWipesForTest()
			probe(t, func() { depth = StackDepthForTest(op, span) })
			restore()
			// 0 is less than the probe's own margin (a raw-state
			// Stream.Write, for one); the wipes measured below show
			// the probe sees.
			t.Logf("%s: %d bytes of stack", name, depth)
			if depth > limit-stackGap {
				t.Errorf("%s uses %d bytes of stack; %s covers %d", name, depth, wipe, limit-stackGap)
			}
		}
	}
	// The wipes Erase and EraseMAC run in this process: the deeper ones
	// where the hash code here goes deeper (deepHashes).
	t.Logf("deepHashes: %v", deepHashes)
	check(operations(t), wipeDepthNow(), "Erase's wipe")
	check(macOperations(t), macWipeDepthNow(), "EraseMAC's wipe")
	check(hashOperations(t), hashWipeDepthNow(), "eraseHash's wipe")
	check(deepOperations(t), deepWipeDepth, "wipeStackDeep")
	for _, w := range []struct {
		f     func()
		depth int
	}{{wipeStack, wipeDepth}, {wipeStackMAC, macWipeDepth}, {wipeStackDeep, deepWipeDepth}, {wipeStackHash, hashWipeDepth},
		{wipeStackSlow, wipeDepthSlow}, {wipeStackMACSlow, macWipeDepthSlow}} {
		var depth int
		probe(t, func() { depth = StackDepthForTest(w.f, span) })
		if depth < w.depth {
			t.Errorf("a wipe reaches %d bytes down, want at least %d", depth, w.depth)
		}
	}
}

// Every wipe zeroes every byte down to its depth, not only the deepest
// (the reach measured above): the probe paints the stack, and no byte
// between the wipe's depth and the probe's own frame may be left.
func TestEveryWipeZeroesItsWholeDepth(t *testing.T) {
	for name, w := range map[string]struct {
		f     func()
		depth int
	}{
		"wipeStack": {wipeStack, wipeDepth}, "wipeStackMAC": {wipeStackMAC, macWipeDepth},
		"wipeStackHash": {wipeStackHash, hashWipeDepth}, "wipeStackSlow": {wipeStackSlow, wipeDepthSlow},
		"wipeStackMACSlow": {wipeStackMACSlow, macWipeDepthSlow}, "wipeStackDeep": {wipeStackDeep, deepWipeDepth},
	} {
		var left int
		probe(t, func() { left = UnzeroedForTest(w.f, 48<<10, w.depth) })
		if left != 0 {
			t.Errorf("%s left %d of the %d bytes above its depth unzeroed", name, left, w.depth-stackGap)
		}
	}
	// The check sees bytes left: a call that writes nothing leaves them all.
	var left int
	probe(t, func() { left = UnzeroedForTest(func() {}, 48<<10, macWipeDepth) })
	if left != macWipeDepth-stackGap {
		t.Errorf("a call that zeroes nothing left %d bytes, want all %d", left, macWipeDepth-stackGap)
	}
}

// needles are the secrets a key leaves in an HMAC computation: the key
// padded with ipad and opad, and the hash's chaining values after each
// (the midstates), as words.
func needles(t *testing.T, h Hash, key []byte) NeedlesForTest {
	d := mustDigest(t, h)
	bs := h.BlockSize()
	pad := make([]byte, bs)
	copy(pad, key)
	n := NeedlesForTest{}
	for name, x := range map[string]byte{"inner": 0x36, "outer": 0x5c} {
		p := make([]byte, bs)
		for i := range p {
			p[i] = pad[i] ^ x
		}
		n.Add(name+" padded key", p)
		d.h.Write(p)
		var s state
		_, _ = d.a.AppendBinary(s[:0]) // marshaled: the words big-endian after the magic
		d.wipe()
		n.AddWords(name+" midstate", s[4:4+h.Size()], h.Size()/8)
	}
	return n
}

// After an HMAC call, neither the dead stack below the caller nor the
// registers hold anything the key computed: pads, midstates, the hashed
// form of a long key, the inner hash, the output. The same scan with the
// wipe skipped finds some of them, so it can see what it looks for.
func TestNoKeyMaterialOutlivesACall(t *testing.T) {
	for _, c := range hashes {
		word := c.h.Size() / 8
		d := mustDigest(t, c.h)
		long := filled(c.h.BlockSize()+30, 0x33)
		short := filled(c.h.BlockSize()/2, 0x44)
		msg := filled(200, 1)
		hashed := c.new()
		hashed.Write(long)
		var k Key
		k.Set(d, short)
		var s Stream
		s.Set(d, short)
		inner := c.new()
		inner.Write(needlePad(short, c.h.BlockSize(), 0x36))
		inner.Write(msg)

		setNeedles := needles(t, c.h, hashed.Sum(nil))
		setNeedles.AddWords("hashed long key", hashed.Sum(nil), word)
		sumNeedles := needles(t, c.h, short)
		sumNeedles.AddWords("inner hash", inner.Sum(nil), word)
		sumNeedles.AddWords("output", refHMAC(c.new, short, msg), word)

		var k2 Key
		for _, op := range []struct {
			name    string
			f       func()
			needles NeedlesForTest
		}{
			{"Set with a long key", func() { k2.Set(d, long) }, setNeedles},
			{"Sum", func() { _, _ = k.Sum(d, nil, msg) }, sumNeedles},
			{"Stream", func() {
				s.Reset()
				_ = s.Write(d, msg)
				_, _ = s.Sum(d, nil)
			}, sumNeedles},
		} {
			// SHA-512's compression, unlike SHA-NI's SHA-256, leaves no
			// chaining value in registers, and an HMAC that ends with
			// padding rather than Sum copies no digest onto the stack:
			// without the wipes its Sum and Stream may leave nothing to
			// find. TestTheErasureCheckCanFail shows the scan can see.
			// Nor does SHA-256's AVX2 code, which keeps the schedule
			// as sums with the round constants (deepHashes: the child
			// processes of TestEveryHashImplementationFitsTheWipe).
			mayMiss := (c.h == SHA512 || deepHashes) && op.name != "Set with a long key"
			t.Run(c.h.String()+"/"+op.name, func(t *testing.T) {
				CheckErasedForTest(t, ErasureForTest{Call: op.f, Span: 8 << 10, Needles: op.needles, ControlMayMiss: mayMiss})
			})
		}
	}
}

func needlePad(key []byte, bs int, x byte) []byte {
	p := make([]byte, bs)
	copy(p, key)
	for i := range p {
		p[i] ^= x
	}
	return p
}

func BenchmarkHMAC(b *testing.B) {
	for _, c := range hashes {
		key := filled(32, 1)
		for _, n := range []int{32, 256, 1024} {
			msg := filled(n, 2)
			b.Run(fmt.Sprintf("%v/%dB/crypto-hmac", c.h, n), func(b *testing.B) {
				m := hmac.New(c.new, key)
				out := make([]byte, 0, MaxSize)
				b.ReportAllocs()
				for b.Loop() {
					m.Reset()
					m.Write(msg)
					out = m.Sum(out[:0])
				}
			})
			d := mustDigest(b, c.h)
			var k Key
			k.Set(d, key)
			b.Run(fmt.Sprintf("%v/%dB/Key.Sum", c.h, n), func(b *testing.B) {
				out := make([]byte, 0, MaxSize)
				b.ReportAllocs()
				for b.Loop() {
					out, _ = k.Sum(d, out[:0], msg)
				}
			})
			var s Stream
			s.Set(d, key)
			b.Run(fmt.Sprintf("%v/%dB/Stream", c.h, n), func(b *testing.B) {
				out := make([]byte, 0, MaxSize)
				b.ReportAllocs()
				for b.Loop() {
					s.Reset()
					_ = s.Write(d, msg)
					out, _ = s.Sum(d, out[:0])
				}
			})
		}
	}
}

// Erase grows the stack before f runs, so f never triggers the copy that
// would leave its frames behind in the old stack. Fresh goroutines start
// with a small stack, which the deepest operations outgrow; how small
// differs by system (Windows adds room for its own calls), so each
// operation also runs below frames that use up part of the stack, at
// every depth up to 16 KiB.
func TestErasingNeverMovesTheStack(t *testing.T) {
	inFreshGoroutine := func(f func()) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			f()
		}()
		<-done
	}
	type erased struct {
		op    func()
		erase func(func())
	}
	all := map[string]erased{}
	for name, op := range operations(t) {
		all[name] = erased{op, Erase}
	}
	for name, op := range macOperations(t) {
		all[name] = erased{op, EraseMAC}
	}
	for name, op := range deepOperations(t) {
		all[name] = erased{op, EraseDeep}
	}
	for name, op := range hashOperations(t) {
		all["eraseHash: "+name] = erased{op, eraseHash}
	}
	for name, e := range all {
		op := e.op
		var moved, movedBare bool
		watch := func(moved *bool) func() {
			return func() {
				var local byte
				before := uintptr(unsafe.Pointer(&local))
				op()
				*moved = uintptr(unsafe.Pointer(&local)) != before
			}
		}
		// Below 0 to 64 frames of 256 bytes, so that some depth puts the
		// operation across the end of whatever stack a fresh goroutine
		// starts with (it differs by system and by history).
		movedBareAt := -1
		for depth := 0; depth <= 64; depth++ {
			moved, movedBare = false, false
			inFreshGoroutine(func() { belowFrames(depth, func() { e.erase(watch(&moved)) }) })
			inFreshGoroutine(func() { belowFrames(depth, watch(&movedBare)) })
			// runtime/secret.Do erases an old stack itself.
			if moved && !RuntimeErases {
				t.Errorf("%s moved the stack inside Erase, below %d frames", name, depth)
			}
			if movedBare && movedBareAt < 0 {
				movedBareAt = depth
			}
		}
		t.Logf("%s, run in a fresh goroutine without Erase, first moved the stack below %d frames (-1: never)", name, movedBareAt)
	}
	// Goroutines start with the average stack size the collector saw
	// (adaptive stack start), so whether an operation outgrows a fresh
	// one depends on what ran before. A frame larger than any average
	// here always does: it shows the test can see a move.
	var controlMoved bool
	inFreshGoroutine(func() {
		var local byte
		before := uintptr(unsafe.Pointer(&local))
		useLargeStack()
		controlMoved = uintptr(unsafe.Pointer(&local)) != before
	})
	if !controlMoved {
		t.Error("a 64 KiB frame in a fresh goroutine did not move its stack: the test cannot see a move")
	}

}

// belowFrames calls f below depth frames of about 256 bytes each.
//
//go:noinline
func belowFrames(depth int, f func()) {
	var pad [256]byte
	if depth == 0 {
		f()
		return
	}
	pad[depth%len(pad)] = byte(depth)
	belowFrames(depth-1, f)
	stackSink = pad[depth%len(pad)]
}

var stackSink byte

// After growStack, a call as deep as Erase allows runs without moving the
// stack, even in a fresh goroutine, whose stack starts smaller.
func TestGrowStackReservesWhatErasingNeeds(t *testing.T) {
	var moved bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		growStack()
		var local byte
		before := uintptr(unsafe.Pointer(&local))
		useStack()
		moved = uintptr(unsafe.Pointer(&local)) != before
	}()
	<-done
	if moved {
		t.Errorf("a call using %d bytes of stack after growStack moved the stack", growSize-stackGap)
	}
}

//go:noinline
func useLargeStack() {
	var b [64 << 10]byte
	escapeNothing(unsafe.Pointer(&b))
}

//go:noinline
func useStack() {
	var b [growSize - stackGap]byte
	escapeNothing(unsafe.Pointer(&b))
}

// After sealing or opening, neither the dead stack nor the registers hold
// the key, the HChaCha20 subkey, the Poly1305 key or the key stream; with
// the wipe skipped, the scan finds some of them.
func TestNoCipherStateOutlivesACall(t *testing.T) {
	var key [KeySize]byte
	var nonce [NonceSize]byte
	copy(key[:], filled(KeySize, 0x61))
	copy(nonce[:], filled(NonceSize, 0x17))
	ad, pt := filled(16, 5), filled(200, 6)
	sub, err := chacha20.HChaCha20(key[:], nonce[:16])
	if err != nil {
		t.Fatal(err)
	}
	var inner [12]byte
	copy(inner[4:], nonce[16:])
	c, err := chacha20.NewUnauthenticatedCipher(sub, inner[:])
	if err != nil {
		t.Fatal(err)
	}
	stream := make([]byte, 64+len(pt))
	c.XORKeyStream(stream, stream)
	polyKey := stream[:32]
	r := bytes.Clone(polyKey[:16]) // as Poly1305 clamps it
	for _, i := range []int{3, 7, 11, 15} {
		r[i] &= 15
	}
	for _, i := range []int{4, 8, 12} {
		r[i] &= 252
	}
	nd := NeedlesForTest{}
	nd.Add("key", key[:])
	nd.Add("HChaCha20 subkey", sub)
	nd.Add("Poly1305 key", r)
	nd.Add("Poly1305 key", polyKey[16:])
	nd.Add("key stream", stream[64:])
	var tag [TagSize]byte
	ct := bytes.Clone(pt)
	Seal(&key, &nonce, ad, ct, &tag)
	for _, op := range []struct {
		name string
		f    func()
	}{
		{"Seal", func() { Seal(&key, &nonce, ad, bytes.Clone(pt), &tag) }},
		{"Open", func() { _ = Open(&key, &nonce, ad, bytes.Clone(ct), &tag) }},
	} {
		t.Run(op.name, func(t *testing.T) { checkErased(t, op.f, nd) })
	}
}
