#!/usr/bin/env bash
# Servers, pools, members and status through the real pooldnsctl: every verb
# in text and --json, what status shows from recorded health and the checker's
# heartbeat, and bad input: each bad argument exits 1 (2 for a bad command
# line), names the argument, and leaves the database byte-for-byte as it was.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup "$@"

command -v sqlite3 > /dev/null || fail "sqlite3 (the CLI) is needed"
command -v python3 > /dev/null || fail "python3 is needed to parse --json output"
ORIGIN=contoso.com
DB=$T/pools.db

cat > contoso.zone <<'EOF'
$ORIGIN contoso.com.
$TTL 3600
@       SOA ns1 hostmaster 100 3600 600 1209600 60
        NS  ns1
ns1     A   192.0.2.1
www     A   192.0.2.80
alias   CNAME www
sub     NS  ns.other.example.
EOF

check "zone, servers, pools and members are set up through the CLI"
ok "zone import" zone import "$ORIGIN" contoso.zone

ok "server add fe01" server add fe01 --host fe01.contoso.com --addr 192.0.2.11 --addr 2001:db8::11
expect_in "$OUT" "added server fe01: host fe01.contoso.com. -> 192.0.2.11, 2001:db8::11" "server add fe01"
expect_in "$OUT" "served in zone contoso.com." "server add fe01"
case "$OUT" in *note:*) fail "server add fe01: a host in our zone needs no note: $OUT" ;; esac
ok "server add fe02" server add fe02 --host fe02.contoso.com --addr 192.0.2.12 --ttl 300
ok "server add fe03 (host in no zone of ours)" server add fe03 --host fe03.example.net --addr 192.0.2.13
expect_in "$OUT" "note: no zone we serve contains fe03.example.net.; its host record is not served by pooldns" \
    "server add fe03"
run "$PDC" --db "$DB" --json server add edge01 --host edge01.contoso.com --addr 192.0.2.21 --addr 192.0.2.22
expect_ok "server add --json"
json "server add --json" 'd["server"]["name"] == "edge01" and d["server"]["addresses"] == ["192.0.2.21", "192.0.2.22"] and d["server"]["ttl"] == 3600 and d["server"]["zone"] == "contoso.com." and d["note"] == ""'

ok "pool add pool01" pool add pool01.contoso.com --check tcp:5061 --interval 2 --timeout 1
expect_in "$OUT" "added pool pool01.contoso.com. in zone contoso.com.: A, ttl 30, check tcp:5061 every 2s (timeout 1s, rise 2, fall 3), all-down all" "pool add pool01"
ok "pool add pool6" pool add pool6.contoso.com --type AAAA --ttl 60
ok "pool add spare" pool add spare.contoso.com
run "$PDC" --db "$DB" --json pool add web.contoso.com --check https:443/health,status=200-299 --interval 5s \
    --timeout 500ms --rise 1 --fall 2 --degraded-ttl 5 --max-records 2 --all-down backup:spare.contoso.com \
    --source 192.0.2.1
expect_ok "pool add --json with every option"
json "pool add --json" 'd["fqdn"] == "web.contoso.com." and d["interval_ms"] == 5000 and d["timeout_ms"] == 500 and d["rise"] == 1 and d["fall"] == 2 and d["degraded_ttl"] == 5 and d["max_records"] == 2 and d["all_down"] == "backup:spare.contoso.com." and d["source"] == "192.0.2.1" and d["check"].startswith("https:443/health") and d["members"] == []'

ok "member add fe01" member add pool01.contoso.com fe01 192.0.2.11 --weight 2
expect_in "$OUT" "added fe01 to pool pool01.contoso.com.: answered as 192.0.2.11 (weight 2)" "member add fe01"
ok "member add fe02" member add pool01.contoso.com fe02 192.0.2.12 --probe 10.0.0.12
expect_in "$OUT" "probed on 10.0.0.12" "member add fe02 --probe"
ok "member add fe03" member add pool01.contoso.com fe03 192.0.2.13
ok "member add pool6" member add pool6.contoso.com fe01 2001:db8::11
run "$PDC" --db "$DB" --json member add web.contoso.com edge01 192.0.2.22
expect_ok "member add --json"
json "member add --json" 'd == {"pool": "web.contoso.com.", "server": "edge01", "address": "192.0.2.22", "probe_address": None, "weight": 1, "admin": "enabled"}'

check "server list and pool list: aligned tables and JSON"
ok "server list" server list
header=$(printf '%s\n' "$OUT" | head -n1)
[ "$(echo $header)" = "NAME HOST ADMIN ADDRESSES POOLS" ] || fail "server list header: '$header'"
expect_in "$OUT" "192.0.2.11,2001:db8::11" "server list: fe01's addresses"
expect_in "$OUT" "pool01.contoso.com.,pool6.contoso.com." "server list: fe01's pools"
expect_in "$OUT" "fe03.example.net. (not served)" "server list: fe03's host"
# Aligned: the ADMIN column starts at the same offset on every line.
cols=$(printf '%s\n' "$OUT" | awk '{ print index($0, $(NF-2)) }' | sort -u | wc -l)
[ "$cols" -eq 1 ] || fail "server list is not aligned:
$OUT"
ok "server list --json" --json server list
json "server list --json" 'len(d) == 4 and [s["name"] for s in d] == ["edge01", "fe01", "fe02", "fe03"] and d[2]["ttl"] == 300 and d[3]["zone"] is None and d[1]["pools"] == ["pool01.contoso.com.", "pool6.contoso.com."]'
ok "pool list" pool list
expect_in "$OUT" "FQDN" "pool list header"
expect_in "$OUT" "tcp:5061 every 2s timeout 1s rise 2 fall 3" "pool list: pool01's check"
ok "pool list --json" --json pool list
json "pool list --json" '[p["fqdn"] for p in d] == ["pool01.contoso.com.", "pool6.contoso.com.", "spare.contoso.com.", "web.contoso.com."] and d[0]["type"] == "A" and d[1]["type"] == "AAAA" and d[1]["ttl"] == 60 and len(d[0]["members"]) == 3 and d[0]["members"][1]["probe_address"] == "10.0.0.12" and d[0]["check"] == "tcp:5061" and d[2]["check"] is None'

check "pool set changes only the options given; 'none' clears"
ok "pool set" pool set web.contoso.com --fall 3 --check none --source none --max-records none
expect_in "$OUT" "changed pool web.contoso.com.: A, ttl 30 (degraded 5), no check, all-down backup:spare.contoso.com." "pool set"
ok "pool set --json" --json pool set web.contoso.com --rise 2
json "pool set --json" 'd["rise"] == 2 and d["fall"] == 3 and d["check"] is None and d["source"] is None and d["max_records"] is None and d["degraded_ttl"] == 5 and d["interval_ms"] == 5000'

check "status: headers, member rows, answering counts, checker footer"
ok "status" status
expect_in "$OUT" "pool01.contoso.com. A, ttl 30, check tcp:5061 every 2s (timeout 1s, rise 2, fall 3), all-down all: answering 3 of 3" "status pool01 header"
expect_in "$OUT" "pool6.contoso.com. AAAA, ttl 60, no check, all-down all: answering 1 of 1" "status pool6 header"
expect_in "$OUT" "spare.contoso.com. A, ttl 30, no check, all-down all: answering 0 of 0" "status spare header"
expect_in "$OUT" "SERVER" "status member header"
expect_in "$OUT" "192.0.2.12 probe 10.0.0.12" "status: fe02's probe address"
expect_in "$OUT" "checker: never ran on this file" "status footer without a checker"

check "server drain / block / enable say what they did and its effect"
s_before=$(soa_serial "$DB" "$ORIGIN")
ok "server drain" server drain fe01
[ "$OUT" = "server fe01 drained: out of 2 pools' answers; host record fe01.contoso.com. still served" ] ||
    fail "server drain: '$OUT'"
s_after=$(soa_serial "$DB" "$ORIGIN")
[ "$s_after" != "$s_before" ] || fail "server drain did not bump the serial of $ORIGIN"
ok "server drain again" server drain fe01
expect_in "$OUT" "already drained" "server drain of a drained server"
[ "$(soa_serial "$DB" "$ORIGIN")" = "$s_after" ] || fail "a no-op drain bumped the serial"
ok "status after drain" status pool01.contoso.com
expect_in "$OUT" "answering 2 of 3" "status after drain"
case "$OUT" in *pool6*) fail "status POOL shows other pools: $OUT" ;; esac
ok "server block" server block fe02
[ "$OUT" = "server fe02 blocked: out of 1 pool's answers; host record fe02.contoso.com. hidden" ] ||
    fail "server block: '$OUT'"
ok "server block fe03 (host not ours)" server block fe03
expect_in "$OUT" "host record fe03.example.net. not served by pooldns" "server block fe03"
run "$PDC" --db "$DB" --json server enable fe02
expect_ok "server enable --json"
json "server enable --json" 'd["server"]["admin"] == "enabled" and d["changed"] is True and "back in 1 pool" in d["effect"]'
ok "server enable fe01" server enable fe01
[ "$OUT" = "server fe01 enabled: back in 2 pools' answers; host record fe01.contoso.com. served" ] ||
    fail "server enable: '$OUT'"

check "status shows recorded health, stale probes and the checker's heartbeat"
NOW="strftime('%Y-%m-%dT%H:%M:%fZ','now'"
sqlite3 "$DB" "
INSERT INTO member_health SELECT m.pool_id, m.server_id, 'up', $NOW,'-3600 seconds'), $NOW,'-1 seconds'), 'ok', 1.25
  FROM members m JOIN servers s ON s.id = m.server_id JOIN pools p ON p.id = m.pool_id
  WHERE s.name = 'fe01' AND p.fqdn = 'pool01.contoso.com.';
INSERT INTO member_health SELECT m.pool_id, m.server_id, 'down', $NOW,'-120 seconds'), $NOW,'-1 seconds'), 'connect refused', 0.5
  FROM members m JOIN servers s ON s.id = m.server_id WHERE s.name = 'fe02';
INSERT INTO member_health SELECT m.pool_id, m.server_id, 'up', $NOW,'-600 seconds'), $NOW,'-60 seconds'), 'ok', 2.0
  FROM members m JOIN servers s ON s.id = m.server_id WHERE s.name = 'fe03';
INSERT INTO checker VALUES (1, 4242, $NOW,'-700 seconds'), $NOW), 2, 1050, 1);"
ok "status with health" status pool01.contoso.com
expect_in "$OUT" "answering 1 of 3" "status: fe01 up, fe02 down, fe03 blocked"
fe01=$(printf '%s\n' "$OUT" | grep '^  fe01 ')
fe02=$(printf '%s\n' "$OUT" | grep '^  fe02 ')
fe03=$(printf '%s\n' "$OUT" | grep '^  fe03 ')
expect_in "$fe01" "ok (1.2 ms)" "status: fe01's result with latency"
expect_in "$fe02" "down" "status: fe02 is down"
expect_in "$fe02" "connect refused (0.5 ms)" "status: fe02's result"
expect_in "$fe03" "blocked" "status: fe03 is blocked"
expect_in "$fe03" "(stale)" "status: fe03's last probe is older than 3 intervals + timeout"
case "$fe01$fe02" in *stale*) fail "status: fresh probes marked stale:
$OUT" ;; esac
expect_in "$OUT" "checker: pid 4242, heartbeat " "status footer with a live checker"
expect_in "$OUT" " s ago, 2 targets, 1050 probes, 1 late" "status footer with a live checker"
ok "status --json" --json status
json "status --json" 'd["checker"]["pid"] == 4242 and d["checker"]["alive"] is True and d["checker"]["probes"] == 1050 and [p["fqdn"] for p in d["pools"]] == ["pool01.contoso.com.", "pool6.contoso.com.", "spare.contoso.com.", "web.contoso.com."] and d["pools"][0]["answering"] == 1 and [m["health"] for m in d["pools"][0]["members"]] == ["up", "down", "up"] and d["pools"][0]["members"][0]["last_latency_ms"] == 1.25 and d["pools"][0]["members"][2]["stale"] is True and d["pools"][0]["members"][0]["stale"] is False and d["pools"][0]["members"][2]["admin"] == "blocked"'
sqlite3 "$DB" "UPDATE checker SET heartbeat_at = $NOW,'-12 seconds')"
ok "status with a dead checker" status
expect_in "$OUT" "checker: no heartbeat for 12." "status footer with a dead checker"
expect_in "$OUT" "is pooldns running?" "status footer with a dead checker"
ok "status --json with a dead checker" --json status spare.contoso.com
json "status --json, dead checker" 'd["checker"]["alive"] is False and len(d["pools"]) == 1 and d["pools"][0]["members"] == []'
ok "server enable fe03" server enable fe03

# ---- bad input changes nothing ----

# pooldnsctl has exited, so SQLite has checkpointed the WAL into the main file.
cp "$DB" db.orig
bad_cmd "server add with a bad address" 1 "--addr: '192.0.2.300'" server add fe09 --host fe09.contoso.com --addr 192.0.2.300
bad_cmd "server add with a duplicate host" 1 "--host:" server add fe09 --host fe01.contoso.com --addr 192.0.2.19
bad_cmd "server add at a name with an A record" 1 "--host:" server add fe09 --host www.contoso.com --addr 192.0.2.19
bad_cmd "server add at a pool FQDN" 1 "--host:" server add fe09 --host pool01.contoso.com --addr 192.0.2.19
bad_cmd "server add below a delegation" 1 "--host:" server add fe09 --host x.sub.contoso.com --addr 192.0.2.19
bad_cmd "server add of an existing name" 1 "NAME:" server add fe01 --host fe09.contoso.com --addr 192.0.2.19
bad_cmd "server add with a bad --ttl" 1 "--ttl:" server add fe09 --host fe09.contoso.com --addr 192.0.2.19 --ttl soon
bad_cmd "server add without --host" 2 "--host" server add fe09 --addr 192.0.2.19
bad_cmd "server add without --addr" 2 "--addr" server add fe09 --host fe09.contoso.com
bad_cmd "server add without NAME" 2 "usage" server add --host fe09.contoso.com --addr 192.0.2.19
bad_cmd "server drain of an unknown server" 1 "SERVER: unknown server 'nope'" server drain nope
bad_cmd "server block without NAME" 2 "usage" server block
bad_cmd "server delete of an unknown server" 1 "SERVER:" server delete nope
bad_cmd "server with an unknown verb" 2 "unknown verb 'frob'" server frob fe01

bad_cmd "pool add outside our zones" 1 "POOL:" pool add pool.example.org
bad_cmd "pool add at a CNAME" 1 "POOL:" pool add alias.contoso.com
bad_cmd "pool add below a delegation" 1 "POOL:" pool add x.sub.contoso.com
bad_cmd "pool add at a server host" 1 "POOL:" pool add fe01.contoso.com
bad_cmd "pool add of an existing pool" 1 "POOL:" pool add pool01.contoso.com
bad_cmd "pool add with --timeout > --interval" 1 "--timeout:" pool add p.contoso.com --interval 2 --timeout 3
bad_cmd "pool add with a bad --check" 1 "--check:" pool add p.contoso.com --check ftp:21
bad_cmd "pool add with a --check port out of range" 1 "--check:" pool add p.contoso.com --check tcp:70000
bad_cmd "pool add with a bad --type" 1 "--type:" pool add p.contoso.com --type MX
bad_cmd "pool add with a bad --rise" 1 "--rise:" pool add p.contoso.com --rise 0
bad_cmd "pool add with a bad --source" 1 "--source:" pool add p.contoso.com --source here
bad_cmd "pool add with a missing backup" 1 "--all-down:" pool add p.contoso.com --all-down backup:nope.contoso.com
bad_cmd "pool add with a bad --all-down" 1 "--all-down:" pool add p.contoso.com --all-down some
bad_cmd "pool set making a loop of backups" 1 "--all-down: backup pools would form a loop" \
    pool set spare.contoso.com --all-down backup:web.contoso.com
bad_cmd "pool set making a pool its own backup" 1 "--all-down:" pool set spare.contoso.com --all-down backup:spare.contoso.com
bad_cmd "pool set --timeout > stored --interval" 1 "--timeout:" pool set pool01.contoso.com --timeout 2.5
bad_cmd "pool set --type with members of the other family" 1 "--type:" pool set pool01.contoso.com --type AAAA
bad_cmd "pool set of an unknown pool" 1 "POOL: unknown pool" pool set nope.contoso.com --ttl 5
bad_cmd "pool set without options" 2 "usage" pool set pool01.contoso.com
bad_cmd "pool add with an unknown option" 2 "--bogus" pool add p.contoso.com --bogus 1
bad_cmd "pool add with an option missing its value" 2 "--ttl" pool add p.contoso.com --ttl
bad_cmd "pool delete of a backup pool" 1 "POOL: 'spare.contoso.com.' is the backup of web.contoso.com." \
    pool delete spare.contoso.com
bad_cmd "pool delete of an unknown pool" 1 "POOL:" pool delete nope.contoso.com
bad_cmd "pool delete without FQDN" 2 "usage" pool delete
bad_cmd "pool with an unknown verb" 2 "unknown verb 'frob'" pool frob

bad_cmd "member add to an unknown pool" 1 "POOL: unknown pool" member add nope.contoso.com fe01 192.0.2.11
bad_cmd "member add of an unknown server" 1 "SERVER: unknown server" member add spare.contoso.com nope 192.0.2.11
bad_cmd "member add with a bad address" 1 "ADDR: '192.0.2'" member add spare.contoso.com fe01 192.0.2
bad_cmd "member add with an address not of the server" 1 "ADDR: 192.0.2.12 is not an address of server 'fe01'" \
    member add spare.contoso.com fe01 192.0.2.12
bad_cmd "member add with the wrong family" 1 "ADDR: 2001:db8::11 is an IPv6 address" \
    member add spare.contoso.com fe01 2001:db8::11
bad_cmd "member add of a member twice" 1 "SERVER: 'fe01' is already a member" member add pool01.contoso.com fe01 192.0.2.11
bad_cmd "member add with a bad --weight" 1 "--weight:" member add spare.contoso.com fe01 192.0.2.11 --weight 0
bad_cmd "member add with a bad --probe" 1 "--probe:" member add spare.contoso.com fe01 192.0.2.11 --probe nat
bad_cmd "member add without ADDR" 2 "usage" member add spare.contoso.com fe01
bad_cmd "member remove of a non-member" 1 "SERVER: 'fe01' is not a member" member remove spare.contoso.com fe01
bad_cmd "member remove from an unknown pool" 1 "POOL:" member remove nope.contoso.com fe01
bad_cmd "member with an unknown verb" 2 "unknown verb 'frob'" member frob

bad_cmd "status of an unknown pool" 1 "POOL: unknown pool" status nope.contoso.com
bad_cmd "status with two pools" 2 "usage" status pool01.contoso.com pool6.contoso.com

bad_cmd "record add of an A at a pool FQDN" 1 "NAME: 'pool01.contoso.com.' is a pool" record add "$ORIGIN" pool01 300 A 192.0.2.9
bad_cmd "record add of a CNAME at a server host" 1 "NAME: 'fe01.contoso.com.' is the host name" \
    record add "$ORIGIN" fe01 300 CNAME www

{ cat contoso.zone; echo 'pool01  A   192.0.2.9'; } > pool_a.zone
bad_cmd "zone import with an A at a pool FQDN" 1 "pool_a.zone:9:" zone import "$ORIGIN" pool_a.zone

check "--json errors are one JSON object on stderr"
run "$PDC" --db "$DB" --json member add spare.contoso.com fe01 192.0.2.12
expect_rc 1 "member add --json with a bad ADDR"
OUT=$ERR json "--json error" 'd["error"].startswith("ADDR: ")'
expect_unchanged "member add --json with a bad ADDR"

check "the remaining verbs: member remove, pool delete, server delete"
ok "member remove" member remove pool01.contoso.com fe03
[ "$OUT" = "removed fe03 (192.0.2.13) from pool pool01.contoso.com." ] || fail "member remove: '$OUT'"
ok "member remove --json" --json member remove pool6.contoso.com fe01
json "member remove --json" 'd["removed"]["server"] == "fe01" and d["removed"]["pool"] == "pool6.contoso.com."'
ok "pool delete" pool delete pool6.contoso.com
expect_in "$OUT" "deleted pool pool6.contoso.com. (0 members)" "pool delete"
ok "pool delete --json" --json pool delete pool01.contoso.com
json "pool delete --json" 'd == {"deleted": "pool01.contoso.com.", "members": 2}'
ok "server delete" server delete fe02
expect_in "$OUT" "deleted server fe02" "server delete"
ok "server delete --json" --json server delete edge01
json "server delete --json" 'd["deleted"] == "edge01" and d["server"]["pools"] == ["web.contoso.com."]'
ok "server list at the end" --json server list
json "server list at the end" '[s["name"] for s in d] == ["fe01", "fe03"]'
ok "status at the end" status
expect_in "$OUT" "web.contoso.com. A, ttl 30 (degraded 5), no check, all-down backup:spare.contoso.com.: answering 0 of 0" \
    "status at the end"

echo "[$NAME] PASS"
