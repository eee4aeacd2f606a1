# Process bookkeeping shared by the benchmarks (sourced, never run): every
# server or helper a script starts goes in ROOT_PIDS and is stopped, with its
# descendants, on exit; WORK (a temp dir) is removed unless BENCH_KEEP=1.
# Sourcing installs the EXIT, INT and TERM traps.

ROOT_PIDS=()   # servers and helpers this script started

tree_pids() {  # ROOT -> ROOT and its live descendants, one per line
    ps -e -o pid=,ppid=,stat= | awk -v r="$1" '
        { par[$1] = $2; st[$1] = $3 }
        END {
            if (!(r in par)) exit
            in_set[r] = 1; changed = 1
            while (changed) {
                changed = 0
                for (p in par) if (!(p in in_set) && (par[p] in in_set)) { in_set[p] = 1; changed = 1 }
            }
            for (p in in_set) if (st[p] !~ /^Z/) print p
        }'
}

alive() { [[ -e /proc/$1 ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

stop_pid() {  # stop ROOT and its descendants: TERM, wait up to 10 s, then KILL
    local root=$1 pids p i
    pids=$(tree_pids "$root" || true)
    [[ -n $pids ]] || { wait "$root" 2>/dev/null || true; return 0; }
    kill -TERM "$root" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        local left=0
        for p in $pids; do alive "$p" && left=1; done
        [[ $left == 0 ]] && break
        sleep 0.1
    done
    for p in $pids; do alive "$p" && kill -KILL "$p" 2>/dev/null || true; done
    wait "$root" 2>/dev/null || true
}

cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in "${ROOT_PIDS[@]}"; do stop_pid "$p"; done
    if [[ -n ${WORK:-} && -d $WORK ]]; then
        if [[ $BENCH_KEEP == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

forget_pid() {
    local p keep=()
    for p in "${ROOT_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    ROOT_PIDS=("${keep[@]}")
}
