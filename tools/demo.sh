#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install what is missing, build,
# create the demo database from docs/examples/contoso.com.zone and show it.
# Environment: POOLDNS_DEMO_DB (default build/demo/pooldns.db).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source tools/deps.sh
pooldns_install_missing build

build=build/release
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPOOLDNS_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" 2>&1 | grep -vE '^\[ *[0-9]+%\]|^-- ' || true
[ "${PIPESTATUS[0]}" -eq 0 ]
ctl="$build/tools/pooldnsctl"

db="${POOLDNS_DEMO_DB:-build/demo/pooldns.db}"
mkdir -p "$(dirname "$db")"
rm -f "$db" "$db-wal" "$db-shm"
export POOLDNS_DB="$db"

echo "+ pooldnsctl zone import contoso.com docs/examples/contoso.com.zone"
"$ctl" zone import contoso.com docs/examples/contoso.com.zone
echo "+ pooldnsctl zone create fabrikam.com --ns ns1.contoso.com --mbox dns-admin@fabrikam.com"
"$ctl" zone create fabrikam.com --ns ns1.contoso.com --mbox dns-admin@fabrikam.com
echo "+ pooldnsctl record add fabrikam.com www 300 A 192.0.2.80"
"$ctl" record add fabrikam.com www 300 A 192.0.2.80
echo "+ pooldnsctl zone list"
"$ctl" zone list
echo "+ pooldnsctl zone check"
"$ctl" zone check
echo "+ pooldnsctl record list contoso.com pool01"
"$ctl" record list contoso.com pool01
echo "+ pooldnsctl zone export fabrikam.com"
"$ctl" zone export fabrikam.com
echo
echo "demo database: $db (try: POOLDNS_DB=$db $ctl record list contoso.com)"
