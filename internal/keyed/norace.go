//go:build !race

package keyed

// raceDepth is how much deeper the race detector's instrumentation makes
// this package's calls.
const raceDepth = 0

// raceHashDepth is how much deeper eraseHash wipes under the race
// detector.
const raceHashDepth = 0
