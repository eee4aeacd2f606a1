#!/usr/bin/env bash
# Pools under health checks, end to end: the real pooldns, pooldnsctl, members
# that are real TCP listeners on 127.0.0.21-23 (tests/probes/backend.py), and
# kdig as the client. Proves the bounds of issue 4:
#   - a member that dies leaves the answers within interval x fall + timeout + 0.5 s;
#   - a recovered member returns within interval x rise + 0.5 s;
#   - drain / block / enable show in answers within 1 s (block hides the host record);
#   - a restart starts from the state recorded in SQLite, not from all-up;
#   - `pooldnsctl status` names the pool, servers, states and results.
# Deaths happen at a random point of the check cycle. Prints every measured delay.
# Usage: health_failover.sh POOLDNS POOLDNSCTL BACKEND_PY
set -euo pipefail
pooldns="$1"
ctl="$2"
backend="$3"
dir="$(mktemp -d)"
declare -A backend_pid=()
server_pid=""
cleanup() {
  for p in "${backend_pid[@]}" $server_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  echo "--- pooldns log:" >&2
  tail -n 40 "$dir/pooldns.log" >&2 || true
  "$ctl" status >&2 || true
  exit 1
}
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }
le() { python3 -c "import sys; sys.exit(0 if $1 <= $2 else 1)"; }
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

command -v kdig >/dev/null || fail "kdig (knot-dnsutils) is needed"
export POOLDNS_DB="$dir/p.db"
dns_port=$(free_port)
probe_port=$(free_port)
INTERVAL=1 TIMEOUT=0.5 RISE=2 FALL=2
DOWN_BOUND=$(python3 -c "print($INTERVAL * $FALL + $TIMEOUT + 0.5)")
UP_BOUND=$(python3 -c "print($INTERVAL * $RISE + 0.5)")
ADMIN_BOUND=1
if [ -n "${TSAN_OPTIONS:-}" ]; then
  # Under ThreadSanitizer this run looks for races; the bounds are proven by
  # the normal and sanitizer builds, so allow the instrumented binary 3x.
  DOWN_BOUND=$(python3 -c "print($DOWN_BOUND * 3)") UP_BOUND=$(python3 -c "print($UP_BOUND * 3)") ADMIN_BOUND=3
fi

"$ctl" zone create contoso.test --ns ns1.contoso.test >/dev/null
"$ctl" record add contoso.test ns1 3600 A 127.0.0.1 >/dev/null
for i in 1 2 3; do
  "$ctl" server add "fe0$i" --host "fe0$i.contoso.test" --addr "127.0.0.2$i" >/dev/null
done
"$ctl" pool add pool01.contoso.test --check "tcp:$probe_port" --interval $INTERVAL --timeout $TIMEOUT \
  --rise $RISE --fall $FALL --ttl 5 >/dev/null
for i in 1 2 3; do "$ctl" member add pool01.contoso.test "fe0$i" "127.0.0.2$i" >/dev/null; done

start_backend() {  # N [BACKEND-ARGS...]: member N listens again (default: --mode tcp); returns once it accepts
  local n=$1
  shift
  [ $# -gt 0 ] || set -- --mode tcp
  rm -f "$dir/b$n.out"
  python3 "$backend" "$@" --listen "127.0.0.2$n:$probe_port" --max-seconds 300 >"$dir/b$n.out" 2>&1 &
  backend_pid[$n]=$!
  for _ in $(seq 100); do grep -q '^ready' "$dir/b$n.out" 2>/dev/null && return 0; sleep 0.05; done
  fail "backend $n did not start"
}
stop_backend() {
  kill "${backend_pid[$1]}"
  wait "${backend_pid[$1]}" 2>/dev/null || true
  unset "backend_pid[$1]"
}
start_server() {
  local before
  before=$(grep -c ' listening ' "$dir/pooldns.log" 2>/dev/null || true)
  "$pooldns" --db "$POOLDNS_DB" --dns "127.0.0.1:$dns_port" --threads 1 >>"$dir/pooldns.log" 2>&1 &
  server_pid=$!
  # The "listening" line comes once the sockets are bound: a query sent before
  # that would be lost and cost kdig a whole timeout.
  for _ in $(seq 200); do
    [ "$(grep -c ' listening ' "$dir/pooldns.log" 2>/dev/null || true)" -gt "${before:-0}" ] && break
    sleep 0.01
  done
  for _ in $(seq 100); do
    kdig +short +time=1 +retry=0 @127.0.0.1 -p "$dns_port" ns1.contoso.test A 2>/dev/null | grep -q 127.0.0.1 && return 0
    sleep 0.05
  done
  fail "pooldns did not answer"
}
stop_server() { kill "$server_pid"; wait "$server_pid" || fail "pooldns exited non-zero on SIGTERM"; server_pid=""; }
answer() { kdig +short +time=1 +retry=0 @127.0.0.1 -p "$dns_port" "$1" "${2:-A}" 2>/dev/null | sort | tr '\n' ' '; }
# wait_until PRED LIMIT: polls PRED every 20 ms for at most LIMIT seconds; prints the delay.
wait_until() {
  local pred=$1 limit=$2 t0 t
  t0=$(now)
  while true; do
    if eval "$pred"; then elapsed "$t0" "$(now)"; return 0; fi
    t=$(now)
    le "$(elapsed "$t0" "$t")" "$limit" || { elapsed "$t0" "$t"; return 1; }
    sleep 0.02
  done
}
has() { case " $(answer "$1" "${3:-A}")" in *" $2 "*) return 0 ;; *) return 1 ;; esac; }

for i in 1 2 3; do start_backend "$i"; done
start_server
wait_until 'has pool01.contoso.test 127.0.0.21 && has pool01.contoso.test 127.0.0.22 && has pool01.contoso.test 127.0.0.23' 5 >/dev/null \
  || fail "the pool never listed all three members: $(answer pool01.contoso.test)"

downs=() ups=()
for round in 1 2 3; do
  # Die at a random point of the check cycle.
  sleep "$(python3 -c "import random; print(round(random.uniform(0, $INTERVAL), 3))")"
  stop_backend 2
  d=$(wait_until '! has pool01.contoso.test 127.0.0.22' 10) || fail "round $round: 127.0.0.22 still answered after ${d}s"
  le "$d" "$DOWN_BOUND" || fail "round $round: the dead member left the answers after ${d}s, bound ${DOWN_BOUND}s"
  downs+=("$d")
  sleep "$(python3 -c "import random; print(round(random.uniform(0, $INTERVAL), 3))")"
  start_backend 2
  u=$(wait_until 'has pool01.contoso.test 127.0.0.22' 10) || fail "round $round: 127.0.0.22 never came back (${u}s)"
  le "$u" "$UP_BOUND" || fail "round $round: the recovered member returned after ${u}s, bound ${UP_BOUND}s"
  ups+=("$u")
  echo "round $round: left the answers after ${d}s (bound ${DOWN_BOUND}s), returned after ${u}s (bound ${UP_BOUND}s)"
done

# The same bounds through the regular schedule alone: an http check keeps no
# connection, and the member "dies" by answering 503 (a sick application
# behind a live socket), so only the next probes can see it.
"$ctl" pool set pool01.contoso.test --check "http:$probe_port/health" >/dev/null
for i in 1 2 3; do stop_backend "$i"; start_backend "$i" --mode http; done
wait_until 'has pool01.contoso.test 127.0.0.21 && has pool01.contoso.test 127.0.0.22 && has pool01.contoso.test 127.0.0.23' 10 >/dev/null \
  || fail "http check: the pool never listed all three members: $(answer pool01.contoso.test)"
for round in 1 2; do
  sleep "$(python3 -c "import random; print(round(random.uniform(0, $INTERVAL), 3))")"
  stop_backend 2
  start_backend 2 --mode http --status 503
  d=$(wait_until '! has pool01.contoso.test 127.0.0.22' 10) || fail "http round $round: 127.0.0.22 still answered after ${d}s"
  le "$d" "$DOWN_BOUND" || fail "http round $round: the sick member left the answers after ${d}s, bound ${DOWN_BOUND}s"
  sleep "$(python3 -c "import random; print(round(random.uniform(0, $INTERVAL), 3))")"
  stop_backend 2
  start_backend 2 --mode http
  u=$(wait_until 'has pool01.contoso.test 127.0.0.22' 10) || fail "http round $round: 127.0.0.22 never came back (${u}s)"
  le "$u" "$UP_BOUND" || fail "http round $round: the recovered member returned after ${u}s, bound ${UP_BOUND}s"
  echo "http round $round (HTTP 503, no kept connection): left after ${d}s (bound ${DOWN_BOUND}s), returned after ${u}s (bound ${UP_BOUND}s)"
done
"$ctl" pool set pool01.contoso.test --check "tcp:$probe_port" >/dev/null
for i in 1 2 3; do stop_backend "$i"; start_backend "$i"; done
wait_until 'has pool01.contoso.test 127.0.0.21 && has pool01.contoso.test 127.0.0.22 && has pool01.contoso.test 127.0.0.23' 10 >/dev/null \
  || fail "back to tcp: the pool never listed all three members: $(answer pool01.contoso.test)"

# Admin states: live within 1 s of the command.
"$ctl" server drain fe01 >/dev/null
d=$(wait_until '! has pool01.contoso.test 127.0.0.21' $ADMIN_BOUND) || fail "drain: fe01 still in the pool after ${d}s"
has fe01.contoso.test 127.0.0.21 || fail "drain must keep the host record: $(answer fe01.contoso.test)"
echo "drain: out of the pool after ${d}s, host record still served"
"$ctl" server block fe01 >/dev/null
b=$(wait_until '[ -z "$(answer fe01.contoso.test)" ]' $ADMIN_BOUND) || fail "block: host record still served after ${b}s"
rcode=$(kdig +time=1 +retry=0 @127.0.0.1 -p "$dns_port" fe01.contoso.test A | sed -n 's/.*status: \([A-Z]*\).*/\1/p')
[ "$rcode" = NXDOMAIN ] || fail "block: expected NXDOMAIN for the hidden host, got $rcode"
has pool01.contoso.test 127.0.0.21 && fail "block: fe01 back in the pool"
echo "block: host record hidden after ${b}s (NXDOMAIN)"
"$ctl" server enable fe01 >/dev/null
e=$(wait_until 'has pool01.contoso.test 127.0.0.21 && has fe01.contoso.test 127.0.0.21' $ADMIN_BOUND) \
  || fail "enable: fe01 not back after ${e}s: pool $(answer pool01.contoso.test), host $(answer fe01.contoso.test)"
echo "enable: back in the pool and host record served after ${e}s"

# status names pools, servers, states and results.
stop_backend 3
wait_until '! has pool01.contoso.test 127.0.0.23' 10 >/dev/null || fail "fe03 never left"
sleep 1.2  # the writer records state changes within a second
st=$("$ctl" status pool01.contoso.test)
echo "$st"
for want in "pool01.contoso.test." "answering 2 of 3" fe01 fe02 fe03 127.0.0.23 "connect refused" "checker: pid $server_pid"; do
  case "$st" in *"$want"*) ;; *) fail "status lacks '$want'" ;; esac
done
echo "$st" | grep -E '^ *fe03 .* down ' >/dev/null || fail "status must show fe03 down"
echo "$st" | grep -E '^ *fe02 .* up ' >/dev/null || fail "status must show fe02 up"
"$ctl" --json status | python3 -c '
import json, sys
d = json.load(sys.stdin)
m = {x["server"]: x for x in d["pools"][0]["members"]}
assert m["fe03"]["health"] == "down", m["fe03"]
assert m["fe02"]["health"] == "up", m["fe02"]
assert d["checker"]["pid"] > 0
' || fail "status --json"
n=$(sqlite3 "$POOLDNS_DB" "SELECT count(*) FROM health_history h JOIN servers s ON s.id = h.server_id WHERE s.name = 'fe02'")
[ "$n" -ge 6 ] || fail "health_history should hold fe02's 3 downs and 3 ups, has $n rows"

# A restart begins from the recorded state: fe03 is recorded down; it is back
# before pooldns starts, and must still be absent from the first answers. Rise 5
# keeps it out for 5 probes (a down member is probed every interval/4: 1 s),
# far longer than the first query takes.
stop_server
"$ctl" pool set pool01.contoso.test --rise 5 >/dev/null
RESTART_BOUND=$(python3 -c "print(($INTERVAL * 5 + 0.5) * (3 if '${TSAN_OPTIONS:-}' else 1))")
start_backend 3
start_server
first=$(answer pool01.contoso.test)
case " $first" in *" 127.0.0.23 "*) fail "after a restart fe03 was answered at once ($first): the recorded down state was not used" ;; esac
r=$(wait_until 'has pool01.contoso.test 127.0.0.23' "$RESTART_BOUND") || fail "after the restart fe03 never rose (${r}s)"
echo "restart: first answer '$first' kept fe03 out (recorded down); it rose after ${r}s"

python3 - "${downs[@]}" -- "${ups[@]}" <<'PY'
import statistics, sys
a = sys.argv[1:]
i = a.index("--")
d, u = [float(x) for x in a[:i]], [float(x) for x in a[i + 1:]]
print(f"median: down {statistics.median(d):.3f}s, up {statistics.median(u):.3f}s")
PY
stop_server
echo "PASS"
