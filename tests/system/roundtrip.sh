#!/usr/bin/env bash
# Zone file -> import -> export -> import into a fresh db -> export: the two
# exports are identical and hold exactly the records the original file says.
# The file exercises $ORIGIN, $TTL (with units), relative names, @, parentheses
# across lines, comments, blank owners, escapes in names and strings, $INCLUDE
# (relative to the including file's directory, with its own origin) and the
# types A AAAA NS CNAME MX SRV TXT CAA SOA NAPTR and an unknown type (RFC 3597).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup "$@"

ORIGIN=example.test
mkdir -p zones/sub

# Note: lines starting with white space have a blank owner (the previous one).
cat > zones/main.zone <<'EOF'
; roundtrip test zone
$ORIGIN example.test.
$TTL 1h
@   IN  SOA ns1 hostmaster.example.test. (
        2024010101 ; serial
        7200       ; refresh
        900        ; retry
        1209600    ; expire
        300 )      ; minimum
        IN  NS  ns1
        IN  NS  ns2.example.net.
    MX  10 mail
        IN  MX  20 mail2.example.net.

        TXT "v=spf1 -all"
ns1     IN  A     192.0.2.1
        IN  AAAA  2001:db8::1
mail    300 IN A  192.0.2.25
www     CNAME  web
web     A  192.0.2.80
        A  192.0.2.81   ; a second A in the same RRset
_sip._tcp  SRV 10 60 5060 sip
sip     A 192.0.2.5
txt     TXT ( "quote \"inside\""
              "octal \065\066\067 and \255 end"   ; comment after a string
              "semi;colon ( not a paren" )
caa     CAA 0 issue "ca.example.net; account=123"
        CAA 128 iodef "mailto:security@example.test"
naptr   NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp
a\.b    A 192.0.2.9
esc\032space A 192.0.2.10
UPPER   A 192.0.2.11
unk     TYPE65280 \# 2 abcd
empty   TYPE65280 \# 0
$INCLUDE sub/hosts.inc lab
after   A 192.0.2.99
EOF

cat > zones/sub/hosts.inc <<'EOF'
; included with origin lab.example.test.
@       A 198.51.100.1
h1      A 198.51.100.11
h2 600  AAAA 2001:db8:1::2
EOF

# What the file says, in presentation form (owners absolute and lower case,
# TTLs in seconds, \DDD of printable characters shown as the character).
cat > expected <<'EOF'
example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 900 1209600 300
example.test. 3600 IN NS ns1.example.test.
example.test. 3600 IN NS ns2.example.net.
example.test. 3600 IN MX 10 mail.example.test.
example.test. 3600 IN MX 20 mail2.example.net.
example.test. 3600 IN TXT "v=spf1 -all"
ns1.example.test. 3600 IN A 192.0.2.1
ns1.example.test. 3600 IN AAAA 2001:db8::1
mail.example.test. 300 IN A 192.0.2.25
www.example.test. 3600 IN CNAME web.example.test.
web.example.test. 3600 IN A 192.0.2.80
web.example.test. 3600 IN A 192.0.2.81
_sip._tcp.example.test. 3600 IN SRV 10 60 5060 sip.example.test.
sip.example.test. 3600 IN A 192.0.2.5
txt.example.test. 3600 IN TXT "quote \"inside\"" "octal ABC and \255 end" "semi;colon ( not a paren"
caa.example.test. 3600 IN CAA 0 issue "ca.example.net; account=123"
caa.example.test. 3600 IN CAA 128 iodef "mailto:security@example.test"
naptr.example.test. 3600 IN NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.example.test.
a\.b.example.test. 3600 IN A 192.0.2.9
esc\032space.example.test. 3600 IN A 192.0.2.10
upper.example.test. 3600 IN A 192.0.2.11
unk.example.test. 3600 IN TYPE65280 \# 2 abcd
empty.example.test. 3600 IN TYPE65280 \# 0
lab.example.test. 3600 IN A 198.51.100.1
h1.lab.example.test. 3600 IN A 198.51.100.11
h2.lab.example.test. 600 IN AAAA 2001:db8:1::2
after.example.test. 3600 IN A 192.0.2.99
EOF
NRECORDS=$(wc -l < expected)

# Fields of an export or record list joined by single spaces, sorted.
normalize() {
    grep -v '^\$ORIGIN ' | tr '\t' ' ' | LC_ALL=C sort
}

check "import of zones/main.zone (with \$INCLUDE sub/hosts.inc) from another directory"
mkdir elsewhere
(
    cd elsewhere
    run "$PDC" --db ../db1 zone import "$ORIGIN" ../zones/main.zone
    expect_ok "zone import ../zones/main.zone"
    expect_in "$OUT" "$NRECORDS records" "import report"
)

check "export of db1"
run "$PDC" --db db1 zone export "$ORIGIN"
expect_ok "zone export (db1)"
printf '%s\n' "$OUT" > export1
[ "$(head -n1 export1)" = "\$ORIGIN example.test." ] || fail "export1 does not start with \$ORIGIN example.test.:
$(head -n3 export1)"
sed -n 2p export1 | grep -q $'^example\\.test\\.\t3600\tIN\tSOA\t' || fail "the SOA is not the first record of export1:
$(head -n3 export1)"

check "the exported record set equals what the zone file says ($NRECORDS records)"
normalize < export1 > got1
LC_ALL=C sort expected > expected.sorted
if ! diff -u expected.sorted got1 > diff1; then
    fail "export1 differs from the records of zones/main.zone (- expected, + got):
$(cat diff1)"
fi

check "an independent parser (ldns-read-zone) reads export1 to the same records"
if command -v ldns-read-zone > /dev/null; then
    ldns-read-zone export1 > ldns1 2> ldns1.err || fail "ldns-read-zone rejects export1: $(cat ldns1.err)"
    normalize < ldns1 > ldns1.sorted
    diff -u expected.sorted ldns1.sorted > diff_ldns || fail "ldns-read-zone reads export1 differently:
$(cat diff_ldns)"
else
    echo "  (ldns-read-zone not installed; skipped)"
fi

check "import of export1 into a fresh db2 under the same origin, export again"
run "$PDC" --db db2 zone import "$ORIGIN" export1
expect_ok "zone import export1 into db2"
run "$PDC" --db db2 zone export "$ORIGIN"
expect_ok "zone export (db2)"
printf '%s\n' "$OUT" > export2

check "the two exports are byte-for-byte identical"
if ! cmp -s export1 export2; then
    fail "export1 and export2 differ:
$(diff -u export1 export2 || true)"
fi

check "db1 and db2 hold the same serial (a first import keeps the file's serial)"
s1=$(soa_serial db1 "$ORIGIN")
s2=$(soa_serial db2 "$ORIGIN")
[ "$s1" = 2024010101 ] || fail "db1 serial: expected 2024010101, got $s1"
[ "$s2" = 2024010101 ] || fail "db2 serial: expected 2024010101, got $s2"

# record list NAME prints records back exactly (tabs between fields).
expect_list() {
    local name=$1 want=$2
    run "$PDC" --db db2 record list "$ORIGIN" "$name"
    expect_ok "record list $ORIGIN $name"
    [ "$OUT" = "$want" ] || fail "record list $ORIGIN $name:
expected: $(printf '%q' "$want")
got:      $(printf '%q' "$OUT")"
}

check "record list prints the TXT with \\\" and \\DDD escapes and ; inside quotes exactly"
expect_list txt $'txt.example.test.\t3600\tIN\tTXT\t"quote \\"inside\\"" "octal ABC and \\255 end" "semi;colon ( not a paren"'

check "record list prints the unknown types in RFC 3597 form"
expect_list unk $'unk.example.test.\t3600\tIN\tTYPE65280\t\\# 2 abcd'
expect_list empty $'empty.example.test.\t3600\tIN\tTYPE65280\t\\# 0'

check "record list of other specific names (escaped names, \$INCLUDE origin, explicit TTL, RRsets)"
expect_list 'a\.b' $'a\\.b.example.test.\t3600\tIN\tA\t192.0.2.9'
expect_list 'esc\032space' $'esc\\032space.example.test.\t3600\tIN\tA\t192.0.2.10'
expect_list h2.lab $'h2.lab.example.test.\t600\tIN\tAAAA\t2001:db8:1::2'
expect_list after.example.test. $'after.example.test.\t3600\tIN\tA\t192.0.2.99'
expect_list web $'web.example.test.\t3600\tIN\tA\t192.0.2.80\nweb.example.test.\t3600\tIN\tA\t192.0.2.81'
expect_list naptr $'naptr.example.test.\t3600\tIN\tNAPTR\t100 10 "S" "SIP+D2U" "" _sip._udp.example.test.'
expect_list caa $'caa.example.test.\t3600\tIN\tCAA\t0 issue "ca.example.net; account=123"\ncaa.example.test.\t3600\tIN\tCAA\t128 iodef "mailto:security@example.test"'

check "record list of the whole zone equals the export's records"
run "$PDC" --db db2 record list "$ORIGIN"
expect_ok "record list $ORIGIN"
printf '%s\n' "$OUT" | normalize > list2
diff -u expected.sorted list2 > diff2 || fail "record list differs from the zone file (- expected, + got):
$(cat diff2)"

check "--json zone list names the origin with its record count"
run "$PDC" --db db2 --json zone list
expect_ok "--json zone list"
expect_in "$OUT" "\"origin\": \"example.test.\"" "--json zone list"
echo "$OUT" | grep '"origin": "example.test."' | grep -q "\"records\": ${NRECORDS}[,}]" \
    || fail "--json zone list: expected \"records\": $NRECORDS on the example.test. entry, got:
$OUT"
echo "$OUT" | grep '"origin": "example.test."' | grep -q '"serial": 2024010101[,}]' \
    || fail "--json zone list: expected \"serial\": 2024010101 on the example.test. entry, got:
$OUT"

check "--json record list gives the unknown types' rdata in RFC 3597 form"
run "$PDC" --db db2 --json record list "$ORIGIN" unk
expect_ok "--json record list $ORIGIN unk"
expect_in "$OUT" '"rdata": "\\# 2 abcd"' "--json record list $ORIGIN unk"
run "$PDC" --db db2 --json record list "$ORIGIN" empty
expect_ok "--json record list $ORIGIN empty"
expect_in "$OUT" '"rdata": "\\# 0"' "--json record list $ORIGIN empty (an empty unknown-type rdata)"

echo "[$NAME] PASS"
