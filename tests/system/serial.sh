#!/usr/bin/env bash
# SOA serials: 'zone create' starts at today's YYYYMMDD01 (UTC), every edit
# moves the serial by one (RFC 1982), no-op and failed edits do not, a re-import
# always ends past the stored serial, and the audit table holds one row per edit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup "$@"

command -v sqlite3 > /dev/null || fail "sqlite3 (the CLI) is needed"
DB=$T/zones.db

# Date serials depend on the UTC day: do not straddle midnight.
now=$(date -u +%H%M%S)
if [ "$((10#$now))" -ge 235940 ]; then
    echo "  (waiting for UTC midnight to pass)"
    sleep $((86400 + 5 - $(date -u +%s) % 86400))
fi
TODAY=$(date -u +%Y%m%d)

# Audit rows we expect, "action|object", in order.
: > audit.expected
expect_audit() { echo "$1|$2" >> audit.expected; }

# edit WHAT ARGS...: a pooldnsctl edit that must succeed; SERIAL_OUT is the
# serial it reported.
edit() {
    local what=$1
    shift
    run "$PDC" --db "$DB" "$@"
    expect_ok "$what"
    SERIAL_OUT=$(printf '%s\n' "$OUT" | sed -n 's/.*serial \([0-9][0-9]*\).*/\1/p' | head -n1)
    [ -n "$SERIAL_OUT" ] || fail "$what: no 'serial N' in the output:
$(last_output)"
}

# expect_serial ORIGIN N WHAT: the stored serial is N, as 'record list ORIGIN @' shows.
expect_serial() {
    local got
    got=$(soa_serial "$DB" "$1")
    [ "$got" = "$2" ] || fail "$3: expected serial $2 for $1, got $got"
}

# ---- a created zone: date serial, +1 per edit ----
Z=example.com
check "zone create gives today's date serial ${TODAY}01 (UTC)"
edit "zone create" zone create "$Z" --ns ns1.example.com. --ns ns2.example.net. --mbox hostmaster@example.com
expect_audit "zone create" "example.com."
[ "$SERIAL_OUT" = "${TODAY}01" ] || fail "zone create reported serial $SERIAL_OUT, expected ${TODAY}01"
expect_serial "$Z" "${TODAY}01" "after zone create"
run "$PDC" --db "$DB" record list "$Z" @
expect_in "$OUT" $'\tSOA\tns1.example.com. hostmaster.example.com. '"${TODAY}01 " "SOA after zone create"
[ "$(printf '%s\n' "$OUT" | grep -c $'\tNS\t')" -eq 2 ] || fail "zone create: expected 2 NS records:
$OUT"

s=$((10#${TODAY}01))
step() {  # step WHAT ARGS...: an edit that moves the serial of $Z by one
    local what=$1
    edit "$@"
    s=$((s + 1))
    [ "$SERIAL_OUT" = "$s" ] || fail "$what: reported serial $SERIAL_OUT, expected $s"
    expect_serial "$Z" "$s" "$what"
}

check "each edit bumps the serial by one: add, add to an RRset, TTL change, replace, delete one, delete RRset"
step "record add www A" record add "$Z" www 300 A 192.0.2.80
expect_audit "record add" "example.com."
step "record add www A (second)" record add "$Z" www 300 A 192.0.2.81
expect_audit "record add" "example.com."
step "record add www A (existing rdata, new TTL)" record add "$Z" www 600 A 192.0.2.81
expect_audit "record add" "example.com."
step "record replace www A" record replace "$Z" www 600 A 192.0.2.82
expect_audit "record replace" "example.com."
step "record add mail MX" record add "$Z" @ 300 MX 10 mail
expect_audit "record add" "example.com."
step "record add mail A" record add "$Z" mail 300 A 192.0.2.25
expect_audit "record add" "example.com."
step "record delete www A 192.0.2.82" record delete "$Z" www A 192.0.2.82
expect_audit "record delete" "example.com."
step "record delete @ MX (RRset)" record delete "$Z" @ MX
expect_audit "record delete" "example.com."
step "record delete ns2 (one of two NS)" record delete "$Z" @ NS ns2.example.net.
expect_audit "record delete" "example.com."

check "adding a record that exists changes nothing: same serial, no audit row"
edit "record add mail A (again)" record add "$Z" mail 300 A 192.0.2.25
[ "$SERIAL_OUT" = "$s" ] || fail "a no-op add reported serial $SERIAL_OUT, expected $s"
expect_serial "$Z" "$s" "after a no-op add"

check "failed edits change nothing: same serial, no audit row"
run "$PDC" --db "$DB" record add "$Z" www 300 A 300.1.1.1
expect_rc 1 "record add with bad rdata"
run "$PDC" --db "$DB" record add "$Z" mail 300 CNAME www
expect_rc 1 "record add CNAME beside A"
run "$PDC" --db "$DB" record delete "$Z" nothere A
expect_rc 1 "record delete of nothing"
expect_serial "$Z" "$s" "after failed edits"

check "record replace of the SOA with a lower serial still moves the serial forward by one"
step "record replace SOA (serial 5)" record replace "$Z" @ 3600 SOA ns1.example.com. hostmaster.example.com. 5 3600 600 1209600 60
expect_audit "record replace" "example.com."

check "record replace of the SOA with a higher serial takes that serial"
edit "record replace SOA (serial ${TODAY}50)" record replace "$Z" @ 3600 SOA ns1.example.com. hostmaster.example.com. "${TODAY}50" 3600 600 1209600 60
expect_audit "record replace" "example.com."
s=$((10#${TODAY}50))
[ "$SERIAL_OUT" = "$s" ] || fail "replace SOA with serial $s: reported $SERIAL_OUT"
expect_serial "$Z" "$s" "after replace SOA with serial $s"
step "record add after the SOA replace" record add "$Z" txt 300 TXT "after replace"
expect_audit "record add" "example.com."

# ---- an imported zone: the file's serial, then +1 per edit ----
I=imported.example
zone_file() {  # zone_file SERIAL > FILE
    cat <<EOF
\$ORIGIN imported.example.
\$TTL 3600
@    SOA ns1 hostmaster $1 3600 600 1209600 60
     NS  ns1
ns1  A   192.0.2.1
EOF
}

check "a zone imported with serial 1 keeps 1, and gets 2 after one edit"
zone_file 1 > serial1.zone
edit "zone import serial1.zone" zone import "$I" serial1.zone
expect_audit "zone import" "imported.example."
[ "$SERIAL_OUT" = 1 ] || fail "first import reported serial $SERIAL_OUT, expected 1"
expect_serial "$I" 1 "after the first import"
edit "record add to the imported zone" record add "$I" www 300 A 192.0.2.80
expect_audit "record add" "imported.example."
[ "$SERIAL_OUT" = 2 ] || fail "one edit of a serial-1 zone reported $SERIAL_OUT, expected 2"
expect_serial "$I" 2 "after one edit of the imported zone"

check "a re-import of a file with a lower serial (1 < 2) ends past the stored serial"
edit "zone import serial1.zone (again)" zone import "$I" serial1.zone
expect_audit "zone import" "imported.example."
expect_serial "$I" 3 "after re-importing serial 1 over serial 2"
[ "$SERIAL_OUT" = 3 ] || fail "the re-import reported serial $SERIAL_OUT, expected 3"
run "$PDC" --db "$DB" record list "$I" www
[ -z "$OUT" ] || fail "the re-import did not replace the zone's contents: www is still there"

check "a re-import with the same serial as stored (3) ends past it"
zone_file 3 > serial3.zone
edit "zone import serial3.zone" zone import "$I" serial3.zone
expect_audit "zone import" "imported.example."
expect_serial "$I" 4 "after re-importing serial 3 over serial 3"

check "a re-import with a higher serial (500) takes the file's serial"
zone_file 500 > serial500.zone
edit "zone import serial500.zone" zone import "$I" serial500.zone
expect_audit "zone import" "imported.example."
expect_serial "$I" 500 "after re-importing serial 500 over serial 4"

check "a re-import of an old date serial over a newer one ends past the stored serial"
zone_file 2020010101 > date_old.zone
edit "zone import date_old.zone" zone import "$I" date_old.zone
expect_audit "zone import" "imported.example."
expect_serial "$I" 2020010101 "after importing 2020010101 over 500 (ahead in RFC 1982 terms)"
zone_file 2019123101 > date_older.zone
edit "zone import date_older.zone" zone import "$I" date_older.zone
expect_audit "zone import" "imported.example."
got=$(soa_serial "$DB" "$I")
[ "$got" -gt 2020010101 ] || fail "re-import of 2019123101 over 2020010101 left serial $got, not past 2020010101"
[ "$got" = "${TODAY}00" ] || fail "re-import of 2019123101 over an old date serial: expected today's first serial ${TODAY}00, got $got"

check "an edit of a zone with an old date serial moves it to today's first serial"
W=wrap.example
sed 's/imported\.example\./wrap.example./' date_old.zone > wrap_date.zone
edit "zone import wrap_date.zone" zone import "$W" wrap_date.zone
expect_audit "zone import" "wrap.example."
edit "record add to wrap.example" record add "$W" a 300 A 192.0.2.1
expect_audit "record add" "wrap.example."
expect_serial "$W" "${TODAY}00" "after one edit of a zone at 2020010101"

check "serial 4294967295 wraps to 0 on the next edit (RFC 1982 addition)"
zone_file 4294967295 | sed 's/imported\.example\./max.example./' > max.zone
edit "zone import max.zone" zone import max.example max.zone
expect_audit "zone import" "max.example."
edit "record add to max.example" record add max.example a 300 A 192.0.2.1
expect_audit "record add" "max.example."
expect_serial max.example 0 "after one edit of a zone at serial 4294967295"

check "zone delete is audited too"
edit_delete() {
    run "$PDC" --db "$DB" zone delete max.example
    expect_ok "zone delete max.example"
}
edit_delete
expect_audit "zone delete" "max.example."

check "the audit table has exactly one row per edit, in order"
sqlite3 "$DB" 'select action, object from audit order by id' > audit.got
if ! diff -u audit.expected audit.got > audit.diff; then
    fail "audit rows differ (- expected, + got):
$(cat audit.diff)"
fi
echo "  $(wc -l < audit.got) audit rows"

check "each audit row records the command line that made the edit"
bad=$(sqlite3 "$DB" "select id, command, action from audit where instr(command, action) = 0 or instr(command, '--db') = 0")
[ -z "$bad" ] || fail "audit rows whose command is not the pooldnsctl command line of their action:
$bad"

echo "[$NAME] PASS"
