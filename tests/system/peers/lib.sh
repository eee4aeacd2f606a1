# Helpers shared by the peer tests (secondary_axfr.sh, differential.sh): they
# run pooldns next to another DNS server (Knot, NSD) on loopback high ports.
# Sourced, never run. A script does:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   peers_setup "$@"          # POOLDNS, POOLDNSCTL (absolute), T (temp dir), HERE
# Every process it starts goes through start_bg, which records the PID; the
# EXIT trap stops exactly those PIDs (and their descendants, found by PPID
# before the signal), then removes T. Every wait is bounded.

# shellcheck disable=SC2034  # NAME, HERE, POOLDNS, POOLDNSCTL are for the scripts
NAME=$(basename "${0%.sh}")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STARTED_PIDS=()

say() { echo "[$NAME] $*"; }
pass() { echo "PASS [$NAME]: $*"; }
fail() {
    echo "FAIL [$NAME]: $*" >&2
    exit 1
}

# Every command the test needs, with the Debian package that has it.
need_tools() {
    local missing=() spec cmd pkg
    for spec in "$@"; do
        cmd=${spec%%:*}
        pkg=${spec#*:}
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd (Debian package $pkg)")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "FAIL [$NAME]: missing tools: ${missing[*]}" >&2
        exit 1
    fi
}

# The PIDs of a process's descendants, deepest last (by PPID, never by name).
descendants() {
    local kid
    for kid in $(pgrep -P "$1" 2>/dev/null || true); do
        echo "$kid"
        descendants "$kid"
    done
}

stop_pid() {
    local pid=$1 i kids kid
    kill -0 "$pid" 2>/dev/null || return 0
    kids=$(descendants "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do  # up to 5 s
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
    # Children that outlived their parent (e.g. NSD's server processes).
    for kid in $kids; do
        for ((i = 0; i < 40; i++)); do  # up to 2 s each
            kill -0 "$kid" 2>/dev/null || break
            sleep 0.05
        done
        if kill -0 "$kid" 2>/dev/null; then kill -KILL "$kid" 2>/dev/null || true; fi
    done
}

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
    if [ -n "${T:-}" ] && [ -d "$T" ]; then
        if [ -n "${KEEP_TEMP:-}" ]; then
            echo "[$NAME] kept $T" >&2
        else
            rm -rf "$T"
        fi
    fi
    exit "$rc"
}

peers_setup() {
    [ $# -ge 2 ] || { echo "usage: $0 PATH-TO-pooldns PATH-TO-pooldnsctl" >&2; exit 2; }
    local b
    for b in "$1" "$2"; do
        if [ ! -f "$b" ] || [ ! -x "$b" ]; then echo "$0: '$b' is not an executable file" >&2; exit 2; fi
    done
    POOLDNS="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
    POOLDNSCTL="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
    T=$(mktemp -d "${TMPDIR:-/tmp}/pooldns-$NAME.XXXXXX")
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    cd "$T" || exit 1
    unset POOLDNS_DB
}

# start_bg LOG CMD ARGS...: runs CMD in the background, stdout+stderr to LOG;
# sets BG_PID and remembers it for the trap.
start_bg() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 &
    BG_PID=$!
    STARTED_PIDS+=("$BG_PID")
}

# free_port: prints a port that is free for both TCP and UDP on 127.0.0.1 and
# not handed out before by this script (at most 50 tries).
USED_PORTS=" "
free_port() {
    local port i
    for ((i = 0; i < 50; i++)); do
        port=$(python3 - <<'EOF'
import socket
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.bind(("127.0.0.1", 0))
port = t.getsockname()[1]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    u.bind(("127.0.0.1", port))
except OSError:
    port = 0
u.close()
t.close()
print(port)
EOF
)
        if [ "$port" -gt 1024 ] && [[ "$USED_PORTS" != *" $port "* ]]; then
            USED_PORTS+="$port "
            echo "$port"
            return 0
        fi
    done
    fail "no free port found"
}

# soa_serial PORT ZONE: the SOA serial a server on 127.0.0.1 answers with
# over UDP (empty if none); one try, short timeout.
soa_serial() {
    kdig @127.0.0.1 -p "$1" +retry=0 +timeout=1 +norecurse +short "$2" SOA 2>/dev/null | awk 'NF >= 7 { print $3; exit }'
}

# wait_for DESCRIPTION SECONDS CMD ARGS...: polls CMD every 50 ms until it
# succeeds, at most SECONDS; also gives up when a started process has died.
wait_for() {
    local what=$1 secs=$2 i tries pid
    shift 2
    tries=$((secs * 20))
    for ((i = 0; i < tries; i++)); do
        if "$@"; then return 0; fi
        for pid in "${STARTED_PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null || { echo "[$NAME] process $pid exited while waiting for $what" >&2; return 1; }
        done
        sleep 0.05
    done
    echo "[$NAME] gave up after ${secs}s waiting for $what" >&2
    return 1
}

serial_is() { [ "$(soa_serial "$1" "$2")" = "$3" ]; }
answers_soa() { [ -n "$(soa_serial "$1" "$2")" ]; }

# axfr_normalised PORT ZONE: the zone by AXFR over TCP, one RR a line as
# "owner TTL class type rdata" (owner lower-cased, whitespace collapsed), the
# closing SOA dropped, sorted. Fails if the transfer did not complete.
axfr_normalised() {
    local out
    out=$(kdig @127.0.0.1 -p "$1" +tcp +retry=0 +timeout=5 AXFR "$2" 2>&1) || { echo "$out" >&2; return 1; }
    if ! grep -q '^;; Received' <<<"$out" || grep -q '^;; ERROR\|^;; WARNING' <<<"$out"; then
        echo "$out" >&2
        return 1
    fi
    local rrs
    rrs=$(awk '!/^;/ && NF >= 4 { $1 = tolower($1); print }' <<<"$out")
    # An AXFR starts and ends with the SOA (RFC 5936 section 2.2).
    if [ "$(head -n1 <<<"$rrs" | awk '{ print $4 }')" != SOA ] || [ "$(tail -n1 <<<"$rrs" | awk '{ print $4 }')" != SOA ]; then
        echo "AXFR of $2 from port $1 does not start and end with the SOA" >&2
        return 1
    fi
    sed '$d' <<<"$rrs" | LC_ALL=C sort
}
