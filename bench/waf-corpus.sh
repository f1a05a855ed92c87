#!/usr/bin/env bash
# bench/waf-corpus.sh: the WAF plugin (plugins/dist/waf.wasm) on the WAF corpus
# (tests/data/waf-corpus: CRS regression cases and libinjection payloads), through a real
# `weir proxy` node: every record is sent as raw bytes over TCP (so odd request-targets reach
# the proxy as written) and the block-rate table per category is printed (Markdown), with the
# false-positive rate on benign_strict and libinjection sqli-fp records. Then the per-request
# cost of the plugin on a browser-like GET (`weir plugin bench`, minus the noop plugin).
#
# Environment: WEIR_BIN (default: target/debug/weir under CARGO_TARGET_DIR, built if missing),
# PARANOIA (2), CONCURRENCY (16), ITERATIONS (20000).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/weir/target}
(cd "$root" && cargo build --workspace --all-targets --quiet)
export WEIR_BIN=${WEIR_BIN:-$CARGO_TARGET_DIR/debug/weir}
"$CARGO_TARGET_DIR/debug/waf-corpus" --weir "$WEIR_BIN" --plugin "$root/plugins/dist/waf.wasm" \
    --corpus "$root/tests/data/waf-corpus" --paranoia "${PARANOIA:-2}" --concurrency "${CONCURRENCY:-16}"
echo
echo "Per-call cost on bench/data/waf-browser-get.json (weir plugin bench; the WAF's own time is"
echo "the difference to the noop plugin):"
echo
echo "waf.wasm ($(wc -c < "$root/plugins/dist/waf.wasm") bytes):"
"$WEIR_BIN" plugin bench "$root/plugins/dist/waf.wasm" --config "{\"paranoia\":${PARANOIA:-2}}" \
    --request "$root/bench/data/waf-browser-get.json" --iterations "${ITERATIONS:-20000}"
echo
echo "noop.wasm:"
"$WEIR_BIN" plugin bench "$root/plugins/dist/noop.wasm" \
    --request "$root/bench/data/waf-browser-get.json" --iterations "${ITERATIONS:-20000}"
