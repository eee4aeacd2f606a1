#!/usr/bin/env python3
"""SQL for the pool benchmark: POOLS pools of SIZE members each (one server per
member, addresses 127.1.x.y), STATIC static names with SIZE A records each in
the same zone, and query files for dnsperf / answer-bench.

Usage: gen-pools.py ORIGIN POOLS SIZE CHECK OUTDIR
Writes OUTDIR/pools.sql, OUTDIR/q-pool.txt, OUTDIR/q-static.txt, OUTDIR/addresses.txt.
CHECK is the pools' check spec, or "none".
"""
import random
import sys

origin, pools, size, check, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
random.seed(1035)


def addr(i):
    return f"127.1.{i // 250}.{i % 250 + 1}"


def hexaddr(a):
    return "".join(f"{int(x):02x}" for x in a.split("."))


lines = ["BEGIN;"]
zone = f"(SELECT id FROM zones WHERE origin = '{origin}')"
n = 0
for p in range(pools):
    fqdn = f"pool{p}.{origin}"
    chk = "NULL" if check == "none" else f"'{check}'"
    lines.append(
        f"INSERT INTO pools (fqdn, zone_id, type, ttl, check_spec, interval_ms, timeout_ms, rise, fall) "
        f"VALUES ('{fqdn}', {zone}, 1, 30, {chk}, 1000, 500, 2, 3);")
    for k in range(size):
        a = addr(n)
        lines.append(f"INSERT INTO servers (name, host) VALUES ('m{n}', 'm{n}.{origin}');")
        lines.append(f"INSERT INTO server_addresses (server_id, address) VALUES (last_insert_rowid(), '{a}');")
        lines.append(
            f"INSERT INTO members (pool_id, server_id, address) SELECT p.id, s.id, '{a}' FROM pools p, servers s "
            f"WHERE p.fqdn = '{fqdn}' AND s.name = 'm{n}';")
        n += 1
    for k in range(size):
        a = f"10.{p // 250}.{p % 250}.{k + 1}"
        lines.append(
            f"INSERT INTO records (zone_id, owner, type, ttl, rdata) VALUES ({zone}, 'static{p}.{origin}', 1, 30, "
            f"x'{hexaddr(a)}');")
lines.append("COMMIT;")
open(f"{out}/pools.sql", "w").write("\n".join(lines) + "\n")
open(f"{out}/addresses.txt", "w").write("\n".join(addr(i) for i in range(n)) + "\n")
order = [random.randrange(pools) for _ in range(100000)]
open(f"{out}/q-pool.txt", "w").write("".join(f"pool{p}.{origin} A\n" for p in order))
open(f"{out}/q-static.txt", "w").write("".join(f"static{p}.{origin} A\n" for p in order))
