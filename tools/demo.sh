#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is missing, build,
# create the demo database from docs/examples/contoso.com.zone, and serve it
# with pooldns on 127.0.0.1 and [::1], port $POOLDNS_DEMO_PORT (default 5300),
# showing a few live queries and a live edit. Serves until Ctrl-C.
# POOLDNS_DEMO_EXIT=1 stops after the showcase (used by the tests).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source tools/deps.sh
pooldns_install_missing build

build=build/release
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPOOLDNS_TESTS=OFF >/dev/null
if ! cmake --build "$build" -j "$(nproc)" >"$build.log" 2>&1; then
  grep -E 'error|Error' "$build.log" | head -n 40
  echo "build failed (full log: $build.log)" >&2
  exit 1
fi
ctl="$build/tools/pooldnsctl"
server="$build/server/pooldns"
port="${POOLDNS_DEMO_PORT:-5300}"

db="${POOLDNS_DEMO_DB:-build/demo/pooldns.db}"
mkdir -p "$(dirname "$db")"
rm -f "$db" "$db-wal" "$db-shm"
export POOLDNS_DB="$db"

step() { printf '\n+ %s\n' "$*"; "$@"; }
step "$ctl" zone import contoso.com docs/examples/contoso.com.zone
# The Front End pool as data: three servers on loopback addresses, health-checked
# by TCP connect on $probe_port; fe01 and fe02 get a listener below, fe03 does not.
probe_port="${POOLDNS_DEMO_PROBE_PORT:-15061}"
for n in 1 2 3; do step "$ctl" server add "fe0$n" --host "fe0$n.contoso.com" --addr "127.0.0.1$n"; done
step "$ctl" pool add pool01.contoso.com --check "tcp:$probe_port" --interval 1 --timeout 0.5 --rise 2 --fall 2 --ttl 30
for n in 1 2 3; do step "$ctl" member add pool01.contoso.com "fe0$n" "127.0.0.1$n"; done
# The pool's web services behind the VIP: plain HTTP on 127.0.0.1:$vip_port to port
# $web_port of whichever members are enabled and up, cookie persistence.
vip_port="${POOLDNS_DEMO_VIP_PORT:-18080}"
web_port="${POOLDNS_DEMO_WEB_PORT:-18081}"
step "$ctl" vip add web --listen "127.0.0.1:$vip_port" --pool pool01.contoso.com --backend-port "$web_port" --persist cookie
step "$ctl" zone create fabrikam.com --ns ns1.contoso.com --mbox dns-admin@fabrikam.com
step "$ctl" record add fabrikam.com www 300 A 192.0.2.80
step "$ctl" zone list

printf '\n+ %s --db %s --dns 127.0.0.1:%s --dns [::1]:%s\n' "$server" "$db" "$port" "$port"
members=()
for n in 1 2; do
  python3 tests/probes/backend.py --mode tcp --listen "127.0.0.1$n:$probe_port" --max-seconds 86400 \
    >"$(dirname "$db")/member$n.out" 2>&1 &
  members+=($!)
  python3 tests/probes/backend.py --mode http --listen "127.0.0.1$n:$web_port" --max-seconds 86400 \
    >"$(dirname "$db")/web$n.out" 2>&1 &
  members+=($!)
done
for n in 1 2; do   # listening before the first probes go out
  for _ in $(seq 1 100); do grep -q '^ready' "$(dirname "$db")/member$n.out" 2>/dev/null && break; sleep 0.05; done
done
"$server" --db "$db" --dns "127.0.0.1:$port" --dns "[::1]:$port" &
pid=$!
trap 'kill "$pid" "${members[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  drill -Q -p "$port" @127.0.0.1 contoso.com SOA >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { echo "pooldns did not start" >&2; exit 1; }
  sleep 0.05
done

q() { printf '\n$ drill -p %s @%s %s %s\n' "$port" "$1" "$2" "$3"; drill -p "$port" "@$1" "$2" "$3" | sed -n '/HEADER/,/^;; Query time/p' | grep -vE '^;; Query time|^$'; }
sleep 1.2   # the first probes go out at once; a member never probed before takes its first result
printf '\n# pool01 lists fe01 and fe02 only: fe03 (127.0.0.13) has no listener, so its check fails.\n'
q 127.0.0.1 pool01.contoso.com A
step "$ctl" status pool01.contoso.com
step "$ctl" server drain fe02
sleep 0.5
printf '\n# fe02 drained: out of the pool, its host record still served.\n'
q 127.0.0.1 pool01.contoso.com A
step "$ctl" server enable fe02
printf '\n# Four requests through the VIP (127.0.0.1:%s): only fe01 and fe02 are picked.\n' "$vip_port"
python3 - "$vip_port" <<'PY'
import http.client, sys
for i in range(4):
    c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
    c.request("GET", f"/demo{i}", headers={"Host": "web.contoso.com"})
    r = c.getresponse()
    cookie = (r.getheader("Set-Cookie") or "-").split(";")[0]
    print(f"GET /demo{i} -> {r.status} {r.reason}, cookie {cookie}")
    r.read()
    c.close()
PY
sleep 1.1   # the server writes its VIP counters once a second
step "$ctl" status pool01.contoso.com
q ::1 lyncdiscoverinternal.contoso.com A
q 127.0.0.1 nothere.contoso.com A
step "$ctl" record add contoso.com fe04 3600 A 192.0.2.14
sleep 0.5   # the server notices committed edits within a second
q 127.0.0.1 fe04.contoso.com A

if [ "${POOLDNS_DEMO_EXIT:-0}" = 1 ]; then
  echo; echo "demo done (POOLDNS_DEMO_EXIT=1)"
  exit 0
fi
echo
echo "pooldns is serving $db on 127.0.0.1:$port and [::1]:$port; Ctrl-C stops it."
echo "try: drill -p $port @127.0.0.1 dirpool.contoso.com A"
echo "     POOLDNS_DB=$db $ctl record add contoso.com test 60 A 192.0.2.99"
wait "$pid"
