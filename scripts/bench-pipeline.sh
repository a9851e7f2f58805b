#!/usr/bin/env bash
# Samples per second from the collector through the plugin ABI into null outputs (1 and 4), and
# through write() alone per plugin face (Rust ABI, C face, Go on the C face, process face).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p out-testbehave -p process-null
LOADRUN_TEST_PROFILE=release cargo bench -p loadrun-e2e --bench pipeline
LOADRUN_TEST_PROFILE=release cargo bench -p loadrun-e2e --bench faces
LOADRUN_TEST_PROFILE=release cargo bench -p loadrun-e2e --bench process_face
