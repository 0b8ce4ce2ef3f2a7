// Package logbench measures the redactor of package logging over slog's
// JSON handler and tint, and what linking package logging does to the cost
// of creating a cell. It is a package of its own so that the cell benchmarks
// of package bench run in a binary that does not link package logging: once
// a redactor exists (and, in newer versions, once logging is imported), every
// new cell registers a keyed fingerprint of its plaintext.
package logbench
