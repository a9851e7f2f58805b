#!/usr/bin/env bash
# Figures for distributed runs: for 1, 2 and 3 instances (separate processes, one --start-at,
# each with --result, merged by `loadrun merge`) against one `loadrun serve`, the total
# requests/s and the merged p95, beside the p95 of one process running the same whole load.
# A measurement, not a test. Usage: scripts/bench-distributed.sh [VUS] [DURATION]
set -euo pipefail
VUS=${1:-12}
DURATION=${2:-8s}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
BIN=${LOADRUN:-$TARGET_DIR/release/loadrun}
PORT=${PORT:-18181}
[ -x "$BIN" ] || { echo "build first: cargo build --release -p loadrun ($BIN missing)" >&2; exit 1; }

work=$(mktemp -d)
"$BIN" serve --listen "127.0.0.1:$PORT" 2>/dev/null &
serve=$!
trap 'kill $serve 2>/dev/null; rm -rf "$work"' EXIT
sleep 0.5
cat > "$work/plan.toml" <<PLAN
[scenarios.load]
executor = "constant-vus"
vus = $VUS
duration = "$DURATION"

[[steps]]
url = "http://127.0.0.1:$PORT/get"
PLAN

stat() { python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["metrics"]; print(m[sys.argv[2]][sys.argv[3]])' "$@"; }

printf '%-10s %14s %14s %16s\n' instances "requests/s" "merged p95" "one-process p95"
for n in 1 2 3; do
  at=$(( $(date +%s%3N) + 1500 ))
  pids=()
  for ((i = 0; i < n; i++)); do
    "$BIN" run "$work/plan.toml" -q --no-summary --instance-index "$i" --instance-count "$n" \
      --start-at "$at" --result "$work/r$n-$i.json" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  files=()
  for ((i = 0; i < n; i++)); do files+=("$work/r$n-$i.json"); done
  "$BIN" merge "${files[@]}" --no-summary --summary-export "$work/m$n.json"
  "$BIN" run "$work/plan.toml" -q --no-summary --summary-export "$work/s$n.json"
  printf '%-10s %14.0f %12.3fms %14.3fms\n' "$n" \
    "$(stat "$work/m$n.json" http_reqs rate)" \
    "$(stat "$work/m$n.json" http_req_duration 'p(95)')" \
    "$(stat "$work/s$n.json" http_req_duration 'p(95)')"
done
