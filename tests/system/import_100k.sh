#!/usr/bin/env bash
# A 100,000-record zone imports in at most 60 s and exports back whole.
# Prints "import_100k: N records in S s".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup "$@"

ORIGIN=big.example
DB=$T/big.db
TOTAL=100000
LIMIT=60
# The limit is for a normal build; a sanitizer build (tools/test.sh runs the
# suite under ASan+UBSan too) is several times slower by design.
if ldd "$PDC" 2> /dev/null | grep -q 'libasan'; then
    LIMIT=240
    echo "  ($PDC is built with AddressSanitizer: the time limit is $LIMIT s)"
fi

check "generate a $TOTAL-record zone (SOA, NS, A, some AAAA and TXT)"
awk -v total="$TOTAL" 'BEGIN {
    print "$ORIGIN big.example."
    print "$TTL 3600"
    print "@ SOA ns1 hostmaster ( 7 3600 600 1209600 60 )"
    print "  NS ns1"
    print "  NS ns2"
    print "ns1 A 192.0.2.1"
    print "ns2 A 192.0.2.2"
    n = 5
    for (i = 1; n < total; i++) {
        h = sprintf("host%06d", i)
        printf "%s 300 A 10.%d.%d.%d\n", h, int(i / 65536) % 256, int(i / 256) % 256, i % 256; n++
        if (i % 10 == 0 && n < total) { printf "%s 300 AAAA 2001:db8::%x:%x\n", h, int(i / 65536), i % 65536; n++ }
        if (i % 25 == 0 && n < total) { printf "%s TXT \"record %d\" \"of a big zone\"\n", h, i; n++ }
    }
}' > big.zone
lines=$(grep -vc '^\$' big.zone)
[ "$lines" -eq "$TOTAL" ] || fail "test bug: generated $lines records, wanted $TOTAL"

check "zone import of $TOTAL records takes at most $LIMIT s"
start=$(date +%s.%N)
run timeout 300 "$PDC" --db "$DB" zone import "$ORIGIN" big.zone
end=$(date +%s.%N)
expect_ok "zone import big.zone"
seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
echo "import_100k: $TOTAL records in $seconds s"
expect_in "$OUT" "$TOTAL records" "zone import report"
awk -v s="$seconds" -v l="$LIMIT" 'BEGIN { exit !(s <= l) }' || fail "zone import took $seconds s, more than $LIMIT s"

check "--json zone list counts $TOTAL records"
run "$PDC" --db "$DB" --json zone list
expect_ok "--json zone list"
echo "$OUT" | grep '"origin": "big.example."' | grep -q "\"records\": ${TOTAL}[,}]" \
    || fail "--json zone list: expected \"records\": $TOTAL for big.example., got:
$OUT"

check "zone export prints \$ORIGIN and $TOTAL records"
start=$(date +%s.%N)
run timeout 300 "$PDC" --db "$DB" zone export "$ORIGIN"
end=$(date +%s.%N)
expect_ok "zone export"
printf '%s\n' "$OUT" > export.zone
echo "  export took $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s"
n=$(wc -l < export.zone)
[ "$n" -eq $((TOTAL + 1)) ] || fail "export has $n lines, expected $((TOTAL + 1)) (\$ORIGIN + $TOTAL records)"
[ "$(grep -c $'\tIN\tA\t' export.zone)" -eq "$(grep -c ' A ' big.zone)" ] || fail "the export's A count differs from the file's"
[ "$(grep -c $'\tIN\tAAAA\t' export.zone)" -eq "$(grep -c ' AAAA ' big.zone)" ] || fail "the export's AAAA count differs"
[ "$(grep -c $'\tIN\tTXT\t' export.zone)" -eq "$(grep -c ' TXT ' big.zone)" ] || fail "the export's TXT count differs"

check "spot checks: record list of a few hosts"
run "$PDC" --db "$DB" record list "$ORIGIN" host000050
expect_ok "record list host000050"
# In type order: A (1), TXT (16), AAAA (28); the TXT has the $TTL.
want=$'host000050.big.example.\t300\tIN\tA\t10.0.0.50\nhost000050.big.example.\t3600\tIN\tTXT\t"record 50" "of a big zone"\nhost000050.big.example.\t300\tIN\tAAAA\t2001:db8::32'
[ "$OUT" = "$want" ] || fail "record list host000050:
expected: $want
got:      $OUT"
last=$(grep -v '^\$' big.zone | tail -n1 | cut -d' ' -f1)
run "$PDC" --db "$DB" record list "$ORIGIN" "$last"
expect_ok "record list $last"
[ -n "$OUT" ] || fail "the last record of the file ($last) is missing"

check "re-import of the export (replacing $TOTAL records) also takes at most $LIMIT s and bumps the serial"
start=$(date +%s.%N)
run timeout 300 "$PDC" --db "$DB" zone import "$ORIGIN" export.zone
end=$(date +%s.%N)
expect_ok "zone import export.zone"
seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
echo "  re-import took $seconds s"
awk -v s="$seconds" -v l="$LIMIT" 'BEGIN { exit !(s <= l) }' || fail "zone re-import took $seconds s, more than $LIMIT s"
[ "$(soa_serial "$DB" "$ORIGIN")" -eq 8 ] || fail "serial after re-import: expected 8, got $(soa_serial "$DB" "$ORIGIN")"
[ "$(sqlite3 "$DB" 'select count(*) from records')" -eq "$TOTAL" ] || fail "after re-import the file does not hold $TOTAL records"

echo "[$NAME] PASS"
