#!/usr/bin/env bash
# Micro-benchmarks of the hot paths, in release, as one Markdown table: sample recording and
# series interning (metrics), trend insert and the summary consumer (summary), StatsD encoding
# (loadrun-statsd), remote-write protobuf + snappy (loadrun-remote-write), then the json/csv writers' own
# throughput benches and their cost per sample. Figures only: nothing here fails on a slow machine.
#   scripts/bench-micro.sh            # full (about 2 minutes once built)
#   MICRO_QUICK=1 scripts/bench-micro.sh   # shorter rounds, for a smoke run
set -euo pipefail
cd "$(dirname "$0")/.."

crates=(loadrun-metrics loadrun-summary loadrun-statsd loadrun-remote-write)
args=()
for c in "${crates[@]}"; do args+=(-p "$c"); done
cargo bench "${args[@]}" --bench micro --no-run

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for c in "${crates[@]}"; do
    cargo bench -q -p "$c" --bench micro 2>/dev/null | grep '^| ' >>"$out"
done

echo "Micro-benchmarks ($(nproc) cores; median of timed rounds, spread = (max-min)/median):"
echo
echo "| crate | case | time/op | items/s | spread |"
echo "|---|---|---|---|---|"
cat "$out"
echo
echo "JSON / CSV encoding (the writers' own benches, samples/s on one core):"
cargo bench -q -p out-json --bench throughput 2>/dev/null
cargo bench -q -p out-csv --bench throughput 2>/dev/null
echo
echo "JSON / CSV cost per sample, write included (k6's sample mix; scripts/bench-file-outputs.sh):"
FILES_NO_CALLGRIND=${MICRO_QUICK:+1} scripts/bench-file-outputs.sh 2>/dev/null | grep '^|'
