#!/usr/bin/env bash
# dns-bench.sh: server CPU per answered query, loss, latency, peak QPS, start-up
# time and memory (PSS) of pooldns against NSD, Knot, gdnsd and a UDP reflector
# that does no DNS work (the floor), all serving the same generated zone, in one
# run on the same cores: every server on CPU $BENCH_SERVER_CPU, dnsperf (and
# every other helper) on CPU $BENCH_CLIENT_CPU. Everything listens on 127.0.0.1
# high ports, lives in a temp dir, runs as this script's child and is stopped by
# PID on exit.
#
#   tools/bench/dns-bench.sh            # the full run (needs a quiet machine)
#   BENCH_SECONDS=2 BENCH_PEAK_SECONDS=2 BENCH_EDIT_SECONDS=3 BENCH_HOSTS=10000 \
#     BENCH_BIG=0 tools/bench/dns-bench.sh      # a smoke run
#
# Knobs (environment):
#   BENCH_SECONDS=10        fixed-rate dnsperf run length (s)
#   BENCH_QPS=100000        offered load of the fixed-rate run (dnsperf -Q)
#   BENCH_PEAK_SECONDS=5    max-rate run length (s)
#   BENCH_HOSTS=100000      host records in the zone (every 4th also has AAAA)
#   BENCH_QUERY_LINES=100000  lines in the dnsperf query file (at least 100000)
#   BENCH_BIG=1             also start-up time and PSS with the big zone (0: skip)
#   BENCH_BIG_HOSTS=800000  hosts in the big zone: 800k A + 200k AAAA = 1.0M records
#   BENCH_EDITS=100         pooldnsctl edits during the edit run (pooldns only)
#   BENCH_EDIT_SECONDS=10   length of the dnsperf run the edits happen in
#   BENCH_PEERS="pooldns nsd knot gdnsd reflector"
#   BENCH_PORT_BASE=39350   ports BASE+1..BASE+5 (or the next free ones 10 apart),
#                           on 127.0.0.1 only
#   BENCH_SERVER_CPU=1 BENCH_CLIENT_CPU=0
#   BENCH_OUTSTANDING=10000 dnsperf -q for the fixed-rate runs
#   BENCH_PEAK_OUTSTANDING=100  dnsperf -q for the max-rate run (dnsperf's default)
#   BENCH_TIMEOUT=2         dnsperf -t: a query unanswered this long is lost
#   BENCH_DNSPERF_BUF=4096  dnsperf -b: its socket buffers in KiB
#   BENCH_START_TIMEOUT=300 seconds a server may take to answer the last host
#   BENCH_BUILD=build/bench BENCH_NO_BUILD=0 (1: use the binaries already there)
#   BENCH_INSTALL=1 (root)  apt-get install whatever of dnsperf, nsd, knot, gdnsd, dig is
#                           missing (a daemon Debian starts is stopped again); 0: never
#   BENCH_OUT=build/bench/results.md  (raw dnsperf output beside it: *-raw.txt)
#   BENCH_KEEP=0            1: keep the temp dir (configs, zones, logs)
#   BENCH_SEED=1035         zone and query generator seed
set -euo pipefail

BENCH_ENV_GIVEN=$(env | grep '^BENCH_' | LC_ALL=C sort | tr '\n' ' ' || true)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CMDLINE="${BENCH_ENV_GIVEN}$HERE/$(basename "$0")${*:+ $*}"

: "${BENCH_SECONDS:=10}"
: "${BENCH_QPS:=100000}"
: "${BENCH_PEAK_SECONDS:=5}"
: "${BENCH_HOSTS:=100000}"
: "${BENCH_QUERY_LINES:=100000}"
: "${BENCH_BIG:=1}"
: "${BENCH_BIG_HOSTS:=800000}"
: "${BENCH_EDITS:=100}"
: "${BENCH_EDIT_SECONDS:=10}"
: "${BENCH_PEERS:=pooldns nsd knot gdnsd reflector}"
: "${BENCH_PORT_BASE:=39350}"
: "${BENCH_SERVER_CPU:=1}"
: "${BENCH_CLIENT_CPU:=0}"
: "${BENCH_OUTSTANDING:=10000}"
: "${BENCH_PEAK_OUTSTANDING:=100}"
: "${BENCH_TIMEOUT:=2}"
: "${BENCH_DNSPERF_BUF:=4096}"
: "${BENCH_START_TIMEOUT:=300}"
: "${BENCH_BUILD:=$ROOT/build/bench}"
: "${BENCH_NO_BUILD:=0}"
: "${BENCH_INSTALL:=$([[ $(id -u) == 0 ]] && command -v apt-get >/dev/null && echo 1 || echo 0)}"
: "${BENCH_OUT:=$ROOT/build/bench/results.md}"
: "${BENCH_KEEP:=0}"
: "${BENCH_SEED:=1035}"
: "${BENCH_REFLECTOR_SRC:=$ROOT/../shared/bench/udp-reflector.c}"

die() { echo "dns-bench: $*" >&2; exit 1; }
for v in BENCH_SECONDS BENCH_QPS BENCH_PEAK_SECONDS BENCH_HOSTS BENCH_QUERY_LINES BENCH_BIG \
         BENCH_BIG_HOSTS BENCH_EDITS BENCH_EDIT_SECONDS BENCH_PORT_BASE BENCH_SERVER_CPU \
         BENCH_CLIENT_CPU BENCH_OUTSTANDING BENCH_PEAK_OUTSTANDING BENCH_TIMEOUT \
         BENCH_START_TIMEOUT BENCH_SEED BENCH_DNSPERF_BUF; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer, not '${!v}'"
done
[[ $BENCH_SECONDS -ge 1 && $BENCH_PEAK_SECONDS -ge 1 && $BENCH_EDIT_SECONDS -ge 1 ]] || die "run lengths must be >= 1 s"
[[ $BENCH_HOSTS -ge 1 && $BENCH_BIG_HOSTS -ge 1 && $BENCH_QPS -ge 1 ]] || die "BENCH_HOSTS, BENCH_BIG_HOSTS, BENCH_QPS must be >= 1"
[[ $BENCH_QUERY_LINES -ge 100000 ]] || BENCH_QUERY_LINES=100000
[[ $BENCH_EDITS -le 9999 ]] || die "BENCH_EDITS must be at most 9999"
[[ $BENCH_PORT_BASE -ge 1024 && $BENCH_PORT_BASE -le 65000 ]] || die "BENCH_PORT_BASE must be 1024..65000"

SCPU=$BENCH_SERVER_CPU
CCPU=$BENCH_CLIENT_CPU
ADDR=127.0.0.1
ORIGIN=bench.test.
CLK_TCK=$(getconf CLK_TCK)
# -b: dnsperf's own socket buffers (KiB; the kernel caps them at net.core.rmem_max/wmem_max),
# so that replies piling up while dnsperf is descheduled are not counted as server loss.
# shellcheck disable=SC2054  # the commas belong to dnsperf's -O value
DNSPERF_COMMON=(-b "$BENCH_DNSPERF_BUF" -O suppress=timeouts,congestion,sendfailed,sockready,unexpected)

# ---------------------------------------------------------------- processes
source "$HERE/lib.sh"   # ROOT_PIDS, tree_pids, alive, stop_pid, cleanup, forget_pid

cpu_ticks() {  # utime+stime (+ reaped children) of the whole process tree, in ticks
    local sum=0 p line fld
    for p in $(tree_pids "$1"); do
        line=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        read -r -a fld <<<"${line##*) }"   # fld[0] is field 3 (state): utime is field 14
        sum=$((sum + fld[11] + fld[12] + fld[13] + fld[14]))
    done
    echo "$sum"
}

pss_kib() {  # PSS of the whole process tree, KiB
    local sum=0 p v
    for p in $(tree_pids "$1"); do
        v=$(awk '/^Pss:/ { print $2; exit }' "/proc/$p/smaps_rollup" 2>/dev/null || true)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

repin() {  # pin every thread of every process of the tree to the server CPU
    local p
    for p in $(tree_pids "$1"); do taskset -a -p -c "$SCPU" "$p" >/dev/null 2>&1 || true; done
}

pin_check() {  # "ok", or the threads that are allowed elsewhere
    local p t bad=""
    for p in $(tree_pids "$1"); do
        for t in /proc/"$p"/task/*; do
            local l
            l=$(awk '/^Cpus_allowed_list:/ { print $2 }' "$t/status" 2>/dev/null || true)
            [[ -z $l || $l == "$SCPU" ]] || bad+="${t##*/}:$l "
        done
    done
    echo "${bad:-ok}"
}

now_ns() { local t=$EPOCHREALTIME; echo "${t/./}000"; }

# ---------------------------------------------------------------- helpers
declare -A R   # results: R[peer,key]
say() { echo "$*" | tee -a "$RAW"; }
skip() { R[$1,skip]=$2; say "SKIP $1: $2"; }

fmt() {  # fmt PRINTF_FORMAT NUMBER-or-empty -> formatted or "n/a"
    [[ -n ${2:-} ]] && awk -v f="$1" -v x="$2" 'BEGIN { printf f, x }' || echo "n/a"
}
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print ""; else printf "%.6f", a / b }'; }

dp_get() {  # dp_get FILE FIELD: a number from dnsperf's statistics
    local f=$1
    case $2 in
        sent) awk '/Queries sent:/ { print $3 }' "$f" ;;
        completed) awk '/Queries completed:/ { print $3 }' "$f" ;;
        lost) awk '/Queries lost:/ { print $3 }' "$f" ;;
        qps) awk '/Queries per second:/ { print $4 }' "$f" ;;
        runtime) awk '/Run time \(s\):/ { print $4 }' "$f" ;;
        avg) awk '/Average Latency \(s\):/ { print $4 * 1e6 }' "$f" ;;
        min) awk '/Average Latency \(s\):/ { gsub(/,/, "", $6); print $6 * 1e6 }' "$f" ;;
        max) awk '/Average Latency \(s\):/ { gsub(/\)/, "", $8); print $8 * 1e6 }' "$f" ;;
        sd) awk '/Latency StdDev \(s\):/ { print $4 * 1e6 }' "$f" ;;
        rcodes) sed -n 's/^ *Response codes: *//p' "$f" ;;
    esac
}

# dnsperf PORT OUTFILE ARGS...: one bounded dnsperf run pinned to the client CPU
dnsperf_run() {
    local port=$1 out=$2; shift 2
    local cmd=(taskset -c "$CCPU" dnsperf -s "$ADDR" -p "$port" -d "$WORK/queries.txt" -c 1
               -t "$BENCH_TIMEOUT" "${DNSPERF_COMMON[@]}" "$@")
    echo "${cmd[*]}" >>"$WORK/commands.txt"
    timeout -k 5 $((BENCH_SECONDS + BENCH_PEAK_SECONDS + BENCH_EDIT_SECONDS + BENCH_TIMEOUT + 60)) \
        "${cmd[@]}" >"$out" 2>&1 || true
    { echo "### ${cmd[*]}"; grep -v '^\[Timeout\]' "$out"; echo; } >>"$RAW"
}

# ---------------------------------------------------------------- peers
peer_port() {  # a free port for PEER: BASE+index, else the next ones 10 apart
    local i=1 p port
    for p in pooldns nsd knot gdnsd reflector; do
        [[ $p == "$1" ]] && break
        i=$((i + 1))
    done
    for ((port = BENCH_PORT_BASE + i; port <= 65535; port += 10)); do
        port_busy "$port" || { echo "$port"; return 0; }
    done
    echo $((BENCH_PORT_BASE + i))
}

port_busy() { ss -Hlun "sport = :$1" 2>/dev/null | grep -q . || ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

peer_missing() {  # prints a reason if the peer cannot run here
    case $1 in
        pooldns) [[ -x $POOLDNS && -x $POOLDNSCTL ]] || echo "pooldns not built ($POOLDNS)" ;;
        nsd) command -v nsd >/dev/null || echo "nsd not installed (apt-get install nsd)" ;;
        knot) command -v knotd >/dev/null || echo "knotd not installed (apt-get install knot)" ;;
        gdnsd) command -v gdnsd >/dev/null || echo "gdnsd not installed (apt-get install gdnsd)" ;;
        reflector) [[ -x $WORK/udp-reflector ]] || echo "udp-reflector did not compile from $BENCH_REFLECTOR_SRC" ;;
        *) echo "unknown peer" ;;
    esac
}

# prepare PEER ZONEFILE TAG PORT: config in $WORK/PEER-TAG, sets CMD; non-zero on failure
prepare() {
    local peer=$1 zone=$2 tag=$3 port=$4 dir="$WORK/$1-$3"
    rm -rf "$dir"; mkdir -p "$dir"
    case $peer in
        pooldns)
            local t0 t1
            t0=$(now_ns)
            "$POOLDNSCTL" --db "$dir/pooldns.db" zone import "$ORIGIN" "$zone" >"$dir/import.log" 2>&1 || {
                PREP_ERR="pooldnsctl zone import failed: $(tail -1 "$dir/import.log")"; return 1; }
            t1=$(now_ns)
            R[$peer,import_ms_$tag]=$(( (t1 - t0) / 1000000 ))
            echo "$POOLDNSCTL --db $dir/pooldns.db zone import $ORIGIN $zone" >>"$WORK/commands.txt"
            CMD=("$POOLDNS" --db "$dir/pooldns.db" --dns "$ADDR:$port" --threads 1 --log-level warn)
            ;;
        nsd)
            mkdir -p "$dir/xfr"
            cat >"$dir/nsd.conf" <<EOF
server:
    server-count: 1
    ip-address: $ADDR@$port
    port: $port
    do-ip4: yes
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "$dir"
    database: ""
    zonelistfile: "$dir/zone.list"
    xfrdfile: "$dir/xfrd.state"
    xfrdir: "$dir/xfr"
    pidfile: "$dir/nsd.pid"
    logfile: "$dir/nsd.log"
    verbosity: 1
    rrl-ratelimit: 0
    hide-version: yes
    zonefiles-check: no
    zonefiles-write: 0
remote-control:
    control-enable: no
zone:
    name: ${ORIGIN%.}
    zonefile: "$zone"
EOF
            nsd-checkconf "$dir/nsd.conf" >"$dir/checkconf.log" 2>&1 || {
                PREP_ERR="nsd-checkconf: $(head -1 "$dir/checkconf.log")"; return 1; }
            CMD=(nsd -d -c "$dir/nsd.conf")
            ;;
        knot)
            mkdir -p "$dir/db"
            cat >"$dir/knot.conf" <<EOF
server:
    rundir: "$dir"
    pidfile: "$dir/knot.pid"
    listen: $ADDR@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
control:
    listen: "$dir/knot.sock"
database:
    storage: "$dir/db"
template:
  - id: default
    storage: "$dir"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: ${ORIGIN%.}
    file: "$zone"
EOF
            knotc -c "$dir/knot.conf" conf-check >"$dir/checkconf.log" 2>&1 || {
                PREP_ERR="knotc conf-check: $(head -1 "$dir/checkconf.log")"; return 1; }
            CMD=(knotd -c "$dir/knot.conf")
            ;;
        gdnsd)
            mkdir -p "$dir/zones" "$dir/run" "$dir/state"
            ln "$zone" "$dir/zones/${ORIGIN%.}" 2>/dev/null || cp "$zone" "$dir/zones/${ORIGIN%.}"
            cat >"$dir/config" <<EOF
options => {
  listen => { $ADDR:$port => { udp_threads => 1, tcp_threads => 1 } }
  run_dir => "$dir/run"
  state_dir => "$dir/state"
  zones_rfc1035_threads => 1
}
EOF
            CMD=(gdnsd -c "$dir" start)
            ;;
        reflector)
            CMD=("$WORK/udp-reflector" "$ADDR" "$port")
            ;;
    esac
}

# start PEER TAG PORT LASTNAME: launches CMD pinned to the server CPU, waits until
# LASTNAME answers; sets SPID and STARTUP_MS; non-zero (and SPID stopped) on failure
start_server() {
    local peer=$1 tag=$2 port=$3 last=$4 log="$WORK/$1-$2/server.log" t0 ms rc=0
    if port_busy "$port"; then PREP_ERR="port $port already in use"; return 1; fi
    echo "taskset -c $SCPU ${CMD[*]}" >>"$WORK/commands.txt"
    t0=$(now_ns)
    taskset -c "$SCPU" "${CMD[@]}" >"$log" 2>&1 &
    SPID=$!
    ROOT_PIDS+=("$SPID")
    if [[ $peer == reflector ]]; then
        ms=$(DNS_PROBE_ANY_REPLY=1 taskset -c "$CCPU" "$WORK/dns-probe" "$ADDR" "$port" "$last" A \
             $((BENCH_START_TIMEOUT * 1000)) "$t0") || rc=$?
    else
        ms=$(taskset -c "$CCPU" "$WORK/dns-probe" "$ADDR" "$port" "$last" A \
             $((BENCH_START_TIMEOUT * 1000)) "$t0") || rc=$?
    fi
    # The answers must come from this server, not from someone else's on the same port.
    if [[ $rc == 0 ]] && alive "$SPID" && ! owns_port "$SPID" "$port"; then
        rc=99
    fi
    if [[ $rc != 0 ]] || ! alive "$SPID"; then
        if [[ $rc == 99 ]]; then
            PREP_ERR="port $port is answered by a process that is not this server"
        else
            PREP_ERR="did not answer $last within ${BENCH_START_TIMEOUT}s (exit $rc); log: $(tail -3 "$log" | tr '\n' ' ')"
        fi
        stop_pid "$SPID"; forget_pid "$SPID"
        return 1
    fi
    STARTUP_MS=$ms
    repin "$SPID"
}

owns_port() {  # ROOT PORT: a process of ROOT's tree has the UDP port
    local owners p
    owners=$(ss -Hlunp "sport = :$2" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2)
    for p in $(tree_pids "$1"); do grep -qx "$p" <<<"$owners" && return 0; done
    return 1
}

stop_server() { stop_pid "$SPID"; forget_pid "$SPID"; }

# answers PEER PORT: normalised answers to a sample of the queries, one line each
answers() {
    local out="$WORK/answers-$1.txt"
    command -v dig >/dev/null || return 1
    dig @"$ADDR" -p "$2" +norec +tries=2 +time=1 +noall +comments +question +answer \
        -f "$WORK/sample.dig" 2>&1 | python3 -c '
import sys
res, status, key = {}, None, None
for line in sys.stdin:
    line = line.rstrip("\n")
    if "->>HEADER<<-" in line:
        status = line.split("status:")[1].split(",")[0].strip()
        key = None
    elif line.startswith(";") and not line.startswith(";;") and status:
        f = line[1:].split()
        if len(f) == 3 and f[1].upper() == "IN":  # the question, not an OPT line
            key = (f[0].lower(), f[2].upper())
            res[key] = [status]
    elif line and not line.startswith(";") and key:
        f = line.split()
        res[key].append(" ".join([f[0].lower()] + f[2:]).lower())
for k in sorted(res):
    v = res[k]
    print(k[0], k[1], v[0], "|", "; ".join(sorted(v[1:])))
' >"$out"
}

# ---------------------------------------------------------------- set-up
command -v dnsperf >/dev/null || [[ $BENCH_INSTALL == 1 ]] || die "dnsperf not found: apt-get install dnsperf (or BENCH_INSTALL=1)"
[[ $(nproc) -ge 2 ]] || die "needs 2 CPUs (server on $SCPU, client on $CCPU); nproc=$(nproc)"
[[ $SCPU != "$CCPU" ]] || die "BENCH_SERVER_CPU and BENCH_CLIENT_CPU must differ"
for t in cc python3 taskset ss awk timeout; do command -v "$t" >/dev/null || die "$t not found"; done

if [[ $BENCH_INSTALL == 1 ]]; then
    need=()
    command -v dnsperf >/dev/null || need+=(dnsperf)
    command -v dig >/dev/null || need+=(bind9-dnsutils)
    for p in $BENCH_PEERS; do
        case $p in
            nsd) command -v nsd >/dev/null || need+=(nsd) ;;
            knot) command -v knotd >/dev/null || need+=(knot) ;;
            gdnsd) command -v gdnsd >/dev/null || need+=(gdnsd) ;;
        esac
    done
    if [[ ${#need[@]} -gt 0 ]]; then
        echo "installing: ${need[*]}"
        apt-get install -y -o DPkg::Lock::Timeout=300 --no-install-recommends "${need[@]}" ||
            { apt-get update -o DPkg::Lock::Timeout=300 >/dev/null 2>&1 &&
              apt-get install -y -o DPkg::Lock::Timeout=300 --no-install-recommends "${need[@]}"; } ||
            echo "apt-get install failed; the peers that are missing will be skipped"
        # Debian may start the daemons it just installed: stop exactly those services.
        for svc in "${need[@]}"; do
            case $svc in nsd | knot | gdnsd) ;; *) continue ;; esac
            if [[ -d /run/systemd/system ]]; then
                systemctl stop "$svc" 2>/dev/null || true
            elif [[ -x /etc/init.d/$svc ]]; then
                service "$svc" stop >/dev/null 2>&1 || true
            fi
        done
        if ss -Hlunp 'sport = :53' 2>/dev/null | grep -q .; then
            echo "WARNING: something listens on port 53 now:"; ss -Hlunp 'sport = :53'
        fi
    fi
    command -v dnsperf >/dev/null || die "dnsperf could not be installed"
fi

if [[ $BENCH_NO_BUILD != 1 ]]; then
    echo "building pooldns (Release) in $BENCH_BUILD"
    cmake -S "$ROOT" -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=Release -DPOOLDNS_TESTS=OFF >/tmp/dns-bench-build.$$.log 2>&1 &&
        make -C "$BENCH_BUILD" -j2 pooldns pooldnsctl >>/tmp/dns-bench-build.$$.log 2>&1 ||
        { tail -20 /tmp/dns-bench-build.$$.log >&2; rm -f /tmp/dns-bench-build.$$.log; die "build failed"; }
    rm -f /tmp/dns-bench-build.$$.log
fi
POOLDNS=$BENCH_BUILD/server/pooldns
POOLDNSCTL=$BENCH_BUILD/tools/pooldnsctl

WORK=$(mktemp -d /tmp/dns-bench.XXXXXX)
mkdir -p "$(dirname "$BENCH_OUT")"
RAW="${BENCH_OUT%.md}-raw.txt"
: >"$RAW"
: >"$WORK/commands.txt"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

cc -O2 -o "$WORK/dns-probe" "$HERE/dns-probe.c" || die "cannot compile dns-probe.c"
if [[ -r $BENCH_REFLECTOR_SRC ]]; then
    cc -O2 -o "$WORK/udp-reflector" "$BENCH_REFLECTOR_SRC" 2>"$WORK/reflector-cc.log" || true
fi

say "# dns-bench $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "command: $CMDLINE"
say "work dir: $WORK; load average at start: $LOAD_START"

gen() {  # gen HOSTS NAME [queries]
    local args=(--hosts "$1" --zone "$WORK/$2.zone" --seed "$BENCH_SEED")
    [[ ${3:-} == queries ]] && args+=(--queries "$WORK/queries.txt" --query-lines "$BENCH_QUERY_LINES")
    echo "python3 $HERE/gen-zone.py ${args[*]}" >>"$WORK/commands.txt"
    taskset -c "$CCPU" python3 "$HERE/gen-zone.py" "${args[@]}" | tail -1
}
say "generating zone: $BENCH_HOSTS hosts, $BENCH_QUERY_LINES queries"
LAST=$(gen "$BENCH_HOSTS" small queries)
LAST=${LAST%.}
RECORDS=$(grep -vc '^\$' "$WORK/small.zone")
head -300 "$WORK/queries.txt" >"$WORK/sample.dig"
say "zone: $RECORDS records, last host $LAST; queries: $(wc -l <"$WORK/queries.txt") lines"

# ---------------------------------------------------------------- main runs
RAN=()
for peer in $BENCH_PEERS; do
    miss=$(peer_missing "$peer")
    if [[ -n $miss ]]; then skip "$peer" "$miss"; continue; fi
    port=$(peer_port "$peer")
    say ""
    say "== $peer on $ADDR:$port"
    PREP_ERR=""
    if ! prepare "$peer" "$WORK/small.zone" small "$port"; then skip "$peer" "$PREP_ERR"; continue; fi
    if ! start_server "$peer" small "$port" "$LAST"; then skip "$peer" "$PREP_ERR"; continue; fi
    [[ $peer == reflector ]] || R[$peer,startup_small]=$STARTUP_MS
    R[$peer,pss_idle]=$(pss_kib "$SPID")
    if [[ $peer != reflector ]] && answers "$peer" "$port"; then :; fi

    # Fixed offered load.
    repin "$SPID"
    c0=$(cpu_ticks "$SPID")
    dnsperf_run "$port" "$WORK/$peer-fixed.out" -l "$BENCH_SECONDS" -Q "$BENCH_QPS" -q "$BENCH_OUTSTANDING"
    c1=$(cpu_ticks "$SPID")
    alive "$SPID" || R[$peer,died]="died during the fixed-load run"
    f="$WORK/$peer-fixed.out"
    for k in sent completed lost avg min max sd qps rcodes runtime; do R[$peer,$k]=$(dp_get "$f" "$k"); done
    [[ -n ${R[$peer,sent]} && -n ${R[$peer,runtime]} ]] &&
        R[$peer,send_rate]=$(awk -v n="${R[$peer,sent]}" -v t="${R[$peer,runtime]}" -v l="$BENCH_SECONDS" \
            'BEGIN { printf "%.0f", n / l }')
    R[$peer,cpu_s]=$(awk -v d=$((c1 - c0)) -v t="$CLK_TCK" 'BEGIN { printf "%.2f", d / t }')
    [[ -n ${R[$peer,completed]} && -z ${R[$peer,died]:-} ]] &&
        R[$peer,us]=$(awk -v d=$((c1 - c0)) -v t="$CLK_TCK" -v n="${R[$peer,completed]}" \
            'BEGIN { if (n > 0) printf "%.3f", d / t * 1e6 / n }')

    # Maximum rate.
    repin "$SPID"
    c0=$(cpu_ticks "$SPID")
    dnsperf_run "$port" "$WORK/$peer-peak.out" -l "$BENCH_PEAK_SECONDS" -q "$BENCH_PEAK_OUTSTANDING"
    c1=$(cpu_ticks "$SPID")
    alive "$SPID" || R[$peer,died]=${R[$peer,died]:-died during the peak run}
    f="$WORK/$peer-peak.out"
    R[$peer,peak_qps]=$(dp_get "$f" qps)
    R[$peer,peak_lost]=$(dp_get "$f" lost)
    R[$peer,peak_avg]=$(dp_get "$f" avg)
    n=$(dp_get "$f" completed)
    [[ -n $n && -z ${R[$peer,died]:-} ]] && R[$peer,peak_us]=$(awk -v d=$((c1 - c0)) -v t="$CLK_TCK" -v n="$n" \
        'BEGIN { if (n > 0) printf "%.3f", d / t * 1e6 / n }')

    R[$peer,pss_small]=$(pss_kib "$SPID")
    R[$peer,pin]=$(pin_check "$SPID")
    R[$peer,threads]=$(for p in $(tree_pids "$SPID"); do ls "/proc/$p/task"; done | wc -l)
    R[$peer,procs]=$(tree_pids "$SPID" | wc -l)
    stop_server
    RAN+=("$peer")
    say "$peer: start-up ${R[$peer,startup_small]:-n/a} ms; ${R[$peer,us]:-?} us CPU/query at -Q $BENCH_QPS" \
        "(sent ${R[$peer,sent]:-?}, completed ${R[$peer,completed]:-?}, lost ${R[$peer,lost]:-?}," \
        "avg ${R[$peer,avg]:-?} us); peak $(fmt %.0f "${R[$peer,peak_qps]:-}") qps; PSS ${R[$peer,pss_small]} KiB;" \
        "pinning ${R[$peer,pin]}${R[$peer,died]:+; SERVER ${R[$peer,died]}}"
done

ran() { local p; for p in "${RAN[@]}"; do [[ $p == "$1" ]] && return 0; done; return 1; }

# Answers compared with pooldns's on the same sample.
if ran pooldns && [[ -s $WORK/answers-pooldns.txt ]]; then
    for peer in "${RAN[@]}"; do
        [[ $peer == reflector || ! -s $WORK/answers-$peer.txt ]] && continue
        R[$peer,diff]=$(diff "$WORK/answers-pooldns.txt" "$WORK/answers-$peer.txt" | grep -c '^>' || true)
        R[$peer,sample]=$(wc -l <"$WORK/answers-$peer.txt")
        if [[ ${R[$peer,diff]} != 0 ]]; then
            { echo "### answers that differ, pooldns (<) vs $peer (>)"
              diff "$WORK/answers-pooldns.txt" "$WORK/answers-$peer.txt" | head -40 || true; echo; } >>"$RAW"
        fi
    done
fi

# ---------------------------------------------------------------- edits under load
EDIT=0
if ran pooldns && [[ $BENCH_EDITS -gt 0 ]]; then
    say ""
    say "== pooldns under $BENCH_EDITS edits during a ${BENCH_EDIT_SECONDS}s run at -Q $BENCH_QPS"
    port=$(peer_port pooldns)
    PREP_ERR=""
    if prepare pooldns "$WORK/small.zone" edit "$port" && start_server pooldns edit "$port" "$LAST"; then
        EDIT=1
        db="$WORK/pooldns-edit/pooldns.db"
        width=$(( ${#BENCH_EDITS} > 3 ? ${#BENCH_EDITS} : 3 ))
        c0=$(cpu_ticks "$SPID")
        dnsperf_run "$port" "$WORK/edit.out" -l "$BENCH_EDIT_SECONDS" -Q "$BENCH_QPS" -q "$BENCH_OUTSTANDING" &
        DPID=$!
        ROOT_PIDS+=("$DPID")
        echo "for i in 1..$BENCH_EDITS: taskset -c $CCPU $POOLDNSCTL --db $db record add $ORIGIN edit\$i 60 A 192.0.2.x (paced over $((BENCH_EDIT_SECONDS > 2 ? BENCH_EDIT_SECONDS - 2 : 1)) s)" >>"$WORK/commands.txt"
        (   # Bounded in count (BENCH_EDITS) and time (the run plus 30 s).
            set +e
            t_start=${EPOCHREALTIME/./}
            span=$(( (BENCH_EDIT_SECONDS > 2 ? BENCH_EDIT_SECONDS - 2 : 1) * 1000000 ))
            hard=$(( t_start + (BENCH_EDIT_SECONDS + 30) * 1000000 ))
            ok=0; fail=0; last_ok=""
            for ((i = 1; i <= BENCH_EDITS; i++)); do
                target=$(( t_start + 1000000 + (i - 1) * span / BENCH_EDITS ))
                now=${EPOCHREALTIME/./}
                [[ $now -lt $hard ]] || break
                if [[ $now -lt $target ]]; then
                    d=$((target - now)); sleep "$((d / 1000000)).$(printf '%06d' $((d % 1000000)))"
                fi
                name=$(printf "edit%0${width}d" "$i")
                if taskset -c "$CCPU" "$POOLDNSCTL" --db "$db" record add "$ORIGIN" "$name" 60 A \
                        "192.0.2.$(( (i - 1) % 254 + 1 ))" >>"$WORK/edit-ctl.log" 2>&1; then
                    ok=$((ok + 1)); last_ok=$name
                else
                    fail=$((fail + 1))
                fi
            done
            t_end=${EPOCHREALTIME/./}
            echo "$ok $fail ${last_ok:-none} $(( (t_end - t_start) / 1000 ))" >"$WORK/edit-result.txt"
        ) &
        EPID=$!
        ROOT_PIDS+=("$EPID")
        wait "$DPID" || true; forget_pid "$DPID"
        wait "$EPID" || true; forget_pid "$EPID"
        c1=$(cpu_ticks "$SPID")
        alive "$SPID" || R[edit,died]="pooldns died during the edit run"
        read -r e_ok e_fail e_last e_ms <"$WORK/edit-result.txt" || { e_ok=0; e_fail=0; e_last=none; e_ms=0; }
        f="$WORK/edit.out"
        for k in sent completed lost avg max sd rcodes; do R[edit,$k]=$(dp_get "$f" "$k"); done
        n=${R[edit,completed]}
        [[ -n $n && -z ${R[edit,died]:-} ]] && R[edit,us]=$(awk -v d=$((c1 - c0)) -v t="$CLK_TCK" -v n="$n" \
            'BEGIN { if (n > 0) printf "%.3f", d / t * 1e6 / n }')
        R[edit,ok]=$e_ok; R[edit,fail]=$e_fail; R[edit,loop_ms]=$e_ms; R[edit,last_ok]=$e_last
        # The last edit must be served (pooldns promises within a second); allow 5 s.
        last_name=$(printf "edit%0${width}d" "$BENCH_EDITS")
        t0=$(now_ns)
        if ms=$(taskset -c "$CCPU" "$WORK/dns-probe" "$ADDR" "$port" "$last_name.${ORIGIN%.}" A 5000 "$t0"); then
            R[edit,last]="yes ($last_name served ${ms} ms after the run)"
        else
            R[edit,last]="NO ($last_name not served within 5 s)"
        fi
        if command -v dig >/dev/null; then
            for ((i = 1; i <= BENCH_EDITS; i++)); do printf "edit%0${width}d.%s A\n" "$i" "${ORIGIN%.}"; done >"$WORK/edits.dig"
            R[edit,served]=$(dig @"$ADDR" -p "$port" +norec +tries=2 +time=1 +short -f "$WORK/edits.dig" 2>/dev/null |
                grep -c '^192\.0\.2\.' || true)
        fi
        stop_server
        say "edit run: lost ${R[edit,lost]:-?} of ${R[edit,sent]:-?}; edits ok $e_ok (last ok: $e_last), failed $e_fail in ${e_ms} ms;" \
            "served ${R[edit,served]:-?}/$BENCH_EDITS; last: ${R[edit,last]}"
    else
        say "SKIP edit run: $PREP_ERR"
    fi
fi

# ---------------------------------------------------------------- big zone
BIG_RECORDS=""
if [[ $BENCH_BIG == 1 ]]; then
    say ""
    say "== big zone: $BENCH_BIG_HOSTS hosts"
    BIG_LAST=$(gen "$BENCH_BIG_HOSTS" big)
    BIG_LAST=${BIG_LAST%.}
    BIG_RECORDS=$(grep -vc '^\$' "$WORK/big.zone")
    say "big zone: $BIG_RECORDS records, last host $BIG_LAST"
    for peer in "${RAN[@]}"; do
        [[ $peer == reflector ]] && continue
        port=$(peer_port "$peer")
        PREP_ERR=""
        if ! prepare "$peer" "$WORK/big.zone" big "$port" || ! start_server "$peer" big "$port" "$BIG_LAST"; then
            R[$peer,big_err]=$PREP_ERR; say "$peer big zone failed: $PREP_ERR"; continue
        fi
        R[$peer,startup_big]=$STARTUP_MS
        R[$peer,pss_big]=$(pss_kib "$SPID")
        stop_server
        rm -rf "$WORK/$peer-big"
        say "$peer big zone: start-up ${R[$peer,startup_big]} ms, PSS ${R[$peer,pss_big]} KiB"
    done
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
ver() {
    case $1 in
        pooldns) echo "pooldns $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?') (Release, $BENCH_BUILD)" ;;
        nsd) nsd -v 2>&1 | head -1 ;;
        knot) knotd --version 2>&1 | head -1 ;;
        gdnsd) gdnsd -V 2>&1 | grep -m1 -i 'version' ;;
        reflector) echo "udp-reflector ($BENCH_REFLECTOR_SRC, cc -O2; $(cc --version | head -1))" ;;
    esac
}
mib() { [[ -n ${1:-} ]] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' || echo "n/a"; }

P_US=${R[pooldns,us]:-}
SHORT=0
{
    echo "# DNS benchmark: pooldns and peers"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ); host: $(uname -srm); CPU: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo) ($(nproc) CPUs)"
    echo "- command: \`$CMDLINE\`"
    echo "- load average at start / end: $LOAD_START / $LOAD_END (other work on the machine skews every number)"
    echo "- zone: $ORIGIN $RECORDS records ($BENCH_HOSTS hosts, every 4th with AAAA, 50 pools of 4-8 A, SfB SRV/CNAME); big zone: ${BIG_RECORDS:-skipped}${BIG_RECORDS:+ records}"
    echo "- queries: $(wc -l <"$WORK/queries.txt") lines, seed $BENCH_SEED: 60% hosts (A/AAAA), 20% pools, 10% NXDOMAIN, 10% MX/TXT/SRV/NS/SOA/CNAME, 10% mixed case"
    echo "- net.core.rmem_max $(cat /proc/sys/net/core/rmem_max), rmem_default $(cat /proc/sys/net/core/rmem_default) (a server's UDP receive buffer decides when it drops queries)"
    echo "- servers on CPU $SCPU (taskset at start, every thread re-pinned with taskset -a -p after start), dnsperf on CPU $CCPU, -c 1, -t $BENCH_TIMEOUT, -b $BENCH_DNSPERF_BUF; fixed load: -Q $BENCH_QPS -q $BENCH_OUTSTANDING for ${BENCH_SECONDS}s; peak: no -Q, -q $BENCH_PEAK_OUTSTANDING for ${BENCH_PEAK_SECONDS}s"
    echo "- CPU = utime+stime of the server's process tree from /proc/PID/stat (CLK_TCK $CLK_TCK) before/after, divided by queries completed; kernel work charged to dnsperf's CPU (loopback delivery) is not in it"
    echo "- start-up = server launch until the last host record answers (polled every 2 ms); PSS = sum of Pss in /proc/PID/smaps_rollup over the process tree (100k: after the load runs; big: right after start-up)"
    echo
    echo "| server | µs CPU/query @${BENCH_QPS} | pooldns ÷ this | sent | completed | lost | avg latency µs (sd, max) | peak QPS | µs CPU/query @peak | start-up ms | PSS MiB | big start-up ms | big PSS MiB |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for peer in $BENCH_PEERS; do
        if [[ -n ${R[$peer,skip]:-} ]]; then
            echo "| $peer | SKIP: ${R[$peer,skip]//|/\\|} ||||||||||||"
            continue
        fi
        us=${R[$peer,us]:-}
        ratio=""
        [[ -n $P_US && -n $us ]] && ratio=$(div "$P_US" "$us")
        lat="$(fmt %.0f "${R[$peer,avg]:-}") ($(fmt %.0f "${R[$peer,sd]:-}"), $(fmt %.0f "${R[$peer,max]:-}"))"
        big_s=$(fmt %.0f "${R[$peer,startup_big]:-}"); big_p=$(mib "${R[$peer,pss_big]:-}")
        if [[ $peer == reflector ]]; then big_s="–"; big_p="–"; fi
        [[ $BENCH_BIG == 1 ]] || { big_s="skipped"; big_p="skipped"; }
        echo "| $peer${R[$peer,died]:+ (${R[$peer,died]})} | $(fmt %.3f "$us") | $(fmt %.2f "$ratio") | ${R[$peer,sent]:-n/a} | ${R[$peer,completed]:-n/a} | ${R[$peer,lost]:-n/a} | $lat | $(fmt %.0f "${R[$peer,peak_qps]:-}") | $(fmt %.3f "${R[$peer,peak_us]:-}") | $( [[ $peer == reflector ]] && echo "–" || fmt %.1f "${R[$peer,startup_small]:-}") | $(mib "${R[$peer,pss_small]:-}") | $big_s | $big_p |"
    done
    echo
    echo "\"pooldns ÷ this\" is pooldns's CPU per query over this server's: below 1 pooldns uses less; on the reflector row it is pooldns over the floor."
    echo
    echo "| server | sent/s in the fixed-load run | response codes (fixed-load run) | answers differing from pooldns (sample) | processes / threads | all threads on CPU $SCPU | PSS right after start MiB | pooldns import ms (100k / big) |"
    echo "|---|---|---|---|---|---|---|---|"
    for peer in "${RAN[@]}"; do
        d="–"; [[ -n ${R[$peer,diff]:-} ]] && d="${R[$peer,diff]} of ${R[$peer,sample]}"
        imp="–"; [[ $peer == pooldns ]] && imp="${R[pooldns,import_ms_small]:-?} / ${R[pooldns,import_ms_big]:-n/a}"
        rate=${R[$peer,send_rate]:-}
        [[ -n $rate && $rate -lt $((BENCH_QPS * 9 / 10)) ]] && { rate="$rate (below -Q: client-bound)"; SHORT=1; }
        echo "| $peer | ${rate:-n/a} | ${R[$peer,rcodes]:-n/a} | $d | ${R[$peer,procs]} / ${R[$peer,threads]} | ${R[$peer,pin]} | $(mib "${R[$peer,pss_idle]:-}") | $imp |"
    done
    if [[ $SHORT == 1 ]]; then
        echo
        echo "WARNING: dnsperf sent less than 90% of the offered load in some run: CPU $CCPU was not free enough (or dnsperf is the limit); those rows are not at -Q $BENCH_QPS."
    fi
    if [[ $EDIT == 1 ]]; then
        echo
        echo "## pooldns while the zone is edited"
        echo
        echo "$BENCH_EDITS \`pooldnsctl record add\` runs (CPU $CCPU), paced over the middle of a ${BENCH_EDIT_SECONDS}s dnsperf run at -Q $BENCH_QPS."
        echo
        echo "| sent | completed | lost | lost without edits (${BENCH_SECONDS}s run above) | avg latency µs (sd, max) | µs CPU/query | edits ok / failed (loop ms) | edits served | last edit |"
        echo "|---|---|---|---|---|---|---|---|---|"
        echo "| ${R[edit,sent]:-n/a} | ${R[edit,completed]:-n/a} | ${R[edit,lost]:-n/a} | ${R[pooldns,lost]:-n/a} | $(fmt %.0f "${R[edit,avg]:-}") ($(fmt %.0f "${R[edit,sd]:-}"), $(fmt %.0f "${R[edit,max]:-}")) | $(fmt %.3f "${R[edit,us]:-}") | ${R[edit,ok]} / ${R[edit,fail]} (${R[edit,loop_ms]}$( [[ ${R[edit,loop_ms]} -gt $((BENCH_EDIT_SECONDS * 1000)) ]] && echo ": some after the run")) | ${R[edit,served]:-n/a}/$BENCH_EDITS | ${R[edit,last]}${R[edit,died]:+; ${R[edit,died]}} |"
    fi
    echo
    echo "## Versions"
    echo
    for peer in "${RAN[@]}"; do echo "- $peer: $(ver "$peer")"; done
    echo "- dnsperf: $(dnsperf -H 2>&1 | grep -E '^(DNS Performance|Version)' | tr '\n' ' ')"
    echo
    echo "## Commands"
    echo
    echo '```'
    cat "$WORK/commands.txt"
    echo '```'
    echo
    echo "Raw dnsperf output: $RAW"
} >"$BENCH_OUT"

echo
cat "$BENCH_OUT"
echo
echo "written: $BENCH_OUT (raw: $RAW)"
