//go:build !amd64

package keyed

import "unsafe"

// wipeStack zeroes the wipeDepth bytes of stack below its caller's frame.
// It is not inlined, so its frame starts where the frames of the calls
// its caller made before it started. The compiler zeroes the array.
//
//go:noinline
func wipeStack() {
	var b [wipeDepth]byte
	// The zeroing is the language's: b is zero when escapeNothing reads it,
	// so the compiler cannot drop it.
	escapeNothing(unsafe.Pointer(&b))
}

// wipeStackMAC is wipeStack for EraseMAC.
//
//go:noinline
func wipeStackMAC() {
	var b [macWipeDepth]byte
	escapeNothing(unsafe.Pointer(&b))
}

// wipeStackHash is wipeStack for eraseHash.
//
//go:noinline
func wipeStackHash() {
	var b [hashWipeDepth]byte
	escapeNothing(unsafe.Pointer(&b))
}

// wipeStackSlow and wipeStackMACSlow are wipeStack and wipeStackMAC
// where deepHashes is set.
//
//go:noinline
func wipeStackSlow() {
	var b [wipeDepthSlow]byte
	escapeNothing(unsafe.Pointer(&b))
}

//go:noinline
func wipeStackMACSlow() {
	var b [macWipeDepthSlow]byte
	escapeNothing(unsafe.Pointer(&b))
}

// wipeStackDeep is wipeStack for EraseDeep.
//
//go:noinline
func wipeStackDeep() {
	var b [deepWipeDepth]byte
	escapeNothing(unsafe.Pointer(&b))
}
