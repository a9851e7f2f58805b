#!/usr/bin/env bash
# The whole test suite: install what the tests need when it is missing (.ci/install-deps; skip
# with LOADRUN_SKIP_INSTALL=1), build everything (the e2e tests drive the built binary and
# plugins), then run every test. Servers the tests need are started by the tests themselves.
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${LOADRUN_SKIP_INSTALL:-0}" != 1 ]; then
  if ! bash .ci/install-deps; then
    # Without the servers most of the suite would skip: fatal where that is a failure anyway.
    case "${LOADRUN_REQUIRE_SERVICES:-0}" in 1 | true) exit 1 ;; esac
    echo "=== WARNING: .ci/install-deps failed: tests whose server is missing will SKIP ===" >&2
  fi
fi
cargo build --workspace                     # the cdylib plugins and the loadrun binary
cargo test --workspace --no-fail-fast "$@"
# The plugin template is its own crate outside the workspace: it must build and pass alone.
export CARGO_TARGET_DIR="$PWD/target/template"
cargo build --manifest-path examples/plugin-template/Cargo.toml
cargo test --manifest-path examples/plugin-template/Cargo.toml
