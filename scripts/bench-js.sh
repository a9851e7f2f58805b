#!/usr/bin/env bash
# The JS runtime's figures (crates/js/README.md, "Figures"), side by side in one run:
#   cpu     `http.get(__ENV.URL)` as the whole iteration, 50 VUs: CPU µs (user+sys) per request
#           of loadrun with the script, loadrun with the same test as a TOML plan, and k6
#   memory  `http.get` then `sleep(1)`, 1,000 and 5,000 VUs: peak RSS and KiB per VU
# CPU and memory are the figures (the machine may be shared); req/s is shown as indicative.
#
#   scripts/bench-js.sh [cpu|memory|all] [ROUNDS]
# LOADRUN (default target/release/loadrun), BASE (a second loadrun build to compare, optional),
# SECS (10), K6 (k6 on PATH; skipped when missing).
set -euo pipefail

what=${1:-all}
rounds=${2:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
loadrun=${LOADRUN:-${CARGO_TARGET_DIR:-$root/target}/release/loadrun}
secs=${SECS:-10}
k6=${K6:-$(command -v k6 || true)}
work=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$loadrun" serve -l "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
done
url="http://127.0.0.1:$port/bytes/16"

# One run under /usr/bin/time: prints "requests cpu_s rss_kib".
measure() {
    local out=$1
    shift
    rm -f "$out"
    /usr/bin/time -f "%U %S %M" -o "$work/time" "$@" >"$work/run.log" 2>&1 || true
    python3 - "$out" "$work/time" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
reqs = s["metrics"].get("http_reqs", {}).get("count", 0)
u, sy, rss = open(sys.argv[2]).read().split()[-3:]
print(int(reqs), round(float(u) + float(sy), 2), int(rss))
EOF
}

cat >"$work/keepalive.js" <<'EOF'
import http from "k6/http";
export default function () { http.get(__ENV.URL); }
EOF
cat >"$work/keepalive.toml" <<EOF
[[steps]]
url = "$url"
EOF
cat >"$work/memory.js" <<'EOF'
import http from "k6/http";
import { sleep } from "k6";
export default function () { http.get(__ENV.URL); sleep(1); }
EOF
cat >"$work/memory.toml" <<EOF
[[steps]]
url = "$url"
[[steps]]
sleep = "1s"
EOF

# Tools: "name|command" rows; @JS@ and @TOML@ become the case's script and plan.
tools() {
    echo "loadrun-js|$loadrun run -q @JS@"
    if [ -n "${BASE:-}" ]; then echo "base-js|$BASE run -q @JS@"; fi
    echo "loadrun-toml|$loadrun run -q @TOML@"
    if [ -n "$k6" ]; then echo "k6|$k6 run -q @JS@"; fi
}

run_case() {
    local kind=$1 vus=$2 dur=$3
    for round in $(seq "$rounds"); do
        while IFS='|' read -r name cmd; do
            cmd=${cmd//@JS@/$work/$kind.js}
            cmd=${cmd//@TOML@/$work/$kind.toml}
            # shellcheck disable=SC2086
            read -r reqs cpu rss < <(measure "$work/sum.json" $cmd --vus "$vus" --duration "$dur" \
                -e "URL=$url" --summary-export "$work/sum.json")
            echo "$kind $vus $name round=$round requests=$reqs cpu_s=$cpu rss_kib=$rss" \
                "cpu_us_per_req=$(python3 -c "print(round($cpu*1e6/max($reqs,1),1))")" \
                "req_s=$(python3 -c "print(round($reqs/${dur%s}))")"
        done < <(tools)
    done
}

case $what in
cpu) run_case keepalive 50 "${secs}s" ;;
memory)
    run_case memory 1 5s
    run_case memory 1000 "${secs}s"
    run_case memory 5000 "${secs}s"
    ;;
all)
    run_case keepalive 50 "${secs}s"
    run_case memory 1 5s
    run_case memory 1000 "${secs}s"
    run_case memory 5000 "${secs}s"
    ;;
*) echo "usage: $0 [cpu|memory|all] [ROUNDS]" >&2; exit 2 ;;
esac
