#!/usr/bin/env bash
# Builds every guest crate in this workspace into a WebAssembly component in dist/, and writes
# dist/manifest.json with each plugin's source hash and component hash.
#
#   plugins/build.sh          build and update dist/
#   plugins/build.sh --check  fail if dist/ is stale (sources changed since it was built) or
#                             if the plugins no longer build; dist/ is left untouched
#   plugins/build.sh NAME...  build only these plugins and update only their manifest entries
#
# It installs its toolchain idempotently (Debian's rustc-web with rust-web-src and lld-22: see
# ../../shared/WASM-TOOLCHAIN.md) and turns core modules into components with
# `weir plugin componentize` from the host workspace.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
mode="build"
only=()
for arg in "$@"; do
  case "$arg" in
    --check) mode="--check" ;;
    -*) echo "plugins: unknown option $arg (usage: build.sh [--check | NAME...])" >&2; exit 2 ;;
    *) only+=("$arg") ;;
  esac
done

install_toolchain() {
  if [ -x /usr/bin/rustc ] && /usr/bin/rustc --print sysroot >/dev/null 2>&1 \
     && [ -d "$(/usr/bin/rustc --print sysroot)/lib/rustlib/src/rust/library" ] \
     && command -v wasm-ld-22 >/dev/null 2>&1 && [ -x /usr/bin/cargo ]; then
    return
  fi
  echo "plugins: installing the guest toolchain from Debian (rustc-web, rust-web-src, lld-22)"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    rustc-web cargo-web rust-web-src lld-22
}

# Hash of everything a plugin's build depends on: its crate, the SDK, the WIT world and the
# workspace files. Paths are relative, sorted, so the hash is the same on every machine.
source_hash() {
  local crate_dir="$1"
  ( cd "$root" && find "plugins/$crate_dir" plugins/sdk sdk-wit/wit \
        plugins/Cargo.toml plugins/Cargo.lock plugins/.cargo/config.toml \
        -type f \( -name '*.rs' -o -name '*.toml' -o -name '*.wit' -o -name 'Cargo.lock' \) \
        -not -path '*/target/*' | LC_ALL=C sort | xargs sha256sum ) | sha256sum | cut -d' ' -f1
}

crates() {  # "dir name" per guest crate with a cdylib
  ( cd "$here" && for toml in fixtures/*/Cargo.toml */Cargo.toml; do
      [ -f "$toml" ] || continue
      grep -q 'crate-type = \["cdylib"\]' "$toml" || continue
      dir="$(dirname "$toml")"
      name="$(sed -n 's/^name = "\(.*\)"/\1/p' "$toml" | head -1)"
      if ((${#only[@]})) && [[ ! " ${only[*]} " == *" $name "* ]]; then continue; fi
      echo "$dir $name"
    done )
}

install_toolchain
echo "plugins: guest toolchain $(/usr/bin/rustc -V)"
guest_target="${PLUGINS_TARGET_DIR:-$HOME/.cache/weir/plugins-target}"
packages=()
for n in "${only[@]}"; do packages+=(-p "$n"); done
( cd "$here" && CARGO_TARGET_DIR="$guest_target" RUSTC_BOOTSTRAP=1 /usr/bin/cargo build --release --locked -q "${packages[@]}" )

# The host's `weir` binary (same target dir and whole-workspace build as the tests, so nothing
# is rebuilt with other features).
host_target="${CARGO_TARGET_DIR:-$HOME/.cache/weir/target}"
( cd "$root" && CARGO_TARGET_DIR="$host_target" cargo build --workspace --all-targets --locked -q )
weir=("$host_target/debug/weir")

out="$here/dist"
[ "$mode" = "--check" ] && out="$(mktemp -d)"
mkdir -p "$out"

stale=0
entries="$(mktemp)"
while read -r dir name; do
  core="$guest_target/wasm32-unknown-unknown/release/${name//-/_}.wasm"
  "${weir[@]}" plugin componentize "$core" "$out/$name.wasm" >/dev/null
  src="$(source_hash "$dir")"
  comp="$(sha256sum "$out/$name.wasm" | cut -d' ' -f1)"
  if [ "$mode" = "--check" ]; then
    recorded="$(python3 -c "import json,sys; print(json.load(open('$here/dist/manifest.json'))['plugins'].get('$name',{}).get('source_sha256',''))" 2>/dev/null || true)"
    if [ "$recorded" != "$src" ]; then
      echo "plugins: dist/$name.wasm is stale (sources changed): run plugins/build.sh and commit dist/" >&2
      stale=1
    elif ! cmp -s "$out/$name.wasm" "$here/dist/$name.wasm"; then
      echo "plugins: note: $name.wasm rebuilt with different bytes (toolchain drift?), sources unchanged"
    fi
  fi
  echo "$name $dir $src $comp $(stat -c %s "$out/$name.wasm")" >> "$entries"
done < <(crates)

if [ "$mode" = "--check" ]; then
  rm -rf "$out" "$entries"
  [ "$stale" = 0 ] || exit 1
  echo "plugins: dist/ is up to date"
else
  # One entry per plugin, sorted; a partial build keeps the other entries as they were.
  python3 - "$out/manifest.json" "$entries" "$(/usr/bin/rustc -V)" "${#only[@]}" <<'PY'
import json, os, sys
path, entries, toolchain, partial = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] != "0"
plugins = {}
if partial and os.path.exists(path):
    plugins = json.load(open(path))["plugins"]
for line in open(entries):
    name, d, src, comp, size = line.split()
    plugins[name] = {"dir": d, "source_sha256": src, "component_sha256": comp, "bytes": int(size)}
lines = ",\n".join(f'    "{n}": {json.dumps(plugins[n])}' for n in sorted(plugins))
open(path, "w").write(f'{{\n  "toolchain": "{toolchain}",\n  "plugins": {{\n{lines}\n  }}\n}}\n')
PY
  echo "plugins: built $(wc -l < "$entries") components into plugins/dist/"
fi
