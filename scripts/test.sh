#!/usr/bin/env bash
# The whole test suite: build everything (the e2e tests drive the built binary and plugins),
# then run every test. Servers the tests need are started by the tests themselves; install them
# first with .ci/install-deps (CI does). Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace                     # the cdylib plugins and the loadrun binary
cargo test --workspace --no-fail-fast "$@"
# The plugin template is its own crate outside the workspace: it must build and pass alone.
export CARGO_TARGET_DIR="$PWD/target/template"
cargo build --manifest-path examples/plugin-template/Cargo.toml
cargo test --manifest-path examples/plugin-template/Cargo.toml
