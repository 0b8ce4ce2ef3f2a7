//go:build !go1.25

package sign

// scalarOnTheStack: see version_test.go.
const scalarOnTheStack = false
