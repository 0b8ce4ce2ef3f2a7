//go:build race

package jwt

// The race detector changes what the compiler keeps in registers and on
// the stack.
const raceEnabled = true
