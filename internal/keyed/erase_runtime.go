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

// SkipWipesForTest does nothing: runtime/secret.Do cannot be told to skip
// its erasure.
func SkipWipesForTest() (restore func()) { return func() {} }
