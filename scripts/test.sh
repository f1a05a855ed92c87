#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds once, runs every test (unit tests
# and the integration tests against real sockets) with cargo-nextest.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/weir/target}"
scripts/setup.sh
cargo build --workspace --all-targets --locked
cargo nextest run --workspace --locked --no-fail-fast "$@"
