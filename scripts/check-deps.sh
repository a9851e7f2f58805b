#!/usr/bin/env bash
# The dependency tree's licenses, sources, bans (duplicates reported as warnings) and security
# advisories, with cargo-deny and deny.toml. Offline (no advisory database can be fetched), the
# advisories are checked against the copy already on disk, or skipped loudly when there is none.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo-deny >/dev/null 2>&1; then
  echo "check-deps: cargo-deny is not installed (.ci/install-deps installs it)" >&2
  exit 1
fi
cargo deny --version
# Duplicates as one line each: which crates pull them in is `cargo tree -d`.
cargo deny check --hide-inclusion-graph licenses bans sources
db="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
status=0
cargo deny check advisories || status=$?
[ "$status" = 0 ] && exit 0
# A failure to fetch is not a finding: retry against the local copy, if any.
if ls "$db"/*/ >/dev/null 2>&1; then
  echo "check-deps: advisories against the local database in $db" >&2
  cargo deny --offline check advisories
else
  echo "check-deps: SKIPPED advisories: no database could be fetched and none is in $db" >&2
  if [ "${LOADRUN_REQUIRE_SERVICES:-0}" = 1 ]; then
    exit "$status"
  fi
fi
