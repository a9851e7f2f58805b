#!/usr/bin/env bash
# Cost per sample of the json and csv file outputs, write included (issue 24: JSON <= 100 ns,
# CSV <= 60 ns): k6's sample mix (13 samples per request, ~3 600 series) through each output's
# real `Output` to a file in a temp folder. Two figures per case:
#   - ns/sample: CPU time of the writing thread (user + kernel, the write included), median of
#     five runs of 2 M samples; wall time beside it, rough on a shared machine (so the 1-minute
#     load average is printed too);
#   - instructions/sample (callgrind, user space: the kernel's share of write(2) is not in it):
#     the repeatable one, (Ir(2N) - Ir(N)) / N so set-up and series compilation cancel out.
#   scripts/bench-file-outputs.sh          # both
#   FILES_NO_CALLGRIND=1 scripts/...       # ns only
# Figures only: nothing here fails on a slow machine.
set -euo pipefail
cd "$(dirname "$0")/.."

exe() { # package -> path of its per_sample bench binary
    cargo bench -q -p "$1" --bench per_sample --no-run --message-format=json 2>/dev/null |
        python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("executable") and m["target"]["name"]=="per_sample": print(m["executable"])'
}

cargo bench -p out-json -p out-csv --bench per_sample --no-run
json=$(exe out-json)
csv=$(exe out-csv)

echo "| case | CPU/sample | spread | user + kernel | wall/sample | bytes/sample | load avg |"
echo "|---|---|---|---|---|---|---|"
"$json"
"$csv"

if [[ -n "${FILES_NO_CALLGRIND:-}" ]]; then exit 0; fi
if ! command -v valgrind >/dev/null; then
    echo "valgrind not installed: no instruction counts (apt-get install valgrind)"
    exit 0
fi
ir() { # binary case n -> instructions
    PER_SAMPLE_CASE="$2" PER_SAMPLE_N="$3" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
n=200000
echo
echo "| case | instructions/sample |"
echo "|---|---|"
for spec in "$json|json" "$csv|csv" "$csv|csv (rfc3339_nano)"; do
    bin=${spec%%|*} case=${spec#*|}
    a=$(ir "$bin" "$case" $n)
    b=$(ir "$bin" "$case" $((2 * n)))
    echo "| $case | $(((b - a) / n)) |"
done
