//go:build go1.25

package sign

// scalarOnTheStack: crypto/ecdsa since Go 1.25 converts the scalar on the
// stack (FillBytes into a buffer that does not escape); Go 1.24 converts
// it on the heap, where the stack scan cannot see it.
const scalarOnTheStack = true
