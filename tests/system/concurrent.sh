#!/usr/bin/env bash
# Several pooldnsctl processes edit one zone at once. Every command either
# succeeds or fails cleanly (exit 1 with a "busy" message); afterwards the file
# passes PRAGMA integrity_check, holds the initial records plus one per
# successful add, and the SOA serial has moved by exactly one per successful edit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup "$@"

command -v sqlite3 > /dev/null || fail "sqlite3 (the CLI) is needed"

ORIGIN=example.com
DB=$T/zones.db
WRITERS=3
ADDS=50
SERIAL0=1000   # not a date serial, so each edit adds exactly one

cat > zone.txt <<EOF
\$ORIGIN example.com.
\$TTL 3600
@    SOA ns1 hostmaster $SERIAL0 3600 600 1209600 60
     NS  ns1
     NS  ns2
ns1  A   192.0.2.1
ns2  A   192.0.2.2
www  A   192.0.2.80
EOF

check "setup: import the zone (serial $SERIAL0)"
run "$PDC" --db "$DB" zone import "$ORIGIN" zone.txt
expect_ok "zone import zone.txt"
COUNT0=$(record_count "$DB" "$ORIGIN")
[ "$COUNT0" -eq 6 ] || fail "expected 6 records after the import, got $COUNT0"
[ "$(soa_serial "$DB" "$ORIGIN")" -eq "$SERIAL0" ] || fail "serial after the import is not $SERIAL0"
AUDIT0=$(sqlite3 "$DB" "select count(*) from audit")

# hold_lock SECONDS: another writer (the sqlite3 CLI) takes the write lock and
# keeps it SECONDS seconds, in the background; HOLDER is its pid.
hold_lock() {
    (echo "BEGIN IMMEDIATE;"; echo "SELECT 'locked';"; sleep "$1"; echo "ROLLBACK;") \
        | timeout 120 sqlite3 "$DB" > holder.out 2>&1 &
    HOLDER=$!
    for _ in $(seq 1 200); do
        grep -q locked holder.out 2> /dev/null && return 0
        sleep 0.05
    done
    fail "sqlite3 did not take the write lock: $(cat holder.out)"
}

check "while another process holds the write lock for 8 s: record add and zone import fail cleanly (exit 1, 'busy'), reads work"
hold_lock 8
SECONDS=0
rc_add=0 rc_imp=0
timeout 120 "$PDC" --db "$DB" record add "$ORIGIN" blocked 300 A 192.0.2.99 > busy_add.out 2> busy_add.err &
pid_add=$!
timeout 120 "$PDC" --db "$DB" zone import "$ORIGIN" zone.txt > busy_imp.out 2> busy_imp.err &
pid_imp=$!
run timeout 120 "$PDC" --db "$DB" record list "$ORIGIN"
expect_ok "record list while the write lock is held"
wait "$pid_add" || rc_add=$?
wait "$pid_imp" || rc_imp=$?
[ "$SECONDS" -lt 8 ] || fail "test timing: the busy commands finished after the lock was released (${SECONDS} s); cannot judge"
[ "$rc_add" -eq 1 ] && grep -qi busy busy_add.err || fail "record add while the write lock is held: expected exit 1 and 'busy', got exit $rc_add:
$(cat busy_add.out busy_add.err)"
[ "$rc_imp" -eq 1 ] && grep -qi busy busy_imp.err || fail "zone import while the write lock is held: expected exit 1 and 'busy', got exit $rc_imp:
$(cat busy_imp.out busy_imp.err)"
echo "  record add said: $(cat busy_add.err)"
wait "$HOLDER" || fail "the sqlite3 lock holder failed: $(cat holder.out)"
[ "$(record_count "$DB" "$ORIGIN")" -eq "$COUNT0" ] || fail "a busy add changed the record count"
[ "$(soa_serial "$DB" "$ORIGIN")" -eq "$SERIAL0" ] || fail "a busy edit changed the serial"
[ "$(sqlite3 "$DB" "select count(*) from audit")" -eq "$AUDIT0" ] || fail "a busy edit wrote an audit row"

# One writer: ADDS distinct records, one pooldnsctl process each; per command
# a line "KIND INDEX RC" in results.W, its output in out.W.INDEX / err.W.INDEX.
cat > writer.sh <<'EOF'
set -u
pdc=$1 db=$2 origin=$3 w=$4 adds=$5
while [ ! -e go ]; do sleep 0.01; done
for i in $(seq 1 "$adds"); do
    rc=0
    "$pdc" --db "$db" record add "$origin" "w${w}n${i}" 300 A "10.${w}.$((i / 256)).$((i % 256))" \
        > "out.$w.$i" 2> "err.$w.$i" || rc=$?
    echo "add $i $rc" >> "results.$w"
done
EOF

# One reader: lists and exports the zone while the writers run.
cat > reader.sh <<'EOF'
set -u
pdc=$1 db=$2 origin=$3 n=$4
while [ ! -e go ]; do sleep 0.01; done
for i in $(seq 1 "$n"); do
    rc=0
    if [ $((i % 2)) -eq 0 ]; then
        "$pdc" --db "$db" record list "$origin" > "out.r.$i" 2> "err.r.$i" || rc=$?
    else
        "$pdc" --db "$db" zone export "$origin" > "out.r.$i" 2> "err.r.$i" || rc=$?
    fi
    echo "read $i $rc" >> results.r
done
EOF

check "$WRITERS writers x $ADDS adds and one reader, started at once while sqlite3 holds the lock 6 s (each bounded by timeout 120)"
# The lock is held for the first seconds, so early adds may wait out the busy
# timeout and fail (cleanly), later ones go through.
hold_lock 6
pids=()
for w in $(seq 1 "$WRITERS"); do
    timeout 120 bash writer.sh "$PDC" "$DB" "$ORIGIN" "$w" "$ADDS" &
    pids+=($!)
done
timeout 120 bash reader.sh "$PDC" "$DB" "$ORIGIN" 40 &
pids+=($!)
sleep 0.2
touch go
for pid in "${pids[@]}"; do
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" -eq 0 ] || fail "a worker (pid $pid) exited $rc (124 means it hit the 120 s timeout)"
done
wait "$HOLDER" || fail "the sqlite3 lock holder failed: $(cat holder.out)"

check "every command succeeded or failed cleanly with exit 1 and a 'busy' message"
ok=0 busy=0
for w in $(seq 1 "$WRITERS"); do
    [ "$(wc -l < "results.$w")" -eq "$ADDS" ] || fail "writer $w ran $(wc -l < "results.$w") of $ADDS commands"
    while read -r kind i rc; do
        if [ "$rc" -eq 0 ]; then
            grep -q "^added 1 record in example.com. (serial [0-9]*)$" "out.$w.$i" \
                || fail "writer $w add $i exited 0 but printed: $(cat "out.$w.$i")"
            ok=$((ok + 1))
        elif [ "$rc" -eq 1 ] && grep -qi busy "err.$w.$i"; then
            busy=$((busy + 1))
        else
            fail "writer $w $kind $i: exit $rc, neither success nor a clean 'busy' failure:
stdout: $(cat "out.$w.$i")
stderr: $(cat "err.$w.$i")"
        fi
    done < "results.$w"
done
reads_ok=0 reads_busy=0
[ "$(wc -l < results.r)" -eq 40 ] || fail "the reader ran $(wc -l < results.r) of 40 commands"
while read -r kind i rc; do
    if [ "$rc" -eq 0 ]; then
        reads_ok=$((reads_ok + 1))
        # A reader sees a whole zone: the SOA and both NS are always there.
        grep -q $'\tSOA\t' "out.r.$i" || fail "read $i printed no SOA: $(head -3 "out.r.$i")"
        [ "$(grep -c $'\tNS\t' "out.r.$i")" -eq 2 ] || fail "read $i did not print both NS"
    elif [ "$rc" -eq 1 ] && grep -qi busy "err.r.$i"; then
        reads_busy=$((reads_busy + 1))
    else
        fail "reader $kind $i: exit $rc, neither success nor a clean 'busy' failure:
stderr: $(cat "err.r.$i")"
    fi
done < results.r
echo "  adds: $ok succeeded, $busy busy; reads: $reads_ok succeeded, $reads_busy busy"
[ "$ok" -gt 0 ] || fail "no add succeeded"

check "PRAGMA integrity_check prints ok"
integrity=$(sqlite3 "$DB" 'PRAGMA integrity_check')
[ "$integrity" = ok ] || fail "integrity_check: $integrity"

check "record count = $COUNT0 initial + $ok successful adds"
count=$(record_count "$DB" "$ORIGIN")
[ "$count" -eq $((COUNT0 + ok)) ] || fail "expected $((COUNT0 + ok)) records, 'record list' shows $count"
sql_count=$(sqlite3 "$DB" "select count(*) from records r join zones z on z.id = r.zone_id where z.origin = 'example.com.'")
[ "$sql_count" -eq "$count" ] || fail "sqlite3 counts $sql_count records, 'record list' shows $count"

check "each successful add's record is there, each busy one's is not"
for w in $(seq 1 "$WRITERS"); do
    while read -r kind i rc; do
        n=$("$PDC" --db "$DB" record list "$ORIGIN" "w${w}n${i}" | wc -l)
        if [ "$rc" -eq 0 ]; then
            [ "$n" -eq 1 ] || fail "w${w}n${i} was added (exit 0) but 'record list' shows $n records"
        else
            [ "$n" -eq 0 ] || fail "w${w}n${i} failed (exit $rc) but 'record list' shows $n records"
        fi
    done < "results.$w"
done

check "the SOA serial advanced by exactly $ok (the successful edits)"
serial=$(soa_serial "$DB" "$ORIGIN")
[ "$serial" -eq $((SERIAL0 + ok)) ] || fail "expected serial $((SERIAL0 + ok)), got $serial"

check "the serials the successful adds reported are distinct and are $((SERIAL0 + 1))..$((SERIAL0 + ok))"
cat out.[0-9]*.* | sed -n 's/.*(serial \([0-9]*\))$/\1/p' | sort -n > serials
[ "$(wc -l < serials)" -eq "$ok" ] || fail "expected $ok reported serials, found $(wc -l < serials)"
seq $((SERIAL0 + 1)) $((SERIAL0 + ok)) > serials.expected
diff -q serials.expected serials > /dev/null || fail "reported serials are not exactly $((SERIAL0 + 1))..$((SERIAL0 + ok)):
$(diff serials.expected serials | head -20)"

check "the audit table gained one 'record add' row per successful add"
audit=$(sqlite3 "$DB" "select count(*) from audit")
adds=$(sqlite3 "$DB" "select count(*) from audit where action = 'record add'")
[ "$audit" -eq $((AUDIT0 + ok)) ] || fail "audit rows: expected $((AUDIT0 + ok)), got $audit"
[ "$adds" -eq "$ok" ] || fail "'record add' audit rows: expected $ok, got $adds"

check "zone check finds no problem"
run "$PDC" --db "$DB" zone check "$ORIGIN"
expect_ok "zone check $ORIGIN"

# The first use of a new file (WAL switch, schema migration) is the other
# place where writers meet. Many rounds, as a race does not show every time.
# In a round, CREATORS processes wait on a FIFO and exec pooldnsctl the moment
# it opens, so they reach the file together; the whole phase runs under
# timeout 120 (a timeout per process would stagger their starts).
ROUNDS=20
CREATORS=6
cat > creators.sh <<'EOF'
set -u
pdc=$1 rounds=$2 creators=$3
for round in $(seq 1 "$rounds"); do
    rm -f go.fifo
    mkfifo go.fifo
    pids=()
    for k in $(seq 1 "$creators"); do
        (
            cat go.fifo > /dev/null
            exec "$pdc" --db "fresh.$round.db" zone create "z$k.example" --ns ns1.example.net. \
                > "create.$round.$k.out" 2> "create.$round.$k.err"
        ) &
        pids+=($!)
    done
    sleep 0.05
    exec 3> go.fifo   # every waiting cat's open returns now ...
    exec 3>&-         # ... and it sees end of file
    for k in $(seq 1 "$creators"); do
        rc=0
        wait "${pids[$((k - 1))]}" || rc=$?
        echo "$rc" > "create.$round.$k.rc"
    done
done
EOF
check "$ROUNDS rounds of $CREATORS 'zone create' at once on a brand-new file: each succeeds or fails cleanly"
rc=0
timeout 120 bash creators.sh "$PDC" "$ROUNDS" "$CREATORS" || rc=$?
[ "$rc" -eq 0 ] || fail "the 'zone create' rounds exited $rc (124 means they hit the 120 s timeout)"
for round in $(seq 1 "$ROUNDS"); do
    created=0
    for k in $(seq 1 "$CREATORS"); do
        rc=$(cat "create.$round.$k.rc")
        if [ "$rc" -eq 0 ]; then
            created=$((created + 1))
        elif [ "$rc" -ne 1 ] || ! grep -qi busy "create.$round.$k.err"; then
            fail "round $round: 'zone create z$k.example' on a new file, run at once with $((CREATORS - 1)) others: exit $rc, neither success nor a clean 'busy' failure:
stderr: $(cat "create.$round.$k.err")"
        fi
    done
    [ "$(sqlite3 "fresh.$round.db" 'PRAGMA integrity_check')" = ok ] || fail "round $round: integrity_check of the new file failed"
    zones=$(sqlite3 "fresh.$round.db" 'select count(*) from zones')
    [ "$zones" -eq "$created" ] || fail "round $round: $created creates succeeded but the file holds $zones zones"
done

# The same meeting made certain: another process holds the write lock on a
# brand-new file (not yet in WAL mode) for 3 s, less than the 5 s busy timeout.
check "zone create on a brand-new file another process holds the write lock on for 3 s: waits and succeeds, or fails cleanly"
DB=$T/new.db
hold_lock 3
SECONDS=0
run timeout 120 "$PDC" --db "$DB" zone create new.example --ns ns1.example.net.
took=$SECONDS
wait "$HOLDER" || fail "the sqlite3 lock holder failed: $(cat holder.out)"
if [ "$RC" -ne 0 ] && { [ "$RC" -ne 1 ] || ! grep -qi busy <<< "$ERR"; }; then
    fail "zone create on a new file while another process holds its write lock for 3 s (busy timeout 5 s) after ${took} s: neither success nor a clean 'busy' failure:
$(last_output)"
fi
[ "$RC" -ne 0 ] || [ "$(sqlite3 "$DB" 'select count(*) from zones')" -eq 1 ] || fail "zone create succeeded but the zone is not in the file"

echo "[$NAME] PASS"
