#!/usr/bin/env bash
# bench/run.sh: measure secretmem side by side with memguard and with no
# protection at all, check the project's promises, and write BENCHMARKS.md
# and bench/ratios.svg (issue 9).
#
#   bench/run.sh              run every part (about 4 minutes on 2 cores)
#   bench/run.sh PART...      run only these parts again (cells, log, capacity,
#                             http), keeping the others; the figures they
#                             replace are reported as the "earlier run"
#
# Needs Go and root: the capacity children run as uid 65534, because root
# ignores RLIMIT_MEMLOCK. Installs wrk from apt when it is missing. All HTTP
# traffic stays on 127.0.0.1. Knobs (environment): ROUNDS (Go benchmark
# rounds, default 8), BENCHTIME (per benchmark and round, default 0.3s),
# PAIRS (wrk rounds, default 4), HTTP_SECONDS (per wrk run, default 5).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
RESULTS=$BENCH_DIR/results
ROUNDS=${ROUNDS:-8}
BENCHTIME=${BENCHTIME:-0.3s}
PAIRS=${PAIRS:-4}
HTTP_SECONDS=${HTTP_SECONDS:-5}
# Pinned so that every run formats the same way.
BENCHSTAT=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
export GOWORK=off

ALL=(cells log capacity http)
if [[ $# -eq 0 ]]; then
	PARTS=("${ALL[@]}")
else
	PARTS=("$@")
	for p in "${PARTS[@]}"; do
		[[ " ${ALL[*]} " == *" $p "* ]] || { echo "run.sh: unknown part '$p' (want: ${ALL[*]})" >&2; exit 2; }
	done
fi
COMMAND="bench/run.sh${*:+ $*}"
want() { [[ " ${PARTS[*]} " == *" $1 "* ]]; }
files_of() {
	case $1 in
	cells | log) echo "$1.txt $1.benchstat $1.csv $1.warnings" ;;
	capacity) echo "capacity.json" ;;
	http) echo "http.json" ;;
	esac
}

if [[ $(id -u) -ne 0 ]] && want capacity; then
	echo "run.sh: the capacity part starts children as uid 65534 and must run as root" >&2
	exit 1
fi

START=$(date +%s)
cd "$BENCH_DIR"

if [[ $# -eq 0 ]]; then
	rm -rf "$RESULTS"
	mkdir -p "$RESULTS"
else
	mkdir -p "$RESULTS/earlier"
	for p in "${PARTS[@]}"; do
		for f in $(files_of "$p"); do
			if [[ -f $RESULTS/$f ]]; then mv -f "$RESULTS/$f" "$RESULTS/earlier/$f"; fi
		done
	done
fi

if want http && ! command -v wrk >/dev/null; then
	echo "== installing wrk"
	apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi

echo "== building"
BIN=$(mktemp -d /tmp/secretmem-bench.XXXXXX)
trap 'rm -rf "$BIN"' EXIT
chmod 755 "$BIN" # the capacity children (uid 65534) must be able to run it
go test -c -o "$BIN/bench.test" .
go test -c -o "$BIN/logbench.test" ./logbench
go build -o "$BIN/capacity" ./cmd/capacity
go build -o "$BIN/httpbench" ./cmd/httpbench
go build -o "$BIN/report" ./cmd/report
GOBIN=$BIN go install "$BENCHSTAT"
chmod 755 "$BIN"/*

{
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "cores=$(nproc)"
	echo "kernel=$(uname -sr)"
	echo "tree=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" status --porcelain -- . ':!bench' ':!BENCHMARKS.md' 2>/dev/null | grep -q . && echo ' plus uncommitted changes' || true)"
	echo "memguard=$(go list -m -f '{{.Path}} {{.Version}}' github.com/awnumar/memguard)"
	echo "benchtime=$BENCHTIME"
	echo "rounds=$ROUNDS"
	echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RESULTS/machine.txt"

# Each round is a fresh process running every benchmark once, so drift in
# the machine's load falls on all of them alike.
gobench() { # part binary pattern
	local part=$1 binary=$2 pattern=$3
	: >"$RESULTS/$part.txt"
	for ((i = 1; i <= ROUNDS; i++)); do
		echo "== $part: round $i of $ROUNDS"
		"$BIN/$binary" -test.run '^$' -test.bench "$pattern" -test.benchtime "$BENCHTIME" -test.benchmem >>"$RESULTS/$part.txt"
	done
	(cd "$RESULTS" && "$BIN/benchstat" "$part.txt" >"$part.benchstat" 2>"$part.warnings" && "$BIN/benchstat" -format csv "$part.txt" >"$part.csv" 2>>"$part.warnings")
}

# The logging benchmarks live in a test binary of their own: once package
# logging is linked and a redactor exists, every new cell registers a
# fingerprint, which would change the cell figures. That binary also runs the
# secretmem create+destroy cases again, to show what registration costs.
if want cells; then gobench cells bench.test '^(BenchmarkCreateDestroy|BenchmarkRead)$'; fi
if want log; then gobench log logbench.test '^(BenchmarkLog|BenchmarkCreateDestroyWithLogging)$'; fi

if want capacity; then
	echo "== capacity (children as uid 65534)"
	"$BIN/capacity" >"$RESULTS/capacity.json"
fi

if want http; then
	echo "== http: wrk, $PAIRS rounds of ${HTTP_SECONDS}s per server"
	"$BIN/httpbench" -pairs "$PAIRS" -seconds "$HTTP_SECONDS" -threads 2 -connections 32 >"$RESULTS/http.json"
fi

echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/machine.txt"
ELAPSED=$(($(date +%s) - START))
# The report lists every command whose figures it holds: a full run starts
# the list, a partial rerun adds to it.
echo "$COMMAND ($(date -u +%H:%M:%SZ), ${ELAPSED}s)" >>"$RESULTS/commands.txt"
echo "== report"
"$BIN/report" -results "$RESULTS" -out "$ROOT/BENCHMARKS.md" -svg "$BENCH_DIR/ratios.svg" \
	-svglink bench/ratios.svg -go "$(go env GOVERSION)" -elapsed "${ELAPSED}s"
echo "== done in ${ELAPSED}s"
