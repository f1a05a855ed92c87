#!/usr/bin/env bash
# Installs what building and testing Weir needs on a fresh Debian machine. Idempotent: it
# only installs what is missing. Needs root (or sudo) for apt.
set -euo pipefail

need_apt=()
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)          # pingora's zlib-ng build
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v kill >/dev/null 2>&1 || need_apt+=(procps)            # signal tests

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
