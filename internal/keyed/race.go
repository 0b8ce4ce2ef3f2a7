//go:build race

package keyed

// raceDepth is how much deeper the race detector's instrumentation makes
// this package's calls.
const raceDepth = 1280

// raceHashDepth is how much deeper eraseHash wipes under the race
// detector: as deep as EraseMAC (192 bytes more than raceDepth), since a
// raw Verify goes 2,031 bytes deep there.
const raceHashDepth = raceDepth + 192
