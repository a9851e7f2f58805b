#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time (default 30 s each) and fails on
# the first crash, leak or timeout. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Only a stable toolchain is installed; cargo-fuzz needs nightly-only flags (-Zsanitizer),
# which RUSTC_BOOTSTRAP=1 unlocks on stable.
set -euo pipefail

cd "$(dirname "$0")/.."
secs="${1:-30}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(plan output_arg request wire url)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

export RUSTC_BOOTSTRAP=1
status=0
for t in "${targets[@]}"; do
    # New inputs go to a scratch corpus under fuzz/target; the committed seeds stay as they are.
    work="fuzz/target/corpus/$t"
    mkdir -p "$work"
    echo "fuzz: $t for ${secs}s"
    if ! cargo fuzz run --fuzz-dir fuzz "$t" "$work" "fuzz/corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1; then
        echo "fuzz: $t FAILED; the crashing input is under fuzz/artifacts/$t/" >&2
        status=1
    fi
done
if [ $status -eq 0 ]; then
    echo "fuzz: ${#targets[@]} passed, 0 failed"
fi
exit $status
