//go:build !goexperiment.runtimesecret

package secret

func run(fn func([]byte) error, b []byte) error { return fn(b) }

// Erasing reports whether Use callbacks run inside runtime/secret.Do, which
// erases their stack and register temporaries (GOEXPERIMENT=runtimesecret).
func Erasing() bool { return false }
