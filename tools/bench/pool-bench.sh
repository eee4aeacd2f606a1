#!/usr/bin/env bash
# pool-bench.sh: what pools and health checks cost, measured (issue 4 "Scale"):
#   1. instructions per query of answer() for a pool name against a static name
#      with the same number of A records in the same zone (callgrind, exact);
#   2. server CPU per query, pool names against static names, under dnsperf at a
#      fixed rate (pooldns on CPU $BENCH_SERVER_CPU, dnsperf on $BENCH_CLIENT_CPU);
#   3. $BENCH_POOLS x $BENCH_SIZE members probed every second (tcp connect to real
#      listeners on 127.1.x.y, 10% of them down, 1% flipping every 3 s), pooldns
#      pinned to ONE core: probes completed, deadlines missed, the checker's CPU,
#      and DNS CPU per query while all of it runs against the same load with no
#      checks.
# Everything listens on 127.0.0.0/8, lives in a temp dir, is stopped by PID.
#
#   tools/bench/pool-bench.sh
#   BENCH_SECONDS=5 BENCH_IDLE_SECONDS=5 BENCH_REPEATS=1 tools/bench/pool-bench.sh   # smoke
#
# Knobs: BENCH_POOLS=500 BENCH_SIZE=4 (members per pool; 2,000 in all)
#        BENCH_SECONDS=15 (each dnsperf run) BENCH_QPS=50000 BENCH_REPEATS=3
#        BENCH_IDLE_SECONDS=20 (checks alone, no queries)
#        BENCH_SERVER_CPU=1 BENCH_CLIENT_CPU=0 BENCH_PORT_BASE=39500
#        BENCH_BUILD=build/bench BENCH_NO_BUILD=0 BENCH_OUT=build/bench/pools.md BENCH_KEEP=0
set -euo pipefail

BENCH_ENV_GIVEN=$(env | grep '^BENCH_' | LC_ALL=C sort | tr '\n' ' ' || true)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CMDLINE="${BENCH_ENV_GIVEN}$HERE/$(basename "$0")"
: "${BENCH_POOLS:=500}"
: "${BENCH_SIZE:=4}"
: "${BENCH_SECONDS:=15}"
: "${BENCH_QPS:=50000}"
: "${BENCH_REPEATS:=3}"
: "${BENCH_IDLE_SECONDS:=20}"
: "${BENCH_SERVER_CPU:=1}"
: "${BENCH_CLIENT_CPU:=0}"
: "${BENCH_PORT_BASE:=39500}"
: "${BENCH_BUILD:=$ROOT/build/bench}"
: "${BENCH_NO_BUILD:=0}"
: "${BENCH_OUT:=$ROOT/build/bench/pools.md}"
: "${BENCH_KEEP:=0}"
die() { echo "pool-bench: $*" >&2; exit 1; }
for v in BENCH_POOLS BENCH_SIZE BENCH_SECONDS BENCH_QPS BENCH_REPEATS BENCH_IDLE_SECONDS BENCH_SERVER_CPU \
         BENCH_CLIENT_CPU BENCH_PORT_BASE; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer, not '${!v}'"
done
for tool in dnsperf valgrind sqlite3 taskset python3; do command -v "$tool" >/dev/null || die "needs $tool"; done

ORIGIN=bench.test.
DNS_PORT=$((BENCH_PORT_BASE + 1))
PROBE_PORT=$((BENCH_PORT_BASE + 2))
CLK_TCK=$(getconf CLK_TCK)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pool-bench.XXXXXX")
PIDS=()
cleanup() {
  local rc=$? p
  trap - EXIT
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [[ $BENCH_KEEP == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT

if [[ $BENCH_NO_BUILD != 1 ]]; then
  cmake -S "$ROOT" -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=Release -DPOOLDNS_TESTS=OFF >/dev/null
  cmake --build "$BENCH_BUILD" -j "$(nproc)" --target pooldns pooldnsctl answer-bench >/dev/null
fi
SRV=$BENCH_BUILD/server/pooldns
CTL=$BENCH_BUILD/tools/pooldnsctl
AB=$BENCH_BUILD/tools/bench/answer-bench

# --- data: one zone with pools and static names of the same shape ----------
make_db() {  # DB CHECK
  local db=$1 check=$2 dir
  dir=$(dirname "$db")/gen-$check
  mkdir -p "$dir"
  python3 "$HERE/gen-pools.py" "$ORIGIN" "$BENCH_POOLS" "$BENCH_SIZE" "$check" "$dir"
  "$CTL" --db "$db" zone create "$ORIGIN" --ns "ns1.$ORIGIN" >/dev/null
  "$CTL" --db "$db" record add "$ORIGIN" ns1 3600 A 127.0.0.1 >/dev/null
  sqlite3 "$db" <"$dir/pools.sql"
  cp "$dir"/q-*.txt "$dir/addresses.txt" "$WORK/"
}
make_db "$WORK/nocheck.db" none
make_db "$WORK/check.db" "tcp:$PROBE_PORT"
MEMBERS=$((BENCH_POOLS * BENCH_SIZE))

# --- 1. callgrind: instructions per answer() ----------------------------------
instr_per_query() {  # DB QUERYFILE
  local out=$WORK/cg.out n
  head -n 20000 "$2" >"$WORK/cg-q.txt"
  n=$(wc -l <"$WORK/cg-q.txt")
  valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect='pooldns::dns::answer(*' \
    "$AB" --db "$1" "$WORK/cg-q.txt" 1 >/dev/null 2>"$WORK/cg.err"
  python3 -c "
import re,sys
t = [l for l in open('$out') if l.startswith('totals:') or l.startswith('summary:')]
print(f'{int(t[-1].split()[1]) / $n:.0f}')"
}
echo "== 1. callgrind: instructions per answer()"
I_STATIC=$(instr_per_query "$WORK/nocheck.db" "$WORK/q-static.txt")
I_POOL=$(instr_per_query "$WORK/nocheck.db" "$WORK/q-pool.txt")
I_POOL_CHECKED=$(instr_per_query "$WORK/check.db" "$WORK/q-pool.txt")
echo "static $I_STATIC, pool $I_POOL, pool with checks (health table read) $I_POOL_CHECKED"

# --- servers and measurements -------------------------------------------------
SPID=""
start_server() {  # DB
  taskset -c "$BENCH_SERVER_CPU" "$SRV" --db "$1" --dns "127.0.0.1:$DNS_PORT" --threads 1 >>"$WORK/pooldns.log" 2>&1 &
  SPID=$!
  PIDS+=("$SPID")
  for _ in $(seq 200); do
    if dnsperf_once; then return 0; fi
    sleep 0.05
  done
  die "pooldns did not answer (log: $WORK/pooldns.log)"
}
dnsperf_once() {
  python3 - "$DNS_PORT" <<'PY' 2>/dev/null
import socket, sys
q = bytes.fromhex("12340000000100000000000003" + b"ns1".hex() + "0562656e63680474657374" + "0000010001")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
s.recv(512)
PY
}
stop_server() { kill "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=""; }
ticks() {  # PID [THREAD-NAME-REGEX]: utime+stime of the process, or of its threads whose name matches
  local sum=0 t name line fld
  for t in /proc/"$1"/task/*; do
    name=$(cat "$t/comm" 2>/dev/null || true)
    [[ -z ${2:-} || $name =~ $2 ]] || continue
    line=$(cat "$t/stat" 2>/dev/null) || continue
    read -r -a fld <<<"${line##*) }"
    sum=$((sum + fld[11] + fld[12]))
  done
  echo "$sum"
}
run_dnsperf() {  # QUERYFILE -> "queries total_ticks dns_ticks"
  local t0 d0 t1 d1 out q
  t0=$(ticks "$SPID"); d0=$(ticks "$SPID" '^pooldns-udp')
  # dnsperf's own 4 MiB socket buffers, as in dns-bench.sh: with its default a
  # burst of answers overflows the client, which counts them as lost.
  out=$(taskset -c "$BENCH_CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$DNS_PORT" -d "$1" -l "$BENCH_SECONDS" \
    -Q "$BENCH_QPS" -q 10000 -t 2 -b 4096 -O suppress=timeouts,congestion,sendfailed,sockready,unexpected 2>&1)
  t1=$(ticks "$SPID"); d1=$(ticks "$SPID" '^pooldns-udp')
  q=$(sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p' <<<"$out")
  lost=$(sed -n 's/.*Queries lost: *\([0-9]*\).*/\1/p' <<<"$out")
  echo "$q $((t1 - t0)) $((d1 - d0)) ${lost:-?}"
}
us_per_query() { python3 -c "print(f'{$2 * 1e6 / $CLK_TCK / $1:.2f}')"; }
median() { python3 -c "import statistics,sys; print(f'{statistics.median([float(x) for x in sys.argv[1:]]):.2f}')" "$@"; }

# --- 2. CPU per query: pool names against static names (no checks) -------------
echo "== 2. CPU per query, pool vs static names ($BENCH_QPS qps, ${BENCH_SECONDS}s runs, $BENCH_REPEATS repeats)"
start_server "$WORK/nocheck.db"
S_ALL=() P_ALL=() S_DNS=() P_DNS=() LOST=0
for ((r = 1; r <= BENCH_REPEATS; r++)); do
  read -r q t d l < <(run_dnsperf "$WORK/q-static.txt")
  S_ALL+=("$(us_per_query "$q" "$t")"); S_DNS+=("$(us_per_query "$q" "$d")"); LOST=$((LOST + l))
  read -r q t d l < <(run_dnsperf "$WORK/q-pool.txt")
  P_ALL+=("$(us_per_query "$q" "$t")"); P_DNS+=("$(us_per_query "$q" "$d")"); LOST=$((LOST + l))
  echo "repeat $r: static ${S_ALL[-1]} us/query (dns thread ${S_DNS[-1]}), pool ${P_ALL[-1]} (dns thread ${P_DNS[-1]}); lost so far $LOST"
done
stop_server
S_MED=$(median "${S_ALL[@]}"); P_MED=$(median "${P_ALL[@]}")
POOL_RATIO=$(python3 -c "print(f'{$P_MED / $S_MED:.3f}')")

# --- 3. 2,000 members probed every second on one core ---------------------------
echo "== 3. $MEMBERS members probed every second, pooldns on CPU $BENCH_SERVER_CPU alone"
taskset -c "$BENCH_CLIENT_CPU" python3 "$HERE/listeners.py" "$WORK/addresses.txt" "$PROBE_PORT" \
  --max-seconds $((BENCH_IDLE_SECONDS + BENCH_SECONDS * BENCH_REPEATS * 2 + 120)) >"$WORK/listeners.out" 2>&1 &
LPID=$!
PIDS+=("$LPID")
for _ in $(seq 200); do grep -q '^ready' "$WORK/listeners.out" && break; sleep 0.05; done
grep -q '^ready' "$WORK/listeners.out" || die "listeners did not start: $(cat "$WORK/listeners.out")"
# probes, late, and the heartbeat time (s) they were written at: rates use the
# heartbeat's own clock, not when this script happened to read the row.
checker_row() {
  sqlite3 "$WORK/check.db" "SELECT probes || ' ' || late || ' ' || (julianday(heartbeat_at) * 86400.0) FROM checker WHERE id = 1" 2>/dev/null || echo "0 0 0"
}
: >"$WORK/pooldns.log"
start_server "$WORK/check.db"
sleep 3   # first probes out, the writer's first rows in
read -r p0 l0 hb0 < <(checker_row)
t0=$(ticks "$SPID"); h0=$(ticks "$SPID" '^pooldns-health')
sleep "$BENCH_IDLE_SECONDS"
t1=$(ticks "$SPID"); h1=$(ticks "$SPID" '^pooldns-health')
sleep 1.2
read -r p1 l1 hb1 < <(checker_row)
IDLE_PROBES=$((p1 - p0)); IDLE_LATE=$((l1 - l0))
IDLE_RATE=$(python3 -c "print(f'{$IDLE_PROBES / ($hb1 - $hb0):.0f}')")
DOWN_NOW=$(sqlite3 "$WORK/check.db" "SELECT count(*) FROM member_health WHERE state = 'down'")
IDLE_CPU=$(python3 -c "print(f'{($t1 - $t0) / $CLK_TCK / $BENCH_IDLE_SECONDS * 100:.1f}')")
IDLE_HEALTH_CPU=$(python3 -c "print(f'{($h1 - $h0) / $CLK_TCK / $BENCH_IDLE_SECONDS * 100:.1f}')")
echo "checks alone: $IDLE_PROBES probes, $IDLE_RATE/s ($DOWN_NOW members down: probed every quarter interval), late $IDLE_LATE, process CPU $IDLE_CPU% (checker threads $IDLE_HEALTH_CPU%)"
C_ALL=() C_DNS=()
read -r p0 l0 hb0 < <(checker_row)
for ((r = 1; r <= BENCH_REPEATS; r++)); do
  read -r q t d l < <(run_dnsperf "$WORK/q-pool.txt")
  C_ALL+=("$(us_per_query "$q" "$t")"); C_DNS+=("$(us_per_query "$q" "$d")"); LOST=$((LOST + l))
  echo "repeat $r with checks: pool ${C_ALL[-1]} us/query (dns thread ${C_DNS[-1]}); lost so far $LOST"
done
sleep 1.2
read -r p1 l1 hb1 < <(checker_row)
LOAD_PROBES=$((p1 - p0)); LOAD_LATE=$((l1 - l0))
stop_server
STOPLINE=$(grep ' stopped ' "$WORK/pooldns.log" | tail -n1)
FLIPS=$(sed -n 's/.* flips=\([0-9]*\).*/\1/p' <<<"$STOPLINE")
MAX_LATE=$(sed -n 's/.* max_late_ms=\([0-9.]*\).*/\1/p' <<<"$STOPLINE")
C_MED=$(median "${C_ALL[@]}"); CD_MED=$(median "${C_DNS[@]}"); PD_MED=$(median "${P_DNS[@]}")
CHECK_RATIO=$(python3 -c "print(f'{$C_MED / $P_MED:.3f}')")
CHECK_DNS_RATIO=$(python3 -c "print(f'{$CD_MED / $PD_MED:.3f}')")

mkdir -p "$(dirname "$BENCH_OUT")"
{
  echo "## Pools and health checks ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
  echo
  echo "Command: \`$CMDLINE\`"
  echo
  echo "- $BENCH_POOLS pools x $BENCH_SIZE members = $MEMBERS members, each its own server and address (127.1.x.y), check tcp:$PROBE_PORT every 1 s, timeout 0.5 s, rise 2, fall 3; $BENCH_POOLS static names with $BENCH_SIZE A records each in the same zone."
  echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- pooldns --threads 1 pinned to CPU $BENCH_SERVER_CPU (DNS thread, checker thread and SQLite writer share that one core); dnsperf and the listeners on CPU $BENCH_CLIENT_CPU; $BENCH_QPS qps for ${BENCH_SECONDS}s per run, medians of $BENCH_REPEATS; CPU = utime+stime from /proc (CLK_TCK $CLK_TCK) / queries completed. Queries lost over all runs: $LOST."
  echo
  echo "| measure | value | target |"
  echo "|---|---|---|"
  echo "| answer() instructions per query: static name | $I_STATIC | |"
  echo "| answer() instructions per query: pool name (no checks) | $I_POOL | |"
  echo "| answer() instructions per query: pool name (health table read) | $I_POOL_CHECKED | |"
  echo "| server CPU per query, static name | $S_MED us | |"
  echo "| server CPU per query, pool name | $P_MED us (x$POOL_RATIO static) | within 5% |"
  echo "| probes per second, checks alone ($DOWN_NOW members down, probed every quarter interval) | $IDLE_RATE | $MEMBERS members every second |"
  echo "| probes started late (checks alone / under DNS load) | $IDLE_LATE / $LOAD_LATE of $IDLE_PROBES / $LOAD_PROBES | none |"
  echo "| latest probe start after its due time (whole run) | ${MAX_LATE:-?} ms | |"
  echo "| member state flips (listeners toggling 1% every 3 s) | ${FLIPS:-?} | |"
  echo "| CPU of the whole process, checks alone | $IDLE_CPU% of a core (checker thread and its SQLite writer $IDLE_HEALTH_CPU%) | |"
  echo "| server CPU per pool query with checks running | $C_MED us (x$CHECK_RATIO without checks) | |"
  echo "| DNS thread CPU per pool query with checks running | $CD_MED us (x$CHECK_DNS_RATIO without checks: $PD_MED) | within 10% |"
} | tee "$BENCH_OUT"
