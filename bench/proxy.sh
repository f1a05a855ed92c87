#!/usr/bin/env bash
# bench/proxy.sh: proxy throughput of Weir against nginx and haproxy, in one run.
#
# Usage:
#   bench/proxy.sh                              # WORKERS=1 DURATION=10s ROUNDS=1
#   WORKERS=2 DURATION=30s ROUNDS=3 bench/proxy.sh
#   WEIR_BIN=/path/to/weir bench/proxy.sh       # use this binary, skip `cargo build`
#
# Environment:
#   WORKERS        worker processes/threads for every proxy under test (default 1)
#   DURATION       wrk duration per measurement (default 10s)
#   WARMUP         wrk warm-up before each measurement (default 2s)
#   CONNECTIONS    wrk connections (default 64)
#   WRK_THREADS    wrk threads (default 1)
#   ROUNDS         measurements per server; the median is reported (default 1)
#   BODY_BYTES     size of the backend's response body (default 1024)
#   WEIR_BIN       Weir binary to use; when unset, `cargo build --release` builds it
#   BARE_BIN       the bare Pingora peer (bench/peers/pingora_bare.rs); default: the
#                  `pingora-bare` example next to WEIR_BIN, built with it
#   CARGO_TARGET_DIR  cargo target dir (default /work/target)
#   KEEP_TMP=1     keep the temp dir (configs, logs, raw wrk output) for inspection
#   PLUGIN_BENCH=1 compare Weir with 0, 1 and 4 noop plugins instead of nginx and haproxy
#                  (bench/plugins.sh sets it)
#   CHAIN_BENCH=1  compare Weir without plugins, Weir with the built-in chain (router ->
#                  geofence -> waf on requests, minify on responses) and plain nginx
#
# What it does: installs nginx, haproxy and wrk from Debian if missing; starts one small
# fast backend (an nginx instance serving a BODY_BYTES file, 1 worker); starts Weir, nginx
# (reverse proxy) and haproxy in front of it, each with WORKERS workers and keep-alive to
# the client and to the backend; runs wrk against each in sequence (warm-up, then the
# measurement); prints a markdown table of RPS and p50/p99 latency, the ratios Weir/nginx
# and Weir/haproxy, and whether the targets are met. "pingora-bare" is the smallest Pingora
# proxy (same Pingora, allocator and profile, none of Weir's code): Weir/pingora-bare is what
# Weir adds, pingora-bare/nginx what Pingora itself costs. The targets:
#   Weir RPS >= 1.1 x nginx RPS, and Weir p99 <= nginx p99.
# A missed target is reported, not an error (exit 0). Non-2xx responses, a wrong body
# size or a server that does not start are errors (exit 1).
#
# Everything binds to 127.0.0.1 and lives in a temp dir (configs, pid files, logs); every
# process started here is stopped on exit. The load generator, the backend and the proxy
# share the machine's cores, so absolute numbers depend on the host; compare the ratios.
set -euo pipefail

WORKERS=${WORKERS:-1}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-1}
ROUNDS=${ROUNDS:-1}
BODY_BYTES=${BODY_BYTES:-1024}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target}

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVERS=(weir pingora-bare nginx haproxy)
# PLUGIN_BENCH=1 (bench/plugins.sh): Weir with 0, 1 and 4 noop plugins instead of the peers.
PLUGIN_BENCH=${PLUGIN_BENCH:-0}
[[ $PLUGIN_BENCH == 1 ]] && SERVERS=(weir weir-noop1 weir-noop4)
# CHAIN_BENCH=1: Weir with no plugins and with the full built-in chain, against plain nginx.
CHAIN_BENCH=${CHAIN_BENCH:-0}
[[ $CHAIN_BENCH == 1 ]] && SERVERS=(weir weir-chain nginx)

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- setup and cleanup

TMP=$(mktemp -d /tmp/weir-bench.XXXXXX)
# nginx workers may drop to an unprivileged user: they must be able to read the docroot.
chmod 755 "$TMP"
PIDS=()

cleanup() {
    local rc=$?
    set +e
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    sleep 0.5
    for pid in "${PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [[ ${KEEP_TMP:-0} == 1 || $rc -ne 0 ]]; then
        log "temp dir kept: $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

validate_env() {
    [[ $WORKERS =~ ^[1-9][0-9]*$ ]] || die "WORKERS must be a positive integer, got '$WORKERS'"
    [[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
    [[ $CONNECTIONS =~ ^[1-9][0-9]*$ ]] || die "CONNECTIONS must be a positive integer"
    [[ $WRK_THREADS =~ ^[1-9][0-9]*$ ]] || die "WRK_THREADS must be a positive integer"
    [[ $BODY_BYTES =~ ^[1-9][0-9]*$ ]] || die "BODY_BYTES must be a positive integer"
    [[ $DURATION =~ ^[0-9]+[smh]?$ ]] || die "DURATION must look like 10s, got '$DURATION'"
    [[ $WARMUP =~ ^[0-9]+[smh]?$ ]] || die "WARMUP must look like 2s, got '$WARMUP'"
}

install_tools() {
    if command -v nginx >/dev/null && command -v haproxy >/dev/null && command -v wrk >/dev/null; then
        return
    fi
    log "installing nginx-light, haproxy and wrk from Debian"
    local sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y nginx-light haproxy wrk
    # Debian's packages start system-wide services; this script never uses them.
    command -v nginx haproxy wrk >/dev/null || die "nginx, haproxy or wrk still missing"
}

build_weir() {
    if [[ -n ${WEIR_BIN:-} ]]; then
        [[ -x $WEIR_BIN ]] || die "WEIR_BIN=$WEIR_BIN is not an executable"
        return
    fi
    log "building Weir and the bare Pingora peer (release) in $CARGO_TARGET_DIR"
    (cd "$REPO_ROOT" && cargo build --release --quiet --bin weir --example pingora-bare) \
        || die "cargo build --release failed"
    WEIR_BIN=$CARGO_TARGET_DIR/release/weir
    [[ -x $WEIR_BIN ]] || die "no binary at $WEIR_BIN"
}

build_bare() {
    BARE_BIN=${BARE_BIN:-$(dirname "$WEIR_BIN")/examples/pingora-bare}
    if [[ ! -x $BARE_BIN ]]; then
        log "building the bare Pingora peer (release) in $CARGO_TARGET_DIR"
        (cd "$REPO_ROOT" && cargo build --release --quiet --example pingora-bare) \
            || die "cargo build --release --example pingora-bare failed"
        BARE_BIN=$CARGO_TARGET_DIR/release/examples/pingora-bare
    fi
    [[ -x $BARE_BIN ]] || die "no bare Pingora binary at $BARE_BIN"
}

start_pingora_bare() {
    local port
    port=$(free_port)
    "$BARE_BIN" "127.0.0.1:$port" "127.0.0.1:$BACKEND_PORT" "$WORKERS" >"$TMP/pingora-bare.log" 2>&1 &
    PIDS+=($!)
    wait_for_port pingora-bare "$port" "$!"
    PORT[pingora-bare]=$port
}

# --------------------------------------------------------------------------- ports

port_in_use() {
    # A connect that succeeds means something listens there.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

TAKEN_PORTS=" "
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 30000))
        [[ $TAKEN_PORTS == *" $p "* ]] && continue
        port_in_use "$p" && continue
        TAKEN_PORTS+="$p "
        echo "$p"
        return
    done
    die "no free port found"
}

wait_for_port() {
    local name=$1 port=$2 pid=${3:-}
    for _ in $(seq 1 100); do
        port_in_use "$port" && return 0
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            die "$name exited before listening on $port (see $TMP/$name.log)"
        fi
        sleep 0.1
    done
    die "$name is not listening on 127.0.0.1:$port after 10s (see $TMP/$name.log)"
}

# ------------------------------------------------------------------------- servers

# Paths nginx would otherwise take from its compiled-in prefix.
nginx_common() {
    local name=$1
    cat <<EOF
pid $TMP/$name.pid;
error_log $TMP/$name.error.log warn;
events { worker_connections 4096; }
EOF
}

nginx_http_common() {
    local name=$1
    cat <<EOF
    access_log off;
    client_body_temp_path $TMP/$name.tmp/body;
    proxy_temp_path $TMP/$name.tmp/proxy;
    fastcgi_temp_path $TMP/$name.tmp/fastcgi;
    uwsgi_temp_path $TMP/$name.tmp/uwsgi;
    scgi_temp_path $TMP/$name.tmp/scgi;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
EOF
}

start_nginx() {
    local name=$1 port=$2
    mkdir -p "$TMP/$name.tmp"
    nginx -t -q -e "$TMP/$name.error.log" -p "$TMP" -c "$TMP/$name.conf" >"$TMP/$name.log" 2>&1 \
        || die "$name config rejected: $(cat "$TMP/$name.log")"
    nginx -e "$TMP/$name.error.log" -p "$TMP" -c "$TMP/$name.conf" -g 'daemon off;' \
        >>"$TMP/$name.log" 2>&1 &
    PIDS+=($!)
    wait_for_port "$name" "$port" "$!"
}

start_backend() {
    BACKEND_PORT=$(free_port)
    mkdir -p "$TMP/www"
    head -c "$BODY_BYTES" /dev/zero | tr '\0' 'x' >"$TMP/www/index.html"
    cat >"$TMP/backend.conf" <<EOF
worker_processes 1;
$(nginx_common backend)
http {
$(nginx_http_common backend)
    sendfile on;
    tcp_nopush on;
    default_type text/html;
    server {
        listen 127.0.0.1:$BACKEND_PORT;
        root $TMP/www;
        index index.html;
    }
}
EOF
    start_nginx backend "$BACKEND_PORT"
    log "backend: nginx, 1 worker, $BODY_BYTES-byte body on 127.0.0.1:$BACKEND_PORT"
}

# noop_plugins N: TOML for N noop plugins on the bench site.
noop_plugins() {
    local i
    for ((i = 0; i < $1; i++)); do
        printf '[[site.plugin]]\nname = "noop%d"\nsource = "%s"\n' "$i" "$REPO_ROOT/plugins/dist/noop.wasm"
    done
}

# chain_plugins: TOML for the built-in chain as a typical site runs it (the limits each
# plugin's README recommends: minify gets more memory and time and fails open). The
# components are read from plugins/dist/ (what `builtin:NAME` embeds), so the bench measures
# the committed components even with a binary built before they last changed.
chain_plugins() {
    cat <<EOF
[[site.plugin]]
name = "router"
source = "$REPO_ROOT/plugins/dist/router.wasm"
config = { rules = [
  { name = "api", match = { path = { prefix = "/api/" } }, pool = "web", rewrite = "/v1/\$1" },
  { name = "old-blog", match = { path = { regex = '^/blog/([0-9]+)\$' } }, redirect = { to = "/posts/\$1", status = 301 } },
  { name = "static", match = { path = { prefix = "/static/" }, methods = ["GET", "HEAD"] }, pool = "web" },
], default = { pool = "web" } }

[[site.plugin]]
name = "geofence"
source = "$REPO_ROOT/plugins/dist/geofence.wasm"
config = { mode = "deny", countries = ["KP", "IR"], unknown = "allow" }

[[site.plugin]]
name = "waf"
source = "$REPO_ROOT/plugins/dist/waf.wasm"
deadline_ms = 20
config = { mode = "block", paranoia = 2 }

[[site.plugin]]
name = "minify"
source = "$REPO_ROOT/plugins/dist/minify.wasm"
on_error = "fail_open"
deadline_ms = 250
memory_mb = 64
EOF
}

# start_weir NAME PLUGIN_TOML: a Weir node called NAME with these plugins on its site.
start_weir() {
    local name=${1:-weir} plugins=${2:-} port admin
    port=$(free_port)
    admin=$(free_port)
    cat >"$TMP/$name.toml" <<EOF
[proxy]
listen = ["127.0.0.1:$port"]
admin_listen = "127.0.0.1:$admin"
threads = $WORKERS
access_log = false

[[site]]
id = "bench"
hosts = ["127.0.0.1", "localhost"]
pool = "web"
$plugins

[[pool]]
id = "web"
[[pool.backend]]
addr = "127.0.0.1:$BACKEND_PORT"
EOF
    "$WEIR_BIN" proxy --config "$TMP/$name.toml" >"$TMP/$name.log" 2>&1 &
    PIDS+=($!)
    wait_for_port "$name" "$port" "$!"
    PORT[$name]=$port
}

start_nginx_proxy() {
    local port
    port=$(free_port)
    cat >"$TMP/nginx.conf" <<EOF
worker_processes $WORKERS;
$(nginx_common nginx)
http {
$(nginx_http_common nginx)
    upstream backend {
        server 127.0.0.1:$BACKEND_PORT;
        keepalive 64;
        keepalive_requests 1000000;
        keepalive_timeout 60s;
    }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
    start_nginx nginx "$port"
    PORT[nginx]=$port
}

start_haproxy() {
    local port
    port=$(free_port)
    cat >"$TMP/haproxy.cfg" <<EOF
global
    nbthread $WORKERS
    maxconn 4096

defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 65s

frontend fe
    bind 127.0.0.1:$port
    default_backend be

backend be
    server s1 127.0.0.1:$BACKEND_PORT
EOF
    haproxy -c -q -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 \
        || die "haproxy config rejected: $(cat "$TMP/haproxy.log")"
    haproxy -db -f "$TMP/haproxy.cfg" >>"$TMP/haproxy.log" 2>&1 &
    PIDS+=($!)
    wait_for_port haproxy "$port" "$!"
    PORT[haproxy]=$port
}

# Every server must answer 200 with the backend's body before it is measured.
check_response() {
    local name=$1 port=$2 out code size
    out=$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$port/") \
        || die "$name: request failed"
    read -r code size <<<"$out"
    [[ $code == 200 ]] || die "$name: status $code, want 200 (see $TMP/$name.log)"
    [[ $size == "$BODY_BYTES" ]] || die "$name: body of $size bytes, want $BODY_BYTES"
}

# --------------------------------------------------------------------------- load

# Latency as wrk prints it (850.00us, 1.23ms, 2.00s, 1.00m) -> milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        else if (u != "ms") { print "bad unit: " v > "/dev/stderr"; exit 1 }
        printf "%.3f\n", n }'
}

# Runs wrk and prints "rps p50_ms p99_ms".
measure() {
    local name=$1 round=$2 url out rps p50 p99 non2xx
    url="http://127.0.0.1:${PORT[$name]}/"
    out="$TMP/wrk.$name.$round.txt"
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$url" >"$TMP/wrk.$name.$round.warmup.txt" \
        || die "$name: wrk warm-up failed"
    wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url" >"$out" \
        || die "$name: wrk failed"
    for f in "$TMP/wrk.$name.$round.warmup.txt" "$out"; do
        non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$f")
        [[ -z $non2xx ]] || die "$name: $non2xx non-2xx/3xx responses (see $f and $TMP/$name.log)"
    done
    if grep -q 'Socket errors' "$out"; then
        log "$name: $(grep 'Socket errors' "$out" | sed 's/^ *//')"
    fi
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    p50=$(awk '$1 == "50%" { print $2 }' "$out")
    p99=$(awk '$1 == "99%" { print $2 }' "$out")
    [[ -n $rps && -n $p50 && -n $p99 ]] || die "$name: cannot parse wrk output in $out"
    echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
}

# Percent of CPU time idle over one second, from /proc/stat. The servers under test are
# idle between measurements, so a low value means something else is using the machine.
idle_pct() {
    local a b
    a=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ")
        t = y[2] - x[2]; printf "%.0f\n", (t > 0 ? 100 * (y[1] - x[1]) / t : 100) }'
}

median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --------------------------------------------------------------------------- main

validate_env
install_tools
command -v curl >/dev/null || die "curl is needed"
build_weir
declare -A PORT RPS P50 P99
BUSY=""

start_backend
if [[ $PLUGIN_BENCH == 1 ]]; then
    start_weir weir
    start_weir weir-noop1 "$(noop_plugins 1)"
    start_weir weir-noop4 "$(noop_plugins 4)"
elif [[ $CHAIN_BENCH == 1 ]]; then
    start_weir weir
    start_weir weir-chain "$(chain_plugins)"
    start_nginx_proxy
else
    build_bare
    start_weir weir
    start_pingora_bare
    start_nginx_proxy
    start_haproxy
fi
for s in "${SERVERS[@]}"; do
    check_response "$s" "${PORT[$s]}"
done
check_response backend "$BACKEND_PORT"

log "load: wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION --latency (after ${WARMUP} warm-up)," \
    "workers=$WORKERS, rounds=$ROUNDS"
for round in $(seq 1 "$ROUNDS"); do
    # Rotate the order each round so no server always runs first (or last).
    for i in "${!SERVERS[@]}"; do
        s=${SERVERS[$(((i + round - 1) % ${#SERVERS[@]}))]}
        idle=$(idle_pct)
        if ((idle < 90)); then
            log "WARNING: machine only ${idle}% idle before measuring $s; results are unreliable"
            BUSY+="$s/round$round(${idle}% idle) "
        fi
        result=$(measure "$s" "$round")
        read -r rps p50 p99 <<<"$result"
        log "round $round: $s: $rps req/s, p50 $p50 ms, p99 $p99 ms"
        RPS[$s]+="$rps "
        P50[$s]+="$p50 "
        P99[$s]+="$p99 "
    done
done

declare -A M_RPS M_P50 M_P99
for s in "${SERVERS[@]}"; do
    # shellcheck disable=SC2086 # word splitting of the lists is wanted
    M_RPS[$s]=$(median ${RPS[$s]})
    # shellcheck disable=SC2086
    M_P50[$s]=$(median ${P50[$s]})
    # shellcheck disable=SC2086
    M_P99[$s]=$(median ${P99[$s]})
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
print_table() {
    echo "| server | RPS | p50 ms | p99 ms |"
    echo "|---|---:|---:|---:|"
    for s in "${SERVERS[@]}"; do
        printf '| %s | %.0f | %.3f | %.3f |\n' "$s" "${M_RPS[$s]}" "${M_P50[$s]}" "${M_P99[$s]}"
    done
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

if [[ $PLUGIN_BENCH == 1 ]]; then
    echo
    echo "Plugin overhead: $CONNECTIONS connections, ${BODY_BYTES}-byte responses, workers=$WORKERS," \
        "wrk -t$WRK_THREADS -d$DURATION, $ROUNDS round(s) (median)"
    echo
    print_table
    echo
    echo "- RPS with 1 noop plugin / none: $(ratio "${M_RPS[weir-noop1]}" "${M_RPS[weir]}")x"
    echo "- RPS with 4 noop plugins / none: $(ratio "${M_RPS[weir-noop4]}" "${M_RPS[weir]}")x"
    [[ -z $BUSY ]] || echo "WARNING: other load on the machine during: $BUSY- rerun on an idle machine"
    exit 0
fi

if [[ $CHAIN_BENCH == 1 ]]; then
    echo
    echo "Built-in chain: $CONNECTIONS connections, ${BODY_BYTES}-byte text/html responses," \
        "workers=$WORKERS, wrk -t$WRK_THREADS -d$DURATION, $ROUNDS round(s) (median)"
    echo
    print_table
    echo
    chain_nginx=$(ratio "${M_RPS[weir-chain]}" "${M_RPS[nginx]}")
    echo "- RPS with the chain / Weir without plugins: $(ratio "${M_RPS[weir-chain]}" "${M_RPS[weir]}")x"
    echo "- RPS with the chain / plain nginx: ${chain_nginx}x"
    if ge "${M_RPS[weir-chain]}" "$(awk -v n="${M_RPS[nginx]}" 'BEGIN { print 0.9 * n }')"; then
        echo "target chain RPS >= 0.9x nginx: MET (${chain_nginx}x)"
    else
        echo "target chain RPS >= 0.9x nginx: MISSED (${chain_nginx}x)"
    fi
    [[ -z $BUSY ]] || echo "WARNING: other load on the machine during: $BUSY- rerun on an idle machine"
    exit 0
fi

rps_nginx=$(ratio "${M_RPS[weir]}" "${M_RPS[nginx]}")
rps_haproxy=$(ratio "${M_RPS[weir]}" "${M_RPS[haproxy]}")
p99_nginx=$(ratio "${M_P99[weir]}" "${M_P99[nginx]}")
rps_bare=$(ratio "${M_RPS[weir]}" "${M_RPS[pingora-bare]}")
bare_nginx=$(ratio "${M_RPS[pingora-bare]}" "${M_RPS[nginx]}")

echo
echo "Proxy throughput: $CONNECTIONS connections, ${BODY_BYTES}-byte responses, workers=$WORKERS," \
    "wrk -t$WRK_THREADS -d$DURATION, $ROUNDS round(s) (median)"
echo
print_table
echo
echo "- Weir/nginx RPS: ${rps_nginx}x"
echo "- Weir/haproxy RPS: ${rps_haproxy}x"
echo "- Weir p99 / nginx p99: ${p99_nginx}x"
echo "- Weir/pingora-bare RPS: ${rps_bare}x (what Weir's own code costs)"
echo "- pingora-bare/nginx RPS: ${bare_nginx}x (what Pingora itself costs)"
echo
if [[ -n $BUSY ]]; then
    echo "WARNING: other load on the machine during: $BUSY- rerun on an idle machine"
    echo
fi
if ge "${M_RPS[weir]}" "$(awk -v n="${M_RPS[nginx]}" 'BEGIN { print 1.1 * n }')"; then
    echo "target Weir RPS >= 1.1x nginx: MET (${rps_nginx}x)"
else
    echo "target Weir RPS >= 1.1x nginx: MISSED (${rps_nginx}x)"
fi
if ge "${M_P99[nginx]}" "${M_P99[weir]}"; then
    echo "target Weir p99 <= nginx p99: MET (${M_P99[weir]} ms vs ${M_P99[nginx]} ms)"
else
    echo "target Weir p99 <= nginx p99: MISSED (${M_P99[weir]} ms vs ${M_P99[nginx]} ms)"
fi
