#!/usr/bin/env bash
# Differential test: pooldns and NSD serve the same zone files (zones/) on two
# loopback ports; every query in queries.txt goes to both (kdig +json) and the
# replies are compared section by section by differential.py: rcode, header
# flags, question, EDNS, and the answer, authority and additional sections as
# sets of RRs (owner lower-cased; TTL, class, type and rdata bytes exact).
# A difference fails the test unless docs/KNOWN-DIFFERENCES.md lists it, by query
# ID and the parts that differ, with the reason which side is right.
#
# usage: differential.sh PATH-TO-pooldns PATH-TO-pooldnsctl
# Needs: nsd (Debian package nsd), kdig (knot-dnsutils), python3.
# Everything listens on 127.0.0.1 high ports; every process started here is
# stopped by PID on exit. KEEP_TEMP=1 keeps the temp dir (logs, configs, the
# JSON of every reply that differed).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
peers_setup "$@"
need_tools nsd:nsd nsd-checkconf:nsd kdig:knot-dnsutils python3:python3

ZONES=(contoso.test fabrikam.test child.contoso.test nods.contoso.test)
DB=$T/pooldns.db
mkdir -p "$T/zones" "$T/nsd" "$T/out"
for z in "${ZONES[@]}"; do
    cp "$HERE/zones/$z.zone" "$T/zones/"
    "$POOLDNSCTL" --db "$DB" zone import "$z" "$T/zones/$z.zone" >/dev/null ||
        fail "pooldnsctl zone import $z failed"
done

# --- pooldns -------------------------------------------------------------------
PPORT=$(free_port)
start_bg "$T/pooldns.log" "$POOLDNS" --db "$DB" --dns "127.0.0.1:$PPORT" --threads 1
wait_for "pooldns on port $PPORT" 10 answers_soa "$PPORT" contoso.test ||
    { cat "$T/pooldns.log" >&2; fail "pooldns did not start"; }
say "pooldns (pid $BG_PID) on 127.0.0.1:$PPORT"

# --- NSD, in the foreground, set up to answer like a plain authoritative server:
# no rate limiting (it would turn repeated queries into TC/drops), no CHAOS
# identity/version answers, minimal responses (no NS RRset in the authority
# section of positive answers, as pooldns), no answer rotation, no ANY refusal,
# the same EDNS buffer size as pooldns's default (1232).
NPORT=$(free_port)
{
    cat <<EOF
server:
    ip-address: 127.0.0.1@$NPORT
    port: $NPORT
    do-ip4: yes
    do-ip6: no
    reuseport: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$T/zones"
    database: ""
    zonelistfile: "$T/nsd/zone.list"
    xfrdfile: "$T/nsd/xfrd.state"
    xfrdir: "$T/nsd"
    pidfile: "$T/nsd/nsd.pid"
    zonefiles-check: no
    zonefiles-write: 0
    verbosity: 1
    hide-version: yes
    hide-identity: yes
    minimal-responses: yes
    round-robin: no
    refuse-any: no
    ipv4-edns-size: 1232
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    rrl-slip: 0
remote-control:
    control-enable: no
EOF
    for z in "${ZONES[@]}"; do
        printf 'zone:\n    name: %s\n    zonefile: %s.zone\n    provide-xfr: 127.0.0.1 NOKEY\n' "$z" "$z"
    done
} >"$T/nsd/nsd.conf"
nsd-checkconf "$T/nsd/nsd.conf" || fail "nsd.conf is not valid"
start_bg "$T/nsd/nsd.log" nsd -d -c "$T/nsd/nsd.conf"
wait_for "nsd on port $NPORT" 10 answers_soa "$NPORT" contoso.test ||
    { cat "$T/nsd/nsd.log" >&2; fail "nsd did not start"; }
say "$(nsd -v 2>&1 | head -n1) (pid $BG_PID) on 127.0.0.1:$NPORT"

# --- both serve the same data: AXFR each zone from both and compare -------------
for z in "${ZONES[@]}"; do
    axfr_normalised "$PPORT" "$z" >"$T/$z.pooldns.axfr" || fail "AXFR of $z from pooldns failed"
    axfr_normalised "$NPORT" "$z" >"$T/$z.nsd.axfr" || fail "AXFR of $z from nsd failed"
    [ -s "$T/$z.pooldns.axfr" ] || fail "AXFR of $z from pooldns is empty"
    diff -u --label "pooldns $z" --label "nsd $z" "$T/$z.pooldns.axfr" "$T/$z.nsd.axfr" ||
        fail "pooldns and nsd do not serve the same $z (diff above): the comparison would be meaningless"
done
pass "pooldns and nsd hold the same data for ${ZONES[*]}"

# --- the queries ------------------------------------------------------------------
rc=0
python3 "$HERE/differential.py" "$HERE/queries.txt" "$HERE/../../../docs/KNOWN-DIFFERENCES.md" "$T/out" \
    "pooldns=127.0.0.1@$PPORT" "nsd=127.0.0.1@$NPORT" >"$T/report.txt" || rc=$?
cat "$T/report.txt"
case $rc in
    0) pass "no unexpected differences" ;;
    1) fail "unexpected differences between pooldns and nsd (see above; add an entry to docs/KNOWN-DIFFERENCES.md only if pooldns is right or both are)" ;;
    *) fail "differential.py could not run (exit $rc)" ;;
esac
