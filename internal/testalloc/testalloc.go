// Package testalloc measures allocations per call for the tests' budgets.
// Only tests import it.
//
// testing.AllocsPerRun reads the process's malloc count before and after
// its runs, so it counts what every goroutine allocated meanwhile. It sets
// GOMAXPROCS to 1, but when the measuring goroutine is preempted (the
// runtime does so after 10 ms on a CPU, which a stalled virtual CPU on a
// loaded CI host reaches in one run) another goroutine runs: the finalizer
// goroutine destroying an earlier test's cells, a server's handler. One
// such burst of 100 allocations reads as "1 per call" in 100 runs, and a
// CI run failed that way on a call that allocates nothing.
//
// PerRun measures again when a measurement allocates, and reports the
// fewest. An allocation the call itself makes is in every measurement,
// so it is never hidden; a burst from elsewhere is in one.
package testalloc

import "testing"

// Attempts is how many measurements PerRun makes before it believes an
// allocation: a burst from another goroutine would have to land in each.
const Attempts = 5

// PerRun is testing.AllocsPerRun(runs, f), measured up to Attempts times
// while it reports allocations; it returns the lowest measurement.
func PerRun(runs int, f func()) float64 {
	least := testing.AllocsPerRun(runs, f)
	for i := 1; i < Attempts && least > 0; i++ {
		least = min(least, testing.AllocsPerRun(runs, f))
	}
	return least
}
