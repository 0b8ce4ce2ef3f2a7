//go:build goexperiment.runtimesecret

package sqlcell

import rtsecret "runtime/secret"

// erase runs f inside runtime/secret.Do: the stack and registers f used
// are erased when it returns, and the heap memory it allocated is erased
// when the garbage collector frees it.
func erase(f func()) { rtsecret.Do(f) }

// Erasing reports whether Connect and the Connector's connects run inside
// runtime/secret.Do (a build with GOEXPERIMENT=runtimesecret).
func Erasing() bool { return true }
