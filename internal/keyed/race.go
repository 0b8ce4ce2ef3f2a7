//go:build race

package keyed

// raceDepth is how much deeper the race detector's instrumentation makes
// this package's calls.
const raceDepth = 1280
