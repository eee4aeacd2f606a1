#!/usr/bin/env python3
"""Generate the benchmark zone (RFC 1035 master file) and a dnsperf query file.

Standard library only; deterministic for a given --seed.

  gen-zone.py --hosts 100000 --zone bench.test.zone --queries queries.txt \
              [--query-lines 100000] [--seed 1035]

The zone, origin bench.test.:
  SOA, 2 NS (+ glue), MX, TXT (SPF) at the apex;
  SfB-style pools pool01..pool50 with 4-8 A records each (TTL 30), some with AAAA;
  sip, webconf, av with several A records; _sip._tls, _sipfederationtls._tcp,
  _sipinternaltls._tcp SRV records; lyncdiscover / lyncdiscoverinternal CNAMEs;
  host000001..hostNNNNNN: one A each, every 4th also one AAAA.

The query file (dnsperf format "NAME TYPE", one per line):
  60% hosts (80% A, 20% AAAA), 20% pool names (A), 10% NXDOMAIN names,
  10% other types (MX, TXT, SRV, NS, SOA, CNAME-chasing A); 10% of all names in
  mixed case.

The last line printed to stdout is the name of the last host record, which the
benchmark queries to decide a server is ready.
"""

import argparse
import random
import sys

ORIGIN = "bench.test."
POOLS = 50


def host_name(i, width):
    return "host%0*d" % (width, i)


def v4(i):
    # Data only: nothing is ever sent to these addresses.
    return "10.%d.%d.%d" % ((i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF)


def v6(i):
    return "2001:db8:%x:%x::%x" % ((i >> 16) & 0xFFFF, (i >> 8) & 0xFF, i & 0xFF or 1)


def write_zone(path, hosts, width, rng):
    pool_sizes = {}
    with open(path, "w", encoding="ascii", newline="\n") as f:
        w = f.write
        w("$ORIGIN %s\n$TTL 3600\n" % ORIGIN)
        w("@ 3600 IN SOA ns1 hostmaster 2024010101 3600 600 1209600 3600\n")
        w("@ 3600 IN NS ns1\n@ 3600 IN NS ns2\n")
        w("ns1 3600 IN A 192.0.2.53\nns2 3600 IN A 192.0.2.54\n")
        w("ns1 3600 IN AAAA 2001:db8::53\n")
        w("@ 3600 IN MX 10 mail\nmail 3600 IN A 192.0.2.25\n")
        w('@ 300 IN TXT "v=spf1 mx -all"\n')
        w('_dmarc 300 IN TXT "v=DMARC1; p=reject"\n')
        # Front End / Director / Edge style pools, load-balanced through DNS.
        for p in range(1, POOLS + 1):
            n = rng.randint(4, 8)
            pool_sizes[p] = n
            name = "pool%02d" % p
            for m in range(1, n + 1):
                w("%s 30 IN A 198.51.100.%d\n" % (name, (p * 8 + m) % 250 + 1))
                # Member records too, as a topology would have them.
                w("%s-fe%d 3600 IN A 198.51.100.%d\n" % (name, m, (p * 8 + m) % 250 + 1))
            if p % 5 == 0:
                for m in range(1, n + 1):
                    w("%s 30 IN AAAA 2001:db8:100:%x::%x\n" % (name, p, m))
        for label, base, n in (("sip", 10, 4), ("webconf", 20, 4), ("av", 30, 6)):
            for m in range(1, n + 1):
                w("%s 30 IN A 203.0.113.%d\n" % (label, base + m))
        w("_sip._tls 3600 IN SRV 0 0 443 sip\n")
        w("_sip._tls 3600 IN SRV 10 0 443 av\n")
        w("_sipfederationtls._tcp 3600 IN SRV 0 0 5061 sip\n")
        for p in range(1, 5):
            w("_sipinternaltls._tcp 3600 IN SRV 0 %d 5061 pool%02d\n" % (p * 10, p))
        w("_sipinternal._tcp 3600 IN SRV 0 0 5061 pool01\n")
        w("lyncdiscover 3600 IN CNAME webconf\n")
        w("lyncdiscoverinternal 3600 IN CNAME pool01\n")
        w("meet 3600 IN CNAME webconf\n")
        w("dialin 3600 IN CNAME webconf\n")
        # Bulk host records.
        lines = []
        for i in range(1, hosts + 1):
            h = host_name(i, width)
            lines.append("%s 3600 IN A %s\n" % (h, v4(i)))
            if i % 4 == 0:
                lines.append("%s 3600 IN AAAA %s\n" % (h, v6(i)))
            if len(lines) >= 65536:
                w("".join(lines))
                lines.clear()
        w("".join(lines))
    return pool_sizes


def mixed_case(name, rng):
    return "".join(c.upper() if c.isalpha() and rng.random() < 0.5 else c for c in name)


def write_queries(path, hosts, width, lines, rng):
    other = [
        ("bench.test", "MX"), ("bench.test", "TXT"), ("bench.test", "NS"),
        ("bench.test", "SOA"), ("_sip._tls.bench.test", "SRV"),
        ("_sipfederationtls._tcp.bench.test", "SRV"),
        ("_sipinternaltls._tcp.bench.test", "SRV"),
        ("lyncdiscover.bench.test", "A"), ("lyncdiscoverinternal.bench.test", "A"),
        ("sip.bench.test", "A"), ("webconf.bench.test", "A"), ("av.bench.test", "A"),
        ("_dmarc.bench.test", "TXT"), ("ns1.bench.test", "AAAA"),
    ]
    out = []
    for _ in range(lines):
        r = rng.random()
        if r < 0.60:
            name = host_name(rng.randint(1, hosts), width) + ".bench.test"
            qtype = "A" if rng.random() < 0.8 else "AAAA"
        elif r < 0.80:
            name = "pool%02d.bench.test" % rng.randint(1, POOLS)
            qtype = "A"
        elif r < 0.90:
            name = "nx%08d.bench.test" % rng.randint(0, 99999999)
            qtype = "A"
        else:
            name, qtype = rng.choice(other)
        if rng.random() < 0.10:
            name = mixed_case(name, rng)
        out.append("%s %s\n" % (name, qtype))
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write("".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=100000)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--queries", help="dnsperf query file to write (optional)")
    ap.add_argument("--query-lines", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1035)
    a = ap.parse_args()
    if a.hosts < 1:
        sys.exit("--hosts must be at least 1")
    width = max(6, len(str(a.hosts)))
    rng = random.Random(a.seed)
    write_zone(a.zone, a.hosts, width, rng)
    if a.queries:
        write_queries(a.queries, a.hosts, width, max(a.query_lines, 1), random.Random(a.seed + 1))
    print(host_name(a.hosts, width) + ".bench.test.")


if __name__ == "__main__":
    main()
