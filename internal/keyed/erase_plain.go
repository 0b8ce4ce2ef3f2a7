//go:build !(goexperiment.runtimesecret && linux && (amd64 || arm64))

package keyed

// RuntimeErases reports whether Erase delegates to runtime/secret.Do
// (GOEXPERIMENT=runtimesecret on linux/amd64 or linux/arm64, where Do
// erases; elsewhere it would only call f).
const RuntimeErases = false

// Erase calls f, then overwrites what f left on the goroutine's stack
// (wipeDepth bytes below Erase's frame, wipeDepthSlow where deepHashes is
// set) and in registers. Run every computation that touches key material
// inside it. f must not use more stack than that (the package's tests
// measure every operation that runs in an Erase, with each hash
// implementation) and must not call Erase: the inner
// call's growStack could move the stack and leave f's dead frames behind
// in the old one. So the package's exported functions each run one Erase
// and call only unexported helpers inside it.
//
//go:noinline
func Erase(f func()) {
	growStack()
	f()
	if wipeOff {
		return
	}
	if deepHashes {
		wipeStackSlow()
	} else {
		wipeStack()
	}
	wipeRegisters()
}

// EraseMAC is Erase for the per-message HMAC computations, which use
// less stack: it wipes macWipeDepth bytes instead of wipeDepth. The same
// rules hold.
//
//go:noinline
func EraseMAC(f func()) {
	growStack()
	f()
	if wipeOff {
		return
	}
	if deepHashes {
		wipeStackMACSlow()
	} else {
		wipeStackMAC()
	}
	wipeRegisters()
}

// eraseHash is EraseMAC for the HMAC calls that run no code of the
// caller's on a raw digest (see hashWipeDepth). The same rules hold.
//
//go:noinline
func eraseHash(f func()) {
	growStack()
	f()
	if wipeOff {
		return
	}
	if deepHashes {
		wipeStackMACSlow()
	} else {
		wipeStackHash()
	}
	wipeRegisters()
}

// EraseDeep is Erase for computations that use up to deepWipeDepth (16
// KiB) of stack: signatures and their verification. The same rules hold:
// f must not call Erase or EraseDeep.
//
//go:noinline
func EraseDeep(f func()) {
	growStackDeep()
	f()
	if wipeOff {
		return
	}
	wipeStackDeep()
	wipeRegisters()
}

// wipeMACBelow wipes what EraseMAC wipes after f, below its caller's
// frame rather than EraseMAC's, while f still runs: Key.Check calls it
// before match runs, and when match ends the goroutine (runtime.Goexit),
// which never returns to EraseMAC.
func wipeMACBelow() {
	if wipeOff {
		return
	}
	wipeStackMAC()
	wipeRegisters()
}

// wipeOff is set by tests that show what Erase removes.
var wipeOff bool

// SkipWipesForTest makes Erase leave the stack and registers as f left
// them, until restore is called, so that a test can show its scan finds
// what the wipe removes. Not safe to use while other goroutines Erase.
func SkipWipesForTest() (restore func()) {
	wipeOff = true
	return func() { wipeOff = false }
}
