#!/usr/bin/env bash
# The web dashboard's cost, for its README (a benchmark, not a test):
#   1. requests/s with and without `-o web-dashboard` on one pinned core (loadrun on core 0, the
#      built-in test server on core 1), side by side, alternating, ROUNDS x DURATION each;
#   2. the report's size for a 10-minute run: 10 minutes at the default 10 s period are 60
#      snapshots; the same 60 are taken by a 30 s run at period=500ms;
#   3. peak RSS with and without the dashboard at 10,000 series (a plan whose URLs carry 10,000
#      distinct `name` tags).
#
# Usage: scripts/bench-dashboard.sh [path/to/loadrun]   (default: target/release/loadrun)
# Env: ROUNDS (3), DURATION (5s), VUS (20), PERIOD (the dashboard's period in part 1: 10s, its
# default; 1s makes ten times as many snapshots), CARGO_TARGET_DIR.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-${CARGO_TARGET_DIR:-$root/target}/release/loadrun}
rounds=${ROUNDS:-3}
duration=${DURATION:-5s}
vus=${VUS:-20}
period=${PERIOD:-10s}
[ -x "$bin" ] || { echo "no loadrun at $bin (cargo build --release -p loadrun)" >&2; exit 1; }
for tool in taskset jq /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done

work=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
taskset -c 1 "$bin" serve --listen "127.0.0.1:$port" --threads 1 >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
url="http://127.0.0.1:$port"

# run_one MODE ROUND: one pinned run; prints "REQUESTS/S CPU-MS-PER-1000-REQUESTS". The CPU time
# (user + system, from /usr/bin/time) per request is the steadier figure on a busy machine.
run_one() {
    local mode=$1 round=$2 out="$work/$1-$2.json"
    local extra=()
    [ "$mode" = dashboard ] && extra=(-o "web-dashboard=port=0,period=$period")
    /usr/bin/time -f "%U %S" -o "$work/cpu" taskset -c 0 "$bin" run --url "$url/get" -u "$vus" \
        -d "$duration" --quiet --summary-export "$out" "${extra[@]}" >/dev/null 2>&1
    local rate count cpu
    rate=$(jq -r '.metrics.http_reqs.rate' "$out")
    count=$(jq -r '.metrics.http_reqs.count' "$out")
    cpu=$(awk '{print ($1 + $2) * 1000}' "$work/cpu")
    echo "$rate $(echo "$cpu * 1000 / $count" | bc -l)"
}

echo "## 1. requests/s, loadrun on core 0, test server on core 1 ($vus VUs, $rounds x $duration, alternating)"
echo
echo "| round | req/s without | req/s with -o web-dashboard (period=$period) | change | CPU ms per 1,000 req without | with | change |"
echo "|---|---:|---:|---:|---:|---:|---:|"
sum_plain=0; sum_dash=0; cpu_plain=0; cpu_dash=0
for r in $(seq "$rounds"); do
    # Alternate which goes first, so a drift in the machine's speed falls on both.
    if [ $((r % 2)) -eq 1 ]; then
        read -r a ca < <(run_one plain "$r"); read -r b cb < <(run_one dashboard "$r")
    else
        read -r b cb < <(run_one dashboard "$r"); read -r a ca < <(run_one plain "$r")
    fi
    sum_plain=$(echo "$sum_plain + $a" | bc -l); sum_dash=$(echo "$sum_dash + $b" | bc -l)
    cpu_plain=$(echo "$cpu_plain + $ca" | bc -l); cpu_dash=$(echo "$cpu_dash + $cb" | bc -l)
    printf '| %d | %.0f | %.0f | %+.1f%% | %.1f | %.1f | %+.1f%% |\n' "$r" "$a" "$b" \
        "$(echo "($b - $a) * 100 / $a" | bc -l)" "$ca" "$cb" "$(echo "($cb - $ca) * 100 / $ca" | bc -l)"
done
printf '| mean | %.0f | %.0f | %+.1f%% | %.1f | %.1f | %+.1f%% |\n' \
    "$(echo "$sum_plain / $rounds" | bc -l)" "$(echo "$sum_dash / $rounds" | bc -l)" \
    "$(echo "($sum_dash - $sum_plain) * 100 / $sum_plain" | bc -l)" \
    "$(echo "$cpu_plain / $rounds" | bc -l)" "$(echo "$cpu_dash / $rounds" | bc -l)" \
    "$(echo "($cpu_dash - $cpu_plain) * 100 / $cpu_plain" | bc -l)"
echo

echo "## 2. report size for a 10-minute run (60 snapshots: 30 s at period=500ms, 5 VUs, one endpoint)"
echo
"$bin" run --url "$url/get" -u 5 -d 30s --quiet \
    -o "web-dashboard=port=-1,period=500ms,export=$work/r10.html,record=$work/r10.ndjson" >/dev/null 2>&1
snaps=$(grep -c '"event":"snapshot"' "$work/r10.ndjson")
echo "- snapshots: $snaps; report: $(stat -c %s "$work/r10.html") bytes; record (NDJSON, what /events replays): $(stat -c %s "$work/r10.ndjson") bytes"
echo

echo "## 3. peak RSS at 10,000 series (10,000 distinct name tags: 10 VUs x 1,000 iterations, /get?vu=N&i=M)"
echo
cat >"$work/many.toml" <<EOF
[scenarios.many]
executor = "per-vu-iterations"
vus = 10
iterations = 1000
maxDuration = "5m"

[[steps]]
url = "$url/get?vu=\${__VU}&i=\${__ITER}"
EOF
peak() {
    local extra=("$@")
    /usr/bin/time -f %M -o "$work/rss" "$bin" run "$work/many.toml" --quiet \
        --summary-export "$work/many.json" "${extra[@]}" >/dev/null 2>&1
    echo "$(cat "$work/rss") KiB, $(jq -r '.metrics.http_reqs.count' "$work/many.json") requests"
}
echo "- without the dashboard: $(peak)"
echo "- with -o web-dashboard (period=1s, report exported): $(peak -o "web-dashboard=port=0,period=1s,export=$work/many.html")"
echo "- that report: $(stat -c %s "$work/many.html") bytes"
