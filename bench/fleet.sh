#!/usr/bin/env bash
# bench/fleet.sh: one `weir portal` process against N simulated managed nodes
# (bench/fleet_sim.rs, the `fleet-sim` example): every node holds an event stream and sends a
# heartbeat every 5 s; config changes are pushed and timed to each node; then an
# ingest-saturation phase finds the metrics/s the portal writes into its store. The portal's
# RSS (VmRSS, VmHWM from /proc/PID/status) is sampled every second.
#
# Usage:
#   bench/fleet.sh                       # N=10000 on SQLite
#   DB=postgres bench/fleet.sh           # on a throwaway database on 127.0.0.1:5432
#   N=2000 STEADY_S=10 SAT_S=10 bench/fleet.sh
#
# Environment:
#   N            simulated nodes (default 10000)
#   SITES        sites of the tenant, each reported by every node (default 3)
#   STEADY_S     seconds of heartbeats measured before the changes (default 30)
#   CHANGES      config changes (default 5)
#   CHANGE_EVERY seconds between changes (default 5)
#   SAT_S        seconds of ingest saturation (default 30; 0 skips it)
#   SAT_CONC     heartbeats in flight during saturation (default 32)
#   SAT_MINUTES  minutes per site in each saturation heartbeat (default 60)
#   SETUP_CONC   parallel create + enroll calls (default 64)
#   BEAT_CONNS   keep-alive connections the nodes' heartbeats share (default 1000; a real node
#                keeps one of its own, which needs ulimit -n above 2 N + 1000 per process)
#   DB           sqlite (default) or postgres
#   DB_DIR       directory of the SQLite file (default: the temp dir, on disk; /dev/shm puts it
#                in memory, which shows what fsync costs)
#   PG_URL       PostgreSQL server for DB=postgres (default postgres://postgres@127.0.0.1:5432;
#                trust auth; a database weir_fleet_<pid> is created there and dropped at exit)
#   WEIR_BIN, SIM_BIN  binaries to use; when unset, `cargo build --release` builds both
#   CARGO_TARGET_DIR   cargo target dir (default $HOME/.cache/weir/target)
#   KEEP_TMP=1   keep the temp dir (portal log, database, RSS samples)
#
# The simulator and the portal share the machine's cores; the summary prints each one's CPU
# time per phase. Everything binds to loopback (the simulator connects from 127.0.0.2-4 so
# many connections to one port do not run out of ephemeral ports). Every process started
# here is stopped on exit. A missed target is reported by the figures, not an error.
set -euo pipefail

N=${N:-10000}
SITES=${SITES:-3}
STEADY_S=${STEADY_S:-30}
CHANGES=${CHANGES:-5}
CHANGE_EVERY=${CHANGE_EVERY:-5}
SAT_S=${SAT_S:-30}
SAT_CONC=${SAT_CONC:-32}
SAT_MINUTES=${SAT_MINUTES:-60}
SETUP_CONC=${SETUP_CONC:-64}
BEAT_CONNS=${BEAT_CONNS:-1000}
DB=${DB:-sqlite}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/weir/target}

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf '[fleet] %s\n' "$*" >&2; }
die() { printf '[fleet] ERROR: %s\n' "$*" >&2; exit 1; }

TMP=$(mktemp -d /tmp/weir-fleet.XXXXXX)
PIDS=()
PG_DB=""

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
    if [[ -n $PG_DB ]]; then
        psql "$PG_URL/postgres" -qAt -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1
    fi
    if [[ -n ${DB_FILE:-} && ${DB_DIR:-} != "$TMP" && ${KEEP_TMP:-0} != 1 ]]; then
        rm -f "$DB_FILE" "$DB_FILE-wal" "$DB_FILE-shm"
    fi
    if [[ ${KEEP_TMP:-0} == 1 ]]; then
        log "kept $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- binaries

if [[ -z ${WEIR_BIN:-} || -z ${SIM_BIN:-} ]]; then
    log "building weir and fleet-sim (release) in $CARGO_TARGET_DIR"
    (cd "$REPO_ROOT" && cargo build --release --quiet --bin weir --example fleet-sim) \
        || die "cargo build --release failed"
    WEIR_BIN=${WEIR_BIN:-$CARGO_TARGET_DIR/release/weir}
    SIM_BIN=${SIM_BIN:-$CARGO_TARGET_DIR/release/examples/fleet-sim}
fi
[[ -x $WEIR_BIN ]] || die "no binary at $WEIR_BIN"
[[ -x $SIM_BIN ]] || die "no binary at $SIM_BIN"

# N streams + BEAT_CONNS heartbeat connections on each side, plus database files and slack.
NEED=$((N + BEAT_CONNS + SAT_CONC + SETUP_CONC + 1000))
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(( $(ulimit -n) >= NEED )) \
    || die "the open-file limit is $(ulimit -n) (hard $(ulimit -Hn)); N=$N needs about $NEED"
log "open-file limit: $(ulimit -n) (about $NEED needed per process)"

# ---------------------------------------------------------------- database and portal

case $DB in
    sqlite)
        DB_DIR=${DB_DIR:-$TMP}
        mkdir -p "$DB_DIR"
        DB_FILE=$DB_DIR/weir-fleet-$$.db
        DB_URL="sqlite:$DB_FILE"
        ;;
    postgres)
        PG_DB="weir_fleet_$$"
        psql "$PG_URL/postgres" -qAt -c "CREATE DATABASE \"$PG_DB\"" >/dev/null \
            || die "cannot create database $PG_DB on $PG_URL"
        DB_URL="$PG_URL/$PG_DB"
        ;;
    *) die "DB must be sqlite or postgres (got $DB)" ;;
esac

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ADDR=127.0.0.1:$PORT
log "portal on $ADDR, database $DB_URL"
"$WEIR_BIN" portal --listen "$ADDR" --database-url "$DB_URL" --data-dir "$TMP/data" \
    --public-url "http://$ADDR" >"$TMP/portal.log" 2>&1 &
PORTAL_PID=$!
PIDS+=("$PORTAL_PID")
for _ in $(seq 1 300); do
    curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1 && break
    kill -0 "$PORTAL_PID" 2>/dev/null || { cat "$TMP/portal.log" >&2; die "the portal exited"; }
    sleep 0.1
done
curl -fsS "http://$ADDR/healthz" >/dev/null || die "the portal did not start"

# ---------------------------------------------------------------- RSS sampling

rss_of() { awk '/^VmRSS:/ {r=$2} /^VmHWM:/ {h=$2} END {print r, h}' "/proc/$1/status" 2>/dev/null; }
(
    start=$(date +%s)
    while kill -0 "$PORTAL_PID" 2>/dev/null; do
        echo "$(( $(date +%s) - start )) $(rss_of "$PORTAL_PID")"
        sleep 1
    done
) >"$TMP/rss.txt" &
PIDS+=("$!")

# ---------------------------------------------------------------- the simulator

log "simulating $N nodes ($SITES sites each)"
START=$(date -u '+%Y-%m-%d %H:%M UTC')
"$SIM_BIN" --portal "http://$ADDR" --database-url "$DB_URL" --portal-pid "$PORTAL_PID" \
    --nodes "$N" --sites "$SITES" --steady-s "$STEADY_S" --changes "$CHANGES" \
    --change-every-s "$CHANGE_EVERY" --sat-s "$SAT_S" --sat-conc "$SAT_CONC" \
    --sat-minutes "$SAT_MINUTES" --setup-conc "$SETUP_CONC" --beat-conns "$BEAT_CONNS" &
SIM_PID=$!
PIDS+=("$SIM_PID")
wait "$SIM_PID" || die "the simulator failed (portal log: $TMP/portal.log; KEEP_TMP=1 keeps it)"

# The portal after the run, with every stream still open (the simulator just exited: give the
# portal a moment to drop the connections, then sample again).
read -r RSS_END HWM_END < <(rss_of "$PORTAL_PID")
sleep 3
read -r RSS_IDLE _ < <(rss_of "$PORTAL_PID")
PEAK=$(awk 'BEGIN {m=0} $2 > m {m=$2} END {print m}' "$TMP/rss.txt")
echo
echo "## portal memory ($DB, $N nodes, started $START)"
echo
echo "| sample | MiB |"
echo "|---|---:|"
printf '| VmRSS at the end of the run (streams open) | %.0f |\n' "$(echo "$RSS_END / 1024" | bc -l)"
printf '| VmRSS peak (1 s samples) | %.0f |\n' "$(echo "$PEAK / 1024" | bc -l)"
printf '| VmHWM (kernel high-water mark) | %.0f |\n' "$(echo "$HWM_END / 1024" | bc -l)"
printf '| VmRSS 3 s after the simulator exited | %.0f |\n' "$(echo "$RSS_IDLE / 1024" | bc -l)"
if [[ $DB == sqlite ]]; then
    echo
    echo "SQLite file: $(du -h "$DB_FILE" | cut -f1) (+ WAL $(du -h "$DB_FILE-wal" 2>/dev/null | cut -f1))"
fi
if grep -qiE 'error|panic' "$TMP/portal.log"; then
    echo
    echo "portal log errors (first 10):"
    grep -iE 'error|panic' "$TMP/portal.log" | head -10
fi
