#!/usr/bin/env bash
# failover-bench.sh: how fast pooldns, gdnsd and PowerDNS take a dead pool member
# out of their answers and put it back, at equal settings (TCP connect check on one
# port, check interval $BENCH_INTERVAL s, timeout $BENCH_TIMEOUT s, one failure to go
# down, one success to come back, TTL 0).
#
# Each server answers pool.fail.test with 127.0.0.31, .32 and .33, each a real TCP
# listener (tests/probes/backend.py --mode tcp) on one port. Per round: wait until all
# three are answered; sleep uniform [0, interval) so the death falls at a random
# point of the check cycle; SIGKILL member 2's listener and time until 127.0.0.32 is
# absent from the answer (a UDP query every $BENCH_POLL_MS ms, straight to the
# authoritative server: no cache); sleep uniform [0, interval); restart the listener
# and time (from its "ready") until 127.0.0.32 is answered again.
# Everything listens on 127.0.0.x high ports, lives in a temp dir, runs as this
# script's child and is stopped by PID on exit.
#
#   tools/bench/failover-bench.sh                 # 10 rounds per server, a few minutes
#   BENCH_ROUNDS=3 BENCH_PEERS=pooldns tools/bench/failover-bench.sh   # a smoke run
#
# Knobs (environment):
#   BENCH_ROUNDS=10         rounds (one death and one recovery each) per server
#   BENCH_INTERVAL=2        check interval (s, integer >= 2) for every server
#   BENCH_TIMEOUT=1         check timeout (s, integer, < interval) for every server
#   BENCH_POLL_MS=20        query period while waiting for a change
#   BENCH_MAX_WAIT=30       s one change may take before the round counts as failed
#   BENCH_START_TIMEOUT=60  s a server may take to listen, then to answer all members
#   BENCH_PEERS="pooldns gdnsd pdns"
#   BENCH_PORT_BASE=31450   DNS on 127.0.0.1:BASE+1..3 (or the next free ones 10 apart);
#                           members on 127.0.0.31-33:BASE+9. Below the ephemeral range
#                           (32768-60999) on purpose: a busy machine's TIME-WAIT
#                           sockets there make gdnsd's TCP bind() fail
#   BENCH_BUILD=build/bench BENCH_NO_BUILD=0 (1: use the binaries already there)
#   BENCH_INSTALL=1 (root)  apt-get install whatever of gdnsd, pdns-server and
#                           pdns-backend-bind is missing (a daemon Debian starts is
#                           stopped again); 0: never
#   BENCH_OUT=build/bench/failover.md  (per-round log beside it: failover-raw.txt)
#   BENCH_KEEP=0            1: keep the temp dir (configs, zones, logs)
#   BENCH_SEED=1035         seed of the random delays
set -euo pipefail

BENCH_ENV_GIVEN=$(env | grep '^BENCH_' | LC_ALL=C sort | tr '\n' ' ' || true)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CMDLINE="${BENCH_ENV_GIVEN}$HERE/$(basename "$0")${*:+ $*}"

: "${BENCH_ROUNDS:=10}"
: "${BENCH_INTERVAL:=2}"
: "${BENCH_TIMEOUT:=1}"
: "${BENCH_POLL_MS:=20}"
: "${BENCH_MAX_WAIT:=30}"
: "${BENCH_START_TIMEOUT:=60}"
: "${BENCH_PEERS:=pooldns gdnsd pdns}"
: "${BENCH_PORT_BASE:=31450}"
: "${BENCH_BUILD:=$ROOT/build/bench}"
: "${BENCH_NO_BUILD:=0}"
: "${BENCH_INSTALL:=$([[ $(id -u) == 0 ]] && command -v apt-get >/dev/null && echo 1 || echo 0)}"
: "${BENCH_OUT:=$ROOT/build/bench/failover.md}"
: "${BENCH_KEEP:=0}"
: "${BENCH_SEED:=1035}"

die() { echo "failover-bench: $*" >&2; exit 1; }
for v in BENCH_ROUNDS BENCH_INTERVAL BENCH_TIMEOUT BENCH_POLL_MS BENCH_MAX_WAIT \
         BENCH_START_TIMEOUT BENCH_PORT_BASE BENCH_SEED; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer, not '${!v}'"
done
[[ $BENCH_ROUNDS -ge 1 && $BENCH_ROUNDS -le 1000 ]] || die "BENCH_ROUNDS must be 1..1000"
[[ $BENCH_INTERVAL -ge 2 && $BENCH_INTERVAL -le 255 ]] || die "BENCH_INTERVAL must be 2..255 (gdnsd: integer, timeout < interval)"
[[ $BENCH_TIMEOUT -ge 1 && $BENCH_TIMEOUT -lt $BENCH_INTERVAL ]] || die "BENCH_TIMEOUT must be >= 1 and < BENCH_INTERVAL"
[[ $BENCH_POLL_MS -ge 1 && $BENCH_POLL_MS -le 1000 ]] || die "BENCH_POLL_MS must be 1..1000"
[[ $BENCH_MAX_WAIT -ge 1 && $BENCH_START_TIMEOUT -ge 1 ]] || die "BENCH_MAX_WAIT and BENCH_START_TIMEOUT must be >= 1"
[[ $BENCH_PORT_BASE -ge 1024 && $BENCH_PORT_BASE -le 65400 ]] || die "BENCH_PORT_BASE must be 1024..65400"

ADDR=127.0.0.1
ZONE=fail.test
QNAME=pool.$ZONE
MEMBERS=(127.0.0.31 127.0.0.32 127.0.0.33)
VICTIM=127.0.0.32
MPORT=$((BENCH_PORT_BASE + 9))
BACKEND=$ROOT/tests/probes/backend.py

# ---------------------------------------------------------------- processes
source "$HERE/lib.sh"   # ROOT_PIDS, tree_pids, alive, stop_pid, cleanup, forget_pid

# Busy: anything bound to the port, TIME-WAIT included (gdnsd's TCP bind fails on those).
port_busy() { ss -Haun "sport = :$1" 2>/dev/null | grep -q . || ss -Hatn "sport = :$1" 2>/dev/null | grep -q .; }

owns_port() {  # ROOT PORT: a process of ROOT's tree has the UDP port
    local owners p
    owners=$(ss -Hlunp "sport = :$2" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2)
    for p in $(tree_pids "$1"); do grep -qx "$p" <<<"$owners" && return 0; done
    return 1
}

# ---------------------------------------------------------------- helpers
declare -A R   # results: R[peer,key]
say() { echo "$*" | tee -a "$RAW"; }
skip() { R[$1,skip]=$2; say "SKIP $1: $2"; }

peer_port() {  # a free port for PEER: BASE+index, else the next ones 10 apart
    local i=1 p port
    for p in pooldns gdnsd pdns; do
        [[ $p == "$1" ]] && break
        i=$((i + 1))
    done
    for ((port = BENCH_PORT_BASE + i; port <= 65535; port += 10)); do
        [[ $port == "$MPORT" ]] && continue
        port_busy "$port" || { echo "$port"; return 0; }
    done
    echo $((BENCH_PORT_BASE + i))
}

peer_missing() {  # prints a reason if the peer cannot run here
    case $1 in
        pooldns) [[ -x $POOLDNS && -x $POOLDNSCTL ]] || echo "pooldns not built ($POOLDNS)" ;;
        gdnsd) command -v gdnsd >/dev/null || echo "gdnsd not installed (apt-get install gdnsd)" ;;
        pdns)
            if ! command -v pdns_server >/dev/null; then
                echo "pdns_server not installed (apt-get install pdns-server pdns-backend-bind)"
            elif ! compgen -G "/usr/lib/*/pdns/libbindbackend.so" >/dev/null &&
                 ! compgen -G "/usr/lib/pdns/libbindbackend.so" >/dev/null; then
                echo "PowerDNS bind backend not installed (apt-get install pdns-backend-bind)"
            fi
            ;;
        *) echo "unknown peer (known: pooldns gdnsd pdns)" ;;
    esac
}

run_logged() {  # run_logged LOG CMD...: record the command, run it, output to LOG
    local log=$1; shift
    echo "$*" >>"$WORK/commands.txt"
    "$@" >>"$log" 2>&1
}

# prepare PEER PORT: config in $WORK/PEER, sets CMD; non-zero (PREP_ERR) on failure
prepare() {
    local peer=$1 port=$2 dir="$WORK/$1" i
    rm -rf "$dir"; mkdir -p "$dir"
    case $peer in
        pooldns)
            local db="$dir/pooldns.db" log="$dir/ctl.log"
            local ctl=("$POOLDNSCTL" --db "$db")
            local steps=(
                "zone create $ZONE --ns ns1.$ZONE"
                "record add $ZONE ns1 300 A $ADDR"
                "server add m1 --host m1.$ZONE --addr ${MEMBERS[0]}"
                "server add m2 --host m2.$ZONE --addr ${MEMBERS[1]}"
                "server add m3 --host m3.$ZONE --addr ${MEMBERS[2]}"
                "pool add $QNAME --check tcp:$MPORT --interval $BENCH_INTERVAL --timeout $BENCH_TIMEOUT --rise 1 --fall 1 --ttl 0"
                "member add $QNAME m1 ${MEMBERS[0]}"
                "member add $QNAME m2 ${MEMBERS[1]}"
                "member add $QNAME m3 ${MEMBERS[2]}"
            ) step
            for step in "${steps[@]}"; do
                # shellcheck disable=SC2086  # each step is words without spaces inside
                run_logged "$log" "${ctl[@]}" $step || {
                    PREP_ERR="pooldnsctl $step: $(tail -2 "$log" | tr '\n' ' ')"; return 1; }
            done
            CMD=("$POOLDNS" --db "$db" --dns "$ADDR:$port" --threads 1 --log-level info)
            ;;
        gdnsd)
            mkdir -p "$dir/zones" "$dir/run" "$dir/state"
            cat >"$dir/zones/$ZONE" <<EOF
\$TTL 0
@     3600 SOA ns1 hostmaster 1 3600 600 1209600 60
@     3600 NS  ns1
ns1   300  A   $ADDR
pool  0/0  DYNA multifo!pool
EOF
            cat >"$dir/config" <<EOF
options => {
  listen => { $ADDR:$port => { udp_threads => 1, tcp_threads => 1 } }
  run_dir => "$dir/run"
  state_dir => "$dir/state"
  zones_rfc1035_threads => 1
  min_ttl => 0
}
service_types => {
  member_tcp => {
    plugin => tcp_connect
    port => $MPORT
    interval => $BENCH_INTERVAL
    timeout => $BENCH_TIMEOUT
    up_thresh => 1
    ok_thresh => 1
    down_thresh => 1
  }
}
plugins => {
  multifo => {
    pool => {
      service_types => member_tcp
      ignore_health => false
      m1 => ${MEMBERS[0]}
      m2 => ${MEMBERS[1]}
      m3 => ${MEMBERS[2]}
    }
  }
}
EOF
            gdnsd -c "$dir" checkconf >"$dir/checkconf.log" 2>&1 || {
                PREP_ERR="gdnsd checkconf: $(grep -m2 -i 'error\|fatal' "$dir/checkconf.log" | tr '\n' ' ')"; return 1; }
            echo "gdnsd -c $dir checkconf" >>"$WORK/commands.txt"
            CMD=(gdnsd -c "$dir" start)
            ;;
        pdns)
            local list="'${MEMBERS[0]}', '${MEMBERS[1]}', '${MEMBERS[2]}'"
            cat >"$dir/$ZONE.zone" <<EOF
\$ORIGIN $ZONE.
@     3600 IN SOA ns1 hostmaster 1 3600 600 1209600 60
@     3600 IN NS  ns1
ns1   300  IN A   $ADDR
pool  0    IN LUA A "ifportup($MPORT, {$list}, {selector='all', timeout='$BENCH_TIMEOUT'})"
EOF
            cat >"$dir/named.conf" <<EOF
zone "$ZONE" { type master; file "$dir/$ZONE.zone"; };
EOF
            cat >"$dir/pdns.conf" <<EOF
launch=bind
bind-config=$dir/named.conf
bind-check-interval=0
enable-lua-records=yes
lua-health-checks-interval=$BENCH_INTERVAL
lua-health-checks-expire-delay=3600
local-address=$ADDR
local-port=$port
socket-dir=$dir
daemon=no
guardian=no
write-pid=no
disable-syslog=yes
log-timestamp=yes
loglevel=6
cache-ttl=0
query-cache-ttl=0
negquery-cache-ttl=0
zone-cache-refresh-interval=0
receiver-threads=1
distributor-threads=1
webserver=no
api=no
EOF
            CMD=(pdns_server "--config-dir=$dir")
            ;;
    esac
}

# start_server PEER PORT: launches CMD, waits until it listens on PORT; sets SPID
start_server() {
    local peer=$1 port=$2 log="$WORK/$1/server.log" i
    if port_busy "$port"; then PREP_ERR="port $port already in use"; return 1; fi
    echo "${CMD[*]}" >>"$WORK/commands.txt"
    "${CMD[@]}" >"$log" 2>&1 &
    SPID=$!
    ROOT_PIDS+=("$SPID")
    for ((i = 0; i < BENCH_START_TIMEOUT * 10; i++)); do
        alive "$SPID" || break
        owns_port "$SPID" "$port" && return 0
        sleep 0.1
    done
    if alive "$SPID"; then
        PREP_ERR="did not listen on $ADDR:$port within ${BENCH_START_TIMEOUT}s; log: $(tail -3 "$log" | tr '\n' ' ')"
    else
        PREP_ERR="exited at start; log: $(grep -v '^$' "$log" | tail -4 | tr '\n' ' ')"
    fi
    stop_pid "$SPID"; forget_pid "$SPID"
    return 1
}

stop_server() { stop_pid "$SPID"; forget_pid "$SPID"; }

# The driver: starts the three member listeners, runs the rounds, writes the
# per-round log and a summary. Standard library only.
write_driver() {
    cat >"$WORK/failover.py" <<'PY'
import argparse, json, os, random, signal, socket, statistics, struct, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--dns", required=True)          # IP:PORT of the server
ap.add_argument("--qname", required=True)
ap.add_argument("--members", required=True)      # comma-separated
ap.add_argument("--victim", required=True)
ap.add_argument("--member-port", type=int, required=True)
ap.add_argument("--backend", required=True)
ap.add_argument("--rounds", type=int, required=True)
ap.add_argument("--interval", type=float, required=True)
ap.add_argument("--poll-ms", type=int, required=True)
ap.add_argument("--check-timeout", type=float, required=True)
ap.add_argument("--max-wait", type=float, required=True)
ap.add_argument("--start-timeout", type=float, required=True)
ap.add_argument("--seed", type=int, required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--summary", required=True)
a = ap.parse_args()

rng = random.Random(a.seed)    # the delays only: every server gets the same sequence
ids = random.Random()          # query IDs
host, port = a.dns.rsplit(":", 1)
server = (host, int(port))
members = a.members.split(",")
others = [m for m in members if m != a.victim]
poll = a.poll_ms / 1000.0
listener_life = int(a.start_timeout + a.rounds * (2 * a.max_wait + 2 * a.interval + 10) + 60)
logf = open(a.log, "a", buffering=1)
children = {}


def log(msg):
    logf.write(msg + "\n")
    print(msg, flush=True)


def stop_all(*_):
    for p in list(children.values()):
        if p.poll() is None:
            p.kill()
            p.wait()
    sys.exit(143)


signal.signal(signal.SIGTERM, stop_all)
signal.signal(signal.SIGINT, stop_all)


def start_listener(ip):
    p = subprocess.Popen([sys.executable, a.backend, "--mode", "tcp", "--listen", f"{ip}:{a.member_port}",
                          "--max-seconds", str(listener_life)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    children[ip] = p
    line = p.stdout.readline()  # bounded: the listener exits after --max-seconds
    if not line.startswith("ready"):
        raise SystemExit(f"listener {ip}:{a.member_port} did not start: {line!r} (exit {p.poll()})")
    return time.monotonic()


def kill_listener(ip):
    p = children.pop(ip)
    p.kill()
    p.wait()          # the process is gone: its listening socket is closed
    t = time.monotonic()
    p.stdout.close()
    return t


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


QWIRE = encode_name(a.qname)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect(server)


def skip_name(data, off):
    while True:
        n = data[off]
        if n & 0xC0 == 0xC0:
            return off + 2
        if n == 0:
            return off + 1
        off += 1 + n


def query(timeout=0.25):
    """(rcode, [A addresses]) or None when no answer came within timeout."""
    qid = ids.getrandbits(16)
    try:
        sock.send(struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + QWIRE + struct.pack("!HH", 1, 1))
    except OSError:
        return None
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            data = sock.recv(65535)
        except (socket.timeout, OSError):
            return None
        if len(data) < 12:
            continue
        rid, flags, qd, an, _, _ = struct.unpack("!HHHHHH", data[:12])
        if rid != qid or not flags & 0x8000:
            continue
        try:
            off = 12
            for _ in range(qd):
                off = skip_name(data, off) + 4
            addrs = []
            for _ in range(an):
                off = skip_name(data, off)
                typ, cls, _, rdlen = struct.unpack("!HHIH", data[off:off + 10])
                off += 10
                if typ == 1 and cls == 1 and rdlen == 4:
                    addrs.append(socket.inet_ntoa(data[off:off + 4]))
                off += rdlen
        except (IndexError, struct.error):
            return (-1, [])
        return (flags & 0xF, addrs)


def wait_until(pred, t0, limit, what, quiet=False):
    """Poll every `poll` s until pred(set of addresses); seconds since t0, or None."""
    st = {"queries": 0, "unanswered": 0, "odd": 0}
    nxt = time.monotonic()
    while True:
        now = time.monotonic()
        if now - t0 > limit:
            if not quiet:
                log(f"  {what}: not seen within {limit:.0f} s ({st})")
            return None, st
        r = query()
        tr = time.monotonic()
        st["queries"] += 1
        if r is None:
            st["unanswered"] += 1
        else:
            rcode, addrs = r
            s = set(addrs)
            if rcode != 0 or not all(o in s for o in others):
                st["odd"] += 1  # an error, or a healthy member missing
                if st["odd"] <= 3:
                    log(f"  {what}: odd answer rcode {rcode} {sorted(s)}")
            if rcode == 0 and s and pred(s):
                return tr - t0, st
        nxt += poll
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
        else:
            nxt = time.monotonic()


res = {"down": [], "up": [], "failed": 0, "unanswered": 0, "odd": 0, "queries": 0}
try:
    for ip in members:
        start_listener(ip)
    t = time.monotonic()
    first, st = wait_until(lambda s: all(m in s for m in members), t, a.start_timeout, "start")
    if first is None:
        raise SystemExit(f"never answered all of {members} within {a.start_timeout:.0f} s")
    log(f"all members answered {first:.3f} s after the listeners started")
    # A server may answer every member because none is known up yet (gdnsd's
    # up_thresh fallback, PowerDNS's backupSelector): let one full check cycle
    # pass with the listeners up, then every member has been probed as up.
    warm = a.interval + a.check_timeout + 0.5
    ok, _ = wait_until(lambda s: False, time.monotonic(), warm, "warm-up", quiet=True)
    for rnd in range(1, a.rounds + 1):
        t = time.monotonic()
        ok, _ = wait_until(lambda s: all(m in s for m in members), t, a.max_wait, f"round {rnd} all")
        if ok is None:
            res["failed"] += 1
            raise SystemExit("gave up: members do not come back")
        d1 = rng.uniform(0, a.interval)
        time.sleep(d1)
        t0 = kill_listener(a.victim)
        down, st1 = wait_until(lambda s: a.victim not in s, t0, a.max_wait, f"round {rnd} down")
        d2 = rng.uniform(0, a.interval)
        time.sleep(d2)
        t1 = start_listener(a.victim)
        up, st2 = wait_until(lambda s: a.victim in s, t1, a.max_wait, f"round {rnd} up")
        for st in (st1, st2):
            for k in ("unanswered", "odd", "queries"):
                res[k] += st[k]
        if down is None or up is None:
            res["failed"] += 1
        if down is not None:
            res["down"].append(down)
        if up is not None:
            res["up"].append(up)
        fmt = lambda x: "timeout" if x is None else f"{x:.3f} s"
        log(f"round {rnd}: down {fmt(down)} (killed {d1:.3f} s into the wait), up {fmt(up)} "
            f"(restarted {d2:.3f} s after); queries {st1['queries']}+{st2['queries']}, "
            f"unanswered {st1['unanswered'] + st2['unanswered']}, odd {st1['odd'] + st2['odd']}")
finally:
    for p in list(children.values()):
        if p.poll() is None:
            p.kill()
            p.wait()
    def stats(v):
        if not v:
            return {}
        return {"median": statistics.median(v), "max": max(v), "min": min(v), "mean": statistics.fmean(v)}
    res["down_stats"] = stats(res["down"])
    res["up_stats"] = stats(res["up"])
    with open(a.summary, "w") as f:
        json.dump(res, f)
PY
}

# summary FILE KEY: a value from the driver's JSON summary ("" when absent)
summary() {
    python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
k = sys.argv[2].split(".")
v = r
for p in k:
    v = v.get(p, "") if isinstance(v, dict) else ""
print(f"{v:.3f}" if isinstance(v, float) else v)
' "$1" "$2" 2>/dev/null || true
}

# ---------------------------------------------------------------- set-up
for t in python3 ss awk timeout; do command -v "$t" >/dev/null || die "$t not found"; done
[[ -r $BACKEND ]] || die "$BACKEND not found"

if [[ $BENCH_INSTALL == 1 ]]; then
    need=()
    for p in $BENCH_PEERS; do
        case $p in
            gdnsd) command -v gdnsd >/dev/null || need+=(gdnsd) ;;
            pdns) command -v pdns_server >/dev/null || need+=(pdns-server)
                  dpkg -s pdns-backend-bind >/dev/null 2>&1 || need+=(pdns-backend-bind) ;;
        esac
    done
    if [[ ${#need[@]} -gt 0 ]]; then
        echo "installing: ${need[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=300 --no-install-recommends "${need[@]}" ||
            { apt-get update -o DPkg::Lock::Timeout=300 >/dev/null 2>&1 &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=300 --no-install-recommends "${need[@]}"; } ||
            echo "apt-get install failed; the peers that are missing will be skipped"
        # Debian may start the daemons it just installed: stop exactly those services.
        for svc in "${need[@]}"; do
            case $svc in gdnsd) ;; pdns-server) svc=pdns ;; *) continue ;; esac
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
fi

if [[ $BENCH_NO_BUILD != 1 ]] && [[ " $BENCH_PEERS " == *" pooldns "* ]]; then
    echo "building pooldns (Release) in $BENCH_BUILD"
    blog=$(mktemp /tmp/failover-bench-build.XXXXXX)
    cmake -S "$ROOT" -B "$BENCH_BUILD" -DCMAKE_BUILD_TYPE=Release >"$blog" 2>&1 &&
        cmake --build "$BENCH_BUILD" -j2 --target pooldns pooldnsctl >>"$blog" 2>&1 ||
        { tail -20 "$blog" >&2; rm -f "$blog"; die "build failed"; }
    rm -f "$blog"
fi
POOLDNS=$BENCH_BUILD/server/pooldns
POOLDNSCTL=$BENCH_BUILD/tools/pooldnsctl

WORK=$(mktemp -d /tmp/failover-bench.XXXXXX)
chmod 755 "$WORK"   # a server that drops privileges must still read its config
mkdir -p "$(dirname "$BENCH_OUT")"
RAW="${BENCH_OUT%.md}-raw.txt"
: >"$RAW"
: >"$WORK/commands.txt"
write_driver
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

say "# failover-bench $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "command: $CMDLINE"
say "work dir: $WORK; load average at start: $LOAD_START"

ss -Hltn "sport = :$MPORT" 2>/dev/null | grep -q . && die "member port $MPORT is already in use; set BENCH_PORT_BASE"

# ---------------------------------------------------------------- rounds
RAN=()
DRIVER_LIMIT=$((BENCH_START_TIMEOUT + BENCH_ROUNDS * (2 * BENCH_MAX_WAIT + 2 * BENCH_INTERVAL + 10) + 60))
for peer in $BENCH_PEERS; do
    miss=$(peer_missing "$peer")
    if [[ -n $miss ]]; then skip "$peer" "$miss"; continue; fi
    port=$(peer_port "$peer")
    say ""
    say "== $peer on $ADDR:$port, members ${MEMBERS[*]} port $MPORT"
    PREP_ERR=""
    if ! prepare "$peer" "$port"; then skip "$peer" "$PREP_ERR"; continue; fi
    if ! start_server "$peer" "$port"; then skip "$peer" "$PREP_ERR"; continue; fi
    dcmd=(python3 "$WORK/failover.py" --dns "$ADDR:$port" --qname "$QNAME"
          --members "$(IFS=,; echo "${MEMBERS[*]}")" --victim "$VICTIM" --member-port "$MPORT"
          --backend "$BACKEND" --rounds "$BENCH_ROUNDS" --interval "$BENCH_INTERVAL"
          --poll-ms "$BENCH_POLL_MS" --check-timeout "$BENCH_TIMEOUT" --max-wait "$BENCH_MAX_WAIT" --start-timeout "$BENCH_START_TIMEOUT"
          --seed "$BENCH_SEED" --log "$RAW" --summary "$WORK/$peer/summary.json")
    echo "${dcmd[*]}" >>"$WORK/commands.txt"
    timeout -k 5 "$DRIVER_LIMIT" "${dcmd[@]}" >"$WORK/$peer/driver.out" 2>"$WORK/$peer/driver.err" &
    DPID=$!
    ROOT_PIDS+=("$DPID")
    drc=0; wait "$DPID" || drc=$?
    forget_pid "$DPID"
    alive "$SPID" || R[$peer,died]="the server exited during the run"
    stop_server
    if [[ -s $WORK/$peer/driver.err ]]; then
        R[$peer,err]=$(tail -2 "$WORK/$peer/driver.err" | tr '\n' ' ')
        say "$peer driver (exit $drc): ${R[$peer,err]}"
    fi
    { echo "### $peer server log (last 40 lines)"; tail -40 "$WORK/$peer/server.log"; echo; } >>"$RAW"
    RAN+=("$peer")
    f="$WORK/$peer/summary.json"
    if [[ ! -s $f ]]; then
        R[$peer,err]=${R[$peer,err]:-no summary (driver exit $drc)}
        continue
    fi
    for k in down_stats.median down_stats.max down_stats.min down_stats.mean \
             up_stats.median up_stats.max up_stats.min up_stats.mean failed unanswered odd queries; do
        R[$peer,$k]=$(summary "$f" "$k")
    done
    R[$peer,n_down]=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["down"]))' "$f")
    R[$peer,n_up]=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["up"]))' "$f")
    say "$peer: down median ${R[$peer,down_stats.median]:-?} s max ${R[$peer,down_stats.max]:-?} s;" \
        "up median ${R[$peer,up_stats.median]:-?} s max ${R[$peer,up_stats.max]:-?} s;" \
        "failed rounds ${R[$peer,failed]}${R[$peer,died]:+; ${R[$peer,died]}}"
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
ver() {
    case $1 in
        pooldns) echo "pooldns $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?') (Release, $BENCH_BUILD)" ;;
        gdnsd) gdnsd -V 2>&1 | grep -m1 -i 'version' ;;
        pdns) pdns_server --version 2>&1 | grep -m1 -o 'PowerDNS Authoritative Server [^ ]*'
              echo "  (Debian $(dpkg-query -W -f '${Version}' pdns-server 2>/dev/null), bind backend $(dpkg-query -W -f '${Version}' pdns-backend-bind 2>/dev/null))" ;;
    esac
}
settings() {
    case $1 in
        pooldns) echo "\`pool add --check tcp:$MPORT --interval $BENCH_INTERVAL --timeout $BENCH_TIMEOUT --rise 1 --fall 1 --ttl 0\`, --threads 1" ;;
        gdnsd) echo "multifo (ignore_health false, up_thresh 0.5), tcp_connect port $MPORT interval $BENCH_INTERVAL timeout $BENCH_TIMEOUT up/ok/down_thresh 1, DYNA TTL 0" ;;
        pdns) echo "LUA A \`ifportup($MPORT, {...}, {selector='all', timeout='$BENCH_TIMEOUT'})\`, lua-health-checks-interval=$BENCH_INTERVAL, TTL 0, caches off" ;;
    esac
}
{
    echo "# Failover benchmark: pooldns and peers"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ); host: $(uname -srm); CPU: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo) ($(nproc) CPUs)"
    echo "- command: \`$CMDLINE\`"
    echo "- load average at start / end: $LOAD_START / $LOAD_END"
    echo "- pool \`$QNAME\` = ${MEMBERS[*]}, each a \`backend.py --mode tcp\` listener on port $MPORT; health check: TCP connect to it, every $BENCH_INTERVAL s, timeout $BENCH_TIMEOUT s, 1 failure = down, 1 success = up; TTL 0"
    echo "- per round: all 3 answered; sleep U[0, $BENCH_INTERVAL) s; SIGKILL $VICTIM's listener; **down** = its death (after waitpid) until an answer without $VICTIM; sleep U[0, $BENCH_INTERVAL) s; restart it; **up** = its \"ready\" until an answer with $VICTIM"
    echo "- answers polled with one UDP query every $BENCH_POLL_MS ms straight to the server (authoritative, no cache); $BENCH_ROUNDS rounds per server; seed $BENCH_SEED: every server gets the same sequence of random delays"
    echo "- a killed listener on loopback refuses connections at once (RST), so the check timeout is never waited for: these are best-case numbers for a dead process, not for a host that vanishes"
    echo
    echo "| server | down median s | down max s | up median s | up max s | down min / mean s | up min / mean s | rounds ok | unanswered / odd queries |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for peer in $BENCH_PEERS; do
        if [[ -n ${R[$peer,skip]:-} ]]; then
            echo "| $peer | SKIP: ${R[$peer,skip]//|/\\|} ||||||||"
            continue
        fi
        if [[ -z ${R[$peer,queries]:-} ]]; then
            echo "| $peer | FAILED: ${R[$peer,err]//|/\\|} ||||||||"
            continue
        fi
        ok=$((BENCH_ROUNDS - ${R[$peer,failed]:-0}))
        [[ ${R[$peer,n_down]} -lt $BENCH_ROUNDS || ${R[$peer,n_up]} -lt $BENCH_ROUNDS ]] && ok="$ok (down ${R[$peer,n_down]}, up ${R[$peer,n_up]})"
        echo "| $peer${R[$peer,died]:+ (${R[$peer,died]})} | ${R[$peer,down_stats.median]:-n/a} | ${R[$peer,down_stats.max]:-n/a} | ${R[$peer,up_stats.median]:-n/a} | ${R[$peer,up_stats.max]:-n/a} | ${R[$peer,down_stats.min]:-n/a} / ${R[$peer,down_stats.mean]:-n/a} | ${R[$peer,up_stats.min]:-n/a} / ${R[$peer,up_stats.mean]:-n/a} | $ok/$BENCH_ROUNDS | ${R[$peer,unanswered]} / ${R[$peer,odd]} of ${R[$peer,queries]} |"
    done
    echo
    echo "A death at a uniformly random point of a ${BENCH_INTERVAL} s check cycle is seen after U[0, ${BENCH_INTERVAL}) s plus whatever the server adds, so the median of $BENCH_ROUNDS rounds moves by a few tenths of a second from run to run: raise BENCH_ROUNDS to narrow it."
    echo
    echo "\"odd\" answers: an error rcode, or a healthy member (${MEMBERS[0]}, ${MEMBERS[2]}) missing. pooldns's own bound (SPEC): down within interval × fall + timeout + 0.5 s = $((BENCH_INTERVAL + BENCH_TIMEOUT)).5 s, up within interval × rise + 0.5 s = $BENCH_INTERVAL.5 s."
    for peer in $BENCH_PEERS; do
        [[ -n ${R[$peer,err]:-} && -n ${R[$peer,queries]:-} ]] && echo "" && echo "$peer: ${R[$peer,err]}"
    done
    echo
    echo "## Settings and versions"
    echo
    for peer in "${RAN[@]}"; do echo "- $peer: $(settings "$peer"); $(ver "$peer" | tr '\n' ' ')"; done
    echo
    echo "## Commands"
    echo
    echo '```'
    cat "$WORK/commands.txt"
    for peer in "${RAN[@]}"; do
        case $peer in
            gdnsd) echo "# $WORK/gdnsd/config:"; cat "$WORK/gdnsd/config"; echo "# zone:"; cat "$WORK/gdnsd/zones/$ZONE" ;;
            pdns) echo "# $WORK/pdns/pdns.conf:"; cat "$WORK/pdns/pdns.conf"; echo "# zone:"; cat "$WORK/pdns/$ZONE.zone" ;;
        esac
    done
    echo '```'
    echo
    echo "Per-round log: $RAW"
} >"$BENCH_OUT"

echo
cat "$BENCH_OUT"
echo
echo "written: $BENCH_OUT (per-round log: $RAW)"
