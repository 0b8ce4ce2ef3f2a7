//go:build goexperiment.runtimesecret

package secret

import rtsecret "runtime/secret"

// run calls fn inside runtime/secret.Do, so the stack and registers the
// callback used are erased when it returns (where the runtime supports it).
func run(fn func([]byte) error, b []byte) (err error) {
	rtsecret.Do(func() { err = fn(b) })
	return err
}

// Erasing reports whether Use callbacks run inside runtime/secret.Do, which
// erases their stack and register temporaries (GOEXPERIMENT=runtimesecret).
func Erasing() bool { return true }
