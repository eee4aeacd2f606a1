#!/usr/bin/env bash
# VIPs through the real pooldnsctl: vip add / set / list / delete in text and
# --json, the VIP section of status from counters inserted with sqlite3 as the
# server would write them (the server itself is not part of this test), and bad
# input: each bad argument exits 1 (2 for a bad command line), names the
# argument, and leaves the database byte-for-byte as it was. The certificates
# are made here with the openssl CLI.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup "$@"

command -v sqlite3 > /dev/null || fail "sqlite3 (the CLI) is needed"
command -v python3 > /dev/null || fail "python3 is needed to parse --json output"
command -v openssl > /dev/null || fail "openssl (the CLI) is needed to make test certificates"
DB=$T/vip.db

cat > contoso.zone <<'EOF'
$ORIGIN contoso.com.
$TTL 3600
@       SOA ns1 hostmaster 100 3600 600 1209600 60
        NS  ns1
ns1     A   192.0.2.1
EOF

mkdir certs
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=web01.contoso.com \
    -keyout certs/rsa.key -out certs/rsa.pem 2> /dev/null || fail "openssl: RSA certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=web01ext.contoso.com \
    -keyout certs/ec.key -out certs/ec.pem 2> /dev/null || fail "openssl: ECDSA certificate"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out certs/other.key 2> /dev/null ||
    fail "openssl: spare key"
CERTS=$(cd certs && pwd -P)

check "a zone, three servers and two pools are set up through the CLI"
ok "zone import" zone import contoso.com contoso.zone
ok "server add fe01" server add fe01 --host fe01.contoso.com --addr 192.0.2.11
ok "server add fe02" server add fe02 --host fe02.contoso.com --addr 192.0.2.12
ok "server add fe03" server add fe03 --host fe03.contoso.com --addr 192.0.2.13
ok "pool add pool01" pool add pool01.contoso.com --check tcp:5061
ok "pool add pool02" pool add pool02.contoso.com
ok "member add fe01" member add pool01.contoso.com fe01 192.0.2.11
ok "member add fe02" member add pool01.contoso.com fe02 192.0.2.12 --probe 10.0.0.12
ok "member add fe03" member add pool02.contoso.com fe03 192.0.2.13
s_before=$(soa_serial "$DB" contoso.com)

check "vip add: HTTPS with two certificates, backend TLS and cookie persistence"
ok "vip add web-int" vip add web-int --listen 192.0.2.100:443 --pool pool01.contoso.com --backend-port 4443 \
    --tls-cert certs/rsa.pem --tls-key certs/rsa.key --tls-cert certs/ec.pem --tls-key certs/ec.key \
    --backend-tls --persist cookie --idle-timeout 900 --header-timeout 2.5
[ "$(printf '%s\n' "$OUT" | head -n1)" = "added vip web-int: https 192.0.2.100:443 -> pool01.contoso.com. port 4443 over TLS, backends not verified, persist cookie MS-WSMAN" ] ||
    fail "vip add web-int: '$OUT'"
expect_in "$OUT" "certificates: $CERTS/rsa.pem (default), $CERTS/ec.pem" "vip add web-int: absolute certificate paths"
ok "vip add web-http (IPv6, source persistence)" vip add web-http --listen '[2001:DB8::100]:80' \
    --pool POOL01.contoso.com. --backend-port 80 --persist source
expect_in "$OUT" "added vip web-http: http [2001:db8::100]:80 -> pool01.contoso.com. port 80, persist source" \
    "vip add web-http"
run "$PDC" --db "$DB" --json vip add web-ext --listen 192.0.2.101:4443 --pool pool02.contoso.com --backend-port 443 \
    --tls-cert certs/ec.pem --tls-key certs/ec.key --backend-tls --backend-sni Web.Contoso.com. \
    --backend-ca certs/rsa.pem --persist cookie --cookie-name SFB_SESSION --cookie-httponly on --cookie-secure on \
    --connect-timeout 500ms --response-timeout 60 --max-connections 100 --max-request-line 4096 \
    --max-header-bytes 32768 --max-header-count 50 --max-body 1048576 --access-log on
expect_ok "vip add --json with every option"
json "vip add --json" 'd["name"] == "web-ext" and d["listen"] == "192.0.2.101:4443" and d["pool"] == "pool02.contoso.com." and d["backend_port"] == 443 and d["scheme"] == "https" and d["certs"] == [{"cert": "'"$CERTS"'/ec.pem", "key": "'"$CERTS"'/ec.key"}] and d["backend_tls"] is True and d["backend_sni"] == "web.contoso.com" and d["backend_ca"] == "'"$CERTS"'/rsa.pem" and d["persist"] == "cookie" and d["cookie_name"] == "SFB_SESSION" and d["cookie_httponly"] is True and d["cookie_secure"] is True and d["idle_timeout_s"] == 1800 and d["header_timeout_ms"] == 10000 and d["connect_timeout_ms"] == 500 and d["response_timeout_ms"] == 60000 and d["max_connections"] == 100 and d["max_request_line"] == 4096 and d["max_header_bytes"] == 32768 and d["max_header_count"] == 50 and d["max_body_bytes"] == 1048576 and d["access_log"] is True and d["created_at"]'

check "VIP edits change no zone serial; the cookie secret exists once and is never printed"
[ "$(soa_serial "$DB" contoso.com)" = "$s_before" ] || fail "a VIP edit moved the serial of contoso.com."
secret=$(sqlite3 "$DB" "SELECT value FROM settings WHERE key = 'vip_cookie_secret'")
[[ "$secret" =~ ^[0-9a-f]{32}$ ]] || fail "cookie secret '$secret' is not 32 lowercase hex characters"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM audit WHERE detail LIKE '%$secret%' OR command LIKE '%$secret%'")" = 0 ] ||
    fail "the cookie secret is in the audit log"

check "vip list: a table and JSON with every field"
ok "vip list" vip list
header=$(printf '%s\n' "$OUT" | head -n1)
[ "$(echo $header)" = "NAME LISTEN SCHEME CERTS POOL BACKEND PERSIST TIMEOUTS LIMITS LOG" ] ||
    fail "vip list header: '$header'"
expect_in "$OUT" "web-ext   192.0.2.101:4443" "vip list: web-ext"
expect_in "$OUT" "port 443 tls sni web.contoso.com ca" "vip list: web-ext's backend"
expect_in "$OUT" "cookie SFB_SESSION HttpOnly Secure" "vip list: web-ext's cookie"
web_int_row=$(printf '%s\n' "$OUT" | grep '^web-int ')
expect_in "$web_int_row" "idle 900s header 2.5s connect 5s response 120s" "vip list: web-int's timeouts"
expect_in "$web_int_row" "conns 20000 line 8KiB header 64KiB fields 100 body 4GiB" "vip list: web-int's limits"
cols=$(printf '%s\n' "$OUT" | awk '{ print index($0, $2) }' | sort -u | wc -l)
[ "$cols" -eq 1 ] || fail "vip list is not aligned:
$OUT"
ok "vip list --json" --json vip list
json "vip list --json" '[v["name"] for v in d] == ["web-ext", "web-http", "web-int"] and d[2]["certs"] == [{"cert": "'"$CERTS"'/rsa.pem", "key": "'"$CERTS"'/rsa.key"}, {"cert": "'"$CERTS"'/ec.pem", "key": "'"$CERTS"'/ec.key"}] and d[1]["scheme"] == "http" and d[1]["listen"] == "[2001:db8::100]:80" and d[1]["certs"] == [] and d[1]["backend_sni"] is None and d[2]["idle_timeout_s"] == 900 and d[2]["header_timeout_ms"] == 2500 and d[1]["max_body_bytes"] == 4294967296 and sorted(d[0].keys()) == sorted(["name", "listen", "pool", "backend_port", "scheme", "certs", "backend_tls", "backend_sni", "backend_ca", "persist", "cookie_name", "cookie_httponly", "cookie_secure", "idle_timeout_s", "header_timeout_ms", "connect_timeout_ms", "response_timeout_ms", "max_connections", "max_request_line", "max_header_bytes", "max_header_count", "max_body_bytes", "access_log", "created_at"])'

check "vip set: only the options given change; certificates are replaced as a list; none/off clear"
ok "vip set web-int" vip set web-int --tls-cert certs/ec.pem --tls-key certs/ec.key --persist source
expect_in "$OUT" "changed vip web-int: https 192.0.2.100:443 -> pool01.contoso.com. port 4443 over TLS, backends not verified, persist source" "vip set web-int"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM vip_certs")" = 0 ] || fail "vip set kept the old SNI certificate"
run "$PDC" --db "$DB" --json vip list
json "vip set replaced the certificate list" '[v["certs"] for v in d if v["name"] == "web-int"] == [[{"cert": "'"$CERTS"'/ec.pem", "key": "'"$CERTS"'/ec.key"}]]'
ok "vip set --json --backend-tls off" --json vip set web-ext --backend-tls off --max-connections 200
json "vip set --backend-tls off" 'd["backend_tls"] is False and d["backend_sni"] is None and d["backend_ca"] is None and d["max_connections"] == 200 and d["cookie_name"] == "SFB_SESSION" and d["max_body_bytes"] == 1048576'
ok "vip set --backend-tls on" --json vip set web-ext --backend-tls on --backend-sni web.contoso.com
json "vip set --backend-tls on" 'd["backend_tls"] is True and d["backend_sni"] == "web.contoso.com"'
ok "vip set --backend-sni none" --json vip set web-ext --backend-sni none
json "vip set --backend-sni none" 'd["backend_tls"] is True and d["backend_sni"] is None'
ok "vip set --tls none" --json vip set web-ext --tls none
json "vip set --tls none" 'd["scheme"] == "http" and d["certs"] == []'
[ "$(sqlite3 "$DB" "SELECT tls_cert IS NULL AND tls_key IS NULL FROM vips WHERE name = 'web-ext'")" = 1 ] ||
    fail "vip set --tls none left a certificate in the row"
[ "$(sqlite3 "$DB" "SELECT group_concat(action, ',') FROM audit WHERE object = 'web-ext' ORDER BY id")" = \
    "vip add,vip set,vip set,vip set,vip set" ] || fail "audit rows of web-ext: $(sqlite3 "$DB" "SELECT action FROM audit WHERE object = 'web-ext'")"

check "status without counters: the VIP section says not running and lists the backends"
ok "status" status
expect_in "$OUT" "vip web-int: https 192.0.2.100:443 -> pool01.contoso.com. port 4443 over TLS, backends not verified, persist source: not running" "status: web-int"
vip_int=$(printf '%s\n' "$OUT" | sed -n '/^vip web-int:/,/^vip \|^checker/p')
expect_in "$vip_int" "SERVER" "status: web-int's member header"
expect_in "$vip_int" "fe01    192.0.2.11:4443" "status: fe01 as a backend of web-int"
expect_in "$vip_int" "fe02    10.0.0.12:4443" "status: fe02 as a backend on its probe address"
expect_in "$OUT" "checker: never ran on this file" "status: the checker footer comes last"
[ "$(printf '%s\n' "$OUT" | tail -n1)" = "checker: never ran on this file" ] || fail "status: the footer is not last"

check "status with counters the server wrote"
NOW="strftime('%Y-%m-%dT%H:%M:%fZ','now'"
sqlite3 "$DB" "
INSERT INTO vip_stats (vip_id, pid, started_at, updated_at, listening, connections, active, refused, requests,
    status_1xx, status_2xx, status_3xx, status_4xx, status_5xx, bytes_in, bytes_out, retries, no_backend)
  SELECT id, 4242, $NOW,'-600 seconds'), $NOW,'-1 seconds'), 1, 120, 3, 2, 1000, 1, 950, 10, 30, 9, 123456, 7654321, 4, 5
  FROM vips WHERE name = 'web-int';
INSERT INTO vip_stats (vip_id, pid, started_at, updated_at, listening, listen_error)
  SELECT id, 4242, $NOW,'-600 seconds'), $NOW,'-1 seconds'), 0, 'address in use' FROM vips WHERE name = 'web-http';
INSERT INTO vip_stats (vip_id, pid, started_at, updated_at, listening)
  SELECT id, 4000, $NOW,'-900 seconds'), $NOW,'-30 seconds'), 1 FROM vips WHERE name = 'web-ext';
INSERT INTO vip_member_stats (vip_id, server_id, picks, failures, active)
  SELECT v.id, s.id, 600, 2, 1 FROM vips v, servers s WHERE v.name = 'web-int' AND s.name = 'fe01';
INSERT INTO member_health SELECT m.pool_id, m.server_id, 'down', $NOW,'-60 seconds'), $NOW,'-1 seconds'), 'refused', 0.5
  FROM members m JOIN servers s ON s.id = m.server_id WHERE s.name = 'fe02';"
ok "server drain fe01" server drain fe01
ok "status with counters" status
int_line=$(printf '%s\n' "$OUT" | grep '^vip web-int:')
expect_in "$int_line" ": listening, counters " "status: web-int listening"
expect_in "$int_line" " s ago (pid 4242)" "status: web-int's counters age"
expect_in "$OUT" "  connections 3 active, 120 total, 2 refused; requests 1000 (1xx 1, 2xx 950, 3xx 10, 4xx 30, 5xx 9); bytes in 123456, out 7654321; retries 4, no backend 5" "status: web-int's counters"
fe01=$(printf '%s\n' "$OUT" | sed -n '/^vip web-int:/,/^vip \|^checker/p' | grep '^  fe01 ')
fe02=$(printf '%s\n' "$OUT" | sed -n '/^vip web-int:/,/^vip \|^checker/p' | grep '^  fe02 ')
[ "$(echo $fe01)" = "fe01 192.0.2.11:4443 drained unknown 600 2 1" ] || fail "status: fe01 row '$fe01'"
[ "$(echo $fe02)" = "fe02 10.0.0.12:4443 enabled down 0 0 0" ] || fail "status: fe02 row '$fe02'"
expect_in "$OUT" "vip web-http: http [2001:db8::100]:80 -> pool01.contoso.com. port 80, persist source: not listening: address in use" "status: web-http's listen error"
expect_in "$(printf '%s\n' "$OUT" | grep '^vip web-ext:')" "no counters for 30." "status: web-ext's counters are stale"
expect_in "$(printf '%s\n' "$OUT" | grep '^vip web-ext:')" "is pooldns running?" "status: web-ext's counters are stale"
expect_in "$(printf '%s\n' "$OUT" | sed -n '/^vip web-ext:/,/^checker/p')" "fe03    192.0.2.13:443  enabled  unchecked" \
    "status: web-ext's backend in an unchecked pool"
ok "status --json" --json status
json "status --json" '[v["name"] for v in d["vips"]] == ["web-ext", "web-http", "web-int"] and d["vips"][2]["running"] is True and d["vips"][2]["scheme"] == "https" and d["vips"][2]["persist"] == "source" and d["vips"][2]["stats"]["requests"] == 1000 and d["vips"][2]["stats"]["status_5xx"] == 9 and d["vips"][2]["stats"]["bytes_out"] == 7654321 and d["vips"][2]["stats"]["stale"] is False and d["vips"][2]["stats"]["listening"] is True and d["vips"][2]["stats"]["listen_error"] is None and d["vips"][2]["members"][0] == {"server": "fe01", "address": "192.0.2.11", "backend": "192.0.2.11:4443", "admin": "drained", "health": "unknown", "picks": 600, "failures": 2, "active": 1} and d["vips"][1]["stats"]["listening"] is False and d["vips"][1]["stats"]["listen_error"] == "address in use" and d["vips"][0]["running"] is False and d["vips"][0]["stats"]["stale"] is True and d["vips"][0]["stats"]["age_s"] > 29 and d["vips"][0]["members"][0]["health"] == "unchecked" and len(d["pools"]) == 2 and d["checker"] is None'
ok "status POOL" --json status pool02.contoso.com
json "status POOL --json" '[v["name"] for v in d["vips"]] == ["web-ext"] and [p["fqdn"] for p in d["pools"]] == ["pool02.contoso.com."]'
ok "status POOL, text" status pool01.contoso.com
case "$OUT" in *web-ext*) fail "status POOL shows another pool's VIP: $OUT" ;; esac
ok "server enable fe01" server enable fe01

# ---- bad input changes nothing ----

cp "$DB" db.orig
ADD=(vip add web2 --pool pool01.contoso.com --backend-port 443)
bad_cmd "vip add with a bad NAME" 1 "NAME: 'web 2' may hold only" vip add 'web 2' --listen 192.0.2.102:80 --pool pool01.contoso.com --backend-port 80
bad_cmd "vip add with a NAME of 64 characters" 1 "NAME:" vip add "$(printf 'a%.0s' {1..64})" --listen 192.0.2.102:80 --pool pool01.contoso.com --backend-port 80
bad_cmd "vip add of an existing NAME" 1 "NAME: vip 'web-int' already exists" vip add web-int --listen 192.0.2.102:80 --pool pool01.contoso.com --backend-port 80
bad_cmd "vip add with a listen address in use" 1 "--listen: 192.0.2.100:443 is already the address of vip 'web-int'" "${ADD[@]}" --listen 192.0.2.100:443
bad_cmd "vip add with a listen address in use (IPv6, other spelling)" 1 "vip 'web-http'" "${ADD[@]}" --listen '[2001:db8:0::100]:80'
bad_cmd "vip add with --listen without a port" 1 "--listen: '192.0.2.102' is not ADDR:PORT" "${ADD[@]}" --listen 192.0.2.102
bad_cmd "vip add with --listen port 0" 1 "--listen: port '0'" "${ADD[@]}" --listen 192.0.2.102:0
bad_cmd "vip add with --listen port 65536" 1 "--listen: port '65536'" "${ADD[@]}" --listen 192.0.2.102:65536
bad_cmd "vip add with --listen on a name" 1 "--listen: 'web.contoso.com'" "${ADD[@]}" --listen web.contoso.com:443
bad_cmd "vip add with --listen IPv6 without brackets" 1 "--listen: '2001:db8::5:443': write an IPv6 address in brackets" "${ADD[@]}" --listen 2001:db8::5:443
bad_cmd "vip add with an unknown --pool" 1 "--pool: unknown pool 'nope.contoso.com.'" vip add web2 --listen 192.0.2.102:80 --pool nope.contoso.com --backend-port 80
bad_cmd "vip add with --backend-port 0" 1 "--backend-port: '0'" vip add web2 --listen 192.0.2.102:80 --pool pool01.contoso.com --backend-port 0
bad_cmd "vip add with --backend-port 65536" 1 "--backend-port: '65536'" vip add web2 --listen 192.0.2.102:80 --pool pool01.contoso.com --backend-port 65536
bad_cmd "vip add with --tls-cert and no --tls-key" 1 "--tls-cert certs/rsa.pem: has no --tls-key" "${ADD[@]}" --listen 192.0.2.102:443 --tls-cert certs/rsa.pem
bad_cmd "vip add with --tls-key and no --tls-cert" 1 "--tls-key certs/rsa.key: has no --tls-cert" "${ADD[@]}" --listen 192.0.2.102:443 --tls-key certs/rsa.key
bad_cmd "vip add with a missing certificate file" 1 "--tls-cert certs/nope.pem: no such file" "${ADD[@]}" --listen 192.0.2.102:443 --tls-cert certs/nope.pem --tls-key certs/rsa.key
bad_cmd "vip add with a key as certificate" 1 "--tls-cert certs/rsa.key: holds no PEM certificate" "${ADD[@]}" --listen 192.0.2.102:443 --tls-cert certs/rsa.key --tls-key certs/rsa.key
bad_cmd "vip add with a certificate as key" 1 "--tls-key certs/rsa.pem: holds no PEM private key" "${ADD[@]}" --listen 192.0.2.102:443 --tls-cert certs/rsa.pem --tls-key certs/rsa.pem
bad_cmd "vip add with a mismatched key" 1 "--tls-key certs/other.key: does not match --tls-cert certs/ec.pem" "${ADD[@]}" --listen 192.0.2.102:443 --tls-cert certs/ec.pem --tls-key certs/other.key
bad_cmd "vip add with a second pair mismatched" 1 "--tls-key certs/rsa.key: does not match --tls-cert certs/ec.pem" "${ADD[@]}" --listen 192.0.2.102:443 --tls-cert certs/rsa.pem --tls-key certs/rsa.key --tls-cert certs/ec.pem --tls-key certs/rsa.key
bad_cmd "vip add with --backend-sni without --backend-tls" 1 "--backend-sni: only with --backend-tls" "${ADD[@]}" --listen 192.0.2.102:443 --backend-sni web.contoso.com
bad_cmd "vip add with --backend-ca without --backend-tls" 1 "--backend-ca: only with --backend-tls" "${ADD[@]}" --listen 192.0.2.102:443 --backend-ca certs/rsa.pem
bad_cmd "vip add with a --backend-ca that holds no certificate" 1 "--backend-ca certs/rsa.key: holds no PEM CA certificate" "${ADD[@]}" --listen 192.0.2.102:443 --backend-tls --backend-ca certs/rsa.key
bad_cmd "vip add with an address as --backend-sni" 1 "--backend-sni: '192.0.2.11' is an address" "${ADD[@]}" --listen 192.0.2.102:443 --backend-tls --backend-sni 192.0.2.11
bad_cmd "vip add with a bad --backend-tls value" 1 "--backend-tls: 'yes' must be on or off" "${ADD[@]}" --listen 192.0.2.102:443 --backend-tls=yes
bad_cmd "vip add with a bad --persist" 1 "--persist: 'sticky' must be cookie, source or none" "${ADD[@]}" --listen 192.0.2.102:443 --persist sticky
bad_cmd "vip add with a bad --cookie-name" 1 "--cookie-name: 'MS WSMAN' is not a cookie name" "${ADD[@]}" --listen 192.0.2.102:443 --cookie-name 'MS WSMAN'
bad_cmd "vip add with a --cookie-name of 65 characters" 1 "--cookie-name:" "${ADD[@]}" --listen 192.0.2.102:443 --cookie-name "$(printf 'c%.0s' {1..65})"
bad_cmd "vip add with a bad --cookie-httponly" 1 "--cookie-httponly: 'yes' must be on or off" "${ADD[@]}" --listen 192.0.2.102:443 --cookie-httponly yes
bad_cmd "vip add with a bad --cookie-secure" 1 "--cookie-secure: 'true' must be on or off" "${ADD[@]}" --listen 192.0.2.102:443 --cookie-secure true
bad_cmd "vip add with a bad --access-log" 1 "--access-log: '1' must be on or off" "${ADD[@]}" --listen 192.0.2.102:443 --access-log 1
bad_cmd "vip add with --idle-timeout 0" 1 "--idle-timeout: 0 is out of range" "${ADD[@]}" --listen 192.0.2.102:443 --idle-timeout 0
bad_cmd "vip add with a fractional --idle-timeout" 1 "--idle-timeout: 0.5 is not a whole number of seconds" "${ADD[@]}" --listen 192.0.2.102:443 --idle-timeout 0.5
bad_cmd "vip add with --header-timeout over a day" 1 "--header-timeout: 86401 is out of range" "${ADD[@]}" --listen 192.0.2.102:443 --header-timeout 86401
bad_cmd "vip add with a --connect-timeout that is no duration" 1 "--connect-timeout: 'soon' is not a duration" "${ADD[@]}" --listen 192.0.2.102:443 --connect-timeout soon
bad_cmd "vip add with a negative --response-timeout" 1 "--response-timeout: '-1' is not a duration" "${ADD[@]}" --listen 192.0.2.102:443 --response-timeout=-1
bad_cmd "vip add with --max-connections 0" 1 "--max-connections: '0'" "${ADD[@]}" --listen 192.0.2.102:443 --max-connections 0
bad_cmd "vip add with --max-request-line 63" 1 "--max-request-line: '63'" "${ADD[@]}" --listen 192.0.2.102:443 --max-request-line 63
bad_cmd "vip add with --max-header-bytes 255" 1 "--max-header-bytes: '255'" "${ADD[@]}" --listen 192.0.2.102:443 --max-header-bytes 255
bad_cmd "vip add with --max-header-count 0" 1 "--max-header-count: '0'" "${ADD[@]}" --listen 192.0.2.102:443 --max-header-count 0
bad_cmd "vip add with a negative --max-body" 1 "--max-body: '-1'" "${ADD[@]}" --listen 192.0.2.102:443 --max-body=-1
bad_cmd "vip add with a request line over the header bytes" 1 "--max-request-line: 70000 is more than the header section limit" "${ADD[@]}" --listen 192.0.2.102:443 --max-request-line 70000
bad_cmd "vip add without --listen" 2 "--listen is required" vip add web2 --pool pool01.contoso.com --backend-port 80
bad_cmd "vip add without --pool" 2 "--pool is required" vip add web2 --listen 192.0.2.102:80 --backend-port 80
bad_cmd "vip add without --backend-port" 2 "--backend-port is required" vip add web2 --listen 192.0.2.102:80 --pool pool01.contoso.com
bad_cmd "vip add without NAME" 2 "usage" vip add --listen 192.0.2.102:80 --pool pool01.contoso.com --backend-port 80
bad_cmd "vip add with --tls (a vip set option)" 2 "unknown option '--tls'" "${ADD[@]}" --listen 192.0.2.102:443 --tls none
bad_cmd "vip add with an unknown option" 2 "unknown option '--bogus'" "${ADD[@]}" --listen 192.0.2.102:443 --bogus 1
bad_cmd "vip add with an option twice" 2 "'--persist' given more than once" "${ADD[@]}" --listen 192.0.2.102:443 --persist none --persist source

bad_cmd "vip set of an unknown VIP" 1 "NAME: unknown vip 'nope'" vip set nope --persist source
bad_cmd "vip set to another VIP's listen address" 1 "--listen: 192.0.2.100:443 is already the address of vip 'web-int'" vip set web-http --listen 192.0.2.100:443
bad_cmd "vip set to an unknown pool" 1 "--pool: unknown pool" vip set web-http --pool nope.contoso.com
bad_cmd "vip set --backend-sni on a VIP without backend TLS" 1 "--backend-sni: only with --backend-tls (vip 'web-http'" vip set web-http --backend-sni web.contoso.com
bad_cmd "vip set --tls with a value other than none" 1 "--tls: 'on' must be none" vip set web-int --tls on
bad_cmd "vip set --tls none with a certificate" 1 "--tls: 'none' cannot go with --tls-cert" vip set web-int --tls none --tls-cert certs/rsa.pem --tls-key certs/rsa.key
bad_cmd "vip set --max-header-bytes below the stored request line" 1 "--max-header-bytes: 4000 is less than the request line limit (4096 bytes" vip set web-ext --max-header-bytes 4000
bad_cmd "vip set with a mismatched key" 1 "--tls-key certs/rsa.key: does not match --tls-cert certs/ec.pem" vip set web-int --tls-cert certs/ec.pem --tls-key certs/rsa.key
bad_cmd "vip set without options" 2 "vip set: give at least one option" vip set web-int
bad_cmd "vip set without NAME" 2 "usage" vip set --persist none

bad_cmd "vip delete of an unknown VIP" 1 "NAME: unknown vip 'nope'" vip delete nope
bad_cmd "vip delete without NAME" 2 "usage" vip delete
bad_cmd "vip list with an argument" 2 "vip list takes no arguments" vip list web-int
bad_cmd "vip with an unknown verb" 2 "vip: unknown verb 'frob'" vip frob
bad_cmd "pool delete of a pool VIPs use" 1 "POOL: VIPs web-http, web-int send traffic to 'pool01.contoso.com.'" pool delete pool01.contoso.com

check "--json errors are one JSON object on stderr"
run "$PDC" --db "$DB" --json vip add web2 --listen 192.0.2.100:443 --pool pool01.contoso.com --backend-port 443
expect_rc 1 "vip add --json with a listen address in use"
OUT=$ERR json "--json error" 'd["error"].startswith("--listen: ")'
expect_unchanged "vip add --json with a listen address in use"

check "vip delete removes the VIP with its certificates and counters; the pool can go after"
ok "vip delete web-int" vip delete web-int
[ "$OUT" = "deleted vip web-int (https 192.0.2.100:443)" ] || fail "vip delete: '$OUT'"
ok "vip delete --json" --json vip delete web-http
json "vip delete --json" 'd["deleted"] == "web-http" and d["vip"]["listen"] == "[2001:db8::100]:80"'
[ "$(sqlite3 "$DB" "SELECT count(*) FROM vip_stats") $(sqlite3 "$DB" "SELECT count(*) FROM vip_member_stats")" = "1 0" ] ||
    fail "vip delete left counters behind"
ok "pool delete pool01" pool delete pool01.contoso.com
ok "vip list at the end" --json vip list
json "vip list at the end" '[v["name"] for v in d] == ["web-ext"]'
[ "$(sqlite3 "$DB" "SELECT value FROM settings WHERE key = 'vip_cookie_secret'")" = "$secret" ] ||
    fail "the cookie secret changed"
[ "$(soa_serial "$DB" contoso.com)" != "$s_before" ] || fail "pool delete did not move the serial (sanity)"

echo "[$NAME] PASS"
