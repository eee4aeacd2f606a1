#!/usr/bin/env bash
# NOTIFY (RFC 1996): with the `notify` setting, pooldns tells the secondary of
# every zone at start-up and of each zone whose serial changes; it retries until
# answered. The secondary here is a small python3 UDP responder that records
# each NOTIFY (zone, opcode, AA, QTYPE) and answers it like a real secondary.
# Usage: notify.sh POOLDNS POOLDNSCTL
set -euo pipefail
pooldns="$1"
ctl="$2"
dir="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- pooldns log:" >&2; cat "$dir/pooldns.log" >&2 || true; exit 1; }

source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

export POOLDNS_DB="$dir/p.db"
"$ctl" zone create notify.test --ns ns1.example.net >/dev/null
"$ctl" zone create other.test --ns ns1.example.net >/dev/null

sec_port=$(free_port)
cat > "$dir/secondary.py" <<'PY'
import socket, sys, time
port, out, ignore_first, ready = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
s.settimeout(0.2)
open(ready, "w").close()         # bound: pooldns may start now
deadline = time.time() + 30      # bounded: stops by itself
seen = 0
with open(out, "a", buffering=1) as log:
    while time.time() < deadline:
        try:
            data, peer = s.recvfrom(4096)
        except socket.timeout:
            continue
        if len(data) < 12:
            continue
        opcode = (data[2] >> 3) & 0x0F
        aa = (data[2] >> 2) & 1
        i, labels = 12, []
        while data[i] != 0:
            labels.append(data[i + 1:i + 1 + data[i]].decode())
            i += data[i] + 1
        qtype = int.from_bytes(data[i + 1:i + 3], "big")
        seen += 1
        log.write(f"{'.'.join(labels)}. opcode={opcode} aa={aa} qtype={qtype}\n")
        if seen <= ignore_first:
            continue          # make pooldns retry
        reply = bytearray(data[:i + 5])
        reply[2] = (data[2] | 0x80)     # QR, same opcode and AA
        s.sendto(bytes(reply), peer)
PY
python3 "$dir/secondary.py" "$sec_port" "$dir/notifies" 1 "$dir/ready" &
pids+=($!)

wait_for() {  # pattern file seconds
  local deadline=$((SECONDS + $3))
  until grep -q "$1" "$2" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}
deadline=$((SECONDS + 10))
until [ -e "$dir/ready" ]; do
  [ $SECONDS -lt $deadline ] || fail "the test secondary did not start"
  sleep 0.05
done

sqlite3 "$POOLDNS_DB" "INSERT INTO settings VALUES ('notify', '127.0.0.1:$sec_port')"
dns_port=$(free_port)
"$pooldns" --db "$POOLDNS_DB" --dns "127.0.0.1:$dns_port" --threads 1 --log-level debug 2>"$dir/pooldns.log" &
pids+=($!)


echo "check: start-up notifies every zone, and retries an unanswered NOTIFY"
wait_for "notify_acked zone=notify.test." "$dir/pooldns.log" 10 || fail "no acknowledged NOTIFY for notify.test. at start-up"
wait_for "notify_acked zone=other.test." "$dir/pooldns.log" 10 || fail "no acknowledged NOTIFY for other.test. at start-up"
grep -q "^notify.test. opcode=4 aa=1 qtype=6$" "$dir/notifies" || fail "the NOTIFY is not opcode 4, AA, QTYPE SOA: $(cat "$dir/notifies")"
first=$(head -n1 "$dir/notifies" | cut -d' ' -f1)
[ "$(grep -c "^$first " "$dir/notifies")" -ge 2 ] || fail "the unanswered first NOTIFY ($first) was not retried"
grep -q "notify_acked zone=$first target=127.0.0.1:$sec_port attempts=2" "$dir/pooldns.log" || fail "the retried NOTIFY was not acknowledged on attempt 2"

echo "check: an edit notifies its zone only"
before_other=$(grep -c "^other.test. " "$dir/notifies")
"$ctl" record add notify.test www 300 A 192.0.2.80 >/dev/null
wait_for "reload why=change" "$dir/pooldns.log" 5 || fail "the edit was not reloaded"
deadline=$((SECONDS + 5))
until [ "$(grep -c 'notify_acked zone=notify.test.' "$dir/pooldns.log")" -ge 2 ]; do
  [ $SECONDS -lt $deadline ] || fail "the edit of notify.test. sent no acknowledged NOTIFY"
  sleep 0.05
done
[ "$(grep -c "^other.test. " "$dir/notifies")" -eq "$before_other" ] || fail "an edit of notify.test. notified other.test. too"
echo "notify: PASS"
