#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is missing, build,
# and run a contoso-style Skype for Business topology on loopback:
#   - a Front End pool (3 servers), an Edge pool (2 servers, internal side and
#     Access / Web Conferencing / A/V services), a Mediation pool (2 servers),
#     each laid out by one `pooldnsctl topology` command;
#   - small listeners (tests/probes/backend.py) for some servers' health-check
#     and web ports, none for the others, so the dead ones drop out of the answers;
#   - pooldns serving DNS on 127.0.0.1 and [::1] port $POOLDNS_DEMO_PORT (5300)
#     and the web services VIP on 127.0.0.10 (high ports);
# then prints the queries to try and what their answers show. Ctrl-C (or
# SIGTERM) stops everything it started.
#
# Environment: POOLDNS_DEMO_PORT (DNS port, 5300), POOLDNS_DEMO_DIR (its files,
# build/demo), POOLDNS_DEMO_BUILD (a build dir holding tools/pooldnsctl and
# server/pooldns: skip installing and building), POOLDNS_DEMO_EXIT=1 (stop after
# the showcase instead of serving until Ctrl-C).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ -n "${POOLDNS_DEMO_BUILD:-}" ]; then
  build="$POOLDNS_DEMO_BUILD"
else
  source tools/deps.sh
  pooldns_install_missing build
  build=build/release
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPOOLDNS_TESTS=OFF >/dev/null
  if ! cmake --build "$build" -j "$(nproc)" >"$build.log" 2>&1; then
    grep -E 'error|Error' "$build.log" | head -n 40
    echo "build failed (full log: $build.log)" >&2
    exit 1
  fi
fi
ctl="$build/tools/pooldnsctl"
server="$build/server/pooldns"
port="${POOLDNS_DEMO_PORT:-5300}"
dir="${POOLDNS_DEMO_DIR:-build/demo}"
mkdir -p "$dir"
db="$dir/pooldns.db"
rm -f "$db" "$db-wal" "$db-shm" "$dir"/*.out "$dir/pids"
export POOLDNS_DB="$db"

# Everything started here is stopped on the way out, whatever the way out is.
pids=()
stop_all() {
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap 'stop_all' EXIT
trap 'echo; echo "demo: stopping pooldns and the demo servers"; stop_all; exit 130' INT
trap 'echo; echo "demo: stopping pooldns and the demo servers"; stop_all; exit 143' TERM

step() { printf '\n+ pooldnsctl %s\n' "$*"; "$ctl" "$@"; }
note() { printf '\n# %s\n' "$*"; }

# The web services VIP: one address, four listeners (production: 443, 80, and
# 4443 / 8080 behind the reverse proxy). The demo uses high ports: no root needed.
vip=127.0.0.10
vip_ports=18443,18080,14443,18088
cert="$dir/web.pem" key="$dir/web.key"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=web-int.contoso.com \
  -addext "subjectAltName=DNS:web-int.contoso.com,DNS:web-ext.contoso.com" -keyout "$key" -out "$cert" 2>/dev/null

note "A zone, then one command per pool: servers and host records, pools with role health checks, VIPs, discovery records."
step zone create contoso.com --ns ns1.contoso.com --mbox hostmaster@contoso.com
step record add contoso.com ns1 3600 A 127.0.0.1
step topology frontend pool01.contoso.com \
  --server fe01,fe01.contoso.com,127.0.0.21 --server fe02,fe02.contoso.com,127.0.0.22 \
  --server fe03,fe03.contoso.com,127.0.0.23 \
  --web-internal web-int.contoso.com --web-external web-ext.contoso.com --vip "$vip" \
  --tls-cert "$cert" --tls-key "$key" --ports "$vip_ports" --backend-ports "$vip_ports" \
  --interval 1 --timeout 0.5 --rise 1 --fall 2 --discovery
# Edge: Web Conferencing is checked with TLS on 443 and A/V with TCP on 443 by
# default; the demo moves Web Conferencing to 18444 (no root needed).
step topology edge edgepool.contoso.com \
  --server edge01,edge01.contoso.com,127.0.0.31,127.0.0.41,127.0.0.51,127.0.0.61 \
  --server edge02,edge02.contoso.com,127.0.0.32,127.0.0.42,127.0.0.52,127.0.0.62 \
  --access sip.contoso.com --webconf webconf.contoso.com --av av.contoso.com \
  --webconf-check tls:18444 --av-check tcp:3478 --interval 1 --timeout 0.5 --rise 1 --fall 2 --discovery
step topology mediation medpool.contoso.com \
  --server med01,med01.contoso.com,127.0.0.71 --server med02,med02.contoso.com,127.0.0.72 \
  --interval 1 --timeout 0.5 --rise 1 --fall 2

# The servers that are alive: fe01, fe02 (SIP/TLS on 5061 and their web ports),
# edge01 (every service), edge02 (internal and Web Conferencing only), med01.
# fe03, edge02's Access and A/V, and med02 have no listener: their checks fail.
outs=()
backend() {  # MODE ADDR:PORT
  python3 tests/probes/backend.py --mode "$1" --listen "$2" --max-seconds 86400 >"$dir/backend-$2.out" 2>&1 &
  pids+=($!)
  outs+=("$dir/backend-$2.out")
  echo $! >>"$dir/pids"
}
for ip in 127.0.0.21 127.0.0.22; do
  backend sips "$ip:5061"
  backend https "$ip:18443"; backend http "$ip:18080"; backend https "$ip:14443"; backend http "$ip:18088"
done
backend sips 127.0.0.31:5061; backend sips 127.0.0.41:5061; backend tls 127.0.0.51:18444; backend tcp 127.0.0.61:3478
backend sips 127.0.0.32:5061; backend tls 127.0.0.52:18444
backend sip 127.0.0.71:5070
for f in "${outs[@]}"; do   # listening before the first probes go out
  for _ in $(seq 1 100); do grep -q '^ready' "$f" 2>/dev/null && break; sleep 0.05; done
  grep -q '^ready' "$f" || { echo "demo: a demo server did not start: $(cat "$f")" >&2; exit 1; }
done

printf '\n+ pooldns --db %s --dns 127.0.0.1:%s --dns [::1]:%s\n' "$db" "$port" "$port"
"$server" --db "$db" --dns "127.0.0.1:$port" --dns "[::1]:$port" >"$dir/pooldns.out" 2>&1 &
pids+=($!)
echo $! >>"$dir/pids"
server_pid=$!
for _ in $(seq 1 100); do
  drill -Q -p "$port" @127.0.0.1 contoso.com SOA >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "pooldns did not start:" >&2; cat "$dir/pooldns.out" >&2; exit 1; }
  sleep 0.05
done
# Health settles within interval x fall + timeout: wait (at most 10 s) until fe03 is out.
for _ in $(seq 1 100); do
  [ "$(drill -Q -p "$port" @127.0.0.1 pool01.contoso.com A 2>/dev/null | grep -c .)" = 2 ] && break
  sleep 0.1
done

q() {  # NAME TYPE: the query and its answer section
  printf '\n$ drill -Q -p %s @127.0.0.1 %s %s\n' "$port" "$1" "$2"
  drill -Q -p "$port" @127.0.0.1 "$1" "$2"
}
note "Front End pool: one A per live server. fe03 (127.0.0.23) is absent: nothing answers SIP/TLS on its 5061."
q pool01.contoso.com A
note "fe03 is still deployed, so its own host record stays (block it to hide that too)."
q fe03.contoso.com A
note "Edge, per service: Access lists edge01 only (edge02's 127.0.0.42 is dead), Web Conferencing both, A/V edge01 only."
q sip.contoso.com A
q webconf.contoso.com A
q av.contoso.com A
note "The internal Edge pool and an Edge server's host record: internal addresses only."
q edgepool.contoso.com A
q edge02.contoso.com A
note "Mediation: med01 only (med02 has no SIP listener on 5070)."
q medpool.contoso.com A
note "Clients find the pools through SRV and discovery records; the web services FQDN is the VIP."
q _sipinternaltls._tcp.contoso.com SRV
q _sip._tls.contoso.com SRV
q lyncdiscoverinternal.contoso.com A
q web-ext.contoso.com A

note "Through the VIP to the live members: internal HTTPS (source-address persistence), external HTTP (MS-WSMAN cookie)."
python3 - "$vip" <<'PY'
import http.client, ssl, sys
vip = sys.argv[1]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
for i in range(2):
    c = http.client.HTTPSConnection(vip, 18443, timeout=5, context=ctx)
    c.request("GET", f"/int{i}", headers={"Host": "web-int.contoso.com"})
    r = c.getresponse(); body = r.read().decode(errors="replace").strip()
    print(f"https://web-int.contoso.com:18443/int{i} -> {r.status} {r.reason}: {body[:60]}")
    c.close()
c = http.client.HTTPConnection(vip, 18088, timeout=5)
c.request("GET", "/ext", headers={"Host": "web-ext.contoso.com"})
r = c.getresponse(); r.read()
print(f"http://web-ext.contoso.com:18088/ext -> {r.status} {r.reason}, Set-Cookie: {(r.getheader('Set-Cookie') or '-').split(';')[0]}")
PY

step topology check
step topology show pool01.contoso.com
note "Take fe02 out for maintenance: blocked servers leave every pool AND lose their host record."
step server block fe02
sleep 1
q pool01.contoso.com A
q fe02.contoso.com A
step server enable fe02
sleep 1   # the server takes a committed edit within a second

if [ "${POOLDNS_DEMO_EXIT:-0}" = 1 ]; then
  echo; echo "demo done (POOLDNS_DEMO_EXIT=1)"
  exit 0
fi
cat <<EOF

pooldns is serving the contoso.com topology on 127.0.0.1:$port and [::1]:$port,
the web services VIP on $vip (ports $vip_ports). Ctrl-C stops everything.
Try, in another terminal:
  dig -p $port @127.0.0.1 pool01.contoso.com A          (or: drill -p $port @127.0.0.1 ...)
  dig -p $port @127.0.0.1 _sipfederationtls._tcp.contoso.com SRV
  POOLDNS_DB=$db $ctl topology show
  POOLDNS_DB=$db $ctl status
  kill $(sed -n 1p "$dir/pids")    (fe01's SIP listener: fe01 leaves pool01's answers within ~3 s)
EOF
echo "serving (demo pid $$)"
wait "$server_pid"
