#!/usr/bin/env bash
# Skype for Business / Lync topologies end to end: `pooldnsctl topology` lays
# out a Front End pool, a Director, an Edge pool and a Mediation pool in
# contoso.com on a fresh database; then the real pooldns serves it, with
# members that are real listeners (tests/probes/backend.py) alive on some
# servers and absent on others, and kdig and curl as the clients.
#   A. each topology command: exit 0, its report, one serial step; show (text
#      and --json), topology check and zone check clean.
#   D. each rule refuses the edit that would break it: exit 1 (2 for a bad
#      command line), the message names the option or records, and the
#      database file stays byte for byte the same. `topology check` and
#      `zone check` report a rule broken behind pooldnsctl's back.
#   B. DNS: pools answer their live members only (the Edge services each by
#      their own check), host records (Edge: the internal address only), the
#      discovery SRV and CNAME records, web services FQDNs -> VIPs.
#   C. the VIPs: internal HTTPS reaches a live member's HTTPS listener and
#      sticks to it (source persistence, no cookie); external HTTP(S) sets the
#      MS-WSMAN cookie and follows it.
#   E. topology delete forgets the topology: its rules stop applying, its pools
#      keep answering.
# Everything listens on 127.0.0.0/8 only, on ports from free_port.
# Usage: topology.sh POOLDNS POOLDNSCTL BACKEND_PY
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 POOLDNS POOLDNSCTL BACKEND_PY" >&2; exit 2; }
for f in "$1" "$2"; do
    [ -f "$f" ] && [ -x "$f" ] || { echo "$0: '$f' is not an executable file" >&2; exit 2; }
done
[ -f "$3" ] || { echo "$0: '$3' is not a file" >&2; exit 2; }
POOLDNS="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
BACKEND="$(cd "$(dirname "$3")" && pwd)/$(basename "$3")"
CERTS="$(dirname "$BACKEND")/certs"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"
setup "$2"

for tool in kdig:knot-dnsutils curl:curl sqlite3:sqlite3 python3:python3; do
    command -v "${tool%%:*}" > /dev/null || fail "${tool%%:*} (Debian package ${tool#*:}) is needed"
done
[ -f "$CERTS/server.pem" ] && [ -f "$CERTS/server.key" ] || fail "no test certificates in $CERTS"

# Every process started here, stopped by PID on exit; the server's log is shown
# when the test fails.
pids=()
server_pid=""
cleanup() {
    local rc=$?
    for p in "${pids[@]}" $server_pid; do kill "$p" 2> /dev/null || true; done
    for p in "${pids[@]}" $server_pid; do wait "$p" 2> /dev/null || true; done
    if [ "$rc" -ne 0 ] && [ -s "$T/pooldns.log" ]; then
        echo "--- pooldns log (last 40 lines):" >&2
        tail -n 40 "$T/pooldns.log" >&2
    fi
    rm -rf "$T"
}
trap cleanup EXIT

# alloc_ports VAR...: a distinct free port in each VAR.
PORTS_USED=" "
alloc_ports() {
    local var p
    for var; do
        for _ in $(seq 20); do
            p=$(free_port)
            [ -n "$p" ] || fail "free_port found no port"
            case "$PORTS_USED" in *" $p "*) p="" ;; esac
            [ -n "$p" ] && break
        done
        [ -n "$p" ] || fail "no distinct free port for $var"
        PORTS_USED+="$p "
        printf -v "$var" %s "$p"
    done
}
alloc_ports DNS_PORT SIP_PORT TLS_PORT TCP_PORT MED_PORT \
    VIP_HTTPS VIP_HTTP VIP_EXT_HTTPS VIP_EXT_HTTP BE_HTTPS BE_HTTP BE_EXT_HTTPS BE_EXT_HTTP \
    DIR_HTTPS DIR_HTTP DIR_EXT_HTTPS DIR_EXT_HTTP

DB=$T/topo.db
Z=contoso.com
# Fast checks, so that health settles within a second or two.
FAST=(--interval 0.5 --timeout 0.3 --rise 1 --fall 1 --ttl 5)

# serial_step WHAT ARGS...: pooldnsctl ARGS... succeeds and moves the serial of
# contoso.com by exactly one (the whole topology is one transaction).
serial_step() {
    local what=$1 before after
    shift
    before=$(soa_serial "$DB" "$Z")
    ok "$what" "$@"
    after=$(soa_serial "$DB" "$Z")
    [ "$after" = "$((before + 1))" ] || fail "$what: the serial went from $before to $after, expected one step"
}

# ==== A. the topologies, laid out on a fresh database ====

check "zone create and the name server's glue"
ok "zone create" zone create "$Z" --ns "ns1.$Z"
ok "record add ns1" record add "$Z" ns1 3600 A 127.0.0.1

check "topology frontend: 3 servers, pool, web services FQDNs, 4 VIPs, discovery; one serial step"
serial_step "topology frontend" topology frontend "pool01.$Z" \
    --server "fe01,fe01.$Z,127.0.0.11" --server "fe02,fe02.$Z,127.0.0.12" --server "fe03,fe03.$Z,127.0.0.13" \
    --web-internal "web-int.$Z" --web-external "web-ext.$Z" --vip 127.0.0.100 --vip-external 127.0.0.101 \
    --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server.key" --check "sips:$SIP_PORT" "${FAST[@]}" \
    --ports "$VIP_HTTPS,$VIP_HTTP,$VIP_EXT_HTTPS,$VIP_EXT_HTTP" \
    --backend-ports "$BE_HTTPS,$BE_HTTP,$BE_EXT_HTTPS,$BE_EXT_HTTP" --discovery
expect_in "$OUT" "created Front End pool pool01.$Z. in one transaction:" "topology frontend"
expect_in "$OUT" "server fe02: host record fe02.$Z. -> 127.0.0.12" "topology frontend"
expect_in "$OUT" "pool pool01.$Z. (pool FQDN): check sips:$SIP_PORT every 500 ms, members fe01 127.0.0.11, fe02 127.0.0.12, fe03 127.0.0.13" "topology frontend"
expect_in "$OUT" "record web-int.$Z. 300 A 127.0.0.100" "topology frontend"
expect_in "$OUT" "record web-ext.$Z. 300 A 127.0.0.101" "topology frontend"
expect_in "$OUT" "vip pool01-int-https: https 127.0.0.100:$VIP_HTTPS -> members port $BE_HTTPS over TLS, persist source" "topology frontend"
expect_in "$OUT" "vip pool01-ext-http: http 127.0.0.101:$VIP_EXT_HTTP -> members port $BE_EXT_HTTP, persist cookie MS-WSMAN" "topology frontend"
expect_in "$OUT" "record lyncdiscover.$Z. 3600 CNAME web-ext.$Z." "topology frontend"

check "topology director: its own web services FQDNs and VIP"
serial_step "topology director" topology director "dir01.$Z" --server "dir01a,dir01a.$Z,127.0.0.21" \
    --web-internal "dirweb-int.$Z" --web-external "dirweb-ext.$Z" --vip 127.0.0.102 \
    --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server.key" --check "sips:$SIP_PORT" \
    --ports "$DIR_HTTPS,$DIR_HTTP,$DIR_EXT_HTTPS,$DIR_EXT_HTTP"
expect_in "$OUT" "created Director pool dir01.$Z. in one transaction:" "topology director"
expect_in "$OUT" "record dirweb-ext.$Z. 300 A 127.0.0.102" "topology director (external name on --vip)"
expect_in "$OUT" "vip dir01-ext-https: https 127.0.0.102:$DIR_EXT_HTTPS -> members port $DIR_EXT_HTTPS over TLS, persist cookie MS-WSMAN" \
    "topology director (backend ports default to --ports)"

check "topology edge: two servers, internal + Access/Web Conferencing/A/V pools on service addresses, discovery"
serial_step "topology edge" topology edge "edge01.$Z" \
    --server "edge01a,edge01a.$Z,127.0.0.31,127.0.0.41,127.0.0.51,127.0.0.61" \
    --server "edge01b,edge01b.$Z,127.0.0.32,127.0.0.42,127.0.0.52,127.0.0.62" \
    --access "access.$Z" --webconf "webconf.$Z" --av "av.$Z" \
    --check "sips:$SIP_PORT" --access-check "sips:$SIP_PORT" --webconf-check "tls:$TLS_PORT" --av-check "tcp:$TCP_PORT" \
    "${FAST[@]}" --discovery
expect_in "$OUT" "server edge01a: host record edge01a.$Z. -> 127.0.0.31; service addresses 127.0.0.41, 127.0.0.51, 127.0.0.61" "topology edge"
expect_in "$OUT" "pool access.$Z. (Access Edge FQDN): check sips:$SIP_PORT every 500 ms, members edge01a 127.0.0.41, edge01b 127.0.0.42" "topology edge"
expect_in "$OUT" "pool av.$Z. (A/V Edge FQDN): check tcp:$TCP_PORT every 500 ms, members edge01a 127.0.0.61, edge01b 127.0.0.62" "topology edge"
expect_in "$OUT" "record _sipfederationtls._tcp.$Z. 3600 SRV 0 0 5061 access.$Z." "topology edge"
expect_in "$OUT" "record sip.$Z. 3600 CNAME access.$Z." "topology edge"

check "topology mediation"
serial_step "topology mediation" topology mediation "med01.$Z" --server "med01a,med01a.$Z,127.0.0.71" \
    --check "sip:$MED_PORT" "${FAST[@]}"
expect_in "$OUT" "pool med01.$Z. (pool FQDN): check sip:$MED_PORT every 500 ms, members med01a 127.0.0.71" "topology mediation"

check "topology show: every topology, its pools, VIPs, discovery records, rules ok"
ok "topology show" topology show
expect_in "$OUT" "Front End pool pool01.$Z. (since " "topology show"
expect_in "$OUT" "Director pool dir01.$Z. (since " "topology show"
expect_in "$OUT" "Edge pool edge01.$Z. (since " "topology show"
expect_in "$OUT" "Mediation pool med01.$Z. (since " "topology show"
printf '%s\n' "$OUT" | grep -Eq "^  web services \(internal\) +web-int\.$Z\. -> 127\.0\.0\.100$" ||
    fail "topology show: no internal web services line:
$OUT"
printf '%s\n' "$OUT" | grep -Eq "^  A/V +av\.$Z\.  DNS load balanced, check tcp:$TCP_PORT, answering 2 of 2$" ||
    fail "topology show: no A/V line:
$OUT"
printf '%s\n' "$OUT" | grep -Eq "^ +pool01-int-https +https 127\.0\.0\.100:$VIP_HTTPS -> pool01\.$Z\. port $BE_HTTPS over TLS, .*persist source, idle 1800s$" ||
    fail "topology show: no pool01-int-https line:
$OUT"
[ "$(printf '%s\n' "$OUT" | grep -c '^  rules: ok$')" = 4 ] || fail "topology show: not 4 x 'rules: ok':
$OUT"

ok "topology show --json" --json topology show
json "topology show --json: kinds and pool FQDNs" \
    '[(t["kind"], t["fqdn"]) for t in d] == [("frontend", "pool01.contoso.com."), ("director", "dir01.contoso.com."), ("edge", "edge01.contoso.com."), ("mediation", "med01.contoso.com.")] and all(t["problems"] == [] for t in d)'
json "topology show --json: Front End roles, members, records" '
(lambda fe: [(n["role"], n["fqdn"], n["lb"]) for n in fe["names"]] == [
    ("pool", "pool01.contoso.com.", "dns"), ("web-internal", "web-int.contoso.com.", "vip"),
    ("web-external", "web-ext.contoso.com.", "vip"),
    ("discovery", "_sipinternaltls._tcp.contoso.com.", "record"), ("discovery", "sipinternal.contoso.com.", "record"),
    ("discovery", "lyncdiscoverinternal.contoso.com.", "record"), ("discovery", "lyncdiscover.contoso.com.", "record")]
 and [(p["role"], p["fqdn"], p["check"], p["interval_ms"], p["rise"], p["fall"], p["ttl"]) for p in fe["pools"]]
     == [("pool", "pool01.contoso.com.", "sips:'"$SIP_PORT"'", 500, 1, 1, 5)]
 and [(m["server"], m["host"], m["address"], m["admin"]) for m in fe["pools"][0]["members"]] == [
    ("fe01", "fe01.contoso.com.", "127.0.0.11", "enabled"), ("fe02", "fe02.contoso.com.", "127.0.0.12", "enabled"),
    ("fe03", "fe03.contoso.com.", "127.0.0.13", "enabled")]
 and {(r["name"], r["type"], r["rdata"]) for r in fe["records"]} == {
    ("web-int.contoso.com.", "A", "127.0.0.100"), ("web-ext.contoso.com.", "A", "127.0.0.101"),
    ("_sipinternaltls._tcp.contoso.com.", "SRV", "0 0 5061 pool01.contoso.com."),
    ("sipinternal.contoso.com.", "CNAME", "pool01.contoso.com."),
    ("lyncdiscoverinternal.contoso.com.", "CNAME", "web-int.contoso.com."),
    ("lyncdiscover.contoso.com.", "CNAME", "web-ext.contoso.com.")})(d[0])'
json "topology show --json: Front End VIPs (source inside, MS-WSMAN cookie outside, idle 1800 s, TLS re-encrypted)" '
sorted((v["name"], v["listen"], v["backend_port"], v["scheme"], v["backend_tls"], v["persist"], v["cookie_name"] if v["persist"] == "cookie" else None, v["cookie_httponly"] if v["persist"] == "cookie" else None, v["idle_timeout_s"]) for v in d[0]["vips"]) == sorted([
    ("pool01-int-https", "127.0.0.100:'"$VIP_HTTPS"'", '"$BE_HTTPS"', "https", True, "source", None, None, 1800),
    ("pool01-int-http", "127.0.0.100:'"$VIP_HTTP"'", '"$BE_HTTP"', "http", False, "source", None, None, 1800),
    ("pool01-ext-https", "127.0.0.101:'"$VIP_EXT_HTTPS"'", '"$BE_EXT_HTTPS"', "https", True, "cookie", "MS-WSMAN", False, 1800),
    ("pool01-ext-http", "127.0.0.101:'"$VIP_EXT_HTTP"'", '"$BE_EXT_HTTP"', "http", False, "cookie", "MS-WSMAN", False, 1800)])
 and all(v["pool"] == "pool01.contoso.com." and v["certs"] == ([{"cert": "'"$CERTS"'/server.pem", "key": "'"$CERTS"'/server.key"}] if v["scheme"] == "https" else []) for v in d[0]["vips"])'
json "topology show --json: Director" '
d[1]["names"][:3] == [{"role": "pool", "fqdn": "dir01.contoso.com.", "lb": "dns"}, {"role": "web-internal", "fqdn": "dirweb-int.contoso.com.", "lb": "vip"}, {"role": "web-external", "fqdn": "dirweb-ext.contoso.com.", "lb": "vip"}]
 and len(d[1]["names"]) == 3 and sorted(v["name"] for v in d[1]["vips"]) == ["dir01-ext-http", "dir01-ext-https", "dir01-int-http", "dir01-int-https"]
 and all(v["idle_timeout_s"] == 1800 for v in d[1]["vips"])'
json "topology show --json: Edge roles, pools on internal and service addresses, checks" '
(lambda e: [(n["role"], n["fqdn"], n["lb"]) for n in e["names"] if n["role"] != "discovery"] == [
    ("edge-internal", "edge01.contoso.com.", "dns"), ("edge-access", "access.contoso.com.", "dns"),
    ("edge-webconf", "webconf.contoso.com.", "dns"), ("edge-av", "av.contoso.com.", "dns")]
 and [(p["role"], p["fqdn"], p["check"], [(m["server"], m["host"], m["address"]) for m in p["members"]]) for p in e["pools"]] == [
    ("edge-internal", "edge01.contoso.com.", "sips:'"$SIP_PORT"'", [("edge01a", "edge01a.contoso.com.", "127.0.0.31"), ("edge01b", "edge01b.contoso.com.", "127.0.0.32")]),
    ("edge-access", "access.contoso.com.", "sips:'"$SIP_PORT"'", [("edge01a", "edge01a.contoso.com.", "127.0.0.41"), ("edge01b", "edge01b.contoso.com.", "127.0.0.42")]),
    ("edge-webconf", "webconf.contoso.com.", "tls:'"$TLS_PORT"'", [("edge01a", "edge01a.contoso.com.", "127.0.0.51"), ("edge01b", "edge01b.contoso.com.", "127.0.0.52")]),
    ("edge-av", "av.contoso.com.", "tcp:'"$TCP_PORT"'", [("edge01a", "edge01a.contoso.com.", "127.0.0.61"), ("edge01b", "edge01b.contoso.com.", "127.0.0.62")])]
 and e["vips"] == []
 and {(r["name"], r["type"], r["rdata"]) for r in e["records"]} == {
    ("_sip._tls.contoso.com.", "SRV", "0 0 443 access.contoso.com."),
    ("_sipfederationtls._tcp.contoso.com.", "SRV", "0 0 5061 access.contoso.com."),
    ("sip.contoso.com.", "CNAME", "access.contoso.com.")})(d[2])'
json "topology show --json: Mediation" \
    '[(p["role"], p["fqdn"], p["check"], [m["address"] for m in p["members"]]) for p in d[3]["pools"]] == [("pool", "med01.contoso.com.", "sip:'"$MED_PORT"'", ["127.0.0.71"])] and d[3]["vips"] == [] and d[3]["records"] == []'
ok "topology show POOL --json" --json topology show "EDGE01.$Z"
json "topology show POOL --json" '[t["fqdn"] for t in d] == ["edge01.contoso.com."]'

check "server list: Edge service addresses are apart from the host addresses"
ok "server list --json" --json server list
json "server list --json" '{s["name"]: (s["addresses"], s["service_addresses"]) for s in d}["edge01b"] == (["127.0.0.32"], ["127.0.0.42", "127.0.0.52", "127.0.0.62"])'

check "topology check and zone check: clean"
ok "topology check" topology check
expect_in "$OUT" "ok: every pool and topology follows the DNS load-balancing rules" "topology check"
ok "zone check" zone check
ok "topology check --json" --json topology check
json "topology check --json" 'd == []'

# ==== D. every rule refuses the edit that would break it; nothing is written ====

check "a server whose host name no served zone holds (allowed outside topologies)"
ok "server add x1" server add x1 --host x1.fabrikam.net --addr 127.0.0.81
expect_in "$OUT" "note: no zone we serve contains x1.fabrikam.net." "server add x1"

cp "$DB" db.orig
[ ! -e "$DB-wal" ] || [ ! -s "$DB-wal" ] || fail "the WAL still holds pages after pooldnsctl exited: cmp would prove nothing"
FE2=(topology frontend "pool02.$Z" --server "fe04,fe04.$Z,127.0.0.14" --vip 127.0.0.103
     --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server.key" --ports "20441,20080,24443,28080")
bad_cmd "R1: internal web services FQDN = the pool FQDN" 1 \
    "--web-internal: 'pool02.$Z.' is the pool FQDN; Microsoft requires the web services FQDN to differ from the pool FQDN" \
    "${FE2[@]}" --web-internal "pool02.$Z" --web-external "web2-ext.$Z"
bad_cmd "R1: external web services FQDN = the pool FQDN" 1 "--web-external: 'pool02.$Z.' is the pool FQDN" \
    "${FE2[@]}" --web-internal "web2-int.$Z" --web-external "POOL02.$Z."
bad_cmd "R1: web services FQDN = another pool's FQDN (the Edge pool)" 1 \
    "--web-internal: NAME: 'edge01.$Z.' is a pool; its addresses come from its members, so an A record cannot stand there" \
    "${FE2[@]}" --web-internal "edge01.$Z" --web-external "web2-ext.$Z"
bad_cmd "R1: web services FQDN = another pool's FQDN (the Front End pool, for a Director)" 1 \
    "--web-external: NAME: 'pool01.$Z.' is a pool" \
    topology director "dir02.$Z" --server "dir02a,dir02a.$Z,127.0.0.22" --web-internal "dir2web.$Z" \
    --web-external "pool01.$Z" --vip 127.0.0.104 --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server.key" \
    --ports 20441,20080,24443,28080
bad_cmd "R1 (unique): the Front End's internal web services FQDN for a second Front End" 1 \
    "--web-internal: zone $Z. already has A records at 'web-int.$Z.'; delete them first" \
    "${FE2[@]}" --web-internal "web-int.$Z" --web-external "web2-ext.$Z"
bad_cmd "R1 (unique): the Director's external web services FQDN for a Front End" 1 \
    "--web-external: zone $Z. already has A records at 'dirweb-ext.$Z.'; delete them first" \
    "${FE2[@]}" --web-internal "web2-int.$Z" --web-external "dirweb-ext.$Z"
bad_cmd "R1: the web services FQDN pointed at a Front End server instead of the VIP" 1 \
    "topology pool01.$Z.: the internal web services FQDN 'web-int.$Z.' resolves to 127.0.0.11, where no VIP of pool 'pool01.$Z.' listens" \
    record replace "$Z" web-int 300 A 127.0.0.11
expect_in "$ERR" "this edit would break the DNS load-balancing rules; nothing was changed:" "R1 (VIP)"
bad_cmd "R1: record delete of the web services FQDN's A record" 1 \
    "topology pool01.$Z.: the internal web services FQDN 'web-int.$Z.' has no address records; it must resolve to the VIP" \
    record delete "$Z" web-int A 127.0.0.100
bad_cmd "R1: record delete of the Director's external web services RRset" 1 \
    "topology dir01.$Z.: the external web services FQDN 'dirweb-ext.$Z.' has no address records" \
    record delete "$Z" dirweb-ext A
bad_cmd "R2: a stray A record at the Front End pool FQDN" 1 \
    "NAME: 'pool01.$Z.' is a pool; its addresses come from its members, so an A record cannot stand there" \
    record add "$Z" pool01 300 A 127.0.0.11
bad_cmd "R2: a CNAME at the Access Edge pool FQDN" 1 \
    "NAME: 'access.$Z.' is a pool; its addresses come from its members, so a CNAME record cannot stand there" \
    record add "$Z" access 300 CNAME "edge01a.$Z."
bad_cmd "R3: member add of a server whose host no served zone holds, into a topology pool" 1 \
    "topology pool01.$Z.: server 'x1' (member of pool01.$Z.) has the host name 'x1.fabrikam.net.', which no zone here serves" \
    member add "pool01.$Z" x1 127.0.0.81
bad_cmd "a topology pool keeps a member: member remove of the Mediation pool's only one" 1 \
    "topology med01.$Z.: the pool FQDN 'med01.$Z.' has no members left, so it answers no address" \
    member remove "med01.$Z" med01a
bad_cmd "a topology pool keeps a member: server delete of its only one" 1 \
    "the pool FQDN 'med01.$Z.' has no members left" \
    server delete med01a
bad_cmd "a pool at a zone apex" 1 \
    "POOL: '$Z.' is the apex of zone '$Z.', where its SOA and NS live" \
    topology mediation "$Z" --server "med02a,med02a.$Z,127.0.0.72"
bad_cmd "R3: a topology server whose host no served zone holds" 1 \
    "--server med02a: no zone served here contains the host name 'med02a.fabrikam.net.'" \
    topology mediation "med02.$Z" --server "med02a,med02a.fabrikam.net,127.0.0.72"
EDGE2=(topology edge "edge02.$Z" --server "edge02a,edge02a.$Z,127.0.0.33,127.0.0.43,127.0.0.53,127.0.0.63"
       --access "access2.$Z" --webconf "webconf2.$Z" --av "av2.$Z")
bad_cmd "R4: --internal-hlb without --external-hlb" 1 \
    "--internal-hlb: the internal Edge interface would sit behind a hardware load balancer and the external one use DNS load balancing" \
    "${EDGE2[@]}" --internal-hlb 127.0.0.90
bad_cmd "R4: --external-hlb without --internal-hlb" 1 \
    "--external-hlb: the external Edge interface would sit behind a hardware load balancer and the internal one use DNS load balancing" \
    "${EDGE2[@]}" --external-hlb 127.0.0.91,127.0.0.92,127.0.0.93
bad_cmd "an Edge --server with 3 fields" 1 "--server: 'edge02a,edge02a.$Z,127.0.0.33' must be NAME,HOST,INTERNAL,ACCESS,WEBCONF,AV" \
    topology edge "edge02.$Z" --server "edge02a,edge02a.$Z,127.0.0.33" --access "access2.$Z" --webconf "webconf2.$Z" --av "av2.$Z"
bad_cmd "a Mediation --server with 4 fields" 1 "--server: 'med02a,med02a.$Z,127.0.0.72,127.0.0.73' must be NAME,HOST,ADDR" \
    topology mediation "med02.$Z" --server "med02a,med02a.$Z,127.0.0.72,127.0.0.73"
bad_cmd "a topology in a zone that does not exist" 1 \
    "POOL: no zone served here contains 'med02.fabrikam.net.'; create the zone first ('pooldnsctl zone create')" \
    topology mediation med02.fabrikam.net --server "med02a,med02a.$Z,127.0.0.72"
bad_cmd "a second topology for the same pool" 1 "POOL: 'med01.$Z.' is already a mediation topology" \
    topology mediation "med01.$Z" --server "med02a,med02a.$Z,127.0.0.72"
bad_cmd "topology without --server (command line)" 2 "topology mediation: at least one --server is required" \
    topology mediation "med02.$Z"
bad_cmd "topology with two POOLs (command line)" 2 "topology mediation takes one POOL FQDN" \
    topology mediation "med02.$Z" "med03.$Z" --server "med02a,med02a.$Z,127.0.0.72"
bad_cmd "topology check with an argument (command line)" 2 "topology check takes no arguments" topology check "pool01.$Z"
run "$PDC" --db "$DB" --json topology frontend "pool02.$Z" --server "fe04,fe04.$Z,127.0.0.14" --web-internal "pool02.$Z" \
    --web-external "web2-ext.$Z" --vip 127.0.0.103 --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server.key"
expect_rc 1 "--json: web services FQDN = pool FQDN"
OUT=$ERR json "--json error" 'd["error"].startswith("--web-internal: ")'
expect_unchanged "--json: web services FQDN = pool FQDN"

check "topology check and zone check report a rule broken behind pooldnsctl's back (on a copy)"
cp db.orig broken.db
sqlite3 broken.db "INSERT INTO records (zone_id, owner, type, ttl, rdata)
  SELECT id, 'pool01.contoso.com.', 1, 300, X'7F00000B' FROM zones WHERE origin = 'contoso.com.'"
sqlite3 broken.db "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
cp broken.db broken.orig
run "$PDC" --db broken.db topology check
expect_rc 1 "topology check with a stray A at pool01"
expect_in "$OUT" "pool pool01.$Z.: zone $Z. has an A record at the pool name" "topology check"
expect_in "$OUT" "pooldnsctl record delete $Z. pool01.$Z. A" "topology check names the fix"
run "$PDC" --db broken.db zone check "$Z"
expect_rc 1 "zone check with a stray A at pool01"
expect_in "$OUT$ERR" "has an A record at the pool name" "zone check"
run "$PDC" --db broken.db --json topology show "pool01.$Z"
json "topology show --json names the broken rule" 'len(d[0]["problems"]) == 1 and d[0]["problems"][0]["where"] == "pool pool01.contoso.com."'
sqlite3 broken.db "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
cmp -s broken.db broken.orig || fail "the checks changed the broken copy"

# ==== B. pooldns serves the topologies; health decides the answers ====

# start_backend NAME MODE ADDR:PORT: a member listener (output in NAME.out).
start_backend() {
    python3 "$BACKEND" --mode "$2" --listen "$3" --print-peers --max-seconds 120 > "$T/$1.out" 2>&1 &
    pids+=($!)
}
check "members: fe01, fe02 alive (sips check, HTTPS/HTTP web ports), fe03 dead; each Edge service alive on one server"
for n in 1 2; do
    start_backend "fe0$n-sips" sips "127.0.0.1$n:$SIP_PORT"
    start_backend "fe0$n-int-https" https "127.0.0.1$n:$BE_HTTPS"
    start_backend "fe0$n-int-http" http "127.0.0.1$n:$BE_HTTP"
    start_backend "fe0$n-ext-https" https "127.0.0.1$n:$BE_EXT_HTTPS"
    start_backend "fe0$n-ext-http" http "127.0.0.1$n:$BE_EXT_HTTP"
done
start_backend edge01a-internal sips "127.0.0.31:$SIP_PORT"
start_backend edge01b-access sips "127.0.0.42:$SIP_PORT"
start_backend edge01a-webconf tls "127.0.0.51:$TLS_PORT"
start_backend edge01b-av tcp "127.0.0.62:$TCP_PORT"
start_backend med01a-sip sip "127.0.0.71:$MED_PORT"
t0=$SECONDS
while true; do
    n=0
    for f in "$T"/*.out; do grep -q '^ready ' "$f" && n=$((n + 1)); done
    [ "$n" -lt "${#pids[@]}" ] || break
    [ $((SECONDS - t0)) -lt 20 ] ||
        fail "only $n of ${#pids[@]} backends became ready in 20 s: $(grep -L '^ready ' "$T"/*.out | tr '\n' ' ')"
    sleep 0.05
done

check "pooldns starts on 127.0.0.1:$DNS_PORT"
"$POOLDNS" --db "$DB" --dns "127.0.0.1:$DNS_PORT" --threads 1 > "$T/pooldns.log" 2>&1 &
server_pid=$!
# answer NAME [TYPE]: the sorted answers, one line.
answer() {
    kdig +short +time=1 +retry=0 @127.0.0.1 -p "$DNS_PORT" "$1" "${2:-A}" 2> /dev/null | LC_ALL=C sort | paste -sd ' ' -
}
rcode() {
    kdig +time=1 +retry=0 @127.0.0.1 -p "$DNS_PORT" "$1" "${2:-A}" 2> /dev/null | sed -n 's/.*status: \([A-Z]*\).*/\1/p'
}
for _ in $(seq 200); do
    grep -q ' listening ' "$T/pooldns.log" 2> /dev/null && break
    kill -0 "$server_pid" 2> /dev/null || fail "pooldns exited at start"
    sleep 0.02
done
for _ in $(seq 100); do
    [ "$(answer "ns1.$Z")" = 127.0.0.1 ] && break
    sleep 0.05
done
[ "$(answer "ns1.$Z")" = 127.0.0.1 ] || fail "pooldns does not answer ns1.$Z"

check "health settles: pools answer exactly their live members (polled, at most 15 s)"
settled() {
    [ "$(answer "pool01.$Z")" = "127.0.0.11 127.0.0.12" ] && [ "$(answer "edge01.$Z")" = 127.0.0.31 ] &&
        [ "$(answer "access.$Z")" = 127.0.0.42 ] && [ "$(answer "webconf.$Z")" = 127.0.0.51 ] &&
        [ "$(answer "av.$Z")" = 127.0.0.62 ]
}
t0=$SECONDS
until settled; do
    [ $((SECONDS - t0)) -lt 15 ] || fail "health did not settle in 15 s: pool01 '$(answer "pool01.$Z")', edge01 '$(answer "edge01.$Z")', access '$(answer "access.$Z")', webconf '$(answer "webconf.$Z")', av '$(answer "av.$Z")'"
    sleep 0.1
done
echo "[$NAME] settled after $((SECONDS - t0)) s"

# expect_answer NAME TYPE WANT: the sorted answer to NAME TYPE is WANT.
expect_answer() {
    local got
    got=$(answer "$1" "$2")
    [ "$got" = "$3" ] || fail "$1 $2: expected '$3', got '$got'"
}
check "pools: Front End 2 of 3, each Edge service its own live server, Mediation"
expect_answer "pool01.$Z" A "127.0.0.11 127.0.0.12"
expect_answer "edge01.$Z" A 127.0.0.31
expect_answer "access.$Z" A 127.0.0.42
expect_answer "webconf.$Z" A 127.0.0.51
expect_answer "av.$Z" A 127.0.0.62
expect_answer "med01.$Z" A 127.0.0.71
check "host records: every server, down or not; Edge servers only their internal address"
expect_answer "fe01.$Z" A 127.0.0.11
expect_answer "fe03.$Z" A 127.0.0.13
expect_answer "dir01a.$Z" A 127.0.0.21
expect_answer "edge01a.$Z" A 127.0.0.31
expect_answer "edge01b.$Z" A 127.0.0.32
expect_answer "med01a.$Z" A 127.0.0.71
check "discovery: SRV and CNAME records, chased to the pool and the VIPs"
expect_answer "_sipinternaltls._tcp.$Z" SRV "0 0 5061 pool01.$Z."
expect_answer "_sip._tls.$Z" SRV "0 0 443 access.$Z."
expect_answer "_sipfederationtls._tcp.$Z" SRV "0 0 5061 access.$Z."
expect_answer "sipinternal.$Z" CNAME "pool01.$Z."
expect_answer "sip.$Z" CNAME "access.$Z."
expect_answer "lyncdiscover.$Z" CNAME "web-ext.$Z."
expect_answer "lyncdiscoverinternal.$Z" CNAME "web-int.$Z."
expect_answer "lyncdiscoverinternal.$Z" A "127.0.0.100 web-int.$Z."
expect_answer "lyncdiscover.$Z" A "127.0.0.101 web-ext.$Z."
expect_answer "sipinternal.$Z" A "127.0.0.11 127.0.0.12 pool01.$Z."
expect_answer "sip.$Z" A "127.0.0.42 access.$Z."
check "web services FQDNs resolve to the VIPs"
expect_answer "web-int.$Z" A 127.0.0.100
expect_answer "web-ext.$Z" A 127.0.0.101
expect_answer "dirweb-int.$Z" A 127.0.0.102
expect_answer "dirweb-ext.$Z" A 127.0.0.102
check "no name answers an Edge service address but its service's pool"
for name in "edge01.$Z" "edge01a.$Z" "edge01b.$Z"; do
    case " $(answer "$name") " in *" 127.0.0.4"* | *" 127.0.0.5"* | *" 127.0.0.6"*) fail "$name answers a service address" ;; esac
done
[ "$(rcode "edge01a.$Z" AAAA)" = NOERROR ] && [ -z "$(answer "edge01a.$Z" AAAA)" ] ||
    fail "edge01a.$Z AAAA: expected NOERROR without answers"

check "topology show follows the health the server records"
for _ in $(seq 50); do
    run "$PDC" --db "$DB" topology show "pool01.$Z"
    case "$OUT" in *"answering 2 of 3"*) break ;; esac
    sleep 0.1
done
expect_in "$OUT" "DNS load balanced, check sips:$SIP_PORT, answering 2 of 3" "topology show pool01 under health checks"
printf '%s\n' "$OUT" | grep -Eq '^ +fe03 +fe03\.contoso\.com\. +127\.0\.0\.13 +enabled +down +NOT answered$' ||
    fail "topology show: fe03 not shown down:
$OUT"

check "a pool with nobody up says that its all-down policy answers every member (the Director: no listener)"
for _ in $(seq 50); do
    run "$PDC" --db "$DB" status "dir01.$Z"
    case "$OUT" in *"answering 0 of 1"*) break ;; esac
    sleep 0.1
done
expect_in "$OUT" "answering 0 of 1 (all down: policy 'all' answers every enabled member)" "status dir01 all down"
run "$PDC" --db "$DB" topology show "dir01.$Z"
expect_in "$OUT" "answering 0 of 1 (all down: policy 'all' answers every enabled member)" "topology show dir01 all down"
expect_answer "dir01.$Z" A 127.0.0.21

# ==== C. the web services VIPs ====

# http_get OUTFILE URL NAME PORT ADDR [CURL-ARGS...]: curl through --resolve; headers and body in OUTFILE.
http_get() {
    local out=$1 url=$2 name=$3 port=$4 addr=$5
    shift 5
    curl -sk -i --max-time 5 --resolve "$name:$port:$addr" "$@" "$url" > "$out" 2> /dev/null
}
# hits FILE: requests a backend logged.
hits() { grep -c '^http GET /' "$1" || true; }

check "internal HTTPS: the VIP at the address DNS gives reaches a live member's HTTPS listener (source persistence)"
ADDR=$(answer "web-int.$Z")
[ "$ADDR" = 127.0.0.100 ] || fail "web-int.$Z resolves to '$ADDR'"
URL="https://web-int.$Z:$VIP_HTTPS/"
for _ in $(seq 100); do
    http_get resp "$URL" "web-int.$Z" "$VIP_HTTPS" "$ADDR" && break
    sleep 0.05
done
http_get resp "$URL" "web-int.$Z" "$VIP_HTTPS" "$ADDR" || fail "curl $URL (via $ADDR) failed"
head -n1 resp | grep -q '^HTTP/1.1 200' || fail "internal HTTPS VIP: $(cat resp)"
grep -q '^200 OK' resp || fail "internal HTTPS VIP: not the member's body: $(cat resp)"
grep -qi '^set-cookie:' resp && fail "internal HTTPS VIP (persist source) set a cookie: $(cat resp)"
for _ in 1 2 3; do http_get resp "$URL" "web-int.$Z" "$VIP_HTTPS" "$ADDR" || fail "curl $URL again"; done
h1=$(hits "$T/fe01-int-https.out") h2=$(hits "$T/fe02-int-https.out")
[ $((h1 + h2)) -ge 5 ] && { [ "$h1" = 0 ] || [ "$h2" = 0 ]; } ||
    fail "internal HTTPS: expected every request on one live member (source persistence), fe01 got $h1, fe02 $h2"
grep -q "^http GET / web-int.$Z:$VIP_HTTPS\$" "$T/fe01-int-https.out" "$T/fe02-int-https.out" ||
    fail "internal HTTPS: the member did not see Host web-int.$Z:$VIP_HTTPS"

check "internal HTTP: no cookie (source persistence)"
http_get resp "http://web-int.$Z:$VIP_HTTP/" "web-int.$Z" "$VIP_HTTP" "$ADDR" || fail "curl internal HTTP VIP failed"
head -n1 resp | grep -q '^HTTP/1.1 200' || fail "internal HTTP VIP: $(cat resp)"
grep -qi '^set-cookie:' resp && fail "internal HTTP VIP (persist source) set a cookie: $(cat resp)"
[ $(($(hits "$T/fe01-int-http.out") + $(hits "$T/fe02-int-http.out"))) = 1 ] || fail "internal HTTP: no live member got the request"

check "external HTTP and HTTPS: the MS-WSMAN cookie (not HttpOnly, no expiry), followed by later requests"
EXT=$(answer "web-ext.$Z")
[ "$EXT" = 127.0.0.101 ] || fail "web-ext.$Z resolves to '$EXT'"
for scheme in http https; do
    if [ $scheme = http ]; then port=$VIP_EXT_HTTP what=ext-http; else port=$VIP_EXT_HTTPS what=ext-https; fi
    url="$scheme://web-ext.$Z:$port/"
    http_get resp "$url" "web-ext.$Z" "$port" "$EXT" || fail "curl $url failed"
    head -n1 resp | grep -q '^HTTP/1.1 200' || fail "external $scheme VIP: $(cat resp)"
    cookie=$(grep -i '^set-cookie: MS-WSMAN=' resp | tr -d '\r') || fail "external $scheme VIP: no MS-WSMAN cookie: $(cat resp)"
    case "$cookie" in *[Hh]ttp[Oo]nly* | *[Ee]xpires* | *[Mm]ax-[Aa]ge*) fail "external $scheme: the cookie must be a session cookie without HttpOnly: $cookie" ;; esac
    pair=$(printf '%s\n' "$cookie" | sed 's/^[^:]*: *//; s/;.*//')
    for _ in 1 2 3; do http_get resp "$url" "web-ext.$Z" "$port" "$EXT" -H "Cookie: $pair" || fail "curl $url with the cookie"; done
    h1=$(hits "$T/fe01-$what.out") h2=$(hits "$T/fe02-$what.out")
    [ $((h1 + h2)) = 4 ] && { [ "$h1" = 0 ] || [ "$h2" = 0 ]; } ||
        fail "external $scheme: the cookie should keep all 4 requests on one member, fe01 got $h1, fe02 $h2"
    # The premise: without the cookie, consecutive requests go to both live members.
    for _ in 1 2; do
        http_get resp "$url" "web-ext.$Z" "$port" "$EXT" || fail "curl $url without the cookie"
        grep -qi '^set-cookie: MS-WSMAN=' resp || fail "external $scheme: a new client got no cookie: $(cat resp)"
    done
    [ "$(hits "$T/fe01-$what.out")" -gt 0 ] && [ "$(hits "$T/fe02-$what.out")" -gt 0 ] ||
        fail "external $scheme: requests without the cookie never reached the other live member"
done
if grep -q 'vip_backend_failed' "$T/pooldns.log"; then
    fail "a VIP tried a member that is down: $(grep vip_backend_failed "$T/pooldns.log")"
fi

# ==== E. topology delete forgets the topology; its pools stay ====

check "topology delete: forgotten, its rules no longer apply, its pool still answers"
ok "topology delete" topology delete "pool01.$Z"
[ "$OUT" = "forgot Front End pool pool01.$Z.; its pools, servers, VIPs and records stay (delete them with their own commands)" ] ||
    fail "topology delete: '$OUT'"
ok "topology show --json after delete" --json topology show
json "topology show --json after delete" '[t["fqdn"] for t in d] == ["dir01.contoso.com.", "edge01.contoso.com.", "med01.contoso.com."]'
run "$PDC" --db "$DB" topology show "pool01.$Z"
expect_rc 1 "topology show of the forgotten topology"
expect_in "$ERR" "POOL: no topology 'pool01.$Z.'" "topology show of the forgotten topology"
ok "pool list --json" --json pool list
json "pool list after topology delete" '"pool01.contoso.com." in [p["fqdn"] for p in d]'
ok "vip list --json" --json vip list
json "vip list after topology delete" 'sum(v["name"].startswith("pool01-") for v in d) == 4'
ok "record delete of the web services A record (no rule holds it now)" record delete "$Z" web-int A 127.0.0.100
ok "topology check after delete" topology check
expect_answer "pool01.$Z" A "127.0.0.11 127.0.0.12"
t0=$SECONDS
until [ "$(rcode "web-int.$Z")" = NXDOMAIN ]; do
    [ $((SECONDS - t0)) -lt 3 ] || fail "web-int.$Z still answered $(answer "web-int.$Z") 3 s after its record went"
    sleep 0.1
done

kill "$server_pid"
wait "$server_pid" || fail "pooldns exited non-zero on SIGTERM"
server_pid=""
echo "[$NAME] PASS"
