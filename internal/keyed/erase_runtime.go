//go:build goexperiment.runtimesecret && linux && (amd64 || arm64)

package keyed

import rtsecret "runtime/secret"

// RuntimeErases reports whether Erase delegates to runtime/secret.Do
// (GOEXPERIMENT=runtimesecret on linux/amd64 or linux/arm64, where Do
// erases; elsewhere it would only call f).
const RuntimeErases = true

// Erase runs f inside runtime/secret.Do, which erases the stack and
// registers f used when it returns, also when the stack moved meanwhile.
//
//go:noinline
func Erase(f func()) { rtsecret.Do(f) }

// EraseMAC runs f inside runtime/secret.Do, as Erase does.
//
//go:noinline
func EraseMAC(f func()) { rtsecret.Do(f) }

// eraseHash runs f inside runtime/secret.Do, as Erase does.
//
//go:noinline
func eraseHash(f func()) { rtsecret.Do(f) }

// EraseDeep runs f inside runtime/secret.Do, as Erase does.
//
//go:noinline
func EraseDeep(f func()) { rtsecret.Do(f) }

// wipeMACBelow wipes macWipeDepth bytes below its caller's frame and the
// registers, while f still runs: Key.Check calls it before match runs,
// and when match ends the goroutine (runtime.Goexit). Do would erase it
// all, but after a Goexit only once the goroutine is gone (goexit0 clears
// the whole stack): until then the deferred calls of every caller above
// run with it in place, for as long as they take.
func wipeMACBelow() {
	if wipeOff {
		return
	}
	wipeStackMAC()
	wipeRegisters()
}

// wipeOff is set by tests that measure a computation without the wipes.
var wipeOff bool

// SkipWipesForTest makes Key.Check skip its own wipes (before match, and
// after a Goexit in it) until restore is called. runtime/secret.Do cannot
// be told to skip its erasure: Erase, EraseMAC and EraseDeep still erase.
func SkipWipesForTest() (restore func()) {
	wipeOff = true
	return func() { wipeOff = false }
}
