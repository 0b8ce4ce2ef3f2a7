//go:build race

package middleware_test

// The race detector changes allocation counts.
const raceEnabled = true
