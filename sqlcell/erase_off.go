//go:build !goexperiment.runtimesecret

package sqlcell

func erase(f func()) { f() }

// Erasing reports whether Connect and the Connector's connects run inside
// runtime/secret.Do (a build with GOEXPERIMENT=runtimesecret).
func Erasing() bool { return false }
