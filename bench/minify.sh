#!/usr/bin/env bash
# bench/minify.sh: throughput of the minify plugin on the pages of tests/data/minify/, natively
# (the same crate code, release build, `bench_native_throughput`) and inside Wasm through the
# host (`weir plugin bench --response-body`, one warm instance), and the ratio of the two.
# The native half runs `cargo test`, which needs panic=unwind: the release profile is otherwise
# the guest's (opt-level "s", LTO).
#   WEIR_BIN=path/to/weir   use this host binary (default: build the release one)
#   ITERATIONS=N            calls per file in Wasm (default 300)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z ${WEIR_BIN:-} ]]; then
    (cd "$root" && CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/weir/target} cargo build --release --quiet)
    WEIR_BIN=${CARGO_TARGET_DIR:-$HOME/.cache/weir/target}/release/weir
fi
plugin=$root/plugins/dist/minify.wasm
data=$root/tests/data/minify
native=$(cd "$root/plugins" && CARGO_PROFILE_RELEASE_PANIC=unwind CARGO_TARGET_DIR=${PLUGINS_NATIVE_DIR:-$HOME/.cache/weir/plugins-native} \
    RUSTC_BOOTSTRAP=1 /usr/bin/cargo test -q -p minify --release --target x86_64-unknown-linux-gnu \
    -- --ignored --nocapture bench_native_throughput 2>/dev/null | grep '^| ')
echo "Plugin: $plugin ($(stat -c %s "$plugin") bytes)"
echo
echo "| file | bytes | minified | saved | native MB/s | Wasm MB/s | Wasm / native |"
echo "|---|---:|---:|---:|---:|---:|---:|"
type_of() {
    case $1 in
        *.html) echo "text/html; charset=utf-8" ;;
        *.css) echo "text/css" ;;
        *.js) echo "application/javascript" ;;
        *.json) echo "application/json" ;;
    esac
}
while IFS='|' read -r _ file bytes out saved mbps _; do
    file=$(echo "$file" | xargs)
    [[ -f $data/$file ]] || continue
    wasm_row=$("$WEIR_BIN" plugin bench "$plugin" --response-body "$data/$file" \
        --content-type "$(type_of "$file")" --iterations "${ITERATIONS:-300}" \
        --config '{"max_bytes": 16777216}' | tail -1)
    wasm_out=$(echo "$wasm_row" | cut -d'|' -f3 | xargs)
    wasm_mbps=$(echo "$wasm_row" | cut -d'|' -f6 | xargs)
    [[ $wasm_out == "$(echo "$out" | xargs)" ]] || echo "warning: $file: Wasm output $wasm_out bytes, native $out" >&2
    ratio=$(awk -v w="$wasm_mbps" -v n="$mbps" 'BEGIN { printf "%.2f", w / n }')
    echo "| $file |$bytes|$out|$saved|$mbps| $wasm_mbps | $ratio |"
done <<<"$native"
