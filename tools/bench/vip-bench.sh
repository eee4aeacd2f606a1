#!/usr/bin/env bash
# vip-bench.sh: the pooldns VIP against HAProxy (issue 5), both pinned to the same
# one core ($BENCH_PROXY_CPU), in front of the same two local backends
# (http-backend.c, one epoll process per backend), driven by wrk from the other
# core ($BENCH_CLIENT_CPU, where the backends also run):
#   https-keepalive   HTTPS keep-alive requests
#   https-handshake   a new TLS connection per request (wrk -H 'Connection: close');
#                     every one a full handshake: tls-count.so strips the session
#                     wrk would offer (wrk resumes otherwise) and counts resumptions
#   http-keepalive    plain HTTP keep-alive requests
# and, for each, p50/p99 latency (wrk --latency) and the headline: proxy CPU time
# per request (utime+stime of the proxy process from /proc/PID/stat over the run,
# divided by the requests wrk completed). Then VmRSS of a fresh proxy process with
# $BENCH_IDLE idle HTTPS connections (idle-conns.c). Equal settings: the same
# ECDSA P-256 certificate (made here with openssl), TLS 1.2+1.3 with pooldns's
# cipher lists and server preference, least outstanding requests, keep-alive to
# the backends, X-Forwarded-For, no logging, one thread (haproxy.cfg.in).
# Everything listens on 127.0.0.0/8, runs as this script's child and is stopped by
# PID on exit; the temp dir goes unless BENCH_KEEP=1.
#
#   tools/bench/vip-bench.sh                   # 3 rounds x 3 scenarios x 2 proxies x 10 s + RSS: ~4 minutes
#   BENCH_SECONDS=3 BENCH_ROUNDS=1 BENCH_IDLE=2000 tools/bench/vip-bench.sh   # smoke run, ~1 minute
#   BENCH_PERF=1 tools/bench/vip-bench.sh      # also perf record -g of pooldns under load
#
# Knobs (environment):
#   BENCH_SECONDS=10        length of each wrk run (s)
#   BENCH_ROUNDS=3          rounds; the table gives medians (proxies alternate who goes first)
#   BENCH_WARMUP=2          s of each scenario on each proxy before round 1 (0: none)
#   BENCH_CONNS=50          wrk -c (connections), every scenario
#   BENCH_WRK_THREADS=1     wrk -t
#   BENCH_BODY=100          response body bytes from the backends
#   BENCH_PEERS="haproxy pooldns"
#   BENCH_SCENARIOS="https-keepalive https-handshake http-keepalive"
#   BENCH_PROXY_CPU=0       the proxies' core (taskset -c; every thread re-pinned)
#   BENCH_CLIENT_CPU=1      wrk, the idle-connection opener, openssl, perf
#   BENCH_BACKEND_CPU=$BENCH_CLIENT_CPU   the two backends
#   BENCH_BACKENDS="127.0.0.41 127.0.0.42"   one backend process on each, same port
#   BENCH_IDLE=10000        idle HTTPS connections for the RSS figure (0: skip it)
#   BENCH_IDLE_MODES="handshake request"   handshake: TLS only, then idle;
#                           request: TLS, one keep-alive GET, then idle (a fresh proxy each)
#   BENCH_RESUME=0          1: let wrk resume TLS sessions in https-handshake (it does by default)
#   BENCH_PERF=0            1: perf record -g the proxy for BENCH_PERF_SECONDS under
#                           https-keepalive and http-keepalive; top BENCH_PERF_TOP symbols
#   BENCH_PERF_PEERS=pooldns BENCH_PERF_SECONDS=10 BENCH_PERF_TOP=15
#   BENCH_HAPROXY_REUSE=safe  HAProxy's http-reuse (its default, as the issue asks). "safe" sends
#                           the first request of every client connection over a new backend
#                           connection, so in https-handshake HAProxy also connects to a backend
#                           per request; "always" lets it reuse one
#   BENCH_HEADER_TIMEOUT=60 s both proxies wait for a request's head (pooldns --header-timeout,
#                           HAProxy timeout http-request; both default to 10 s). Raised so that
#                           the idle connections that never send a request outlive the RSS sample
#   BENCH_PORT_BASE=31600   HAProxy BASE+1 (https), +2 (http); pooldns +11, +12, DNS +13;
#                           backends BASE+20. Below the ephemeral range on purpose.
#   BENCH_BUILD=build/vipbench BENCH_NO_BUILD=0 (1: use the binaries already there)
#   BENCH_INSTALL=1 (root)  install the `bench` package set (tools/deps.sh: haproxy, wrk, ...)
#                           if missing, and linux-perf for BENCH_PERF=1; 0: never
#   BENCH_RESULTS=build/bench/vip   a run directory per run inside (report.md, raw.log,
#                           every wrk output, configs, perf reports); "latest" links to it
#   BENCH_KEEP=0            1: keep the temp dir (db, certificate, logs)
set -euo pipefail

BENCH_ENV_GIVEN=$(env | grep '^BENCH_' | LC_ALL=C sort | tr '\n' ' ' || true)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CMDLINE="${BENCH_ENV_GIVEN}$HERE/$(basename "$0")"

: "${BENCH_SECONDS:=10}"
: "${BENCH_ROUNDS:=3}"
: "${BENCH_WARMUP:=2}"
: "${BENCH_CONNS:=50}"
: "${BENCH_WRK_THREADS:=1}"
: "${BENCH_BODY:=100}"
: "${BENCH_PEERS:=haproxy pooldns}"
: "${BENCH_SCENARIOS:=https-keepalive https-handshake http-keepalive}"
: "${BENCH_PROXY_CPU:=0}"
: "${BENCH_CLIENT_CPU:=1}"
: "${BENCH_BACKEND_CPU:=$BENCH_CLIENT_CPU}"
: "${BENCH_BACKENDS:=127.0.0.41 127.0.0.42}"
: "${BENCH_IDLE:=10000}"
: "${BENCH_IDLE_MODES:=handshake request}"
: "${BENCH_RESUME:=0}"
: "${BENCH_PERF:=0}"
: "${BENCH_PERF_PEERS:=pooldns}"
: "${BENCH_PERF_SECONDS:=10}"
: "${BENCH_PERF_TOP:=15}"
: "${BENCH_HAPROXY_REUSE:=safe}"
: "${BENCH_HEADER_TIMEOUT:=60}"
: "${BENCH_PORT_BASE:=31600}"
: "${BENCH_BUILD:=$ROOT/build/vipbench}"
: "${BENCH_NO_BUILD:=0}"
: "${BENCH_INSTALL:=$([[ $(id -u) == 0 ]] && command -v apt-get >/dev/null && echo 1 || echo 0)}"
: "${BENCH_RESULTS:=$ROOT/build/bench/vip}"
: "${BENCH_KEEP:=0}"

die() { echo "vip-bench: $*" >&2; exit 1; }
for v in BENCH_SECONDS BENCH_ROUNDS BENCH_WARMUP BENCH_CONNS BENCH_WRK_THREADS BENCH_BODY BENCH_PROXY_CPU \
         BENCH_CLIENT_CPU BENCH_BACKEND_CPU BENCH_IDLE BENCH_RESUME BENCH_PERF BENCH_PERF_SECONDS BENCH_PERF_TOP \
         BENCH_PORT_BASE BENCH_NO_BUILD BENCH_KEEP BENCH_HEADER_TIMEOUT; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer, not '${!v}'"
done
[[ $BENCH_SECONDS -ge 1 && $BENCH_ROUNDS -ge 1 && $BENCH_CONNS -ge 1 && $BENCH_WRK_THREADS -ge 1 ]] ||
    die "BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNS and BENCH_WRK_THREADS must be >= 1"
[[ $BENCH_BODY -le 512 ]] || die "BENCH_BODY must be at most 512"
[[ $BENCH_HAPROXY_REUSE =~ ^(never|safe|aggressive|always)$ ]] || die "BENCH_HAPROXY_REUSE must be never, safe, aggressive or always"
[[ $BENCH_PORT_BASE -ge 1024 && $BENCH_PORT_BASE -le 65000 ]] || die "BENCH_PORT_BASE must be 1024..65000"
[[ $BENCH_PROXY_CPU != "$BENCH_CLIENT_CPU" ]] || die "BENCH_PROXY_CPU and BENCH_CLIENT_CPU must differ"
[[ $(nproc) -ge 2 ]] || die "needs 2 CPUs (proxy on $BENCH_PROXY_CPU, client on $BENCH_CLIENT_CPU); nproc=$(nproc)"
for p in $BENCH_PEERS; do [[ $p == haproxy || $p == pooldns ]] || die "unknown peer '$p' (haproxy, pooldns)"; done
for s in $BENCH_SCENARIOS; do
    [[ $s =~ ^(https-keepalive|https-handshake|http-keepalive)$ ]] || die "unknown scenario '$s'"
done
for m in $BENCH_IDLE_MODES; do [[ $m == handshake || $m == request ]] || die "unknown idle mode '$m'"; done
for a in $BENCH_BACKENDS; do [[ $a =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "backends must be on 127.0.0.0/8, not $a"; done

PCPU=$BENCH_PROXY_CPU
CCPU=$BENCH_CLIENT_CPU
BCPU=$BENCH_BACKEND_CPU
ADDR=127.0.0.1
CLK_TCK=$(getconf CLK_TCK)
ZONE=bench.test.
POOL=web.bench.test.
HAPROXY_HTTPS=$((BENCH_PORT_BASE + 1))
HAPROXY_HTTP=$((BENCH_PORT_BASE + 2))
POOLDNS_HTTPS=$((BENCH_PORT_BASE + 11))
POOLDNS_HTTP=$((BENCH_PORT_BASE + 12))
POOLDNS_DNS=$((BENCH_PORT_BASE + 13))
BPORT=$((BENCH_PORT_BASE + 20))
read -r -a BACKENDS <<<"$BENCH_BACKENDS"
[[ ${#BACKENDS[@]} -ge 1 ]] || die "BENCH_BACKENDS is empty"

# ---------------------------------------------------------------- processes
source "$HERE/lib.sh"   # ROOT_PIDS, tree_pids, alive, stop_pid, cleanup, forget_pid

declare -A R      # results: R[peer,scenario,round,key], R[peer,key]
declare -A PID    # the running proxy of each peer
declare -A LOG    # its log (stdout and stderr)
WARNINGS=()
say() { echo "$*" | tee -a "$RAW"; }
warn() { WARNINGS+=("$*"); say "WARNING: $*"; }

proc_ticks() {  # PID: utime+stime of the process (every thread, live or gone)
    local line fld
    line=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    read -r -a fld <<<"${line##*) }"   # fld[0] is field 3 (state): utime is field 14
    echo $((fld[11] + fld[12]))
}
cpu_line() {  # CPU: "busy total" jiffies of one core from /proc/stat
    awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
repin() {  # every thread of PID's tree on the proxy core
    local p
    for p in $(tree_pids "$1"); do taskset -a -p -c "$PCPU" "$p" >/dev/null 2>&1 || true; done
}
pin_check() {  # "ok", or the threads allowed elsewhere
    local t l bad=""
    for t in /proc/"$1"/task/*; do
        l=$(awk '/^Cpus_allowed_list:/ { print $2 }' "$t/status" 2>/dev/null || true)
        [[ -z $l || $l == "$PCPU" ]] || bad+="${t##*/}:$l "
    done
    echo "${bad:-ok}"
}
port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
listening() {  # ADDR PORT: a TCP listener is there
    ss -Hltn "sport = :$2" 2>/dev/null | awk '{ print $4 }' | grep -qE "^(\\[::ffff:)?$1\\]?:$2\$"
}
median() {  # NUMBERS...: the median, or "" when none
    [[ $# -gt 0 ]] || { echo ""; return; }
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
fmt() { [[ -n ${2:-} ]] && awk -v f="$1" -v x="$2" 'BEGIN { printf f, x }' || echo "n/a"; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print ""; else printf "%.6f", a / b }'; }

# wrk_get FILE KEY: a number from wrk's output (latencies in ms)
wrk_get() {
    local f=$1
    case $2 in
        requests) awk '/ requests in / { print $1 }' "$f" ;;
        rps) awk '/^Requests\/sec:/ { print $2 }' "$f" ;;
        p50 | p75 | p90 | p99)
            awk -v q="${2#p}%" '
                /Latency Distribution/ { d = 1; next }
                d && $1 == q {
                    v = $2
                    if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
                    else if (v ~ /ms$/) { sub(/ms$/, "", v) }
                    else if (v ~ /m$/) { sub(/m$/, "", v); v *= 60000 }
                    else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
                    printf "%.3f\n", v; exit
                }' "$f" ;;
        sockerr) awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10; f = 1 } END { if (!f) print 0 }' "$f" ;;
        sockerr_text) sed -n 's/^ *Socket errors: *//p' "$f" ;;
        non2xx) awk '/Non-2xx or 3xx responses:/ { print $NF; f = 1 } END { if (!f) print 0 }' "$f" ;;
    esac
}

# ---------------------------------------------------------------- set-up
for t in cc openssl taskset ss awk timeout python3 sort; do command -v "$t" >/dev/null || die "$t not found"; done

if [[ $BENCH_INSTALL == 1 ]]; then
    had_haproxy=0; command -v haproxy >/dev/null && had_haproxy=1
    # shellcheck source=../deps.sh
    source "$ROOT/tools/deps.sh"
    pooldns_install_missing bench || echo "vip-bench: installing the bench set failed; what is missing is skipped" >&2
    if [[ $had_haproxy == 0 ]] && command -v haproxy >/dev/null; then
        # Debian may start the haproxy service it just installed: stop exactly that.
        if [[ -d /run/systemd/system ]]; then systemctl stop haproxy 2>/dev/null || true
        elif [[ -x /etc/init.d/haproxy ]]; then service haproxy stop >/dev/null 2>&1 || true; fi
    fi
    if [[ $BENCH_PERF == 1 ]] && ! command -v perf >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends linux-perf >/dev/null 2>&1 ||
            echo "vip-bench: could not install linux-perf; no profile" >&2
    fi
fi
command -v wrk >/dev/null || die "wrk not found: apt-get install wrk (or tools/deps.sh bench)"

RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)
RUN="$BENCH_RESULTS/$RUN_ID"
mkdir -p "$RUN"
ln -sfn "$RUN_ID" "$BENCH_RESULTS/latest"
RAW="$RUN/raw.log"
: >"$RAW"
: >"$RUN/commands.txt"
WORK=$(mktemp -d /tmp/vip-bench.XXXXXX)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "# vip-bench $RUN_ID"
say "command: $CMDLINE"
say "results: $RUN; work dir: $WORK; load average at start: $LOAD_START"

# Open files: the proxies and the opener each need one per idle connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
if [[ $BENCH_IDLE -gt 0 && $NOFILE != unlimited && $NOFILE -lt $((BENCH_IDLE + 200)) ]]; then
    warn "ulimit -n is $NOFILE (hard limit): $BENCH_IDLE idle connections need about $((BENCH_IDLE + 200)); BENCH_IDLE lowered to $((NOFILE - 200))"
    BENCH_IDLE=$((NOFILE - 200))
fi

# Helpers, compiled here as dns-bench.sh compiles its reflector.
cc -O2 -o "$WORK/http-backend" "$HERE/http-backend.c" || die "cannot compile http-backend.c"
cc -O2 -o "$WORK/idle-conns" "$HERE/idle-conns.c" -lssl -lcrypto || die "cannot compile idle-conns.c (libssl-dev)"
cc -O2 -shared -fPIC -o "$WORK/tls-count.so" "$HERE/tls-count.c" -ldl -lssl -lcrypto || die "cannot compile tls-count.c"

# The one certificate both proxies serve.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=web.bench.test" \
    -addext "subjectAltName=DNS:web.bench.test" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 ||
    die "openssl could not make the certificate"
cat "$WORK/cert.pem" "$WORK/key.pem" >"$WORK/haproxy-crt.pem"
echo "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=web.bench.test -addext subjectAltName=DNS:web.bench.test -keyout key.pem -out cert.pem" >>"$RUN/commands.txt"

# ---------------------------------------------------------------- pooldns build
POOLDNS=$BENCH_BUILD/server/pooldns
POOLDNSCTL=$BENCH_BUILD/tools/pooldnsctl
declare -A SKIP
if [[ " $BENCH_PEERS " == *" pooldns "* ]]; then
    if [[ $BENCH_NO_BUILD != 1 ]]; then
        say "building pooldns (Release) in $BENCH_BUILD"
        if ! { cmake -S "$ROOT" -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=Release >"$WORK/build.log" 2>&1 &&
               cmake --build "$BENCH_BUILD" -j2 --target pooldns pooldnsctl >>"$WORK/build.log" 2>&1; }; then
            SKIP[pooldns]="build failed: $(grep -m1 -E 'error|Error' "$WORK/build.log" | cut -c1-200)"
            { echo "### pooldns build log (tail)"; tail -30 "$WORK/build.log"; } >>"$RAW"
        fi
    fi
    if [[ -z ${SKIP[pooldns]:-} ]]; then
        if [[ ! -x $POOLDNS || ! -x $POOLDNSCTL ]]; then
            SKIP[pooldns]="not built ($POOLDNS)"
        elif ! "$POOLDNSCTL" --help 2>&1 | grep -qE '^ +vip +add'; then
            SKIP[pooldns]="pooldnsctl has no 'vip' command yet"
        fi
    fi
fi
if [[ " $BENCH_PEERS " == *" haproxy "* ]] && ! command -v haproxy >/dev/null; then
    SKIP[haproxy]="haproxy not installed (apt-get install haproxy, or tools/deps.sh bench)"
fi
PEERS=()
for p in $BENCH_PEERS; do
    if [[ -n ${SKIP[$p]:-} ]]; then say "SKIP $p: ${SKIP[$p]}"; else PEERS+=("$p"); fi
done
[[ ${#PEERS[@]} -gt 0 ]] || die "nothing to run"

for port in $HAPROXY_HTTPS $HAPROXY_HTTP $POOLDNS_HTTPS $POOLDNS_HTTP $BPORT; do
    port_busy "$port" && die "port $port is already in use; set BENCH_PORT_BASE"
done

# ---------------------------------------------------------------- backends
BACKEND_PIDS=()
for ((i = 0; i < ${#BACKENDS[@]}; i++)); do
    a=${BACKENDS[$i]}
    echo "taskset -c $BCPU http-backend $a $BPORT $BENCH_BODY" >>"$RUN/commands.txt"
    taskset -c "$BCPU" "$WORK/http-backend" "$a" "$BPORT" "$BENCH_BODY" 7200 >"$WORK/backend-$i.out" 2>&1 &
    ROOT_PIDS+=("$!")
    BACKEND_PIDS+=("$!")
done
for ((i = 0; i < ${#BACKENDS[@]}; i++)); do
    for _ in $(seq 100); do grep -q '^ready' "$WORK/backend-$i.out" && break; sleep 0.05; done
    grep -q '^ready' "$WORK/backend-$i.out" || die "backend ${BACKENDS[$i]} did not start: $(cat "$WORK/backend-$i.out")"
done

# backend_stats: "accepted requests xff req_b1,req_b2,..." summed over the backends
backend_stats() {
    local i n0 line acc=0 req=0 xff=0 per=""
    for ((i = 0; i < ${#BACKENDS[@]}; i++)); do
        n0=$(grep -c '^stats' "$WORK/backend-$i.out" || true)
        kill -USR1 "${BACKEND_PIDS[$i]}" 2>/dev/null || true
        for _ in $(seq 100); do [[ $(grep -c '^stats' "$WORK/backend-$i.out" || true) -gt $n0 ]] && break; sleep 0.01; done
        line=$(grep '^stats' "$WORK/backend-$i.out" | tail -1)
        local a r x
        a=$(sed -n 's/.*accepted=\([0-9]*\).*/\1/p' <<<"$line"); r=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
        x=$(sed -n 's/.*xff=\([0-9]*\).*/\1/p' <<<"$line")
        acc=$((acc + ${a:-0})); req=$((req + ${r:-0})); xff=$((xff + ${x:-0})); per+="${per:+,}${r:-0}"
    done
    echo "$acc $req $xff $per"
}

# ---------------------------------------------------------------- proxies
CIPHERS12="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
CIPHERS13="TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

prepare_haproxy() {
    local servers="" i
    for ((i = 0; i < ${#BACKENDS[@]}; i++)); do
        servers+="    server b$((i + 1)) ${BACKENDS[$i]}:$BPORT"$'\n'
    done
    local maxconn=$((BENCH_IDLE > 10000 ? BENCH_IDLE + 500 : 10500))
    awk -v work="$WORK" -v maxconn="$maxconn" -v reuse="$BENCH_HAPROXY_REUSE" -v ht="$BENCH_HEADER_TIMEOUT" -v c12="$CIPHERS12" -v c13="$CIPHERS13" \
        -v lhttps="$ADDR:$HAPROXY_HTTPS" -v lhttp="$ADDR:$HAPROXY_HTTP" -v servers="${servers%$'\n'}" '
        { gsub(/@WORK@/, work); gsub(/@MAXCONN@/, maxconn); gsub(/@CIPHERS12@/, c12); gsub(/@CIPHERS13@/, c13)
          gsub(/@LISTEN_HTTPS@/, lhttps); gsub(/@LISTEN_HTTP@/, lhttp); gsub(/@REUSE@/, reuse); gsub(/@HEADER_TIMEOUT@/, ht)
          if ($0 ~ /@SERVERS@/) { print servers; next }
          print }' "$HERE/haproxy.cfg.in" >"$WORK/haproxy.cfg"
    cp "$WORK/haproxy.cfg" "$RUN/haproxy.cfg"
    haproxy -c -q -f "$WORK/haproxy.cfg" >"$WORK/haproxy-check.log" 2>&1 ||
        die "haproxy -c rejects the config: $(head -3 "$WORK/haproxy-check.log")"
}

prepare_pooldns() {
    local db=$WORK/pooldns.db i
    rm -f "$db"
    ctl() { echo "pooldnsctl --db pooldns.db $*" >>"$RUN/commands.txt"; "$POOLDNSCTL" --db "$db" "$@" >>"$WORK/pooldnsctl.log" 2>&1; }
    ctl zone create "$ZONE" --ns "ns1.$ZONE" &&
        ctl record add "$ZONE" ns1 3600 A 127.0.0.1 &&
        ctl pool add "$POOL" || return 1
    for ((i = 0; i < ${#BACKENDS[@]}; i++)); do
        ctl server add "b$((i + 1))" --host "b$((i + 1)).$ZONE" --addr "${BACKENDS[$i]}" &&
            ctl member add "$POOL" "b$((i + 1))" "${BACKENDS[$i]}" || return 1
    done
    ctl vip add https --listen "$ADDR:$POOLDNS_HTTPS" --pool "$POOL" --backend-port "$BPORT" \
        --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" --persist none --access-log off \
        --header-timeout "$BENCH_HEADER_TIMEOUT" &&
        ctl vip add http --listen "$ADDR:$POOLDNS_HTTP" --pool "$POOL" --backend-port "$BPORT" \
            --persist none --access-log off --header-timeout "$BENCH_HEADER_TIMEOUT" || return 1
    "$POOLDNSCTL" --db "$db" vip list >"$RUN/pooldns-vips.txt" 2>&1 || true
}

https_port() { [[ $1 == haproxy ]] && echo "$HAPROXY_HTTPS" || echo "$POOLDNS_HTTPS"; }
http_port() { [[ $1 == haproxy ]] && echo "$HAPROXY_HTTP" || echo "$POOLDNS_HTTP"; }

# probe PEER: one HTTPS and one HTTP request through the proxy; "" when both are
# 200 with the backends' body, else what went wrong
probe() {
    python3 - "$ADDR" "$(https_port "$1")" "$(http_port "$1")" "$BENCH_BODY" <<'PY' 2>&1 || true
import http.client, ssl, sys
addr, ps, p, body = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
for name, c in (("https", http.client.HTTPSConnection(addr, ps, context=ctx, timeout=5)),
                ("http", http.client.HTTPConnection(addr, p, timeout=5))):
    try:
        c.request("GET", "/probe", headers={"Host": "web.bench.test"})
        r = c.getresponse(); b = r.read()
        if r.status != 200 or len(b) != body:
            print(f"{name}: status {r.status}, {len(b)} body bytes")
    except Exception as e:
        print(f"{name}: {e}")
PY
}

# start_proxy PEER: launched pinned to the proxy core; PID[PEER]; non-zero on failure
STARTS=0
start_proxy() {
    STARTS=$((STARTS + 1))
    local peer=$1 log="$WORK/$1-$STARTS.log" i ok=0
    LOG[$1]=$log
    case $peer in
        haproxy) CMD=(haproxy -f "$WORK/haproxy.cfg" -db) ;;
        pooldns) CMD=("$POOLDNS" --db "$WORK/pooldns.db" --dns "$ADDR:$POOLDNS_DNS" --threads 1) ;;
    esac
    echo "taskset -c $PCPU ${CMD[*]}" >>"$RUN/commands.txt"
    taskset -c "$PCPU" "${CMD[@]}" >>"$log" 2>&1 &
    PID[$peer]=$!
    ROOT_PIDS+=("${PID[$peer]}")
    for ((i = 0; i < 300; i++)); do
        alive "${PID[$peer]}" || break
        if listening "$ADDR" "$(https_port "$peer")" && listening "$ADDR" "$(http_port "$peer")"; then
            if [[ $peer != pooldns ]] || [[ $(grep -c 'vip_listening' "$log" || true) -ge 2 ]]; then ok=1; break; fi
        fi
        sleep 0.1
    done
    if [[ $ok != 1 ]]; then
        START_ERR="did not listen within 30 s: $(tail -3 "$log" | tr '\n' ' ')"
        stop_proxy "$peer"
        return 1
    fi
    repin "${PID[$peer]}"
    local err
    err=$(probe "$peer")
    if [[ -n $err ]]; then
        START_ERR="probe through it failed: $(tr '\n' ' ' <<<"$err")"
        stop_proxy "$peer"
        return 1
    fi
}
stop_proxy() {
    [[ -n ${PID[$1]:-} ]] || return 0
    stop_pid "${PID[$1]}"; forget_pid "${PID[$1]}"; PID[$1]=""
}

for peer in "${PEERS[@]}"; do
    case $peer in
        haproxy) prepare_haproxy ;;
        pooldns) prepare_pooldns || { SKIP[pooldns]="pooldnsctl failed: $(tail -2 "$WORK/pooldnsctl.log" | tr '\n' ' ')"; } ;;
    esac
done

# tls_facts PEER: what the server negotiates and whether it resumes, via openssl s_client
tls_facts() {
    local port out v c reuse12 reuse13 tickets
    port=$(https_port "$1")
    s_client() { timeout 10 taskset -c "$CCPU" openssl s_client -connect "$ADDR:$port" -servername web.bench.test "$@" 2>&1 </dev/null || true; }
    out=$(s_client -tls1_2 -brief)
    v=$(sed -n 's/^Protocol version: *//p' <<<"$out" | sed -n 1p); c=$(sed -n 's/^Ciphersuite: *//p' <<<"$out" | sed -n 1p)
    R[$1,tls12]="${v:-failed} ${c}"
    reuse12=$(s_client -tls1_2 -reconnect | grep -c '^Reused' || true)
    # TLS 1.3: a request read to the end (so the tickets arrive), then the saved session offered again.
    printf 'GET / HTTP/1.1\r\nHost: web.bench.test\r\nConnection: close\r\n\r\n' |
        timeout 10 taskset -c "$CCPU" openssl s_client -connect "$ADDR:$port" -servername web.bench.test -tls1_3 \
            -quiet -sess_out "$WORK/sess-$1.pem" >/dev/null 2>&1 || true
    tickets=no
    [[ -s $WORK/sess-$1.pem ]] && openssl sess_id -in "$WORK/sess-$1.pem" -noout -text 2>/dev/null |
        grep -q 'TLS session ticket:' && tickets=yes
    reuse13=0
    [[ -s $WORK/sess-$1.pem ]] && reuse13=$(s_client -tls1_3 -sess_in "$WORK/sess-$1.pem" | grep -c '^Reused' || true)
    R[$1,tls_resume]="TLS 1.2 resumed on $reuse12 of 5 reconnects; TLS 1.3 ticket issued: $tickets, resumed: $([[ $reuse13 -gt 0 ]] && echo yes || echo no)"
}

# ---------------------------------------------------------------- load runs
scen_url() {  # PEER SCENARIO
    case $2 in
        https-*) echo "https://$ADDR:$(https_port "$1")/" ;;
        http-*) echo "http://$ADDR:$(http_port "$1")/" ;;
    esac
}

# run_wrk PEER SCENARIO TAG SECONDS: one wrk run with its measurements in R[PEER,SCENARIO,TAG,*]
run_wrk() {
    local peer=$1 sc=$2 tag=$3 secs=$4 pid=${PID[$1]} out="$RUN/wrk-$1-$2-$3.txt" tls="$WORK/tls-$1-$2-$3.txt"
    local cmd=(wrk -t "$BENCH_WRK_THREADS" -c "$BENCH_CONNS" -d "${secs}s" --latency --timeout 5s)
    [[ $sc == https-handshake ]] && cmd+=(-H "Connection: close")
    cmd+=("$(scen_url "$peer" "$sc")")
    local env=()
    [[ $sc == https-* ]] && env=(env "LD_PRELOAD=$WORK/tls-count.so" "VIPBENCH_TLS_STATS=$tls" "VIPBENCH_TLS_RESUME=$BENCH_RESUME")
    echo "taskset -c $CCPU ${env[*]:+${env[*]} }${cmd[*]@Q}" >>"$RUN/commands.txt"
    rm -f "$tls"
    repin "$pid"
    local b0 b1 t0 t1 pc0 pc1 cc0 cc1
    read -r -a b0 < <(backend_stats)
    read -r -a pc0 < <(cpu_line "$PCPU"); read -r -a cc0 < <(cpu_line "$CCPU")
    t0=$(proc_ticks "$pid")
    timeout -k 5 $((secs + 30)) taskset -c "$CCPU" "${env[@]}" "${cmd[@]}" >"$out" 2>&1 || true
    t1=$(proc_ticks "$pid")
    read -r -a pc1 < <(cpu_line "$PCPU"); read -r -a cc1 < <(cpu_line "$CCPU")
    read -r -a b1 < <(backend_stats)
    { echo "### $peer $sc $tag: ${cmd[*]}"; cat "$out"; [[ -s $tls ]] && cat "$tls"; echo; } >>"$RAW"
    local k=$peer,$sc,$tag n
    alive "$pid" || R[$k,died]=1
    n=$(wrk_get "$out" requests)
    R[$k,requests]=${n:-0}
    R[$k,rps]=$(wrk_get "$out" rps)
    R[$k,p50]=$(wrk_get "$out" p50)
    R[$k,p99]=$(wrk_get "$out" p99)
    R[$k,sockerr]=$(wrk_get "$out" sockerr)
    R[$k,sockerr_text]=$(wrk_get "$out" sockerr_text)
    R[$k,non2xx]=$(wrk_get "$out" non2xx)
    R[$k,ticks]=$((t1 - t0))
    R[$k,us]=$( [[ ${n:-0} -gt 0 ]] && awk -v d=$((t1 - t0)) -v t="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.3f", d / t * 1e6 / n }' || echo "")
    R[$k,pbusy]=$(awk -v b=$((pc1[0] - pc0[0])) -v t=$((pc1[1] - pc0[1])) 'BEGIN { if (t > 0) printf "%.0f", 100 * b / t }')
    R[$k,cbusy]=$(awk -v b=$((cc1[0] - cc0[0])) -v t=$((cc1[1] - cc0[1])) 'BEGIN { if (t > 0) printf "%.0f", 100 * b / t }')
    R[$k,b_accepted]=$((b1[0] - b0[0]))
    R[$k,b_requests]=$((b1[1] - b0[1]))
    R[$k,b_xff]=$((b1[2] - b0[2]))
    local p0 p1 split="" j
    IFS=, read -r -a p0 <<<"${b0[3]}"; IFS=, read -r -a p1 <<<"${b1[3]}"
    for ((j = 0; j < ${#p1[@]}; j++)); do split+="${split:+/}$((p1[j] - p0[j]))"; done
    R[$k,b_split]=$split
    if [[ -s $tls ]]; then
        R[$k,tls]=$(head -1 "$tls")
    fi
    say "$peer $sc $tag: ${R[$k,requests]} requests, ${R[$k,rps]:-?} req/s, ${R[$k,us]:-?} us CPU/request," \
        "p50 ${R[$k,p50]:-?} ms p99 ${R[$k,p99]:-?} ms, socket errors ${R[$k,sockerr]} non-2xx ${R[$k,non2xx]};" \
        "proxy core ${R[$k,pbusy]}% client core ${R[$k,cbusy]}%; backends: ${R[$k,b_requests]} requests (${R[$k,b_split]})" \
        "on ${R[$k,b_accepted]} new connections, XFF ${R[$k,b_xff]}${R[$k,tls]:+; ${R[$k,tls]}}"
}

STARTED=()
for peer in "${PEERS[@]}"; do
    [[ -n ${SKIP[$peer]:-} ]] && continue
    say "== starting $peer"
    START_ERR=""
    if start_proxy "$peer"; then
        STARTED+=("$peer")
        R[$peer,pin]=$(pin_check "${PID[$peer]}")
        R[$peer,threads]=$(awk '/^Threads:/ { print $2 }' "/proc/${PID[$peer]}/status")
        tls_facts "$peer"
        say "$peer: pid ${PID[$peer]}, ${R[$peer,threads]} threads, pinned: ${R[$peer,pin]}; TLS 1.2: ${R[$peer,tls12]}; ${R[$peer,tls_resume]}"
    else
        SKIP[$peer]="$START_ERR"; say "SKIP $peer: $START_ERR"
    fi
done
[[ ${#STARTED[@]} -gt 0 ]] || die "no proxy started"

if [[ $BENCH_WARMUP -gt 0 ]]; then
    say "== warm-up: ${BENCH_WARMUP}s of each scenario on each proxy"
    for sc in $BENCH_SCENARIOS; do
        for peer in "${STARTED[@]}"; do run_wrk "$peer" "$sc" warmup "$BENCH_WARMUP" >/dev/null; done
    done
fi

for ((r = 1; r <= BENCH_ROUNDS; r++)); do
    say ""
    say "== round $r of $BENCH_ROUNDS"
    order=("${STARTED[@]}")
    if ((r % 2 == 0)); then  # alternate who goes first
        order=(); for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do order+=("${STARTED[$i]}"); done
    fi
    for sc in $BENCH_SCENARIOS; do
        for peer in "${order[@]}"; do
            alive "${PID[$peer]}" || { [[ -n ${R[$peer,dead]:-} ]] || warn "$peer died before round $r $sc"; R[$peer,dead]=1; continue; }
            run_wrk "$peer" "$sc" "r$r" "$BENCH_SECONDS"
        done
    done
done

# ---------------------------------------------------------------- profiles
SYSCALLS="read write readv writev recvfrom sendto recvmsg sendmsg epoll_wait epoll_pwait epoll_ctl accept4 connect close shutdown setsockopt getsockopt socket futex"

# profile PEER SCENARIO: under one wrk load, perf record -g of the proxy for
# BENCH_PERF_SECONDS, then perf stat of its system calls for $STAT_SECONDS (apart,
# so the tracepoints do not show in the profile); per request = over the requests
# the backends saw in the perf stat window.
STAT_SECONDS=3
profile() {
    local peer=$1 sc=$2 pid=${PID[$1]} data="$WORK/perf-$1-$2.data" url env=() b0 b1 n ev k
    say "== perf record -g of $peer under $sc (${BENCH_PERF_SECONDS}s), then perf stat of its system calls (${STAT_SECONDS}s)"
    url=$(scen_url "$peer" "$sc")
    [[ $sc == https-* ]] && env=(env "LD_PRELOAD=$WORK/tls-count.so" "VIPBENCH_TLS_STATS=$WORK/tls-perf.txt")
    repin "$pid"
    timeout -k 5 $((BENCH_PERF_SECONDS + STAT_SECONDS + 60)) taskset -c "$CCPU" "${env[@]}" \
        wrk -t "$BENCH_WRK_THREADS" -c "$BENCH_CONNS" -d "$((BENCH_PERF_SECONDS + STAT_SECONDS + 8))s" "$url" \
        >"$RUN/wrk-perf-$peer-$sc.txt" 2>&1 &
    local wpid=$!
    ROOT_PIDS+=("$wpid")
    sleep 1
    echo "taskset -c $CCPU perf record -g -e cpu-clock -p PID -o perf.data -- sleep $BENCH_PERF_SECONDS" >>"$RUN/commands.txt"
    timeout -k 5 $((BENCH_PERF_SECONDS + 30)) taskset -c "$CCPU" perf record -q -g -e cpu-clock \
        -p "$pid" -o "$data" -- sleep "$BENCH_PERF_SECONDS" >"$WORK/perf-record.log" 2>&1 || true
    ev="raw_syscalls:sys_enter"
    for k in $SYSCALLS; do ev+=",syscalls:sys_enter_$k"; done
    echo "taskset -c $CCPU perf stat -x, -e $ev -p PID -- sleep $STAT_SECONDS" >>"$RUN/commands.txt"
    read -r -a b0 < <(backend_stats)
    local t0=${EPOCHREALTIME/./} t1
    timeout -k 5 $((STAT_SECONDS + 30)) taskset -c "$CCPU" perf stat -x, -e "$ev" -p "$pid" \
        -o "$WORK/perf-stat.txt" -- sleep "$STAT_SECONDS" >/dev/null 2>&1 || true
    read -r -a b1 < <(backend_stats)
    t1=${EPOCHREALTIME/./}
    alive "$wpid" || warn "wrk ended before the perf stat window of $peer $sc: its system calls per request are too low"
    wait "$wpid" || true; forget_pid "$wpid"
    # perf stat counts for the STAT_SECONDS of its workload, but attaching to every
    # thread takes a moment before that: scale the backends' rate over the
    # longer window to the counting one.
    n=$(( (b1[1] - b0[1]) * STAT_SECONDS * 1000000 / (t1 > t0 ? t1 - t0 : 1) ))
    R[$peer,$sc,perf_reqs]=$n
    R[$peer,$sc,perf_rps]=$(wrk_get "$RUN/wrk-perf-$peer-$sc.txt" rps)
    cp "$WORK/perf-stat.txt" "$RUN/perf-stat-$peer-$sc.txt" 2>/dev/null || true
    # "count,,event,..." lines; per request, the calls seen at least 0.05 times per request
    R[$peer,$sc,syscalls]=$(awk -F, -v n="$n" '
        $3 ~ /sys_enter/ && $1 ~ /^[0-9]+$/ && n > 0 {
            name = $3; sub(/.*sys_enter_?/, "", name); if (name == "") name = "all"
            if (name == "all") total = $1 / n
            else if ($1 / n >= 0.05) { out = out sprintf("%s %.2f, ", name, $1 / n) }
        }
        END { if (n > 0) printf "%.2f (%s)", total, substr(out, 1, length(out) - 2) }' "$WORK/perf-stat.txt" 2>/dev/null)
    if [[ ! -s $data ]]; then
        warn "perf record of $peer produced nothing: $(tail -2 "$WORK/perf-record.log" | tr '\n' ' ')"
        return 0
    fi
    # Self time; perf's trailing empty columns trimmed.
    perf report -i "$data" --no-children --sort dso,symbol --stdio -g none --percent-limit 0.05 2>/dev/null |
        sed -E 's/([[:space:]]+-)+[[:space:]]*$//; s/[[:space:]]+$//' >"$RUN/perf-$peer-$sc.txt" || true
    perf report -i "$data" --no-children --sort dso --stdio -g none 2>/dev/null |
        sed -E 's/[[:space:]]+$//' >"$RUN/perf-$peer-$sc-dso.txt" || true
    perf report -i "$data" --children --sort symbol --stdio -g none --percent-limit 1 2>/dev/null |
        sed -E 's/([[:space:]]+-)+[[:space:]]*$//; s/[[:space:]]+$//' >"$RUN/perf-$peer-$sc-children.txt" || true
    cp "$data" "$RUN/" 2>/dev/null || true
    # (awk reads to the end: a "| head" would SIGPIPE its writer, fatal under pipefail)
    R[$peer,$sc,perf]=$(awk -v n="$BENCH_PERF_TOP" '!/^#/ && NF && ++c <= n' "$RUN/perf-$peer-$sc.txt")
    R[$peer,$sc,perf_user]=$(awk -v n="$BENCH_PERF_TOP" '!/^#/ && NF && !/\[k\]/ && ++c <= n' "$RUN/perf-$peer-$sc.txt")
    R[$peer,$sc,perf_dso]=$(awk '!/^#/ && NF && $1 + 0 >= 0.1 { printf "%s%s %s", (c++ ? ", " : ""), $2, $1 }' \
        "$RUN/perf-$peer-$sc-dso.txt")
    say "${R[$peer,$sc,perf]}"
    say "by DSO: ${R[$peer,$sc,perf_dso]}; system calls per request: ${R[$peer,$sc,syscalls]:-?}"
}

if [[ $BENCH_PERF == 1 ]]; then
    if ! command -v perf >/dev/null; then
        warn "perf not found (apt-get install linux-perf): no profile"
    else
        for peer in $BENCH_PERF_PEERS; do
            if [[ " ${STARTED[*]} " != *" $peer "* ]] || ! alive "${PID[$peer]}"; then continue; fi
            for sc in https-keepalive http-keepalive; do profile "$peer" "$sc"; done
        done
    fi
fi

for peer in "${STARTED[@]}"; do
    R[$peer,rss_after_load]=$(rss_kib "${PID[$peer]}")
    alive "${PID[$peer]}" || R[$peer,dead]=1
    { echo "### $peer log (last 40 lines)"; tail -40 "${LOG[$peer]}"; echo; } >>"$RAW"
    stop_proxy "$peer"
done

# ---------------------------------------------------------------- idle connections
# A fresh proxy per mode: memory a process took under load is not given back.
if [[ $BENCH_IDLE -gt 0 ]]; then
    for mode in $BENCH_IDLE_MODES; do
        for peer in "${STARTED[@]}"; do
            say "== $peer: $BENCH_IDLE idle HTTPS connections ($mode)"
            START_ERR=""
            if ! start_proxy "$peer"; then warn "$peer did not restart for the RSS run: $START_ERR"; continue; fi
            sleep 1
            k=$peer,idle,$mode
            R[$k,rss0]=$(rss_kib "${PID[$peer]}")
            args=("$ADDR" "$(https_port "$peer")" "$BENCH_IDLE" --concurrency 100 --max-seconds 300)
            [[ $mode == request ]] && args+=(--request)
            echo "taskset -c $CCPU idle-conns ${args[*]}" >>"$RUN/commands.txt"
            taskset -c "$CCPU" "$WORK/idle-conns" "${args[@]}" >"$WORK/idle.out" 2>"$WORK/idle.err" &
            IPID=$!; ROOT_PIDS+=("$IPID")
            for _ in $(seq 1800); do grep -q '^ready' "$WORK/idle.out" && break; alive "$IPID" || break; sleep 0.1; done
            R[$k,ready]=$(grep -m1 '^ready' "$WORK/idle.out" || echo "not ready: $(head -c 300 "$WORK/idle.err")")
            sleep 2   # the last handshakes finish on the proxy's side, tickets go out
            R[$k,rss1]=$(rss_kib "${PID[$peer]}")
            sleep 1
            R[$k,rss2]=$(rss_kib "${PID[$peer]}")
            R[$k,estab]=$(ss -Htn state established "( sport = :$(https_port "$peer") )" 2>/dev/null | wc -l)
            kill -USR1 "$IPID" 2>/dev/null || true
            sleep 0.3
            R[$k,status]=$(grep '^status' "$WORK/idle.out" | tail -1)
            stop_pid "$IPID"; forget_pid "$IPID"
            rss=${R[$k,rss2]}; [[ ${R[$k,rss1]} -gt $rss ]] && rss=${R[$k,rss1]}
            R[$k,rss]=$rss
            R[$k,per]=$(awk -v a="$rss" -v b="${R[$k,rss0]}" -v n="$BENCH_IDLE" 'BEGIN { printf "%.1f", (a - b) / n }')
            { echo "### idle-conns $peer $mode"; cat "$WORK/idle.out" "$WORK/idle.err"; echo; } >>"$RAW"
            say "$peer $mode: VmRSS ${R[$k,rss0]} KiB idle -> $rss KiB with ${R[$k,estab]} established" \
                "(${R[$k,ready]}; ${R[$k,status]:-no status}); ${R[$k,per]} KiB per connection"
            [[ ${R[$k,estab]} -ge $BENCH_IDLE ]] || warn "$peer $mode: only ${R[$k,estab]} of $BENCH_IDLE connections established at the RSS sample"
            stop_proxy "$peer"
        done
    done
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- summary
scen_title() {
    case $1 in
        https-keepalive) echo "HTTPS keep-alive" ;;
        https-handshake) echo "HTTPS new TLS connection per request" ;;
        http-keepalive) echo "HTTP keep-alive" ;;
    esac
}
for sc in $BENCH_SCENARIOS; do
    for peer in "${STARTED[@]}"; do
        us=(); rps=(); p50=(); p99=(); pb=(); cb=(); err=0; non=0; reqs=0; breq=0; bxff=0; bacc=0; hs=0; res=0; off=0
        for ((r = 1; r <= BENCH_ROUNDS; r++)); do
            k=$peer,$sc,r$r
            [[ -n ${R[$k,requests]:-} ]] || continue
            [[ -n ${R[$k,us]:-} ]] && us+=("${R[$k,us]}")
            [[ -n ${R[$k,rps]:-} ]] && rps+=("${R[$k,rps]}")
            [[ -n ${R[$k,p50]:-} ]] && p50+=("${R[$k,p50]}")
            [[ -n ${R[$k,p99]:-} ]] && p99+=("${R[$k,p99]}")
            pb+=("${R[$k,pbusy]:-0}"); cb+=("${R[$k,cbusy]:-0}")
            err=$((err + ${R[$k,sockerr]:-0})); non=$((non + ${R[$k,non2xx]:-0})); reqs=$((reqs + ${R[$k,requests]:-0}))
            breq=$((breq + ${R[$k,b_requests]:-0})); bxff=$((bxff + ${R[$k,b_xff]:-0})); bacc=$((bacc + ${R[$k,b_accepted]:-0}))
            if [[ -n ${R[$k,tls]:-} ]]; then
                x=$(sed -n 's/.*handshakes=\([0-9]*\).*/\1/p' <<<"${R[$k,tls]}"); hs=$((hs + ${x:-0}))
                x=$(sed -n 's/.*resumed=\([0-9]*\).*/\1/p' <<<"${R[$k,tls]}"); res=$((res + ${x:-0}))
                x=$(sed -n 's/.*offered=\([0-9]*\).*/\1/p' <<<"${R[$k,tls]}"); off=$((off + ${x:-0}))
                R[$peer,$sc,tlsinfo]=$(sed -n 's/.*\(version=.*\)/\1/p' <<<"${R[$k,tls]}")
            fi
        done
        s=$peer,$sc
        R[$s,us]=$(median "${us[@]}"); R[$s,rps]=$(median "${rps[@]}")
        R[$s,p50]=$(median "${p50[@]}"); R[$s,p99]=$(median "${p99[@]}")
        R[$s,pbusy]=$(median "${pb[@]}"); R[$s,cbusy]=$(median "${cb[@]}")
        R[$s,us_all]=$(IFS=' '; echo "${us[*]}")
        R[$s,us_spread]=$( [[ ${#us[@]} -gt 1 ]] && printf '%s\n' "${us[@]}" | sort -g |
            awk -v m="${R[$s,us]}" '{ v[NR] = $1 } END { if (m > 0) printf "%.0f", 100 * (v[NR] - v[1]) / m }' || echo "")
        R[$s,err]=$err; R[$s,non2xx]=$non; R[$s,reqs]=$reqs; R[$s,breq]=$breq; R[$s,bxff]=$bxff; R[$s,bacc]=$bacc
        R[$s,hs]=$hs; R[$s,res]=$res; R[$s,off]=$off
        [[ $err -eq 0 && $non -eq 0 ]] || warn "$peer $(scen_title "$sc"): $err socket errors and $non non-2xx/3xx responses over $BENCH_ROUNDS rounds"
        [[ $reqs -gt 0 ]] || warn "$peer $(scen_title "$sc"): no request completed"
        [[ $breq -ge $reqs ]] || warn "$peer $(scen_title "$sc"): the backends saw $breq requests, fewer than wrk's $reqs: the proxy answered some itself"
        [[ $bxff -eq $breq ]] || warn "$peer $(scen_title "$sc"): X-Forwarded-For on $bxff of $breq backend requests"
        [[ $sc == https-handshake && $BENCH_RESUME == 0 && $res -gt 0 ]] && warn "$peer: $res of $hs handshakes were resumptions"
        if [[ -n ${R[$s,us_spread]} && ${R[$s,us_spread]} -gt 10 ]]; then
            warn "$peer $(scen_title "$sc"): CPU per request varies by ${R[$s,us_spread]}% between rounds (${R[$s,us_all]})"
        fi
    done
done

# ---------------------------------------------------------------- report
ver() {
    case $1 in
        pooldns) echo "pooldns $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?') (Release, $BENCH_BUILD)" ;;
        haproxy) haproxy -v 2>&1 | sed -n 1p ;;
    esac
}
peer_title() { [[ $1 == pooldns ]] && echo "**pooldns**" || echo "HAProxy"; }
REPORT="$RUN/report.md"
{
    echo "# VIP benchmark: pooldns and HAProxy"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ); host: $(uname -srm); CPU: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo) ($(nproc) CPUs)"
    echo "- command: \`$CMDLINE\`"
    echo "- load average at start / end: $LOAD_START / $LOAD_END (other work on the machine skews every number)"
    echo "- proxies pinned to CPU $PCPU (taskset at start, every thread re-pinned before each run); wrk (-t $BENCH_WRK_THREADS -c $BENCH_CONNS, ${BENCH_SECONDS}s, --latency), openssl and the idle-connection opener on CPU $CCPU; the backends ($(IFS=' '; echo "${BACKENDS[*]}") port $BPORT, \`http-backend.c\`, ${BENCH_BODY}-byte body, keep-alive) on CPU $BCPU"
    echo "- CPU/request = utime+stime of the proxy process (all threads) from /proc/PID/stat (CLK_TCK $CLK_TCK) over the run, divided by the requests wrk completed; medians of $BENCH_ROUNDS rounds (proxies alternate who goes first; ${BENCH_WARMUP}s warm-up of each scenario first). Loopback packets are partly processed in the sender's softirq, so some of the proxy's receive work is charged to the client core; the same holds for both proxies"
    if [[ $BENCH_RESUME == 0 ]]; then
        echo "- new TLS connection per request: wrk with \`-H 'Connection: close'\`; wrk would resume its previous session on every reconnect, so \`tls-count.so\` (LD_PRELOAD) drops that session before each handshake: every one is a full handshake, whatever the server supports (counted with SSL_session_reused())"
    else
        echo "- new TLS connection per request: wrk with \`-H 'Connection: close'\`, **resuming sessions** (BENCH_RESUME=1): a server that accepts tickets does abbreviated handshakes"
    fi
    echo
    echo "| scenario | proxy | req/s | CPU µs/request | pooldns ÷ HAProxy (CPU/request) | p50 ms | p99 ms | errors (socket / non-2xx) | proxy core busy | CPU µs/request per round |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for sc in $BENCH_SCENARIOS; do
        for peer in $BENCH_PEERS; do
            if [[ -n ${SKIP[$peer]:-} ]]; then
                echo "| $(scen_title "$sc") | $(peer_title "$peer") | SKIP: ${SKIP[$peer]//|/\\|} ||||||||"
                continue
            fi
            s=$peer,$sc
            ratio=""
            [[ $peer == pooldns && -n ${R[haproxy,$sc,us]:-} && -n ${R[pooldns,$sc,us]:-} ]] &&
                ratio=$(fmt %.2f "$(div "${R[pooldns,$sc,us]}" "${R[haproxy,$sc,us]}")")
            [[ $peer == haproxy ]] && ratio="1.00"
            echo "| $(scen_title "$sc") | $(peer_title "$peer") | $(fmt %.0f "${R[$s,rps]:-}") | $(fmt %.2f "${R[$s,us]:-}") | ${ratio:-n/a} | $(fmt %.3f "${R[$s,p50]:-}") | $(fmt %.3f "${R[$s,p99]:-}") | ${R[$s,err]:-?} / ${R[$s,non2xx]:-?} | ${R[$s,pbusy]:-?}% | ${R[$s,us_all]:-} |"
        done
    done
    echo
    echo "Lower CPU per request is better; \"pooldns ÷ HAProxy\" below 1 means pooldns spends less of its core per request. Req/s is bounded by whichever core saturates first: the client core (wrk and the backends) was busy $(for sc in $BENCH_SCENARIOS; do for peer in "${STARTED[@]}"; do printf '%s ' "${R[$peer,$sc,cbusy]:-?}%"; done; done)in the order of the table."
    echo
    echo "### Forwarding checks (all rounds)"
    echo
    echo "| scenario | proxy | wrk requests | backend requests (per backend, last round) | with X-Forwarded-For | new backend connections | TLS handshakes / resumed (offered by wrk) | negotiated |"
    echo "|---|---|---|---|---|---|---|---|"
    for sc in $BENCH_SCENARIOS; do
        for peer in "${STARTED[@]}"; do
            s=$peer,$sc
            tl="–"; neg="–"
            if [[ $sc == https-* ]]; then tl="${R[$s,hs]} / ${R[$s,res]} (${R[$s,off]})"; neg=${R[$s,tlsinfo]:-?}; fi
            echo "| $(scen_title "$sc") | $(peer_title "$peer") | ${R[$s,reqs]} | ${R[$s,breq]} (${R[$peer,$sc,r$BENCH_ROUNDS,b_split]:-?}) | ${R[$s,bxff]} | ${R[$s,bacc]} | $tl | $neg |"
        done
    done
    echo
    echo "wrk counts completed responses; the backends also count the requests still in flight when wrk stops, so theirs is a little higher."
    if [[ $BENCH_IDLE -gt 0 ]]; then
        echo
        echo "### Memory: $BENCH_IDLE idle HTTPS connections"
        echo
        echo "A fresh proxy process per row; \`idle-conns.c\` (CPU $CCPU) opens the connections 100 at a time, each a full TLS handshake (handshake: then silent; request: then one keep-alive GET and its response, then silent); VmRSS sampled 2 s and 3 s after the last one is up (the larger is shown); established = the proxy's server-side sockets at that moment."
        echo
        echo "| proxy | idle connections | VmRSS before, MiB | VmRSS with them, MiB | KiB per connection | established | opener |"
        echo "|---|---|---|---|---|---|---|"
        for mode in $BENCH_IDLE_MODES; do
            for peer in "${STARTED[@]}"; do
                k=$peer,idle,$mode
                [[ -n ${R[$k,rss0]:-} ]] || { echo "| $(peer_title "$peer") | $mode | not measured ||||||"; continue; }
                echo "| $(peer_title "$peer") | $BENCH_IDLE, $mode | $(awk -v k="${R[$k,rss0]}" 'BEGIN { printf "%.1f", k / 1024 }') | $(awk -v k="${R[$k,rss]}" 'BEGIN { printf "%.1f", k / 1024 }') | ${R[$k,per]} | ${R[$k,estab]} | ${R[$k,ready]}; ${R[$k,status]:-} |"
            done
        done
        echo
        echo "VmRSS after the load runs (before the idle tests, a different process): $(for peer in "${STARTED[@]}"; do printf '%s %s MiB; ' "$peer" "$(awk -v k="${R[$peer,rss_after_load]:-0}" 'BEGIN { printf "%.1f", k / 1024 }')"; done)"
    fi
    if [[ $BENCH_PERF == 1 ]]; then
        echo
        echo "### Profiles"
        echo
        echo "Sampled with cpu-clock (a timer interrupt: this VM has no hardware counters), so time the kernel spends with interrupts off (softirq network work, wake-ups) is charged to where it turns them back on: \`_raw_spin_unlock_irqrestore\` and friends stand for that work, not for lock contention."
        for peer in $BENCH_PERF_PEERS; do
            for sc in https-keepalive http-keepalive; do
                [[ -n ${R[$peer,$sc,perf]:-} ]] || continue
                echo
                echo "### perf: $peer under $(scen_title "$sc") (${R[$peer,$sc,perf_rps]:-?} req/s during the profile)"
                echo
                echo "\`perf record -g -e cpu-clock -p PID -- sleep $BENCH_PERF_SECONDS\` of the whole process; self time by DSO and symbol (full list: perf-$peer-$sc.txt; inclusive: perf-$peer-$sc-children.txt; the data: perf-$peer-$sc.data)."
                echo
                echo "- by DSO: ${R[$peer,$sc,perf_dso]:-?}"
                echo "- system calls per request (perf stat for ${STAT_SECONDS}s right after the profile, same load; ${R[$peer,$sc,perf_reqs]:-?} requests in that window, from the backends' rate): ${R[$peer,$sc,syscalls]:-?}"
                echo
                echo "Top $BENCH_PERF_TOP:"
                echo
                echo '```'
                echo "${R[$peer,$sc,perf]}"
                echo '```'
                echo
                echo "Top $BENCH_PERF_TOP outside the kernel:"
                echo
                echo '```'
                echo "${R[$peer,$sc,perf_user]}"
                echo '```'
            done
        done
    fi
    echo
    echo "### TLS and settings"
    echo
    for peer in "${STARTED[@]}"; do
        echo "- $peer: $(ver "$peer"); ${R[$peer,threads]} threads, pinned: ${R[$peer,pin]}; openssl s_client -tls1_2: ${R[$peer,tls12]}; ${R[$peer,tls_resume]}"
    done
    echo "- both: ECDSA P-256 certificate (one file), TLS 1.2 ($CIPHERS12) and 1.3 ($CIPHERS13), server preference, tickets on, no server session cache (pooldns: server/vip/tls.cpp; HAProxy: haproxy.cfg), least outstanding requests, keep-alive to the backends, X-Forwarded-For, no access log, idle timeout 1800 s, header timeout $BENCH_HEADER_TIMEOUT s"
    echo "- HAProxy: \`nbthread 1\`, \`balance leastconn\`, \`http-reuse $BENCH_HAPROXY_REUSE\`, \`option forwardfor\`, maxconn $((BENCH_IDLE > 10000 ? BENCH_IDLE + 500 : 10500)) with \`no strict-limits\` (ulimit -n $NOFILE); config: haproxy.cfg in the results dir"
    echo "- pooldns: \`--threads 1\`, VIPs \`https\` and \`http\` on pool $POOL (no health check), \`--persist none --access-log off --header-timeout $BENCH_HEADER_TIMEOUT\`; the VIP runs on its own thread of the process, and the whole process's CPU is counted (the DNS threads idle)"
    echo "- wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'); $(openssl version)"
    if [[ ${#WARNINGS[@]} -gt 0 ]]; then
        echo
        echo "### Warnings"
        echo
        for w in "${WARNINGS[@]}"; do echo "- $w"; done
    fi
    echo
    echo "### Commands"
    echo
    echo '```'
    cat "$RUN/commands.txt"
    echo '```'
    echo
    echo "Raw log: $RAW; every wrk output: $RUN/wrk-*.txt"
} >"$REPORT"

echo
cat "$REPORT"
echo
echo "written: $REPORT (raw: $RAW)"
