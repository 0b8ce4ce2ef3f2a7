//go:build race

package config

// raceSlowdown is how much slower the race detector makes CPU-bound work
// here (measured: the YAML alias bomb is refused in 0.35 s without it,
// 3.9 s with it on a loaded two-core machine).
const raceSlowdown = 10
