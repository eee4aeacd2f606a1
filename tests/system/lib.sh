# Helpers shared by the pooldnsctl system tests. Sourced, never run.
#
# A test script does:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   setup "$@"
# which sets PDC (the pooldnsctl binary, absolute), T (a fresh mktemp -d
# directory, removed on exit) and cd's into T.

NAME=$(basename "${0%.sh}")

fail() {
    echo "FAIL [$NAME]: $*" >&2
    exit 1
}

check() {
    echo "[$NAME] check: $*"
}

setup() {
    [ $# -ge 1 ] || { echo "usage: $0 PATH-TO-pooldnsctl" >&2; exit 2; }
    local bin=$1
    [ -f "$bin" ] && [ -x "$bin" ] || { echo "$0: '$bin' is not an executable file" >&2; exit 2; }
    PDC="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
    T=$(mktemp -d "${TMPDIR:-/tmp}/pooldns-$NAME.XXXXXX")
    trap 'rm -rf "$T"' EXIT
    cd "$T" || exit 1
    # Keep $POOLDNS_DB of the caller from leaking into the tests.
    unset POOLDNS_DB
}

# run CMD ARGS...: runs a command without tripping set -e and keeps its exit
# status in RC, its stdout in OUT and its stderr in ERR.
run() {
    local rc=0
    "$@" >"$T/.run.out" 2>"$T/.run.err" || rc=$?
    RC=$rc
    OUT=$(cat "$T/.run.out")
    ERR=$(cat "$T/.run.err")
}

# Shows the last command's output (for failure messages).
last_output() {
    printf 'exit status: %s\n--- stdout ---\n%s\n--- stderr ---\n%s\n' "$RC" "$OUT" "$ERR"
}

# expect_rc N WHAT: the last run() exited with N.
expect_rc() {
    [ "$RC" -eq "$1" ] || fail "$2: expected exit status $1, got $RC
$(last_output)"
}

# expect_ok WHAT: the last run() exited 0.
expect_ok() {
    expect_rc 0 "$1"
}

# expect_in HAYSTACK NEEDLE WHAT: NEEDLE occurs literally in HAYSTACK.
expect_in() {
    case "$1" in
        *"$2"*) ;;
        *) fail "$3: expected to find '$2' in:
$1" ;;
    esac
}

# The SOA serial of ORIGIN in DB, read through 'record list ORIGIN @'.
soa_serial() {
    local db=$1 origin=$2 line
    line=$("$PDC" --db "$db" record list "$origin" @ | awk -F'\t' '$4 == "SOA" { print $5 }')
    [ -n "$line" ] || fail "no SOA in 'record list $origin @' of $db"
    # rdata: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM
    set -- $line
    [ $# -eq 7 ] || fail "cannot parse SOA rdata '$line'"
    echo "$3"
}

# The number of records of ORIGIN in DB, read through 'record list ORIGIN'.
record_count() {
    "$PDC" --db "$1" record list "$2" | wc -l
}

# ok WHAT ARGS...: pooldnsctl --db $DB ARGS... succeeds.
ok() {
    local what=$1
    shift
    run "$PDC" --db "$DB" "$@"
    expect_ok "$what"
}

# json WHAT PYTHON-EXPR: OUT parses as JSON (json.load) and EXPR, over d, holds.
json() {
    printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if not ('"$2"'):
    print("JSON was:", json.dumps(d, indent=1), file=sys.stderr)
    sys.exit(1)
' || fail "$1: the --json output does not satisfy: $2"
}

# expect_unchanged WHAT: $DB is byte for byte db.orig (a script may define a
# stricter one after sourcing this file).
expect_unchanged() {
    cmp -s "$DB" db.orig || fail "$1: the database file changed (cmp $DB db.orig)"
}

# bad_cmd DESC RC NEEDLE ARGS...: pooldnsctl --db DB ARGS... exits RC, its
# stderr holds NEEDLE, and nothing changed.
bad_cmd() {
    local desc=$1 rc=$2 needle=$3
    shift 3
    check "$desc: exit $rc, stderr names '$needle', changes nothing"
    run "$PDC" --db "$DB" "$@"
    expect_rc "$rc" "$desc ($*)"
    expect_in "$ERR" "$needle" "$desc ($*)"
    expect_unchanged "$desc ($*)"
}
