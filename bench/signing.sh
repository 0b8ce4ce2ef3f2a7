#!/usr/bin/env bash
# bench/signing.sh: the cost of signing from cells against the same
# primitive on a plain []byte key (issue 16's budgets), measured as
# process CPU time on a shared, loaded machine: each benchmark runs as its
# own process for a fixed number of iterations on one CPU, the variants
# are interleaved round by round, and the fastest round of each is kept.
#
#   bench/signing.sh            ROUNDS=7 by default
#
# Prints CPU ns per operation for each variant and the ratios.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-7}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$ROOT"
go test -c -o "$tmp/sign.test" ./sign/
go test -c -o "$tmp/mw.test" ./middleware/
(cd bench && GOWORK=off go test -c -o "$tmp/bench.test" .)

# name binary bench-regexp iterations
cases=(
  "hmac32/crypto-reused sign.test ^BenchmarkHMAC$/^32B$/^crypto-hmac-reused$ 5000000"
  "hmac32/crypto-pooled sign.test ^BenchmarkHMAC$/^32B$/^crypto-hmac-pooled$ 5000000"
  "hmac32/crypto-new sign.test ^BenchmarkHMAC$/^32B$/^crypto-hmac-new$ 2000000"
  "hmac32/cell sign.test ^BenchmarkHMAC$/^32B$/^sign.HMAC$ 4000000"
  "hmac32/cell-stream sign.test ^BenchmarkHMAC$/^32B$/^sign.Stream$ 4000000"
  "hmac256/crypto-reused sign.test ^BenchmarkHMAC$/^256B$/^crypto-hmac-reused$ 2500000"
  "hmac256/cell sign.test ^BenchmarkHMAC$/^256B$/^sign.HMAC$ 2500000"
  "hmac1024/crypto-reused sign.test ^BenchmarkHMAC$/^1024B$/^crypto-hmac-reused$ 1000000"
  "hmac1024/cell sign.test ^BenchmarkHMAC$/^1024B$/^sign.HMAC$ 1000000"
  "ed25519/crypto sign.test ^BenchmarkEd25519$/^crypto-ed25519$ 50000"
  "ed25519/cell sign.test ^BenchmarkEd25519$/^sign.Ed25519PrivateKey$ 50000"
  "ecdsa/crypto sign.test ^BenchmarkECDSAP256$/^crypto-ecdsa$ 25000"
  "ecdsa/cell sign.test ^BenchmarkECDSAP256$/^sign.ECDSAPrivateKey$ 25000"
  "tls-ed25519/plain bench.test ^BenchmarkTLSHandshake$/^Ed25519$/^plain$ 1500"
  "tls-ed25519/cells bench.test ^BenchmarkTLSHandshake$/^Ed25519$/^cells$ 1500"
  "tls-p256/plain bench.test ^BenchmarkTLSHandshake$/^P-256$/^plain$ 1500"
  "tls-p256/cells bench.test ^BenchmarkTLSHandshake$/^P-256$/^cells$ 1500"
  "rsa2048/cached bench.test ^BenchmarkRSAKeyPerSignature$/^cached$ 1000"
  "rsa2048/per-signature bench.test ^BenchmarkRSAKeyPerSignature$/^per-signature$ 1000"
  "jwt/chi mw.test ^BenchmarkRequireJWT$/^chi$ 2000000"
  "jwt/chi+Tokens mw.test ^BenchmarkRequireJWT$/^chi\+Tokens$ 1000000"
  "jwt/chi+Tokens+RequireJWT mw.test ^BenchmarkRequireJWT$/^chi\+Tokens\+RequireJWT$ 400000"
  "jwt/chi+RequireJWT mw.test ^BenchmarkRequireJWT$/^chi\+RequireJWT$ 400000"
)
declare -A best
for ((r = 1; r <= ROUNDS; r++)); do
  for c in "${cases[@]}"; do
    read -r name bin re n <<<"$c"
    # A run of 1 iteration measures start-up and setup, subtracted below.
    base=$( { /usr/bin/time -f '%U %S' "$tmp/$bin" -test.run '^$' -test.bench "$re" -test.benchtime 1x -test.cpu 1 >/dev/null; } 2>&1 | tail -1 | awk '{print $1+$2}')
    full=$( { /usr/bin/time -f '%U %S' "$tmp/$bin" -test.run '^$' -test.bench "$re" -test.benchtime "${n}x" -test.cpu 1 >/dev/null; } 2>&1 | tail -1 | awk '{print $1+$2}')
    ns=$(awk -v f="$full" -v b="$base" -v n="$n" 'BEGIN { printf "%.0f", (f - b) * 1e9 / n }')
    if [[ -z ${best[$name]:-} || $ns -lt ${best[$name]} ]]; then best[$name]=$ns; fi
  done
done
printf '%-28s %10s\n' variant "CPU ns/op"
for c in "${cases[@]}"; do
  read -r name _ <<<"$c"
  printf '%-28s %10s\n' "$name" "${best[$name]}"
done
ratio() { awk -v a="${best[$1]}" -v b="${best[$2]}" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "HMAC-SHA256 32 B, cell / crypto/hmac reused:    $(ratio hmac32/cell hmac32/crypto-reused)"
echo "HMAC-SHA256 32 B, cell / crypto/hmac pooled:    $(ratio hmac32/cell hmac32/crypto-pooled)"
echo "HMAC-SHA256 32 B, cell / hmac.New per message:  $(ratio hmac32/cell hmac32/crypto-new)"
echo "HMAC-SHA256 32 B, Stream / crypto/hmac reused:  $(ratio hmac32/cell-stream hmac32/crypto-reused)"
echo "HMAC-SHA256 256 B, cell / crypto/hmac reused:   $(ratio hmac256/cell hmac256/crypto-reused)"
echo "HMAC-SHA256 1 KiB, cell / crypto/hmac reused:   $(ratio hmac1024/cell hmac1024/crypto-reused)"
echo "Ed25519, cell / crypto/ed25519:                 $(ratio ed25519/cell ed25519/crypto)"
echo "ECDSA P-256, cell / crypto/ecdsa:               $(ratio ecdsa/cell ecdsa/crypto)"
echo "TLS 1.3 handshake, Ed25519, cells / plain:     $(ratio tls-ed25519/cells tls-ed25519/plain)"
echo "TLS 1.3 handshake, P-256, cells / plain:       $(ratio tls-p256/cells tls-p256/plain)"
echo "RSA-2048 PSS, key rebuilt per signature / cached: $(ratio rsa2048/per-signature rsa2048/cached)"
echo "RequireJWT HS256 over chi+Tokens:               $(( ${best[jwt/chi+Tokens+RequireJWT]} - ${best[jwt/chi+Tokens]} )) ns"
echo "RequireJWT HS256 over chi (taking the token):   $(( ${best[jwt/chi+RequireJWT]} - ${best[jwt/chi]} )) ns"
