//go:build goexperiment.runtimesecret

package secret_test

import (
	"errors"
	"runtime"
	rtsecret "runtime/secret"
	"testing"

	"github.com/secretmem/secretmem/secret"
)

// With GOEXPERIMENT=runtimesecret every callback that sees a secret runs
// inside runtime/secret.Do, which erases the stack and registers it used.
// runtime/secret.Enabled reports whether Do is on the call stack.
func TestCallbacksRunInsideRuntimeSecretDo(t *testing.T) {
	if !secret.Erasing() {
		t.Fatal("built with runtimesecret, but Erasing reports false")
	}
	if osArch := runtime.GOOS + "/" + runtime.GOARCH; osArch != "linux/amd64" && osArch != "linux/arm64" {
		t.Skipf("runtime/secret.Do only erases on linux/amd64 and linux/arm64, not %s", osArch)
	}
	if rtsecret.Enabled() {
		t.Fatal("the test itself runs inside secret.Do, so it proves nothing")
	}
	errOutside := errors.New("the callback ran outside secret.Do")
	inside := func() error {
		if !rtsecret.Enabled() {
			return errOutside
		}
		return nil
	}
	cells := map[string][]secret.Option{
		"pooled":             nil,
		"guarded":            {secret.Guarded()},
		"sealed":             {secret.Sealed()},
		"sealed and guarded": {secret.Sealed(), secret.Guarded()},
	}
	for name, opts := range cells {
		t.Run(name, func(t *testing.T) {
			v := mustNew(t, "erase me", opts...)
			if err := v.Use(func([]byte) error { return inside() }); err != nil {
				t.Errorf("Value.Use: %v", err)
			}
			b, err := secret.NewBox([16]byte{1}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Destroy()
			if err := b.Use(func(*[16]byte) error { return inside() }); err != nil {
				t.Errorf("Box.Use: %v", err)
			}
			if err := b.Update(func(*[16]byte) error { return inside() }); err != nil {
				t.Errorf("Box.Update: %v", err)
			}
		})
	}
	for name, opts := range map[string][]secret.Option{"pooled": nil, "guarded": {secret.Guarded()}} {
		t.Run("Vec "+name, func(t *testing.T) {
			vec, err := secret.NewVec[uint32](4, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer vec.Destroy()
			if err := vec.Push(7); err != nil {
				t.Fatal(err)
			}
			if err := vec.Use(func([]uint32) error { return inside() }); err != nil {
				t.Errorf("Vec.Use: %v", err)
			}
			frozen, err := vec.Freeze()
			if err != nil {
				t.Fatal(err)
			}
			if err := frozen.Use(func([]byte) error { return inside() }); err != nil {
				t.Errorf("Use of a frozen Vec: %v", err)
			}
		})
	}
}
