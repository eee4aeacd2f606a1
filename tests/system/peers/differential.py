#!/usr/bin/env python3
"""Differential test driver for differential.sh: sends every query of a list to
two DNS servers with kdig (+json, RFC 8427), normalises both replies and
compares them section by section. Differences listed in docs/KNOWN-DIFFERENCES.md
(by query ID and the parts that differ) are reported but do not fail the run.

usage: differential.py QUERIES KNOWN_MD OUTDIR NAME_A=ADDR@PORT NAME_B=ADDR@PORT

Exit status: 0 when every difference is a known one, 1 otherwise, 2 on usage
or setup errors. Only the standard library is used.
"""
import json
import re
import subprocess
import sys
import time

PARTS = ("noreply", "rcode", "flags", "question", "edns", "answer", "authority", "additional")
BASE_OPTIONS = ["+edns", "+bufsize=1232", "+ignore", "+retry=0", "+timeout=2", "+json"]
KDIG_DEADLINE = 10  # seconds for one kdig run, on top of its own +timeout


def read_queries(path):
    queries, seen = [], set()
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = line.split()
            if len(fields) < 3:
                sys.exit(f"{path}:{lineno}: want ID QNAME QTYPE [options]")
            qid, qname, qtype, opts = fields[0], fields[1], fields[2], fields[3:]
            if qid in seen:
                sys.exit(f"{path}:{lineno}: duplicate query id '{qid}'")
            seen.add(qid)
            queries.append((qid, qname, qtype, opts))
    return queries


def read_known(path):
    """### ID headings, each with a 'Differs in: part, part' line below it."""
    known, current = {}, None
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if re.match(r"^#{1,2}\s", line):
                current = None  # a section heading: the entries are ### ID
                continue
            m = re.match(r"^###\s+`?([A-Za-z0-9_.-]+)`?\s*$", line)
            if m:
                current = m.group(1)
                if current in known:
                    sys.exit(f"{path}:{lineno}: '{current}' is listed twice")
                known[current] = None
                continue
            m = re.match(r"^\s*[-*]?\s*\**Differs in\**:\**\s*(.+)$", line)
            if m and current:
                parts = {p.strip().strip("`*").lower() for p in m.group(1).split(",") if p.strip()}
                bad = parts - set(PARTS)
                if bad:
                    sys.exit(f"{path}:{lineno}: unknown part(s) {sorted(bad)}; parts are {', '.join(PARTS)}")
                known[current] = parts
    missing = [k for k, v in known.items() if v is None]
    if missing:
        sys.exit(f"{path}: entries without a 'Differs in:' line: {', '.join(missing)}")
    return known


def ask(server, qname, qtype, opts):
    addr, port = server.rsplit("@", 1)
    cmd = ["kdig", f"@{addr}", "-p", port] + BASE_OPTIONS + opts + ["-q", qname, "-t", qtype]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=KDIG_DEADLINE)
    except subprocess.TimeoutExpired:
        return None, "kdig did not finish"
    out = p.stdout.strip()
    start = out.find("{")
    if start < 0:
        return None, (p.stdout + p.stderr).strip() or f"kdig exit {p.returncode}"
    try:
        return json.loads(out[start:]), None
    except json.JSONDecodeError as e:
        return None, f"unparsable kdig output ({e}): {out[:200]}"


def rdata_text(rr):
    for k, v in rr.items():
        if k.startswith("rdata") and k != "rdataHEX":
            return str(v)
    return "\\# {} {}".format(rr.get("RDLENGTH", 0), rr.get("RDATAHEX", "")).strip()


def norm_rr(rr):
    # Owner in lower case; TTL, class, type and the exact rdata bytes compared;
    # the presentation form is carried along for reading diffs.
    name = rr.get("NAME", "").lower()
    cls = rr.get("CLASSname", str(rr.get("CLASS")))
    typ = rr.get("TYPEname", f"TYPE{rr.get('TYPE')}")
    return f"{name} {rr.get('TTL')} {cls} {typ} {rdata_text(rr)} [{rr.get('RDATAHEX', '')}]"


def normalise(msg):
    """The reply as a dict of comparable parts."""
    if msg is None:
        return {"noreply": "no reply"}
    opt = None
    additional = []
    for rr in msg.get("additionalRRs", []):
        if rr.get("TYPE") == 41:
            opt = rr
        else:
            additional.append(rr)
    rcode = msg.get("RCODE", 0)
    edns = "none"
    if opt is not None:
        ttl = int(opt.get("TTL", 0))
        ext = (ttl >> 24) & 0xFF
        rcode |= ext << 4
        version = (ttl >> 16) & 0xFF
        do = (ttl >> 15) & 1
        edns = f"version={version} udp={opt.get('CLASS')} do={do} z={ttl & 0x7FFF} options={opt.get('RDATAHEX', '')}"
    flags = " ".join(f"{f}={msg.get(f)}" for f in ("QR", "Opcode", "AA", "TC", "RD", "RA", "AD", "CD"))
    question = "none" if "QNAME" not in msg else "{} {} {} qdcount={}".format(
        msg.get("QNAME"), msg.get("QTYPEname", msg.get("QTYPE")), msg.get("QCLASSname", msg.get("QCLASS")),
        msg.get("QDCOUNT"))
    return {
        "noreply": "reply",
        "rcode": str(rcode),
        "flags": flags,
        "question": question,
        "edns": edns,
        "answer": sorted(norm_rr(r) for r in msg.get("answerRRs", [])),
        "authority": sorted(norm_rr(r) for r in msg.get("authorityRRs", [])),
        "additional": sorted(norm_rr(r) for r in additional),
    }


def show(value):
    if isinstance(value, list):
        return "\n".join("        " + v for v in value) if value else "        (empty)"
    return "        " + value


def main(argv):
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    queries_path, known_path, outdir = argv[1], argv[2], argv[3]
    servers = []
    for spec in argv[4:6]:
        name, _, addr = spec.partition("=")
        if not addr or "@" not in addr:
            print(f"bad server '{spec}': want NAME=ADDR@PORT", file=sys.stderr)
            return 2
        servers.append((name, addr))
    queries = read_queries(queries_path)
    known = read_known(known_path)
    unknown_ids = sorted(set(known) - {q[0] for q in queries})
    if unknown_ids:
        print(f"{known_path} lists ids that are not in {queries_path}: {', '.join(unknown_ids)}", file=sys.stderr)
        return 2

    (na, sa), (nb, sb) = servers
    identical = known_hits = unexpected = 0
    stale = []
    report = []
    started = time.monotonic()
    for qid, qname, qtype, opts in queries:
        ma, ea = ask(sa, qname, qtype, opts)
        mb, eb = ask(sb, qname, qtype, opts)
        a, b = normalise(ma), normalise(mb)
        differing = [p for p in PARTS if a.get(p) != b.get(p)]
        what = f"{qid} ({qname} {qtype}{' ' + ' '.join(opts) if opts else ''})"
        if ma is None and mb is None:
            # Neither answered: a broken query line or client, never a pass.
            unexpected += 1
            print(f"UNEXPECTED  {what}: no reply from either server")
            report.append((True, f"== {what}\n    {na}: {ea}\n    {nb}: {eb}"))
            continue
        if not differing:
            identical += 1
            if qid in known:
                stale.append(qid)
            print(f"SAME        {what}")
            continue
        listed = known.get(qid, set())
        extra = [p for p in differing if p not in listed]
        if extra:
            unexpected += 1
            print(f"UNEXPECTED  {what}: differs in {', '.join(differing)}"
                  + (f" (listed: {', '.join(sorted(listed))})" if listed else ""))
        else:
            known_hits += 1
            print(f"KNOWN       {what}: differs in {', '.join(differing)}")
        lines = [f"== {what}"]
        for err, name in ((ea, na), (eb, nb)):
            if err:
                lines.append(f"    {name}: {err}")
        for p in differing:
            lines.append(f"  {p}:")
            lines.append(f"    {na}:")
            lines.append(show(a.get(p, "(absent)")))
            lines.append(f"    {nb}:")
            lines.append(show(b.get(p, "(absent)")))
        report.append((bool(extra), "\n".join(lines)))
        with open(f"{outdir}/{qid}.json", "w", encoding="utf-8") as f:
            json.dump({na: ma, nb: mb}, f, indent=1)

    for is_unexpected, text in report:
        if is_unexpected:
            print(text)
    if known_hits:
        print("-- known differences (details):")
        for is_unexpected, text in report:
            if not is_unexpected:
                print(text)
    for qid in stale:
        print(f"NOTE: {qid} is listed in {known_path} but both servers now answer it identically")
    print(f"queried both servers in {time.monotonic() - started:.1f} s")
    print(f"differential: {len(queries)} queries, {identical} identical, {known_hits} known differences, "
          f"{unexpected} unexpected")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
