#!/usr/bin/env bash
# Samples per second from the collector through the plugin ABI into null outputs (1 and 4), and
# through write() alone per plugin face (Rust ABI, C face).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p out-testbehave
LOADRUN_TEST_PROFILE=release cargo bench -p loadrun-e2e --bench pipeline
LOADRUN_TEST_PROFILE=release cargo bench -p loadrun-e2e --bench faces
