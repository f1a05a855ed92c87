#!/usr/bin/env bash
# Installs what building and testing Weir needs on a fresh Debian machine. Idempotent: it
# only installs what is missing. Needs root (or sudo) for apt.
set -euo pipefail

need_apt=()
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)          # pingora's zlib-ng build
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v kill >/dev/null 2>&1 || need_apt+=(procps)            # signal tests
# portal tests: a real PostgreSQL (testkit uses one at 127.0.0.1:5432 or starts its own
# cluster from Debian's binaries) and a venv for the aiosmtpd SMTP sink.
if ! command -v psql >/dev/null 2>&1 || ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  need_apt+=(postgresql)
fi
venv="$HOME/.cache/weir/venv"
if ! command -v python3 >/dev/null 2>&1; then
  need_apt+=(python3 python3-venv)
elif [ ! -x "$venv/bin/python" ]; then
  probe="$(mktemp -d)"                                           # Debian splits venv out
  python3 -m venv "$probe/venv" >/dev/null 2>&1 || need_apt+=(python3-venv)
  rm -rf "$probe"
fi
# The browser test (portal/tests/portal/browser.rs) drives Debian's Chromium.
[ -x /usr/bin/chromium ] || need_apt+=(chromium)

if ((${#need_apt[@]})); then
  echo "setup: installing ${need_apt[*]} from Debian"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest from crates.io"
  cargo install cargo-nextest --locked
fi

# The SMTP sink (testkit/smtp_sink.py) runs in its own venv, so the system Python stays as
# Debian ships it. A venv left without pip (an interrupted run) is made again.
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
  echo "setup: creating the Python venv $venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv --clear "$venv"
fi
if ! "$venv/bin/python" -c 'import aiosmtpd' >/dev/null 2>&1; then
  echo "setup: installing aiosmtpd==1.4.6 from PyPI into $venv"
  "$venv/bin/python" -m pip install -q aiosmtpd==1.4.6
fi
# The OpenAPI fuzz test (portal/tests/portal/fuzz.rs) runs schemathesis from the same venv.
if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version 4.32.5" ]; then
  echo "setup: installing schemathesis==4.32.5 from PyPI into $venv"
  "$venv/bin/python" -m pip install -q schemathesis==4.32.5
fi

# The browser test drives Chromium with playwright-core from the npm registry (pinned in
# portal/tests/browser/package-lock.json; it downloads no browser). npm ci runs again when the
# lock file changed since the last install, as recorded in a stamp inside node_modules.
browser_dir="$(cd "$(dirname "$0")/.." && pwd)/portal/tests/browser"
lock_sum="$(sha256sum "$browser_dir/package-lock.json" | cut -d' ' -f1)"
stamp="$browser_dir/node_modules/.weir-lock.sha256"
if [ ! -d "$browser_dir/node_modules/playwright-core" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  command -v npm >/dev/null 2>&1 || { echo "setup: npm (Node.js 20) is needed for the browser test" >&2; exit 1; }
  echo "setup: installing playwright-core from the npm registry into $browser_dir/node_modules"
  (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >"$stamp"
fi
