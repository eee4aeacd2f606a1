#!/usr/bin/env bash
# Bad input changes nothing: every bad zone file and every bad 'record' command
# fails (exit 1, or 2 for a bad command line), names the file line or the
# argument, and leaves the database file byte-for-byte as it was.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup "$@"

ORIGIN=example.com
DB=$T/zones.db

cat > good.zone <<'EOF'
$ORIGIN example.com.
$TTL 3600
@       SOA ns1 hostmaster 100 3600 600 1209600 60
        NS  ns1
ns1     A   192.0.2.1
www     A   192.0.2.80
web     A   192.0.2.81
EOF

check "a good zone imports"
run "$PDC" --db "$DB" zone import "$ORIGIN" good.zone
expect_ok "zone import good.zone"
mode=$(sqlite3 "$DB" 'PRAGMA journal_mode')
[ "$mode" = wal ] || fail "the database is not in WAL mode (journal_mode is '$mode')"

# pooldnsctl has exited, so SQLite has checkpointed the WAL into the main file.
cp "$DB" db.orig
"$PDC" --db "$DB" zone export "$ORIGIN" > export.orig

# The database file and the zone it holds are exactly as they were.
expect_unchanged() {
    cmp -s "$DB" db.orig || fail "$1: the database file changed (cmp $DB db.orig)"
    local now
    now=$("$PDC" --db "$DB" zone export "$ORIGIN") || fail "$1: zone export failed afterwards"
    [ "$now" = "$(cat export.orig)" ] || fail "$1: the zone changed:
$(diff -u export.orig <(printf '%s\n' "$now") || true)"
    # The export above opened and closed the file again: still the same bytes.
    cmp -s "$DB" db.orig || fail "$1: the database file changed after a read (cmp $DB db.orig)"
}

# bad_zone DESC FILE: FILE holds one mistake on the line marked '; BAD'. The
# import into the same origin fails with exit 1, names FILE:LINE and changes
# nothing. (For $INCLUDE errors inside an included file, see below.)
bad_zone() {
    local desc=$1 file=$2 line
    line=$(grep -n '; BAD' "$file" | cut -d: -f1)
    [ -n "$line" ] && [ "$(printf '%s\n' "$line" | wc -l)" -eq 1 ] || fail "test bug: $file needs one '; BAD' line"
    check "zone import of $desc ($file:$line) fails, names $file:$line, changes nothing"
    run "$PDC" --db "$DB" zone import "$ORIGIN" "$file"
    expect_rc 1 "zone import $file ($desc)"
    expect_in "$ERR" "$file:$line:" "zone import $file ($desc): stderr must name the file and line"
    expect_unchanged "zone import $file ($desc)"
}

# Each bad file starts from the good zone.
head_good() { sed -n 1,5p good.zone; }

{ head_good; echo 'www     A   192.0.2.80'; echo 'x       A   300.1.1.1   ; BAD'; echo 'y A 192.0.2.9'; } > bad_rdata.zone
bad_zone "a bad A rdata" bad_rdata.zone

{ head_good; echo 'www.example.org. A 192.0.2.80 ; BAD'; } > outside.zone
bad_zone "a name outside the zone" outside.zone

{ head_good; echo 'www     A   192.0.2.80'; echo 'www     CNAME web ; BAD'; echo 'web A 192.0.2.81'; } > cname_after_a.zone
bad_zone "a CNAME beside an A (CNAME second)" cname_after_a.zone

{ head_good; echo 'www     CNAME web'; echo 'web A 192.0.2.81'; echo 'www     A   192.0.2.80 ; BAD'; } > a_after_cname.zone
bad_zone "an A beside a CNAME (A second)" a_after_cname.zone

{ head_good; echo 'www A 192.0.2.80'; echo '@ SOA ns1 hostmaster 101 3600 600 1209600 60 ; BAD'; } > second_soa.zone
bad_zone "a second SOA" second_soa.zone

{ head_good; echo 'big 4294967296 A 192.0.2.80 ; BAD'; echo 'www A 192.0.2.80'; } > ttl_big.zone
bad_zone "a TTL of 4294967296" ttl_big.zone

{ head_good; echo 'big 2147483648 A 192.0.2.80 ; BAD'; } > ttl_2p31.zone
bad_zone "a TTL of 2147483648 (above RFC 2181's 2^31-1)" ttl_2p31.zone

{ head_good; echo 'odd FOOBAR 1 2 3 ; BAD'; } > unknown_type.zone
bad_zone "an unknown type mnemonic" unknown_type.zone

{ head_good; echo 'www A 192.0.2.80'; echo 'txt TXT ( "one" ; BAD'; echo '  "two"'; echo 'web A 192.0.2.81'; echo ''; } > unclosed.zone
bad_zone "an unclosed parenthesis (named by the line it opened on)" unclosed.zone

{ head_good; echo '$INCLUDE no-such-file.inc ; BAD'; } > include_missing.zone
bad_zone "an \$INCLUDE of a missing file" include_missing.zone

{ head_good; echo 'www A 192.0.2.80'; echo '$FROB 1 ; BAD'; } > directive.zone
bad_zone "an unknown directive" directive.zone

# Line numbers stay right after multi-line parentheses, comments, blank lines
# and an $INCLUDE.
cat > after_parens.zone <<'EOF'
$ORIGIN example.com.
$TTL 3600
@   SOA ns1 hostmaster (  ; comment
        100     ; serial

        3600 600 1209600 60
    )
    NS ns1
ns1 A 192.0.2.1
txt TXT ( "one" ; comment
          "two (not a paren)" )

www A 192.0.2.80
mx  MX 10 ; BAD (the exchange is missing)
EOF
bad_zone "a bad MX after multi-line parentheses" after_parens.zone

mkdir -p inc
printf '%s\n' '; a good included file' '' 'a A 192.0.2.10' 'b A 192.0.2.11' 'c A 192.0.2.12' > inc/good.inc
{ head_good; echo '$INCLUDE inc/good.inc'; echo 'www A 192.0.2.80'; echo 'e A 192.0.2.256 ; BAD'; } > after_include.zone
bad_zone "a bad A after an \$INCLUDE (the including file's line)" after_include.zone

{ head_good; echo 'txt TXT "never closed ; BAD'; echo 'www A 192.0.2.80'; } > open_quote.zone
bad_zone "an unclosed quoted string" open_quote.zone

# A mistake inside an included file names the included file and its own line.
printf '%s\n' '; included' 'a A 192.0.2.10' 'b A 192.0.2.300' > inc/bad.inc
{ head_good; echo '$INCLUDE inc/bad.inc'; } > include_bad.zone
check "zone import of a file whose \$INCLUDEd file has a bad line names that file's line"
run "$PDC" --db "$DB" zone import "$ORIGIN" include_bad.zone
expect_rc 1 "zone import include_bad.zone"
expect_in "$ERR" "inc/bad.inc:3:" "zone import include_bad.zone: stderr must name inc/bad.inc:3"
expect_unchanged "zone import include_bad.zone"

check "zone import of a missing file fails and changes nothing"
run "$PDC" --db "$DB" zone import "$ORIGIN" no-such.zone
expect_rc 1 "zone import no-such.zone"
expect_in "$ERR" "no-such.zone" "zone import no-such.zone"
expect_unchanged "zone import no-such.zone"

# ---- record add / replace / delete with bad arguments ----

bad_cmd "record add outside the zone" 1 "NAME:" record add "$ORIGIN" www.example.org. 300 A 192.0.2.1
bad_cmd "record add with TTL 4294967296" 1 "TTL:" record add "$ORIGIN" x 4294967296 A 192.0.2.1
bad_cmd "record add with TTL 2147483648" 1 "TTL:" record add "$ORIGIN" x 2147483648 A 192.0.2.1
bad_cmd "record add with TTL 'abc'" 1 "TTL:" record add "$ORIGIN" x abc A 192.0.2.1
bad_cmd "record add with a bad A rdata" 1 "RDATA:" record add "$ORIGIN" x 300 A 300.1.1.1
bad_cmd "record add with a bad MX rdata" 1 "RDATA:" record add "$ORIGIN" x 300 MX mail.example.com.
bad_cmd "record add with an unknown type" 1 "TYPE:" record add "$ORIGIN" x 300 FOOBAR 1
bad_cmd "record add to an unknown zone" 1 "ORIGIN:" record add nosuch.example x 300 A 192.0.2.1
bad_cmd "record add of a second SOA" 1 "TYPE:" record add "$ORIGIN" @ 300 SOA ns1 hostmaster 5 3600 600 1209600 60
bad_cmd "record add of an SOA below the apex" 1 "NAME:" record add "$ORIGIN" sub 300 SOA ns1 hostmaster 5 3600 600 1209600 60
bad_cmd "record add of a CNAME beside an existing A" 1 "www.example.com." record add "$ORIGIN" www 300 CNAME web
expect_in "$ERR" "CNAME" "record add CNAME beside A: the message says what conflicts"
bad_cmd "record replace of a CNAME beside an existing A" 1 "www.example.com." record replace "$ORIGIN" www 300 CNAME web
bad_cmd "record delete of the last NS (whole RRset)" 1 "no NS record" record delete "$ORIGIN" @ NS
bad_cmd "record delete of the last NS (by rdata)" 1 "no NS record" record delete "$ORIGIN" @ NS ns1.example.com.
bad_cmd "record delete of the SOA" 1 "TYPE:" record delete "$ORIGIN" @ SOA
bad_cmd "record delete of a record that is not there" 1 "192.0.2.99" record delete "$ORIGIN" www A 192.0.2.99
bad_cmd "record delete in an unknown zone" 1 "ORIGIN:" record delete nosuch.example www A

bad_cmd "record add with the RDATA missing" 2 "usage" record add "$ORIGIN" x 300 A
bad_cmd "record add with only ORIGIN and NAME" 2 "usage" record add "$ORIGIN" x
bad_cmd "record add with no arguments" 2 "usage" record add
bad_cmd "record delete with the TYPE missing" 2 "usage" record delete "$ORIGIN" www
bad_cmd "record add with an unknown option" 2 "--bogus" record add --bogus "$ORIGIN" x 300 A 192.0.2.1
bad_cmd "zone import with the FILE missing" 2 "usage" zone import "$ORIGIN"

check "record add against a database file that does not exist fails and does not create it"
run "$PDC" --db "$T/missing.db" record add "$ORIGIN" x 300 A 192.0.2.1
expect_rc 1 "record add --db missing.db"
expect_in "$ERR" "missing.db" "record add --db missing.db"
[ ! -e "$T/missing.db" ] || fail "record add created $T/missing.db"

# Last, as it is the one case whose problem has no line of its own: the
# message must still name the file it is about.
{ sed -n 1,3p good.zone; echo 'ns1     A   192.0.2.1'; echo 'www A 192.0.2.80'; } > no_ns.zone
check "zone import of a zone without NS fails, names no_ns.zone, changes nothing"
run "$PDC" --db "$DB" zone import "$ORIGIN" no_ns.zone
expect_rc 1 "zone import no_ns.zone"
expect_in "$ERR" "NS" "zone import no_ns.zone: the message says NS is missing"
expect_unchanged "zone import no_ns.zone"
expect_in "$ERR" "no_ns.zone" "zone import no_ns.zone: stderr must name the file"

check "after all that, a good edit still works"
run "$PDC" --db "$DB" record add "$ORIGIN" new 300 A 192.0.2.50
expect_ok "record add new"
cmp -s "$DB" db.orig && fail "a good record add did not change the database file"

echo "[$NAME] PASS"
