#!/usr/bin/env bash
# pooldns as the primary of a real secondary: Knot DNS (knotd) transfers the
# zones from pooldns by AXFR, and both servers' AXFR of each zone must hold the
# same RRsets (owner, TTL, class, type, rdata). Then a record added with
# pooldnsctl must reach the secondary with the new serial after a refresh.
#
# usage: secondary_axfr.sh PATH-TO-pooldns PATH-TO-pooldnsctl
# Needs: knotd, knotc (Debian package knot), kdig (knot-dnsutils), python3.
# Everything listens on 127.0.0.1 high ports; every process started here is
# stopped by PID on exit. KEEP_TEMP=1 keeps the temp dir (logs, configs, AXFRs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
peers_setup "$@"
need_tools knotd:knot knotc:knot kdig:knot-dnsutils python3:python3

# contoso.test (the SfB-like zone) and fabrikam.test (a small one); the two
# child zones make pooldns send the parent's records below their apexes from
# its "shadow" list in contoso.test's AXFR; bulk.test (generated) is large
# enough that its AXFR takes several messages.
ZONES=(contoso.test fabrikam.test child.contoso.test nods.contoso.test bulk.test)
DB=$T/pooldns.db
failures=0

mkdir -p "$T/zones"
cp "$HERE"/zones/*.zone "$T/zones/"
{
    # shellcheck disable=SC2016  # master-file directives, not shell variables
    printf '%s\n' '$ORIGIN bulk.test.' '$TTL 300'
    printf '@ SOA ns1 hostmaster 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n'
    for ((i = 0; i < 3000; i++)); do
        printf 'host%04d A 10.%d.%d.1\nhost%04d TXT "record %d of the bulk zone"\n' $i $((i / 256)) $((i % 256)) $i $i
    done
} >"$T/zones/bulk.test.zone"

# --- the primary: pooldns with those zones -----------------------------------
for z in "${ZONES[@]}"; do
    "$POOLDNSCTL" --db "$DB" zone import "$z" "$T/zones/$z.zone" >/dev/null ||
        fail "pooldnsctl zone import $z failed"
done
PPORT=$(free_port)
start_bg "$T/pooldns.log" "$POOLDNS" --db "$DB" --dns "127.0.0.1:$PPORT" --threads 2
PPID_POOLDNS=$BG_PID
wait_for "pooldns to answer on port $PPORT" 10 answers_soa "$PPORT" contoso.test ||
    { cat "$T/pooldns.log" >&2; fail "pooldns did not start"; }
say "pooldns (pid $PPID_POOLDNS) on 127.0.0.1:$PPORT"

# --- the secondary: knotd in the foreground, all state in $T/knot -------------
KPORT=$(free_port)
mkdir -p "$T/knot/db" "$T/knot/zones" "$T/knot/run"
version=$(knotd --version | grep -o '[0-9]\+\.[0-9]\+' | head -n1)
# Knot 3.3 renamed the zone option 'master' to 'primary' (the old name stays
# as an alias for a while); Debian 12 has 3.2.
primary_key=master
if [ "$(printf '%s\n' "$version" 3.3 | sort -V | head -n1)" = 3.3 ]; then primary_key=primary; fi
{
    cat <<EOF
server:
    rundir: "$T/knot/run"
    listen: 127.0.0.1@$KPORT
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$T/knot/db"
control:
    listen: "$T/knot/run/knot.sock"
log:
  - target: stderr
    any: info
remote:
  - id: pooldns
    address: 127.0.0.1@$PPORT
acl:
  - id: from_pooldns
    address: 127.0.0.1
    action: notify
  - id: to_localhost
    address: 127.0.0.1
    action: transfer
template:
  - id: default
    storage: "$T/knot/zones"
    zonefile-sync: -1
    zonefile-load: none
    semantic-checks: off
zone:
EOF
    for z in "${ZONES[@]}"; do
        printf '  - domain: %s\n    %s: pooldns\n    acl: [from_pooldns, to_localhost]\n' "$z" "$primary_key"
    done
} >"$T/knot/knot.conf"
knotc -c "$T/knot/knot.conf" conf-check >/dev/null 2>&1 ||
    { knotc -c "$T/knot/knot.conf" conf-check >&2 || true; fail "knot.conf is not valid for knotd $version"; }
start_bg "$T/knot/knotd.log" knotd -c "$T/knot/knot.conf"
say "knotd $version (pid $BG_PID) on 127.0.0.1:$KPORT, secondary of 127.0.0.1@$PPORT"

knotctl() { knotc -c "$T/knot/knot.conf" -t 5 "$@"; }

# --- the first transfer ---------------------------------------------------------
for z in "${ZONES[@]}"; do
    want=$(soa_serial "$PPORT" "$z")
    [ -n "$want" ] || fail "pooldns has no SOA for $z"
    if ! wait_for "knotd to load $z serial $want" 20 serial_is "$KPORT" "$z" "$want"; then
        tail -n 30 "$T/knot/knotd.log" >&2
        fail "the secondary did not transfer $z (serial $want) within 20 s"
    fi
    pass "secondary has $z at serial $want"
done

# compare_zone ZONE: both AXFRs, normalised; prints the diff on a difference.
compare_zone() {
    local z=$1 a b n_export n
    a=$(axfr_normalised "$PPORT" "$z") || { echo "FAIL [$NAME]: AXFR of $z from pooldns failed" >&2; return 1; }
    b=$(axfr_normalised "$KPORT" "$z") || { echo "FAIL [$NAME]: AXFR of $z from knotd failed" >&2; return 1; }
    printf '%s\n' "$a" >"$T/$z.pooldns.axfr"
    printf '%s\n' "$b" >"$T/$z.knot.axfr"
    # The primary's AXFR must hold every record in the store, so that two empty
    # or equally short transfers cannot pass.
    n_export=$("$POOLDNSCTL" --db "$DB" zone export "$z" | grep -cv '^\$\|^;\|^[[:space:]]*$')
    n=$(wc -l <"$T/$z.pooldns.axfr")
    if [ "$n" -ne "$n_export" ]; then
        echo "FAIL [$NAME]: pooldns's AXFR of $z has $n RRs, the store has $n_export" >&2
        return 1
    fi
    if ! diff -u --label "pooldns AXFR $z" --label "knotd AXFR $z" "$T/$z.pooldns.axfr" "$T/$z.knot.axfr"; then
        echo "FAIL [$NAME]: the secondary's copy of $z differs from pooldns's (diff above)" >&2
        return 1
    fi
    pass "AXFR of $z identical on pooldns and the secondary ($n RRs)"
}

for z in "${ZONES[@]}"; do
    compare_zone "$z" || failures=$((failures + 1))
done
msgs=$(kdig @127.0.0.1 -p "$PPORT" +tcp +retry=0 +timeout=5 AXFR bulk.test | sed -n 's/^;; Received .* (\([0-9]*\) messages.*/\1/p')
if [ "${msgs:-0}" -gt 1 ]; then
    pass "bulk.test went out in $msgs AXFR messages"
else
    echo "FAIL [$NAME]: bulk.test's AXFR took '${msgs:-?}' messages; expected several" >&2
    failures=$((failures + 1))
fi

# The records the brief cares about are really there (not just equal).
check_has() {
    local z=$1 pattern=$2
    grep -q -- "$pattern" "$T/$z.knot.axfr" || { echo "FAIL [$NAME]: the secondary's $z lacks: $pattern" >&2; return 1; }
}
for p in 'TYPE65280 \\# 2 ABCD' '^_sip._tls.contoso.test. 3600 IN SRV 10 5 443 edgepool.contoso.test.' \
    '^txt.contoso.test. 3600 IN TXT "quote \\" inside"' '^\*.wild.contoso.test. 3600 IN A 192.0.2.200' \
    '^ns1.delegated.contoso.test. 3600 IN A 192.0.2.129' '^contoso.test. 3600 IN CAA 128 tbs "Unknown"' \
    '^child.contoso.test. 3600 IN DS 54321' '^pool01.contoso.test. 30 IN A 192.0.2.13'; do
    check_has contoso.test "$p" || failures=$((failures + 1))
done

# --- an edit on the primary reaches the secondary ------------------------------
old=$(soa_serial "$PPORT" contoso.test)
"$POOLDNSCTL" --db "$DB" record add contoso.test fe04 3600 A 192.0.2.14 >/dev/null ||
    fail "pooldnsctl record add failed"
"$POOLDNSCTL" --db "$DB" record add contoso.test pool01 30 A 192.0.2.14 >/dev/null ||
    fail "pooldnsctl record add failed"
new=$("$POOLDNSCTL" --db "$DB" zone list | awk '$1 == "contoso.test." { print $2 }')
if [ -z "$new" ] || [ "$new" = "$old" ]; then fail "the serial did not move after record add ($old -> '$new')"; fi
wait_for "pooldns to serve contoso.test serial $new" 10 serial_is "$PPORT" contoso.test "$new" ||
    fail "pooldns did not pick up the edit (serial $new) within 10 s"
say "pooldns serves contoso.test serial $new (was $old)"

knotctl zone-refresh contoso.test >/dev/null || fail "knotc zone-refresh failed"
if ! wait_for "knotd to refresh contoso.test to serial $new" 20 serial_is "$KPORT" contoso.test "$new"; then
    say "zone-refresh did not bring serial $new; trying zone-retransfer"
    knotctl zone-retransfer contoso.test >/dev/null || true
    wait_for "knotd to retransfer contoso.test" 20 serial_is "$KPORT" contoso.test "$new" ||
        { tail -n 30 "$T/knot/knotd.log" >&2; fail "the secondary did not get serial $new within 40 s"; }
fi
pass "secondary refreshed contoso.test to serial $new"

got=$(kdig @127.0.0.1 -p "$KPORT" +retry=0 +timeout=2 +short fe04.contoso.test A)
[ "$got" = 192.0.2.14 ] || { echo "FAIL [$NAME]: the secondary answers fe04.contoso.test A with '$got'" >&2; failures=$((failures + 1)); }
got=$(kdig @127.0.0.1 -p "$KPORT" +retry=0 +timeout=2 +short pool01.contoso.test A | LC_ALL=C sort | tr '\n' ' ')
[ "$got" = "192.0.2.11 192.0.2.12 192.0.2.13 192.0.2.14 " ] ||
    { echo "FAIL [$NAME]: the secondary answers pool01.contoso.test A with '$got'" >&2; failures=$((failures + 1)); }
compare_zone contoso.test || failures=$((failures + 1))

# Knot logs how it got the zone; an IXFR pooldns answered with a full zone is
# fine (RFC 1995 section 4), a failed or refused transfer is not.
if grep -E 'refused|failed|malformed|error' "$T/knot/knotd.log" | grep -v 'failed to connect' | grep -q .; then
    echo "FAIL [$NAME]: the secondary logged errors:" >&2
    grep -E 'refused|failed|malformed|error' "$T/knot/knotd.log" >&2
    failures=$((failures + 1))
fi

if [ "$failures" -ne 0 ]; then
    echo "FAIL [$NAME]: $failures check(s) failed" >&2
    exit 1
fi
pass "all checks passed"
