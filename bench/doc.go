// Package bench measures secretmem side by side with the library users would
// otherwise pick (github.com/awnumar/memguard) and with no protection at all.
//
// It is a module of its own so that the main module never depends on peers.
// Run everything with bench/run.sh, which writes BENCHMARKS.md and
// bench/ratios.svg at the repository root. The cell benchmarks live in
// cells.go (run by peers_test.go), the logging ones in package logbench;
// cmd/capacity counts live cells under RLIMIT_MEMLOCK,
// cmd/httpbench drives wrk against chi with and without the middleware stack,
// and cmd/report turns the results into the report and checks the promises.
package bench
