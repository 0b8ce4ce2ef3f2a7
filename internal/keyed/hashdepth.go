package keyed

import (
	"os"
	"strings"
)

// deepHashes says the standard library's SHA-256 or SHA-512 runs code
// here that goes deeper into the stack than the wipe depths in erase.go
// were measured with, so that the wipes must reach slowHashDepth further.
// It is set unless the CPU has what crypto/sha256 and crypto/sha512 pick
// their shallow code for (fastHashCPU, per architecture), and also when
// GODEBUG sets cpu.* options (which turn features off for the standard
// library, in ways this package does not parse) or the build is purego
// (generic code only). Unsure means deep: a wipe too deep costs a few
// nanoseconds, one too shallow leaves key material on the stack.
var deepHashes = !fastHashCPU() || strings.Contains(os.Getenv("GODEBUG"), "cpu.") || purego
