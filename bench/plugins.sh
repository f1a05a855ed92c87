#!/usr/bin/env bash
# bench/plugins.sh: the cost of Weir's wasm plugins, in one run.
#   1. `weir plugin bench`: host per-call cost of the noop plugin on a request with ten
#      headers, for a chain of 1 and of 4, on warm instances and on fresh ones.
#   2. Proxy RPS with 0, 1 and 4 noop plugins on the site (bench/proxy.sh, PLUGIN_BENCH=1).
# Same environment variables as bench/proxy.sh (WORKERS, DURATION, ROUNDS, WEIR_BIN...).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target}
if [[ -z ${WEIR_BIN:-} ]]; then
    (cd "$root" && cargo build --release --quiet)
    export WEIR_BIN=$CARGO_TARGET_DIR/release/weir
fi
echo "Per-call cost of plugins/dist/noop.wasm (weir plugin bench, release build):"
echo
"$WEIR_BIN" plugin bench "$root/plugins/dist/noop.wasm" --iterations "${ITERATIONS:-20000}"
PLUGIN_BENCH=1 "$root/bench/proxy.sh"
