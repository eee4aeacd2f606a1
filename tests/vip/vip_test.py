#!/usr/bin/env python3
"""The VIP end to end (issue 5): the real pooldns serving VIPs it reads from
SQLite, edited with the real pooldnsctl, in front of real backends
(backend.py, one process per member on 127.0.0.x), driven by raw-socket HTTP
clients, Python's ssl (OpenSSL) and curl.

Usage: vip_test.py --group GROUP [-k REGEX] [--keep] POOLDNS POOLDNSCTL
Groups (one ctest test each, each with its own server, database and addresses):
  proxy    X-Forwarded-*, hop-by-hop fields, the access log, least-outstanding
           balancing, keep-alive, pipelining, HEAD/204, close-delimited bodies,
           HTTP/1.0, half-close, request bodies, 100-continue, Upgrade, stale
           pooled backend connections, backpressure, 503, retry (refused and
           connect timeout), 504, a killed member, a client reset, counters, vip list
  persist  cookie (format, stickiness, forged, options, on every response),
           drain, a member down, source persistence, a restart keeps both
  limits   414, 431, 413 (length, chunked, with 100-continue), 400 (CL+TE,
           duplicate CL, malformed heads), slowloris, idle timeout,
           max connections, vip set of a limit
  tls      SNI with an RSA and an ECDSA certificate, TLS versions, curl,
           keep-alive, re-encryption and backend verification, handshake
           timeout, session resumption, ALPN, certificate renewal on SIGHUP
  stream   256 MiB up and down with bounded memory; listeners follow vip
           add/set/delete; an address in use (vip_listen_failed)
Every bound stated by the spec is checked as stated in a normal build and 3x
in a sanitizer build. Each case prints what it sent, what it expected and what
came when it fails; the group goes on with the next case.
"""

import argparse
import hashlib
import http.client
import os
import random
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from client import Conn, ConnectionClosed, build, can_connect, chunked, once  # noqa: E402
from harness import Harness, Runner, check, fail, free_port, wait_for  # noqa: E402

ZONE = "contoso.test."
WEB = "web.contoso.test."
VHOST = "web.contoso.test"
MiB = 1024 * 1024

# Health: a dead member leaves within interval x fall + timeout + 0.5 s.
INTERVAL, TIMEOUT, RISE, FALL = 0.5, 0.3, 1, 1
DOWN_BOUND = INTERVAL * FALL + TIMEOUT + 0.5


def member_addrs(base, n):
    return {f"fe0{i}": f"127.0.0.{base + i}" for i in range(1, n + 1)}


def topology(h, base, n, port, pools=None):
    """Zone, servers fe01..fe0N on 127.0.0.(base+i), and pools {fqdn: (check port, [servers])}."""
    h.ctl("zone", "create", ZONE, "--ns", "ns1.contoso.test.")
    addrs = member_addrs(base, n)
    for name, addr in addrs.items():
        h.ctl("server", "add", name, "--host", f"{name}.contoso.test.", "--addr", addr)
    pools = pools or {WEB: (port, list(addrs))}
    for fqdn, (check_port, servers) in pools.items():
        h.ctl("pool", "add", fqdn, "--check", f"tcp:{check_port}", "--interval", INTERVAL, "--timeout", TIMEOUT,
              "--rise", RISE, "--fall", FALL)
        for s in servers:
            h.ctl("member", "add", fqdn, s, addrs[s])
    return addrs


def vip_ports(addr, n):
    ports = []
    while len(ports) < n:
        p = free_port([addr])
        if p not in ports:
            ports.append(p)
    return ports


def start_and_wait(h, vips):
    """Starts pooldns and waits for vip_listening of each (name, listen, tls, pool)."""
    # Under ASan, freed buffers sit in a 256 MB quarantine before reuse: RSS would measure that, not the proxy.
    env_extra = {"ASAN_OPTIONS": "quarantine_size_mb=16"} if h.sanitized else None
    dns_port = free_port(["127.0.0.1"])
    since = h.log_offset()
    h.start_server(dns_port, env_extra)
    for name, listen, tls, pool in vips:
        h.wait_log(rf"vip_listening vip={re.escape(name)} listen={re.escape(listen)} tls={tls} pool={re.escape(pool)}",
                   since, timeout=15 * h.slack)
    # The DNS side is up too once it logs "listening dns=": a SIGTERM before that would find no handler.
    h.wait_log(r" listening dns=", since, timeout=15 * h.slack)


def wait_all_up(h, pool, servers):
    for s in servers:
        h.wait_health(pool, s, "up", 10 * h.slack)


def joined(fields, name):
    """Every value of header NAME in a backend's JSON 'headers', joined as one list value."""
    vals = [v for n, v in fields if n.lower() == name.lower()]
    return ", ".join(vals) if vals else None


def sha(data):
    return hashlib.sha256(data).hexdigest()


def expect_status(r, status, sent):
    check(r.status == status, f"sent {sent}: expected {status}, got {r.summary()}")


def run_bg(fn):
    """Runs fn on a thread; returns a function that joins it (bounded) and returns its result or raises."""
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001
            box["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()

    def join(timeout=60):
        t.join(timeout)
        if t.is_alive():
            fail(f"background request still running after {timeout}s")
        if "error" in box:
            raise box["error"]
        return box["value"]

    return join


# =============================================================================
# proxy
# =============================================================================

def group_proxy(h, r):
    vip = "127.0.0.60"
    addrs = member_addrs(60, 3)
    P = free_port(list(addrs.values()))
    P2 = free_port([addrs["fe01"], addrs["fe02"]])   # the retry VIP's backend port: only fe01 listens on it
    PDEAD = free_port([addrs["fe03"]])               # nothing listens: the "dead" pool's check fails
    P3 = free_port([addrs["fe03"]])                  # fe03 closing idle connections after 200 ms
    PB = free_port([addrs["fe01"], addrs["fe02"]])   # fe01: a listener that never accepts (SYNs dropped)
    while len({P, P2, PDEAD, P3, PB}) < 5:
        PDEAD = free_port([addrs["fe03"]])
        P2 = free_port([addrs["fe01"], addrs["fe02"]])
        P3 = free_port([addrs["fe03"]])
        PB = free_port([addrs["fe01"], addrs["fe02"]])
    topology(h, 60, 3, P, {
        WEB: (P, ["fe01", "fe02", "fe03"]),
        "retry.contoso.test.": (P, ["fe01", "fe02"]),
        "dead.contoso.test.": (PDEAD, ["fe03"]),
        "stale.contoso.test.": (P, ["fe03"]),
        "ct.contoso.test.": (P, ["fe01", "fe02"]),
    })
    h.ctl("pool", "add", "w.contoso.test.", "--check", f"tcp:{P}", "--interval", INTERVAL, "--timeout", TIMEOUT,
          "--rise", RISE, "--fall", FALL)
    h.ctl("member", "add", "w.contoso.test.", "fe01", addrs["fe01"], "--weight", "5")
    h.ctl("member", "add", "w.contoso.test.", "fe02", addrs["fe02"], "--weight", "1")
    # A listener with a full accept queue: the kernel drops further SYNs, so connecting to it times out.
    blackhole = socket.socket()
    blackhole.bind((addrs["fe01"], PB))
    blackhole.listen(0)
    filler = socket.create_connection((addrs["fe01"], PB), timeout=2)
    h.keep_open = [blackhole, filler]
    V = vip_ports(vip, 7)
    h.ctl("vip", "add", "w", "--listen", f"{vip}:{V[6]}", "--pool", "w.contoso.test.", "--backend-port", P)
    h.ctl("vip", "add", "plain", "--listen", f"{vip}:{V[0]}", "--pool", WEB, "--backend-port", P, "--access-log", "on")
    h.ctl("vip", "add", "retry", "--listen", f"{vip}:{V[1]}", "--pool", "retry.contoso.test.", "--backend-port", P2)
    h.ctl("vip", "add", "dead", "--listen", f"{vip}:{V[2]}", "--pool", "dead.contoso.test.", "--backend-port", P)
    h.ctl("vip", "add", "slow", "--listen", f"{vip}:{V[3]}", "--pool", WEB, "--backend-port", P,
          "--response-timeout", "1")
    h.ctl("vip", "add", "stale", "--listen", f"{vip}:{V[4]}", "--pool", "stale.contoso.test.", "--backend-port", P3)
    h.start_backend("fe01", addrs["fe01"], [P, P2])
    h.start_backend("fe02", addrs["fe02"], [P])
    h.start_backend("fe03", addrs["fe03"], [P])
    h.ctl("vip", "add", "ct", "--listen", f"{vip}:{V[5]}", "--pool", "ct.contoso.test.", "--backend-port", PB,
          "--connect-timeout", "0.5")
    h.start_backend("fe03", addrs["fe03"], [P3], label="fe03-idle", extra=["--idle-close-ms", "200"])
    h.start_backend("fe02", addrs["fe02"], [PB], label="fe02-ct")
    start_and_wait(h, [("plain", f"{vip}:{V[0]}", "off", WEB),
                       ("retry", f"{vip}:{V[1]}", "off", "retry.contoso.test."),
                       ("dead", f"{vip}:{V[2]}", "off", "dead.contoso.test."),
                       ("slow", f"{vip}:{V[3]}", "off", WEB),
                       ("stale", f"{vip}:{V[4]}", "off", "stale.contoso.test."),
                       ("ct", f"{vip}:{V[5]}", "off", "ct.contoso.test."),
                       ("w", f"{vip}:{V[6]}", "off", "w.contoso.test.")])
    wait_all_up(h, WEB, ["fe01", "fe02", "fe03"])
    wait_all_up(h, "retry.contoso.test.", ["fe01", "fe02"])
    plain = (vip, V[0])

    def forwarded_headers():
        host = f"{VHOST}:{V[0]}"
        sent = f"GET /headers from 127.0.0.65 with X-Forwarded-For: 203.0.113.7, X-Forwarded-Proto: https, Host: {host}"
        res = once(*plain, "GET", "/headers", [("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https")],
                   source="127.0.0.65", vhost=host)
        expect_status(res, 200, sent)
        f = res.json()["headers"]
        check(joined(f, "X-Forwarded-For") == "203.0.113.7, 127.0.0.65",
              f"{sent}: backend X-Forwarded-For expected '203.0.113.7, 127.0.0.65', got {joined(f, 'X-Forwarded-For')!r}")
        xfp = [v for n, v in f if n.lower() == "x-forwarded-proto"]
        check(xfp == ["http"], f"{sent}: backend X-Forwarded-Proto expected exactly ['http'], got {xfp}")
        check(joined(f, "X-Forwarded-Host") == host,
              f"{sent}: backend X-Forwarded-Host expected {host!r}, got {joined(f, 'X-Forwarded-Host')!r}")
        check(joined(f, "Host") == host, f"{sent}: backend Host expected {host!r}, got {joined(f, 'Host')!r}")
        sent2 = "GET /headers from 127.0.0.65 with two X-Forwarded-For lines (198.51.100.1, then 198.51.100.2)"
        res = once(*plain, "GET", "/headers", [("X-Forwarded-For", "198.51.100.1"), ("X-Forwarded-For", "198.51.100.2")],
                   source="127.0.0.65")
        f = res.json()["headers"]
        check(joined(f, "X-Forwarded-For") == "198.51.100.1, 198.51.100.2, 127.0.0.65",
              f"{sent2}: backend X-Forwarded-For {[v for n, v in f if n.lower() == 'x-forwarded-for']}")
        res = once(*plain, "GET", "/headers", source="127.0.0.66")
        f = res.json()["headers"]
        check(joined(f, "X-Forwarded-For") == "127.0.0.66",
              f"GET /headers from 127.0.0.66 without X-Forwarded-For: backend got {joined(f, 'X-Forwarded-For')!r}, "
              "expected '127.0.0.66'")

    r.case("backends get X-Forwarded-For appended, X-Forwarded-Proto replaced (http), X-Forwarded-Host = Host",
           forwarded_headers)

    def access_log():
        tag = uuid.uuid4().hex[:12]
        since = h.log_offset()
        res = once(*plain, "GET", f"/headers?al={tag}", source="127.0.0.67")
        expect_status(res, 200, f"GET /headers?al={tag}")
        m, _ = h.wait_log(rf'vip_access vip=plain client=127\.0\.0\.67:\d+ method=GET target="/headers\?al={tag}" '
                          rf'status=200 member=(\S+)', since, 3 * h.slack)
        check(m.group(1) == res.backend, f"access log names member {m.group(1)}, X-Backend was {res.backend}")
        n = h.log()[since:].count(f"al={tag}")
        check(n == 1, f"expected one vip_access line for the request, found {n}")
        since = h.log_offset()
        expect_status(once(vip, V[1], "GET", f"/headers?nolog={tag}"), 200, "GET through 'retry' (access log off)")
        expect_status(once(*plain, "GET", f"/headers?al2={tag}"), 200, "GET through 'plain'")
        h.wait_log(rf'vip_access vip=plain .*al2={tag}', since, 3 * h.slack)
        check(f"nolog={tag}" not in h.log()[since:], "a VIP with --access-log off wrote a vip_access line")

    r.case("--access-log on writes one vip_access line per request naming client, method, target, status, member",
           access_log)

    def idle_spread():
        seen = [once(*plain).backend for _ in range(9)]
        check(set(seen) == {"fe01", "fe02", "fe03"},
              f"9 sequential GETs on an idle pool of 3 should reach every member (ties rotate), got {seen}")

    r.case("an idle pool: sequential requests rotate over every member", idle_spread)

    def least_outstanding():
        ms = int(2000 * h.slack)
        tags = [uuid.uuid4().hex[:8] for _ in range(2)]
        joins, busy = [], []
        for t in tags:
            target = f"/slow?ms={ms}&t={t}"
            joins.append(run_bg(lambda target=target: once(*plain, "GET", target, timeout=30)))
            busy.append(h.wait_backend_line(f"GET {target} ", 5 * h.slack))
        check(busy[0] != busy[1], f"two outstanding slow requests went to the same member {busy[0]} "
                                  "while another was idle")
        idle = ({"fe01", "fe02", "fe03"} - set(busy)).pop()
        got = [once(*plain).backend for _ in range(3)]
        for j, b in zip(joins, busy):
            res = j()
            expect_status(res, 200, f"GET /slow?ms={ms}")
            check(res.backend == b, f"slow request answered by {res.backend}, logged by {b}")
        check(got == [idle] * 3, f"with one request outstanding on {busy[0]} and {busy[1]}, GETs must go to {idle} "
                                 f"(least outstanding), went to {got}")

    r.case("least outstanding: new requests go to the member without outstanding requests", least_outstanding)

    def weights_and_members():
        w = (vip, V[6])
        wait_all_up(h, "w.contoso.test.", ["fe01", "fe02"])
        seen = [once(*w).backend for _ in range(6)]
        check(seen == ["fe01"] * 6, f"idle pool with fe01 weight 5 and fe02 weight 1: ties must go to the higher "
                                    f"weight (docs), 6 sequential GETs went to {seen}")
        h.ctl("member", "remove", "w.contoso.test.", "fe01")
        try:
            _, dt = wait_for(lambda: once(*w).backend == "fe02", 1.0 * h.slack + 0.25,
                             "requests to leave fe01 after member remove")
            seen = [once(*w).backend for _ in range(4)]
            check(seen == ["fe02"] * 4, f"after member remove fe01, GETs went to {seen}")
        finally:
            h.ctl("member", "add", "w.contoso.test.", "fe01", addrs["fe01"], "--weight", "5")
        wait_for(lambda: once(*w).backend == "fe01", 2.0 * h.slack + 0.25, "requests to reach fe01 once added back")
        print(f"  member remove followed after {dt:.2f}s")

    r.case("balancing: ties go to the higher weight; member remove/add followed within 1 s", weights_and_members)

    def keep_alive_raw():
        with Conn(*plain) as c:
            port = c.local()[1]
            for i in range(5):
                body = os.urandom(1000 + i) if i % 2 else None
                res = c.request("POST" if body else "GET", f"/headers?ka={i}", body=body)
                expect_status(res, 200, f"request {i + 1} of 5 on one connection")
                check((res.header("Connection") or "").lower() != "close",
                      f"request {i + 1}: the VIP asked to close a keep-alive connection: {res.summary()}")
                if body:
                    check(res.json()["body_sha256"] == sha(body), f"request {i + 1}: body hash differs")
            check(c.local()[1] == port, "the client connection changed")

    r.case("keep-alive: five requests (GET and POST with bodies) on one client connection", keep_alive_raw)

    def keep_alive_http_client():
        conn = http.client.HTTPConnection(*plain, timeout=10)
        try:
            socks = []
            for i in range(3):
                conn.request("GET", f"/headers?hc={i}", headers={"Host": VHOST})
                res = conn.getresponse()
                data = res.read()
                check(res.status == 200, f"http.client request {i + 1}: {res.status} {data[:200]!r}")
                socks.append(conn.sock)
            check(socks[0] is not None and all(s is socks[0] for s in socks),
                  "http.client had to reconnect: the VIP closed a keep-alive connection")
        finally:
            conn.close()

    r.case("keep-alive: http.client reuses its connection for three requests", keep_alive_http_client)

    def concurrency():
        clients, per_client = 32, 25
        errors = []

        def client(n):
            try:
                with Conn(*plain, timeout=20) as c:
                    for i in range(per_client):
                        target = f"/upload?c={n}&i={i}"
                        body = os.urandom((n * 131 + i * 977) % 20000) if i % 3 else None
                        res = c.request("POST" if body is not None else "GET", target, body=body, timeout=20)
                        if res.status != 200:
                            errors.append(f"client {n} request {i}: {res.summary()}")
                            return
                        j = res.json()
                        want = (target, len(body or b""), sha(body or b""))
                        got = (j["target"], j["body_size"], j["body_sha256"])
                        if got != want:
                            errors.append(f"client {n} request {i}: sent {want}, the answer was for {got}")
                            return
            except Exception as e:  # noqa: BLE001
                errors.append(f"client {n}: {e!r}")

        joins = [run_bg(lambda n=n: client(n)) for n in range(clients)]
        for j in joins:
            j(60 * h.slack)
        check(not errors, f"{len(errors)} of {clients} keep-alive clients ({per_client} requests each) failed: "
                          f"{errors[:5]}")

    r.case("concurrency: 32 keep-alive clients x 25 requests, each answer is its own", concurrency)

    def content_length_body():
        body = os.urandom(300 * 1024)
        res = once(*plain, "POST", "/upload", body=body)
        expect_status(res, 200, "POST /upload with Content-Length: 307200")
        j = res.json()
        check((j["body_size"], j["body_sha256"]) == (len(body), sha(body)),
              f"backend received {j['body_size']} bytes sha256 {j['body_sha256']}, sent {len(body)} {sha(body)}")

    r.case("a Content-Length request body reaches the backend intact", content_length_body)

    def chunked_body():
        pieces = [os.urandom(n) for n in (1, 100, 65536, 7, 200000)]
        whole = b"".join(pieces)
        res = once(*plain, "POST", "/upload", [("Transfer-Encoding", "chunked")], chunked(pieces))
        expect_status(res, 200, "POST /upload chunked (5 chunks)")
        j = res.json()
        check((j["body_size"], j["body_sha256"]) == (len(whole), sha(whole)),
              f"backend received {j['body_size']} bytes sha256 {j['body_sha256']}, sent {len(whole)} {sha(whole)}")

    r.case("a chunked request body reaches the backend intact", chunked_body)

    def expect_continue():
        body = os.urandom(50000)
        with Conn(*plain) as c:
            c.send(build("POST", "/upload", [("Expect", "100-continue"), ("Content-Length", str(len(body)))]))
            try:
                head = c.read_head(5 * h.slack)
            except (socket.timeout, ConnectionClosed) as e:
                fail(f"sent a POST head with Expect: 100-continue and no body: expected 'HTTP/1.1 100 Continue', "
                     f"got nothing ({e})")
            check(head.status == 100, f"sent a POST head with Expect: 100-continue: expected 100 Continue first, "
                                      f"got {head.raw_head!r}")
            c.send(body)
            res = c.read_response()
            expect_status(res, 200, "the body after 100 Continue")
            j = res.json()
            check(j["body_sha256"] == sha(body), f"body hash at the backend {j['body_sha256']} != {sha(body)}")

    r.case("Expect: 100-continue: the client gets 100 Continue before sending the body", expect_continue)

    def upgrade():
        with Conn(*plain) as c:
            c.send(build("GET", "/ws", [("Connection", "Upgrade"), ("Upgrade", "websocket"),
                                        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                                        ("Sec-WebSocket-Version", "13")]))
            res = c.read_response(skip_1xx=False)
            expect_status(res, 101, "GET /ws with Connection: Upgrade, Upgrade: websocket")
            check((res.header("Upgrade") or "").lower() == "websocket", f"101 without Upgrade: {res.summary()}")
            c.send(b"hello")
            got = c.read_exact(5, 5 * h.slack)
            check(got == b"hello", f"tunnel echo: sent b'hello', got {got!r}")
            blob = os.urandom(300000)
            got = c.duplex_echo(blob, 10 * h.slack)
            check(got == blob, "tunnel echo of 300000 random bytes (sent while reading) differs")

    r.case("Connection: Upgrade gets 101, then raw bytes go both ways through the tunnel", upgrade)

    def hop_by_hop():
        sent = ("GET /headers with Connection: keep-alive, X-Secret; X-Secret: 1; Keep-Alive: timeout=5; "
                "Proxy-Connection: keep-alive; TE: trailers")
        res = once(*plain, "GET", "/headers", [("Connection", "keep-alive, X-Secret"), ("X-Secret", "1"),
                                               ("Keep-Alive", "timeout=5"), ("Proxy-Connection", "keep-alive"),
                                               ("TE", "trailers"), ("X-Kept", "yes")])
        expect_status(res, 200, sent)
        names = [n.lower() for n, _ in res.json()["headers"]]
        leaked = [n for n in ("x-secret", "keep-alive", "proxy-connection", "te") if n in names]
        check(not leaked, f"{sent}: hop-by-hop fields reached the backend: {leaked}")
        check("x-kept" in names, f"{sent}: an end-to-end field was dropped: {names}")

    r.case("hop-by-hop fields (Connection and those it names, Keep-Alive, TE, Proxy-Connection) are not forwarded",
           hop_by_hop)

    def pipelined():
        with Conn(*plain) as c:
            c.send(b"".join(build("GET", f"/headers?pipe={i}") for i in range(3)))
            got = []
            for i in range(3):
                res = c.read_response(5 * h.slack)
                expect_status(res, 200, f"pipelined request {i + 1} of 3 (sent in one write)")
                got.append(res.json()["target"])
        check(got == [f"/headers?pipe={i}" for i in range(3)], f"pipelined responses out of order: {got}")

    r.case("pipelined requests on one connection are answered in order", pipelined)

    def head_and_204():
        with Conn(*plain) as c:
            res = c.request("HEAD", "/headers?head=1")
            expect_status(res, 200, "HEAD /headers")
            # The member sends its JSON body after the HEAD response anyway: the
            # VIP must end the response at the head and pass none of it on.
            try:
                c._fill(time.monotonic() + 0.3 * h.slack)
            except socket.timeout:
                pass
            check(not c.buf, f"bytes followed the response to HEAD: {bytes(c.buf[:100])!r}")
            res = c.request("GET", "/status?code=204")
            expect_status(res, 204, "GET /status?code=204 after a HEAD on the same connection")
            res = c.request("GET", "/headers?after=204", timeout=5 * h.slack)
            expect_status(res, 200, "GET after HEAD and 204 on the same connection")
            check(res.json()["target"] == "/headers?after=204", f"wrong response: {res.summary()}")

    r.case("HEAD and 204 responses carry no body and the connection goes on", head_and_204)

    def close_delimited():
        n = 3 * MiB + 17
        with Conn(*plain) as c:
            res = c.request("GET", f"/nolength?bytes={n}", timeout=10 * h.slack)
            expect_status(res, 200, f"GET /nolength?bytes={n} (the backend ends the body by closing)")
            check(len(res.body) == n, f"a close-delimited backend body of {n} bytes reached the client as "
                                      f"{len(res.body)} bytes")
        h.wait_backend_line(f"download {n} sha256={sha(res.body)}", 5 * h.slack,
                            "the close-delimited body's sha256 to match what the backend sent")

    r.case("a response body delimited by the backend's close reaches the client whole", close_delimited)

    def http10_and_close():
        with Conn(*plain) as c:
            c.send(f"GET /headers?v=10 HTTP/1.0\r\nHost: {VHOST}\r\n\r\n")
            res = c.read_response(5 * h.slack)
            expect_status(res, 200, "GET HTTP/1.0 without keep-alive")
            check(c.wait_closed(2 * h.slack), "an HTTP/1.0 request without keep-alive: the connection stayed open")
        with Conn(*plain) as c:
            res = c.request("GET", "/headers?close=1", [("Connection", "close")])
            expect_status(res, 200, "GET with Connection: close")
            check(c.wait_closed(2 * h.slack), "Connection: close: the VIP kept the connection open")

    r.case("HTTP/1.0 and Connection: close get their answer, then the connection closes", http10_and_close)

    def half_close():
        with Conn(*plain) as c:
            c.send(build("GET", "/headers?half=1"))
            c.sock.shutdown(socket.SHUT_WR)
            try:
                res = c.read_response(5 * h.slack)
            except ConnectionClosed:
                fail("sent GET /headers, then shut down the sending side (half-close): the VIP closed without "
                     "answering")
            expect_status(res, 200, "GET /headers then half-close")

    r.case("a client that half-closes after its request still gets the response", half_close)

    def stale_pooled():
        results = []
        for i in range(3):
            n_closed = sum(1 for x in h.backends["fe03-idle"].lines() if x.startswith("idle-close"))
            res = once(vip, V[4], "POST", f"/upload?stale={i}", body=b"s" * 1000)
            results.append(res.status)
            expect_status(res, 200, f"POST {i + 1} through the VIP whose only member closes idle connections "
                                    f"after 200 ms (the VIP's pooled connection was closed by the member)")
            # Wait until the member has closed the connection the VIP pooled, then a little for the FIN.
            wait_for(lambda: sum(1 for x in h.backends["fe03-idle"].lines() if x.startswith("idle-close")) > n_closed,
                     3 * h.slack, "the member to close its idle connection")
            time.sleep(0.1 * h.slack)
        res = once(vip, V[4], "GET", "/headers?stale=get")
        expect_status(res, 200, "GET after the member closed the pooled connection")

    r.case("a pooled backend connection the member closed while idle is not reused (POST succeeds)", stale_pooled)

    def slow_reader():
        size = 128 * MiB + random.randint(1, 4095)   # a size no other case downloads
        watch = RssWatch(h)
        digest = hashlib.sha256()
        got = 0
        with Conn(*plain, timeout=30) as c:
            c.send(build("GET", f"/download?bytes={size}"))
            head = c.read_head(10 * h.slack)
            expect_status(head, 200, f"GET /download?bytes={size}")
            time.sleep(1.0)  # the client reads nothing: the VIP must stop reading from the member
            mid = watch.peak
            check(not any(f"download {size} " in line for b in h.backends.values() for line in b.lines()),
                  "the member finished sending the whole download while the client read nothing: the VIP "
                  "kept reading from it (no backpressure)")
            for piece in c.body_chunks(head, 30 * h.slack):
                digest.update(piece)
                got += len(piece)
        before, peak = watch.finish()
        check(got == size, f"received {got} of {size} bytes")
        check(mid - before < 64 * MiB and peak - before < 64 * MiB,
              f"a client that stopped reading a {size // MiB} MiB download for 1 s made pooldns grow from "
              f"{before // MiB} MiB to {mid // MiB} MiB (peak {peak // MiB} MiB): no backpressure")
        print(f"  RSS {before // MiB} MiB before, {mid // MiB} MiB after 1 s of a stalled client, "
              f"peak {peak // MiB} MiB")

    r.case("backpressure: a client that stops reading a download does not make pooldns buffer it", slow_reader)

    def no_member():
        h.wait_health("dead.contoso.test.", "fe03", "down", 10 * h.slack)
        def answered_503():
            res = once(vip, V[2])
            return res if res.status == 503 else None

        res, _ = wait_for(answered_503, 3 * h.slack,
                          "GET through the VIP of the pool whose only member is down to answer 503")
        check(0 < len(res.body) <= 1024, f"503 body should be short and non-empty, got {len(res.body)} bytes")
        check(b"dead.contoso.test" in res.body, f"the 503 body should name the pool: {res.body!r}")
        s = h.vip_stats("dead")
        wait_for(lambda: h.vip_stats("dead")["stats"]["no_backend"] >= 1, 3 * h.slack,
                 f"status --json 'dead' to count the 503 in no_backend ({s})")
        res = once(vip, V[2], "POST", "/upload", body=b"abc")
        expect_status(res, 503, "POST to the VIP whose pool has no member up")

    r.case("no member up: 503 with a short body", no_member)

    def bad_response():
        for kind in ("line", "fields"):
            res = once(vip, V[0], "GET", f"/garbage?kind={kind}")
            expect_status(res, 502, f"GET /garbage?kind={kind}: a member answering a response that does not parse")
        res = once(vip, V[0], "GET", "/garbage?kind=extra")
        expect_status(res, 200, "GET /garbage?kind=extra: a body longer than its Content-Length")
        check(res.body == b"ok", f"the client must get the declared 2-byte body, got {res.body!r}")
        expect_status(once(vip, V[0], "GET", "/headers"), 200, "a good request after the broken responses")

    r.case("a broken response from a member: 502 when it does not parse, the declared body when it runs over",
           bad_response)

    def retry():
        statuses = []
        for i in range(8):
            res = once(vip, V[1], "POST", f"/upload?retry={i}", body=b"0123456789")
            statuses.append((res.status, res.backend))
        bad = [s for s in statuses if s not in ((502, None), (200, "fe01"))]
        check(not bad, f"POSTs to the pool of fe01 (listening) and fe02 (refusing): expected only 200 from fe01 or "
                       f"502, got {statuses}")
        check((502, None) in statuses, f"8 POSTs: none got 502, so none was sent to the refusing fe02 "
                                       f"(or a POST was retried): {statuses}")
        gets = []
        for i in range(8):
            res = once(vip, V[1], "GET", f"/headers?retry={i}")
            gets.append((res.status, res.backend))
        check(all(g == (200, "fe01") for g in gets),
              f"8 GETs with fe02 refusing connections: each must be retried on fe01 and get 200, got {gets}")

    r.case("a refused backend connection: GET is retried on another member, POST gets 502", retry)

    def connect_timeout():
        ct = (vip, V[5])
        gets = []
        for i in range(4):
            t0 = time.monotonic()
            res = once(*ct, "GET", f"/headers?ct={i}", timeout=15)
            gets.append((res.status, res.backend, round(time.monotonic() - t0, 2)))
        check(all(g[:2] == (200, "fe02") for g in gets),
              f"GETs through a VIP (--connect-timeout 0.5) whose member fe01 never completes a connect: each must "
              f"be retried on fe02 and get 200; got (status, member, seconds) {gets}")
        check(any(g[2] >= 0.4 for g in gets), f"no GET waited for the connect timeout, so none was sent to fe01: "
                                              f"{gets}")
        check(all(g[2] <= 0.5 + 1.0 * h.slack for g in gets), f"a GET waited longer than the connect timeout: {gets}")
        posts = []
        for i in range(4):
            t0 = time.monotonic()
            res = once(*ct, "POST", f"/upload?ct={i}", body=b"c" * 10, timeout=15)
            posts.append((res.status, res.backend, round(time.monotonic() - t0, 2)))
        bad = [p for p in posts if p[:2] not in ((200, "fe02"), (504, None))]
        check(not bad and any(p[0] == 504 for p in posts),
              f"POSTs through the same VIP: expected 200 from fe02, or 504 after the 0.5 s connect timeout to fe01 "
              f"(docs: 504 for a timeout); got {posts}")

    r.case("--connect-timeout 0.5: a member that never completes the connect: GET retried, POST gets 504",
           connect_timeout)

    def response_timeout():
        tag = uuid.uuid4().hex[:8]
        sent = f"GET /never?t={tag} (the backend never answers) through a VIP with --response-timeout 1"
        t0 = time.monotonic()
        res = once(vip, V[3], "GET", f"/never?t={tag}", timeout=15)
        dt = time.monotonic() - t0
        expect_status(res, 504, sent)
        saw = [label for label, b in h.backends.items() for x in b.lines() if f"/never?t={tag}" in x]
        check(len(saw) == 1, f"{sent}: the request was sent {len(saw)} times ({saw}); a request that reached a "
                             "member and timed out waiting for the response must not be sent again")
        check(0.9 <= dt <= 1 + 1.0 * h.slack, f"{sent}: 504 came after {dt:.2f}s, expected about 1s")

    r.case("--response-timeout 1: a backend that never answers gets 504", response_timeout)

    def killed_backend():
        h.kill_backend("fe02")
        t0 = time.monotonic()
        during = []
        while time.monotonic() - t0 < DOWN_BOUND * h.slack + 0.5:
            res = once(*plain, "GET", "/headers")
            during.append((res.status, res.backend))
        check(all(s == 200 for s, _ in during),
              f"GETs while the checker had not yet noticed fe02's death must be retried and succeed: {during}")
        h.wait_health(WEB, "fe02", "down", 5 * h.slack)
        after = [once(*plain).backend for _ in range(6)]
        posts = [once(*plain, "POST", "/upload", body=b"x" * 100) for _ in range(4)]
        check("fe02" not in after, f"GETs after fe02 was recorded down went to {after}")
        check(all(p.status == 200 and p.backend != "fe02" for p in posts),
              f"POSTs after fe02 was recorded down: {[(p.status, p.backend) for p in posts]}")
        h.start_backend("fe02", addrs["fe02"], [P])
        h.wait_health(WEB, "fe02", "up", 5 * h.slack)
        wait_for(lambda: once(*plain).backend == "fe02", 3 * h.slack, "fe02 to get requests again")

    r.case("a member killed mid-test: requests keep succeeding, none reach it once health notices", killed_backend)

    def client_abort():
        # The client resets its connection (SO_LINGER 0) while the member has not answered: the VIP must give up
        # the exchange (the member would otherwise count it outstanding until --response-timeout, 120 s).
        since = time.time()
        for target in ("/never?abort=1", "/never?abort=2"):
            c = Conn(*plain)
            c.send(build("GET", target))
            h.wait_backend_line(f"GET {target} ", 5 * h.slack)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()

        def settled():
            st = h.vip_stats("plain")
            active = {m["server"]: m["active"] for m in st["members"]}
            fresh = st["stats"]["age_s"] is not None and time.time() - st["stats"]["age_s"] > since + 0.2
            return st if fresh and all(v == 0 for v in active.values()) and st["stats"]["active"] == 0 else None

        try:
            wait_for(settled, 4 * h.slack, "status --json 'plain' to show no request outstanding and no client "
                                           "connection open after two clients reset their connections mid-request")
        except AssertionError as e:
            st = h.vip_stats("plain")
            fail(f"{e}; now: active connections {st['stats']['active']}, outstanding per member "
                 f"{[(m['server'], m['active']) for m in st['members']]}")
        seen = [once(*plain).backend for _ in range(9)]
        check(set(seen) == {"fe01", "fe02", "fe03"}, f"after clients reset mid-request, 9 sequential GETs went to "
                                                     f"{seen}: a member still counts outstanding requests")

    r.case("a client that resets mid-request leaves nothing outstanding (status active 0, balancing even)",
           client_abort)

    def counters():
        s0 = h.vip_stats("plain")
        check(s0 is not None, f"status --json has no VIP section for 'plain': {h.status()}")
        before = stat_numbers(s0)
        for _ in range(5):
            expect_status(once(*plain), 200, "GET /headers")

        def moved():
            now = stat_numbers(h.vip_stats("plain"))
            return now if (now["requests"] >= before["requests"] + 5 and now["2xx"] >= before["2xx"] + 5
                           and now["picks"] >= before["picks"] + 5) else None

        wait_for(moved, 3 * h.slack, f"status --json counters of 'plain' to count 5 more requests, 2xx and picks "
                                     f"(before: {before})")
        s1 = h.vip_stats("plain")
        check(s1["stats"]["listening"] is True and s1["running"] is True, f"status --json 'plain': {s1}")
        text = h.ctl("status").stdout
        check("plain" in text and "listening" in text, f"pooldnsctl status (text) lacks the VIP section:\n{text}")

    r.case("status --json shows the VIP's counters moving: requests, 2xx, picks per member", counters)

    def vip_list():
        vl = h.ctl("vip", "list", json_out=True)
        names = sorted(v["name"] for v in vl)
        check(names == ["ct", "dead", "plain", "retry", "slow", "stale", "w"], f"vip list --json names: {names}")
        by = {v["name"]: v for v in vl}
        check(by["plain"]["access_log"] is True and by["slow"]["response_timeout_ms"] == 1000,
              f"vip list --json settings: {by['plain']}, {by['slow']}")

    r.case("vip list --json lists every VIP with its settings", vip_list)


def stat_numbers(s):
    """requests, 2xx and the sum of per-member picks from one VIP's status --json entry."""
    if s is None or s.get("stats") is None:
        return {"requests": -1, "2xx": -1, "picks": -1}
    c = s["stats"]
    return {"requests": c["requests"], "2xx": c["status_2xx"], "picks": sum(m["picks"] for m in s["members"])}


# =============================================================================
# persist
# =============================================================================

TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")


def parse_set_cookie(value):
    """(name, token, [attributes lower-cased])."""
    first, *attrs = [p.strip() for p in value.split(";")]
    name, _, token = first.partition("=")
    return name, token, [a.lower() for a in attrs if a]


def group_persist(h, r):
    vip = "127.0.0.70"
    addrs = member_addrs(70, 3)
    P = free_port(list(addrs.values()))
    topology(h, 70, 3, P)
    V = vip_ports(vip, 3)
    h.ctl("vip", "add", "cookie", "--listen", f"{vip}:{V[0]}", "--pool", WEB, "--backend-port", P,
          "--persist", "cookie")
    h.ctl("vip", "add", "cookie2", "--listen", f"{vip}:{V[1]}", "--pool", WEB, "--backend-port", P,
          "--persist", "cookie", "--cookie-name", "SESS", "--cookie-httponly", "on", "--cookie-secure", "on")
    h.ctl("vip", "add", "source", "--listen", f"{vip}:{V[2]}", "--pool", WEB, "--backend-port", P,
          "--persist", "source")
    for name, addr in addrs.items():
        h.start_backend(name, addr, [P])
    start_and_wait(h, [("cookie", f"{vip}:{V[0]}", "off", WEB), ("cookie2", f"{vip}:{V[1]}", "off", WEB),
                       ("source", f"{vip}:{V[2]}", "off", WEB)])
    wait_all_up(h, WEB, list(addrs))
    ck = (vip, V[0])

    def fresh_cookie(where=ck, name="MS-WSMAN", headers=()):
        res = once(*where, "GET", "/headers", headers)
        expect_status(res, 200, f"GET /headers {list(headers)}")
        sc = res.all("Set-Cookie")
        check(len(sc) == 1, f"GET /headers {list(headers)} (no valid cookie): expected one Set-Cookie, got {sc}")
        n, token, attrs = parse_set_cookie(sc[0])
        check(n == name and TOKEN.fullmatch(token),
              f"Set-Cookie {sc[0]!r}: expected {name}=<22 chars of [A-Za-z0-9_-]>")
        return token, attrs, res.backend, sc[0]

    def with_cookie(token, where=ck, name="MS-WSMAN", extra=""):
        return once(*where, "GET", "/headers", [("Cookie", f"{extra}{name}={token}")])

    def cookie_format():
        token, attrs, _, raw = fresh_cookie()
        check("path=/" in attrs, f"Set-Cookie {raw!r} lacks Path=/")
        bad = [a for a in attrs if a.split("=")[0] in ("httponly", "secure", "expires", "max-age")]
        check(not bad, f"Set-Cookie {raw!r}: MS-WSMAN must not be HttpOnly, Secure or expire; has {bad}")

    r.case("cookie: a request without the cookie gets Set-Cookie: MS-WSMAN=<22 chars>; Path=/ "
           "(not HttpOnly, no expiry)", cookie_format)

    def cookie_sticks():
        tokens = {}
        for _ in range(6):
            token, _, backend, _ = fresh_cookie()
            tokens[token] = backend
        check(len(set(tokens.values())) >= 2, f"six fresh picks all went to one member: {tokens}")
        for token, backend in tokens.items():
            for extra in ("", "a=1; ", "theme=dark; lang=en; "):
                res = with_cookie(token, extra=extra)
                expect_status(res, 200, f"GET with Cookie: {extra}MS-WSMAN={token}")
                check(res.backend == backend, f"Cookie {extra}MS-WSMAN={token} (set by {backend}) went to "
                                              f"{res.backend}")
                check(not res.all("Set-Cookie"), f"a request with a valid cookie got a new one: {res.all('Set-Cookie')}")
        token, backend = next(iter(tokens.items()))
        with Conn(*ck) as c:
            for i in range(4):
                res = c.request("GET", f"/headers?k={i}", [("Cookie", f"MS-WSMAN={token}")])
                check(res.backend == backend, f"keep-alive request {i + 1} with the cookie of {backend} went to "
                                              f"{res.backend}")

    r.case("cookie: requests carrying the cookie go to the same member, without a new cookie", cookie_sticks)

    def forged():
        token, _, backend, _ = fresh_cookie()
        flipped = token[:-2] + ("B" if token[-2] != "B" else "C") + token[-1]
        for value in ("garbage", "A" * 22, flipped, token + "x", "", token[:21]):
            new, _, b, raw = fresh_cookie(headers=[("Cookie", f"MS-WSMAN={value}")])
            check(new != value, f"Cookie MS-WSMAN={value!r}: the VIP echoed the forged value: {raw}")
            res = with_cookie(new)
            check(res.backend == b, f"the cookie issued to replace {value!r} names {b} but went to {res.backend}")

    r.case("cookie: a forged or garbage cookie is ignored (fresh pick, new cookie)", forged)

    def cookie_options():
        token, attrs, backend, raw = fresh_cookie((vip, V[1]), "SESS")
        check("path=/" in attrs and "httponly" in attrs and "secure" in attrs,
              f"--cookie-name SESS --cookie-httponly on --cookie-secure on: Set-Cookie {raw!r}")
        check(not [a for a in attrs if a.split("=")[0] in ("expires", "max-age")], f"expiring cookie: {raw!r}")
        res = with_cookie(token, (vip, V[1]), "SESS")
        check(res.backend == backend and not res.all("Set-Cookie"), f"SESS cookie did not stick: {res.summary()}")
        ms_token, _, _, _ = fresh_cookie()
        fresh_cookie((vip, V[1]), "SESS", [("Cookie", f"MS-WSMAN={ms_token}")])

    r.case("cookie: --cookie-name, HttpOnly and Secure only when set on", cookie_options)

    def every_response():
        with Conn(*ck) as c:
            tokens = []
            for i in range(3):
                res = c.request("GET", f"/setcookie?e={i}")
                expect_status(res, 200, f"GET /setcookie (request {i + 1} on one connection, no cookie sent)")
                sc = res.all("Set-Cookie")
                ours = [x for x in sc if x.startswith("MS-WSMAN=")]
                check(len(ours) == 1, f"request {i + 1} without a cookie: expected one MS-WSMAN Set-Cookie, got {sc}")
                check("app=1; Path=/" in sc, f"the member's own Set-Cookie was lost or merged: {sc}")
                tokens.append(parse_set_cookie(ours[0])[1])

    r.case("cookie: set on every response to a request that lacked it; the member's own Set-Cookie kept",
           every_response)

    def drained():
        token, _, x, _ = fresh_cookie()
        ms = int(2000 * h.slack)
        tag = uuid.uuid4().hex[:8]
        inflight = run_bg(lambda: with_cookie_target(ck, token, f"/slow?ms={ms}&d={tag}"))
        where = h.wait_backend_line(f"/slow?ms={ms}&d={tag}", 5 * h.slack)
        check(where == x, f"the in-flight request with {x}'s cookie went to {where}")
        h.ctl("server", "drain", x)
        try:
            def moved():
                res = with_cookie(token)
                return res if res.status == 200 and res.backend != x else None

            res, dt = wait_for(moved, 1.0 * h.slack + 0.25, f"a request with the cookie of drained {x} to go elsewhere")
            sc = res.all("Set-Cookie")
            check(len(sc) == 1, f"the fallback pick for the drained {x} must set a new cookie, got {sc}")
            new = parse_set_cookie(sc[0])[1]
            check(new != token, "the new cookie names the drained member again")
            y = res.backend
            res = inflight()
            expect_status(res, 200, f"the request in flight on {x} when it was drained")
            check(res.backend == x, f"the in-flight request was answered by {res.backend}, not {x}")
            fresh = [once(*ck).backend for _ in range(9)]
            check(x not in fresh, f"new requests after draining {x} went to {fresh}")
            again = [with_cookie(new).backend for _ in range(3)]
            check(again == [y] * 3, f"the replacement cookie (for {y}) went to {again}")
            print(f"  drain of {x}: the cookie moved to {y} after {dt:.2f}s")
        finally:
            h.ctl("server", "enable", x)
        wait_for(lambda: with_cookie(token).backend == x, 1.0 * h.slack + 0.25,
                 f"the old cookie to reach {x} again once enabled")

    r.case("drain: in-flight requests finish, new ones avoid the member, its cookie falls back with a new cookie",
           drained)

    def down():
        token, _, x, _ = fresh_cookie()
        h.kill_backend(x)
        try:
            h.wait_health(WEB, x, "down", 5 * h.slack)
            res = with_cookie(token)
            expect_status(res, 200, f"GET with the cookie of {x}, which is down")
            check(res.backend != x, f"went to the dead {x}")
            sc = res.all("Set-Cookie")
            check(len(sc) == 1 and parse_set_cookie(sc[0])[1] != token,
                  f"a cookie naming the down {x} must be replaced: Set-Cookie {sc}")
        finally:
            h.start_backend(x, addrs[x], [P])
        h.wait_health(WEB, x, "up", 5 * h.slack)

    r.case("cookie naming a member that is down: fresh pick and a new cookie", down)

    def blocked():
        token, _, x, _ = fresh_cookie()
        h.ctl("server", "block", x)
        try:
            def moved():
                res = with_cookie(token)
                return res if res.status == 200 and res.backend != x else None

            res, dt = wait_for(moved, 1.0 * h.slack + 0.25, f"a request with the cookie of blocked {x} to go elsewhere")
            check(len(res.all("Set-Cookie")) == 1, f"fallback from blocked {x} without a new cookie: {res.summary()}")
            fresh = [once(*ck).backend for _ in range(6)]
            check(x not in fresh, f"new requests after blocking {x} went to {fresh}")
        finally:
            h.ctl("server", "enable", x)
        wait_for(lambda: with_cookie(token).backend == x, 1.0 * h.slack + 0.25, f"{x} to take its cookie again")

    r.case("server block: its cookie falls back, new requests avoid it; enable brings it back", blocked)

    def live_cookie_name():
        h.ctl("vip", "set", "cookie2", "--cookie-name", "LIVE", "--cookie-httponly", "off")
        wait_for(lambda: (once(vip, V[1]).header("Set-Cookie") or "").startswith("LIVE="), 1.0 * h.slack + 0.25,
                 "vip set cookie2 --cookie-name LIVE to show in Set-Cookie")
        _, attrs, _, raw = fresh_cookie((vip, V[1]), "LIVE")
        check("httponly" not in attrs and "secure" in attrs, f"after --cookie-httponly off: {raw!r}")

    r.case("vip set --cookie-name/--cookie-httponly is followed within 1 s", live_cookie_name)

    def source():
        sources = [f"127.0.0.{200 + i}" for i in range(10)]
        src = (vip, V[2])

        def mapping():
            out = {}
            for s in sources:
                got = {once(*src, source=s).backend for _ in range(3)}
                check(len(got) == 1, f"3 requests from {s} went to {got}")
                out[s] = got.pop()
            return out

        first = mapping()
        check(len(set(first.values())) >= 2, f"10 source addresses all map to one member: {first}")
        for victim in sorted(set(first.values())):
            h.kill_backend(victim)
            try:
                h.wait_health(WEB, victim, "down", 5 * h.slack)
                during = mapping()
                moved = {s: (first[s], during[s]) for s in sources if first[s] != victim and during[s] != first[s]}
                check(not moved, f"with {victim} down, clients of other members moved (before, now): {moved}")
                check(victim not in during.values(), f"clients still sent to the down {victim}: {during}")
            finally:
                h.start_backend(victim, addrs[victim], [P])
            h.wait_health(WEB, victim, "up", 5 * h.slack)
            after = mapping()
            check(after == first, f"after {victim} came back the mapping changed: before {first}, now {after}")

    r.case("source persistence: a client address keeps its member while other members go down and up", source)

    def restart():
        token, _, x, _ = fresh_cookie()
        src_before = once(vip, V[2], source="127.0.0.230").backend
        code = h.stop_server()
        check(code == 0, f"pooldns exited {code} on SIGTERM")
        start_and_wait(h, [("cookie", f"{vip}:{V[0]}", "off", WEB), ("source", f"{vip}:{V[2]}", "off", WEB)])
        res = with_cookie(token)
        expect_status(res, 200, "GET with a cookie issued before the restart")
        check(res.backend == x and not res.all("Set-Cookie"),
              f"a cookie for {x} issued before a restart went to {res.backend} with Set-Cookie {res.all('Set-Cookie')}")
        after = once(vip, V[2], source="127.0.0.230").backend
        check(after == src_before, f"source 127.0.0.230 mapped to {src_before} before the restart, {after} after")

    r.case("after a restart the same cookie and the same source address reach the same member", restart)


def with_cookie_target(where, token, target):
    return once(*where, "GET", target, [("Cookie", f"MS-WSMAN={token}")], timeout=30)


# =============================================================================
# limits
# =============================================================================

def group_limits(h, r):
    vip = "127.0.0.80"
    addrs = member_addrs(80, 2)
    P = free_port(list(addrs.values()))
    topology(h, 80, 2, P)
    V = vip_ports(vip, 2)
    MAX_BODY = 100000
    h.ctl("vip", "add", "lim", "--listen", f"{vip}:{V[0]}", "--pool", WEB, "--backend-port", P,
          "--max-request-line", "256", "--max-header-bytes", "2048", "--max-header-count", "20",
          "--max-body", MAX_BODY, "--header-timeout", "1", "--idle-timeout", "4")
    # Different header and idle timeouts: a head cut after 4 s, or an idle
    # connection after 1 s, shows the two timers swapped.
    h.ctl("vip", "add", "conns", "--listen", f"{vip}:{V[1]}", "--pool", WEB, "--backend-port", P,
          "--max-connections", "2")
    for name, addr in addrs.items():
        h.start_backend(name, addr, [P])
    start_and_wait(h, [("lim", f"{vip}:{V[0]}", "off", WEB), ("conns", f"{vip}:{V[1]}", "off", WEB)])
    wait_all_up(h, WEB, list(addrs))
    lim = (vip, V[0])

    def backend_saw(tag):
        return [line for b in h.backends.values() for line in b.lines() if tag in line]

    def request_line():
        ok_target = "/headers?" + "a" * (200 - len("GET /headers? HTTP/1.1"))
        expect_status(once(*lim, "GET", ok_target), 200, f"a 200-byte request line (limit 256)")
        long_target = "/headers?" + "a" * 400
        with Conn(*lim) as c:
            res = c.request("GET", long_target)
            expect_status(res, 414, f"GET with a {len(long_target) + 14}-byte request line (--max-request-line 256)")
            check(c.wait_closed(2 * h.slack), "after 414 the connection must close (docs/OPERATIONS.md)")

    r.case("a request line longer than --max-request-line gets 414", request_line)

    def header_bytes():
        expect_status(once(*lim, "GET", "/headers", [("X-Big", "b" * 1000)]), 200, "a 1000-byte field (limit 2048)")
        with Conn(*lim) as c:
            res = c.request("GET", "/headers", [("X-Big", "b" * 3000)])
            expect_status(res, 431, "a 3000-byte field (--max-header-bytes 2048)")
            check(c.wait_closed(2 * h.slack), "after 431 the connection must close (docs/OPERATIONS.md)")
        fields = [(f"X-Part-{i}", "p" * 200) for i in range(12)]
        expect_status(once(*lim, "GET", "/headers", fields), 431, "12 fields of 200 bytes (--max-header-bytes 2048)")

    r.case("a header section larger than --max-header-bytes gets 431", header_bytes)

    def header_count():
        expect_status(once(*lim, "GET", "/headers", [(f"X-F{i}", "v") for i in range(15)]), 200,
                      "16 fields with Host (limit 20)")
        expect_status(once(*lim, "GET", "/headers", [(f"X-F{i}", "v") for i in range(25)]), 431,
                      "26 fields with Host (--max-header-count 20)")

    r.case("more header fields than --max-header-count gets 431", header_count)

    def body_length():
        body = os.urandom(MAX_BODY)
        res = once(*lim, "POST", "/upload", body=body)
        expect_status(res, 200, f"POST with a body of exactly --max-body ({MAX_BODY})")
        check(res.json()["body_sha256"] == sha(body), "body hash differs")
        tag = uuid.uuid4().hex[:8]
        with Conn(*lim) as c:
            c.send(build("POST", f"/upload?big={tag}", [("Content-Length", str(MAX_BODY + 1))]))
            res = c.read_response(5 * h.slack)
            expect_status(res, 413, f"POST head with Content-Length: {MAX_BODY + 1} (--max-body {MAX_BODY})")
            check(c.wait_closed(2 * h.slack), "after 413 the connection must close (docs/OPERATIONS.md)")
        check(not backend_saw(tag), f"the oversized request reached a backend: {backend_saw(tag)}")
        with Conn(*lim) as c:
            c.send(build("POST", f"/upload?bigx={tag}", [("Expect", "100-continue"),
                                                        ("Content-Length", str(MAX_BODY + 1))]))
            res = c.read_response(5 * h.slack, skip_1xx=False)
            expect_status(res, 413, f"POST head with Expect: 100-continue and Content-Length: {MAX_BODY + 1}: "
                                    "the client must be told not to send the body")

    r.case("a Content-Length body larger than --max-body gets 413", body_length)

    def body_chunked():
        tag = uuid.uuid4().hex[:8]
        pieces = [os.urandom(60000), os.urandom(60000)]
        with Conn(*lim) as c:
            try:
                c.send(build("POST", f"/upload?bigc={tag}", [("Transfer-Encoding", "chunked")]) + chunked(pieces))
            except OSError:
                pass  # the VIP may stop reading once the limit is passed
            res = c.read_response(5 * h.slack)
            expect_status(res, 413, f"POST with a chunked body of 2 x 60000 bytes (--max-body {MAX_BODY})")
        done = [line for line in backend_saw(tag) if "size=120000" in line]
        check(not done, f"the whole oversized chunked body reached a backend: {done}")

    r.case("a chunked body growing past --max-body gets 413", body_chunked)

    def cl_and_te():
        tag = uuid.uuid4().hex[:8]
        raw = (f"POST /upload?clte={tag} HTTP/1.1\r\nHost: {VHOST}\r\nContent-Length: 5\r\n"
               f"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        with Conn(*lim) as c:
            c.send(raw)
            res = c.read_response(5 * h.slack)
            expect_status(res, 400, repr(raw))
            check(c.wait_closed(2 * h.slack), f"after 400 for Content-Length with Transfer-Encoding the connection "
                                              "must close; it stayed open 2s")
        check(not backend_saw(tag), f"the request reached a backend: {backend_saw(tag)}")

    r.case("Content-Length with Transfer-Encoding gets 400 and the connection closes", cl_and_te)

    def dup_cl():
        tag = uuid.uuid4().hex[:8]
        raw = f"POST /upload?dup={tag} HTTP/1.1\r\nHost: {VHOST}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"
        with Conn(*lim) as c:
            c.send(raw)
            res = c.read_response(5 * h.slack)
            expect_status(res, 400, repr(raw))
        check(not backend_saw(tag), f"the request reached a backend: {backend_saw(tag)}")

    r.case("differing duplicate Content-Length gets 400", dup_cl)

    def malformed():
        cases = [
            ("no Host in HTTP/1.1", "GET /headers?m=nohost HTTP/1.1\r\nX-A: 1\r\n\r\n"),
            ("two Host fields", f"GET /headers?m=twohost HTTP/1.1\r\nHost: {VHOST}\r\nHost: other.test\r\n\r\n"),
            ("obs-fold", f"GET /headers?m=fold HTTP/1.1\r\nHost: {VHOST}\r\nX-A: 1\r\n  folded\r\n\r\n"),
            ("bare LF in a field", f"GET /headers?m=lf HTTP/1.1\r\nHost: {VHOST}\nX-A: 1\r\n\r\n"),
            ("bad chunk size", f"POST /upload?m=chunk HTTP/1.1\r\nHost: {VHOST}\r\nTransfer-Encoding: chunked\r\n"
                               "\r\nzz\r\nhello\r\n0\r\n\r\n"),
            ("space before the colon", f"GET /headers?m=sp HTTP/1.1\r\nHost: {VHOST}\r\nX-A : 1\r\n\r\n"),
        ]
        for what, raw in cases:
            with Conn(*lim) as c:
                c.send(raw)
                try:
                    res = c.read_response(5 * h.slack)
                except ConnectionClosed:
                    fail(f"{what}: sent {raw!r}: expected 400, the VIP closed without an answer")
                expect_status(res, 400, f"{what}: {raw!r}")
                check(c.wait_closed(2 * h.slack), f"{what}: after 400 the connection must close")
            tag = raw.split("m=", 1)[1].split(" ", 1)[0]
            check(not backend_saw(f"m={tag} "), f"{what}: the request reached a backend")

    r.case("malformed requests (no Host, two Hosts, obs-fold, bare LF, bad chunk size) get 400 and a close",
           malformed)

    def slowloris():
        head = f"GET /headers HTTP/1.1\r\nHost: {VHOST}\r\nX-Slow: {'s' * 40}\r\n\r\n".encode()
        with Conn(*lim) as c:
            t0 = time.monotonic()
            sent = 0
            closed_at = None
            for byte in head:
                if time.monotonic() - t0 > 1 + 2 * h.slack:
                    break
                try:
                    c.send(bytes([byte]))
                except OSError:
                    closed_at = time.monotonic() - t0
                    break
                sent += 1
                c.sock.settimeout(0.5)  # the pace: wait up to 0.5 s for anything from the VIP
                try:
                    data = c.sock.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    closed_at = time.monotonic() - t0
                    break
                closed_at = time.monotonic() - t0
                if data:  # an answer (408): the close must follow
                    c.buf += data
                    check(c.wait_closed(2 * h.slack), f"the slow head got {data[:100]!r} but the connection "
                                                      "stayed open")
                break
        check(closed_at is not None, f"sent {sent} bytes of a head one per 0.5 s over "
                                     f"{time.monotonic() - t0:.1f}s: the VIP never closed (--header-timeout 1)")
        check(0.9 <= closed_at <= 1 + 1.0 * h.slack, f"the slow head was cut after {closed_at:.2f}s, "
                                                     "expected about 1s (--header-timeout 1)")
        answer = bytes(c.buf)
        check(not answer or answer.startswith(b"HTTP/1.1 408"), f"the slow head was answered with {answer[:200]!r}, "
                                                                "expected 408 or a plain close")
        print(f"  closed after {closed_at:.2f}s and {sent} bytes; answer {answer[:40]!r}")

    r.case("slowloris: a head sent a byte per 0.5 s is cut once --header-timeout (1 s) passes", slowloris)

    def idle():
        with Conn(*lim) as c:
            for i in range(4):
                expect_status(c.request("GET", f"/headers?busy={i}"), 200, f"request {i + 1} on a busy connection")
                if i < 3:
                    check(not c.wait_closed(0.5), f"a connection used every 0.5 s was closed (idle timeout 4 s)")
            t0 = time.monotonic()
            closed = c.wait_closed(4 + 5 * h.slack)
            dt = time.monotonic() - t0
        check(closed, f"an idle keep-alive connection was still open after {dt:.1f}s (--idle-timeout 4)")
        check(3.8 <= dt <= 4 + 1.0 * h.slack, f"the idle connection was closed after {dt:.2f}s, expected about 4s "
                                              "(--idle-timeout 4; 1 s would be the header timeout)")
        print(f"  idle connection closed after {dt:.2f}s")

    r.case("keep-alive: a connection idle for --idle-timeout (4 s) is closed, a busy one is not", idle)

    def garbage():
        # Untrusted bytes of every shape: random, truncated heads, a TLS
        # ClientHello on the plain listener, NULs, huge chunk sizes. Each
        # connection gets a 4xx or is closed; the VIP keeps serving.
        rng = random.Random(5)
        samples = [os.urandom(rng.randint(1, 3000)) for _ in range(60)]
        samples += [b"GET / HTTP/1.1\r\nHost: x\r\n"[: rng.randint(1, 25)] for _ in range(10)]
        samples += [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(500),
                    b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n",
                    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
                    b"\x00" * 2000, b"\r\n" * 3000, b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n"]
        forwarded_before = sum(line.startswith("req ") for b in h.backends.values() for line in b.lines())
        for i, data in enumerate(samples):
            with socket.create_connection(lim, timeout=5 * h.slack) as c:
                try:
                    c.sendall(data)
                    c.shutdown(socket.SHUT_WR)
                    answer = b""
                    while True:
                        chunk = c.recv(65536)
                        if not chunk:
                            break
                        answer += chunk
                except (ConnectionResetError, BrokenPipeError):
                    answer = b""
                except socket.timeout:
                    fail(f"sample {i} ({data[:40]!r}...): the VIP neither answered nor closed within "
                         f"{5 * h.slack:.0f}s")
                check(answer == b"" or re.match(rb"HTTP/1\.1 4\d\d ", answer) is not None,
                      f"sample {i} ({data[:40]!r}...) got {answer[:60]!r}")
        forwarded = sum(line.startswith("req ") for b in h.backends.values() for line in b.lines())
        check(forwarded == forwarded_before, f"{forwarded - forwarded_before} garbage samples reached a member")
        expect_status(once(*lim, "GET", "/headers"), 200, "a good request after the garbage")

    r.case("garbage from clients (random bytes, truncated heads, TLS on the plain port): 4xx or a close, "
           "and the VIP keeps serving", garbage)

    def max_connections():
        conns = (vip, V[1])
        c1, c2 = Conn(*conns), Conn(*conns)
        try:
            expect_status(c1.request("GET", "/headers"), 200, "connection 1 of 2")
            expect_status(c2.request("GET", "/headers"), 200, "connection 2 of 2")
            try:
                with Conn(*conns) as c3:
                    c3.send(build("GET", "/headers?third=1"))
                    try:
                        res = c3.read_response(3 * h.slack)
                        check(res.status >= 500 or res.status == 429,
                              f"a third connection with --max-connections 2 was served: {res.summary()}")
                    except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
                        pass
            except (ConnectionResetError, BrokenPipeError, ConnectionRefusedError):
                pass
            c1.close()
            wait_for(lambda: once(*conns).status == 200, 2 * h.slack,
                     "a new connection to be served once one of the two closed")
            wait_for(lambda: h.vip_stats("conns")["stats"]["refused"] >= 1, 3 * h.slack,
                     f"status --json to count the refused connection of 'conns'")
        finally:
            c1.close()
            c2.close()

    r.case("--max-connections 2: a third connection is not served; once one closes a new one is", max_connections)

    def live_set():
        h.ctl("vip", "set", "lim", "--max-body", "10")
        try:
            wait_for(lambda: once(*lim, "POST", "/upload", body=b"y" * 50).status == 413, 1.0 * h.slack + 0.25,
                     "vip set lim --max-body 10: a 50-byte POST to get 413")
        finally:
            h.ctl("vip", "set", "lim", "--max-body", MAX_BODY)
        wait_for(lambda: once(*lim, "POST", "/upload", body=b"y" * 50).status == 200, 1.0 * h.slack + 0.25,
                 "vip set back to --max-body 100000: the 50-byte POST to get 200")

    r.case("vip set changes a limit of the running VIP within 1 s", live_set)


# =============================================================================
# tls
# =============================================================================

def openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail(f"openssl {' '.join(args)}: {r.stderr}")


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN=pooldns VIP test {name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=d)
    return os.path.join(d, f"{name}.pem")


def make_cert(d, ca, name, sans, kind):
    newkey = ["-newkey", "rsa:2048"] if kind == "rsa" else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    openssl("req", "-new", *newkey, "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={sans[0]}", cwd=d)
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=" + ",".join(f"DNS:{s}" for s in sans) + "\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext", cwd=d)
    return os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key")


def cert_key_type(der, d):
    path = os.path.join(d, "peer.der")
    with open(path, "wb") as f:
        f.write(der)
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", path, "-noout", "-text"],
                         capture_output=True, text=True, timeout=30).stdout
    if "rsaEncryption" in out:
        return "RSA"
    if "id-ecPublicKey" in out:
        return "ECDSA"
    return "?"


def group_tls(h, r):
    if not shutil.which("openssl"):
        fail("the openssl command is needed to make the test certificates")
    vip = "127.0.0.90"
    d = os.path.join(h.dir, "pki")
    os.mkdir(d)
    ca = make_ca(d, "ca")
    other_ca = make_ca(d, "otherca")
    rsa_cert, rsa_key = make_cert(d, "ca", "web", ["web.contoso.test"], "rsa")
    ec_cert, ec_key = make_cert(d, "ca", "webext", ["webext.contoso.test"], "ec")
    be_cert, be_key = make_cert(d, "ca", "backends", ["fe01.contoso.test", "fe02.contoso.test"], "ec")
    addrs = member_addrs(90, 2)
    P = free_port(list(addrs.values()))
    PT = free_port(list(addrs.values()))
    while PT == P:
        PT = free_port(list(addrs.values()))
    topology(h, 90, 2, P)
    V = vip_ports(vip, 7)
    h.ctl("vip", "add", "https", "--listen", f"{vip}:{V[0]}", "--pool", WEB, "--backend-port", P,
          "--tls-cert", rsa_cert, "--tls-key", rsa_key, "--tls-cert", ec_cert, "--tls-key", ec_key)
    h.ctl("vip", "add", "https-reenc", "--listen", f"{vip}:{V[6]}", "--pool", WEB, "--backend-port", PT,
          "--tls-cert", ec_cert, "--tls-key", ec_key, "--backend-tls", "--backend-ca", ca)
    h.ctl("vip", "add", "https-short", "--listen", f"{vip}:{V[5]}", "--pool", WEB, "--backend-port", P,
          "--tls-cert", rsa_cert, "--tls-key", rsa_key, "--header-timeout", "1")
    h.ctl("vip", "add", "reenc", "--listen", f"{vip}:{V[1]}", "--pool", WEB, "--backend-port", PT, "--backend-tls")
    h.ctl("vip", "add", "reenc-ca", "--listen", f"{vip}:{V[2]}", "--pool", WEB, "--backend-port", PT,
          "--backend-tls", "--backend-ca", ca)
    h.ctl("vip", "add", "reenc-otherca", "--listen", f"{vip}:{V[3]}", "--pool", WEB, "--backend-port", PT,
          "--backend-tls", "--backend-ca", other_ca)
    h.ctl("vip", "add", "reenc-badname", "--listen", f"{vip}:{V[4]}", "--pool", WEB, "--backend-port", PT,
          "--backend-tls", "--backend-ca", ca, "--backend-sni", "wrong.contoso.test")
    for name, addr in addrs.items():
        h.start_backend(name, addr, [P])
        h.start_backend(name, addr, [PT], cert=be_cert, key=be_key, label=f"{name}-tls")
    start_and_wait(h, [("https", f"{vip}:{V[0]}", "on", WEB), ("reenc", f"{vip}:{V[1]}", "off", WEB),
                       ("reenc-ca", f"{vip}:{V[2]}", "off", WEB), ("reenc-otherca", f"{vip}:{V[3]}", "off", WEB),
                       ("reenc-badname", f"{vip}:{V[4]}", "off", WEB), ("https-short", f"{vip}:{V[5]}", "on", WEB),
                       ("https-reenc", f"{vip}:{V[6]}", "on", WEB)])
    wait_all_up(h, WEB, list(addrs))
    https = (vip, V[0])

    def client_ctx(minv=None, maxv=None, ciphers=None):
        ctx = ssl.create_default_context(cafile=ca)
        if minv:
            ctx.minimum_version = minv
        if maxv:
            ctx.maximum_version = maxv
        if ciphers:
            ctx.set_ciphers(ciphers)
        return ctx

    def sni_names():
        for name, kind in (("web.contoso.test", "RSA"), ("webext.contoso.test", "ECDSA")):
            with Conn(*https, tls=client_ctx(), sni=name) as c:
                cert = c.sock.getpeercert()
                sans = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
                check(sans == [name], f"SNI {name}: the VIP sent a certificate for {sans}")
                got = cert_key_type(c.sock.getpeercert(binary_form=True), d)
                check(got == kind, f"SNI {name}: expected the {kind} certificate, got {got}")
                res = c.request("GET", "/headers", host=name)
                expect_status(res, 200, f"GET /headers over TLS with SNI {name}")
                f = res.json()["headers"]
                check(joined(f, "X-Forwarded-Proto") == "https", f"X-Forwarded-Proto over TLS: "
                                                                 f"{joined(f, 'X-Forwarded-Proto')!r}")
                check(joined(f, "X-Forwarded-Host") == name, f"X-Forwarded-Host: {joined(f, 'X-Forwarded-Host')!r}")
        # An ECDSA-only TLS 1.2 client can only complete with the ECDSA certificate.
        ctx = client_ctx(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES128-GCM-SHA256")
        with Conn(*https, tls=ctx, sni="webext.contoso.test") as c:
            expect_status(c.request("GET", "/headers", host="webext.contoso.test"), 200, "ECDSA-only TLS 1.2")

    r.case("one HTTPS listener: SNI picks the RSA or the ECDSA certificate, chain and name verify, "
           "X-Forwarded-Proto https", sni_names)

    def default_cert_case():
        ctx = client_ctx()
        ctx.check_hostname = False
        for sni in (None, "unknown.contoso.test"):
            with Conn(*https, tls=ctx, sni=sni) as c:
                sans = [v for k, v in c.sock.getpeercert().get("subjectAltName", ()) if k == "DNS"]
                check(sans == ["web.contoso.test"], f"SNI {sni}: expected the default (first) certificate, got {sans}")

    r.case("without SNI or with an unknown name the first certificate is sent", default_cert_case)

    def versions():
        for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with Conn(*https, tls=client_ctx(v, v), sni="web.contoso.test") as c:
                want = "TLSv1.2" if v == ssl.TLSVersion.TLSv1_2 else "TLSv1.3"
                check(c.sock.version() == want, f"negotiated {c.sock.version()}, asked for {want}")
                expect_status(c.request("GET", "/headers"), 200, f"GET over {want}")
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            old = (("TLSv1.0", ssl.TLSVersion.TLSv1), ("TLSv1.1", ssl.TLSVersion.TLSv1_1))
        for label, v in old:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # lets this OpenSSL offer the old versions at all
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = v
                ctx.maximum_version = v
            try:
                with Conn(*https, tls=ctx, sni="web.contoso.test") as c:
                    fail(f"a {label}-only client completed a handshake ({c.sock.version()})")
            except ssl.SSLError as e:
                if "NO_PROTOCOLS_AVAILABLE" in str(e) or "no protocols available" in str(e):
                    print(f"  this Python/OpenSSL cannot offer {label} at all ({e}): that check is skipped")
            except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
                pass

    r.case("TLS 1.0 and 1.1 are refused, TLS 1.2 and 1.3 accepted", versions)

    def curl():
        if not shutil.which("curl"):
            print("  curl not installed: skipped")
            return
        for name in ("web.contoso.test", "webext.contoso.test"):
            argv = ["curl", "-sS", "--max-time", str(10 * h.slack), "--cacert", ca, "--resolve", f"{name}:{V[0]}:{vip}",
                    "-o", "-", "-w", "\n%{http_code}", f"https://{name}:{V[0]}/headers"]
            out = subprocess.run(argv, capture_output=True, text=True, timeout=30 * h.slack)
            lines = out.stdout.rsplit("\n", 1)
            check(out.returncode == 0 and lines[-1] == "200",
                  f"{' '.join(argv)}: exit {out.returncode}, stdout {out.stdout[:300]!r}, stderr {out.stderr!r}")
            check('"backend": "fe0' in lines[0], f"curl {name}: body {lines[0][:300]!r}")

    r.case("curl --cacert --resolve verifies both names", curl)

    def tls_keep_alive():
        with Conn(*https, tls=client_ctx(), sni="web.contoso.test") as c:
            for i in range(4):
                body = os.urandom(20000)
                res = c.request("POST", f"/upload?tka={i}", body=body)
                expect_status(res, 200, f"POST {i + 1} of 4 on one TLS connection")
                check(res.json()["body_sha256"] == sha(body), "body hash differs")

    r.case("keep-alive and bodies over TLS", tls_keep_alive)

    def reencrypt():
        for _ in range(4):
            res = once(vip, V[1])
            expect_status(res, 200, "GET through --backend-tls (no CA: backends' certificates not verified)")
        seen = {label for label, b in h.backends.items() if label.endswith("-tls")
                and any(line.startswith("req GET /headers") for line in b.lines())}
        check(seen, "no TLS backend logged the request")
        res = once(vip, V[1], "POST", "/upload", body=b"z" * 70000)
        check(res.status == 200 and res.json()["body_size"] == 70000, f"POST over re-encryption: {res.summary()}")

    r.case("re-encryption: --backend-tls reaches backends that speak only TLS", reencrypt)

    def backend_ca():
        expect_status(once(vip, V[2]), 200, "GET through --backend-ca (the backends' CA)")
        res = once(vip, V[3])
        expect_status(res, 502, "GET through --backend-ca OTHER (the backends' certificates do not chain to it)")
        res = once(vip, V[4])
        expect_status(res, 502, "GET through --backend-ca CA --backend-sni wrong.contoso.test (name mismatch)")

    r.case("--backend-ca: a verified backend answers, one that does not chain or match the name gets 502", backend_ca)

    def tls_both_sides_bulk():
        both = (vip, V[6])
        sni = "webext.contoso.test"
        body = os.urandom(8 * MiB + 3)
        with Conn(*both, tls=client_ctx(), sni=sni, timeout=30) as c:
            res = c.request("POST", "/upload?tlsbulk=1", [("Transfer-Encoding", "chunked")],
                            chunked([body[i:i + 1000003] for i in range(0, len(body), 1000003)]), host=sni,
                            timeout=30 * h.slack)
            expect_status(res, 200, "POST of 8 MiB chunked, TLS to the VIP and re-encrypted to the member")
            j = res.json()
            check((j["body_size"], j["body_sha256"]) == (len(body), sha(body)),
                  f"the member got {j['body_size']} bytes {j['body_sha256']}, sent {len(body)} {sha(body)}")
            size = 32 * MiB
            c.send(build("GET", f"/download?bytes={size}&tlsbulk=1", host=sni))
            head = c.read_head(10 * h.slack)
            expect_status(head, 200, f"GET /download?bytes={size} over TLS on both sides")
            digest = hashlib.sha256()
            got = 0
            for piece in c.body_chunks(head, 30 * h.slack):
                digest.update(piece)
                got += len(piece)
            check(got == size, f"downloaded {got} of {size} bytes")
            h.wait_backend_line(f"download {size} sha256={digest.hexdigest()}", 5 * h.slack,
                                "the TLS download's sha256 to match what the member sent")
            expect_status(c.request("GET", "/headers", host=sni), 200, "a request after the bulk transfers")

    r.case("TLS on both sides: an 8 MiB chunked upload and a 32 MiB download arrive intact", tls_both_sides_bulk)

    def tls_concurrency():
        errors = []

        def client(n):
            try:
                with Conn(vip, V[6], tls=client_ctx(), sni="webext.contoso.test", timeout=20) as c:
                    for i in range(10):
                        body = os.urandom((n * 7919 + i * 104729) % 100000)
                        res = c.request("POST", f"/upload?tc={n}.{i}", body=body, host="webext.contoso.test",
                                        timeout=20 * h.slack)
                        j = res.json() if res.status == 200 else {}
                        if (res.status, j.get("target"), j.get("body_sha256")) != (200, f"/upload?tc={n}.{i}",
                                                                                    sha(body)):
                            errors.append(f"client {n} request {i}: {res.summary()}")
                            return
            except Exception as e:  # noqa: BLE001
                errors.append(f"client {n}: {e!r}")

        joins = [run_bg(lambda n=n: client(n)) for n in range(16)]
        for j in joins:
            j(60 * h.slack)
        check(not errors, f"{len(errors)} of 16 TLS clients failed: {errors[:5]}")

    r.case("TLS on both sides: 16 keep-alive clients x 10 POSTs up to 100 KB, each answer is its own",
           tls_concurrency)

    def tls_upgrade():
        with Conn(vip, V[6], tls=client_ctx(), sni="webext.contoso.test") as c:
            c.send(build("GET", "/ws", [("Connection", "Upgrade"), ("Upgrade", "websocket")],
                         host="webext.contoso.test"))
            res = c.read_response(skip_1xx=False)
            expect_status(res, 101, "GET /ws with Upgrade over TLS on both sides")
            blob = os.urandom(300000)
            got = c.duplex_echo(blob, 10 * h.slack)
            check(got == blob, "300000 bytes echoed through a TLS tunnel on both sides differ")

    r.case("TLS on both sides: Upgrade tunnels raw bytes both ways", tls_upgrade)

    def handshake_timeout():
        for what, data in (("sends nothing", b""), ("sends half a ClientHello", b"\x16\x03\x01\x02\x00\x01\x00")):
            with socket.create_connection((vip, V[5]), timeout=10) as sock:
                t0 = time.monotonic()
                if data:
                    sock.sendall(data)
                sock.settimeout(1 + 2 * h.slack)
                try:
                    while sock.recv(4096):
                        pass
                    closed = True
                except socket.timeout:
                    closed = False
                except OSError:
                    closed = True
                dt = time.monotonic() - t0
            check(closed, f"a TLS client that {what}: still open after {dt:.1f}s (--header-timeout 1)")
            check(0.8 <= dt <= 1 + 1.0 * h.slack, f"a TLS client that {what} was cut after {dt:.2f}s, expected ~1s")

    r.case("--header-timeout covers the TLS handshake: a silent or stalled client is cut after 1 s",
           handshake_timeout)

    def resumption():
        for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            ctx = client_ctx(v, v)
            with Conn(*https, tls=ctx, sni="web.contoso.test") as c:
                expect_status(c.request("GET", "/headers"), 200, "first TLS connection")
                session = c.sock.session
            raw = socket.create_connection(https, timeout=10)
            with ctx.wrap_socket(raw, server_hostname="web.contoso.test", session=session) as t:
                reused = t.session_reused
            check(reused, f"{v.name}: a second connection offering the first one's "
                          "session was not resumed (docs: session tickets for resumption)")

    r.case("TLS sessions resume (TLS 1.2 and 1.3)", resumption)

    def alpn():
        ctx = client_ctx()
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        with Conn(*https, tls=ctx, sni="web.contoso.test") as c:
            chosen = c.sock.selected_alpn_protocol()
            check(chosen in (None, "http/1.1"), f"a client offering ALPN h2 and http/1.1 was given {chosen!r}: "
                                                "the VIP speaks only HTTP/1.1")
            expect_status(c.request("GET", "/headers"), 200, "GET after ALPN")

    r.case("ALPN: a client offering h2 and http/1.1 is not given h2", alpn)

    def renewal():
        def serial_of(sock):
            path = os.path.join(d, "peer-serial.der")
            with open(path, "wb") as f:
                f.write(sock.getpeercert(binary_form=True))
            return subprocess.run(["openssl", "x509", "-inform", "DER", "-in", path, "-noout", "-serial"],
                                  capture_output=True, text=True, timeout=30).stdout.strip()

        old_conn = Conn(*https, tls=client_ctx(), sni="web.contoso.test")
        # Connected, its ClientHello not sent yet: the handshake happens after the
        # reload, on the certificates the connection was accepted with.
        pending = socket.create_connection(https)
        try:
            expect_status(old_conn.request("GET", "/headers"), 200, "GET on a connection made before the renewal")
            old_serial = serial_of(old_conn.sock)
            new_cert, new_key = make_cert(d, "ca", "web-renewed", ["web.contoso.test"], "rsa")
            with open(new_cert, "rb") as f:
                cert_bytes = f.read()
            with open(new_key, "rb") as f:
                key_bytes = f.read()
            for path, data in ((rsa_cert + ".new", cert_bytes), (rsa_key + ".new", key_bytes)):
                with open(path, "wb") as f:
                    f.write(data)
            os.replace(rsa_cert + ".new", rsa_cert)
            os.replace(rsa_key + ".new", rsa_key)
            since = h.log_offset()
            os.kill(h.server_pid(), signal.SIGHUP)
            h.wait_log(r"vip_certificates_reloaded vip=https\b", since, 2 * h.slack,
                       "vip_certificates_reloaded vip=https after the files were replaced and SIGHUP sent")

            def new_serial():
                with Conn(*https, tls=client_ctx(), sni="web.contoso.test") as c:
                    return serial_of(c.sock) != old_serial

            wait_for(new_serial, 2 * h.slack, "new connections to get the renewed certificate")
            with client_ctx().wrap_socket(pending, server_hostname="web.contoso.test") as t:
                pending = None
                t.sendall(b"GET /headers HTTP/1.1\r\nHost: web.contoso.test\r\nConnection: close\r\n\r\n")
                t.settimeout(5 * h.slack)
                answer = b""
                while True:
                    chunk = t.recv(65536)
                    if not chunk:
                        break
                    answer += chunk
                check(answer.startswith(b"HTTP/1.1 200"), f"a handshake begun after the reload on a connection "
                                                          f"accepted before it: got {answer[:60]!r}")
            expect_status(old_conn.request("GET", "/headers"), 200, "GET on the connection made before the renewal")
            check(serial_of(old_conn.sock) == old_serial, "the open connection's certificate changed")
            # A file that no longer loads: logged, the previous certificate stays in use.
            renewed = None
            with Conn(*https, tls=client_ctx(), sni="web.contoso.test") as c:
                renewed = serial_of(c.sock)
            with open(rsa_cert + ".new", "w") as f:
                f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
            os.replace(rsa_cert + ".new", rsa_cert)
            since = h.log_offset()
            os.kill(h.server_pid(), signal.SIGHUP)
            h.wait_log(r"vip_tls_failed vip=https\b", since, 2 * h.slack,
                       "vip_tls_failed vip=https after the certificate file was broken and SIGHUP sent")
            with Conn(*https, tls=client_ctx(), sni="web.contoso.test") as c:
                check(serial_of(c.sock) == renewed, "after a broken certificate file the VIP must keep serving the "
                                                    "previous certificate")
                expect_status(c.request("GET", "/headers"), 200, "GET while the certificate file is broken")
            with open(rsa_cert + ".new", "wb") as f:
                f.write(cert_bytes)
            os.replace(rsa_cert + ".new", rsa_cert)
        finally:
            old_conn.close()
            if pending is not None:
                pending.close()

    r.case("certificate renewal: replaced files are used after SIGHUP, open connections keep theirs, a broken "
           "file keeps the previous certificate", renewal)


# =============================================================================
# stream: big bodies and listeners following edits
# =============================================================================

BLOCK = os.urandom(2 * MiB + 256 * 1024)


def generated(size, piece=256 * 1024):
    """size bytes as memoryviews of BLOCK at moving offsets (every chunk differs from its neighbours)."""
    view = memoryview(BLOCK)
    sent, i = 0, 0
    while sent < size:
        n = min(piece, size - sent)
        off = (i * 40961) % (2 * MiB)
        yield view[off:off + n]
        sent += n
        i += 1


class RssWatch:
    """Samples the server's VmRSS every 50 ms; VmHWM is reset first (clear_refs 5) where the kernel allows."""

    def __init__(self, h):
        self.h = h
        self.reset = False
        try:
            with open(f"/proc/{h.server_pid()}/clear_refs", "w") as f:
                f.write("5")
            self.reset = True
        except OSError:
            pass
        self.before = h.proc_status("VmRSS")
        self.peak = self.before
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.wait(0.05):
            try:
                self.peak = max(self.peak, self.h.proc_status("VmRSS"))
            except (OSError, TypeError):
                return

    def finish(self):
        self.stop.set()
        self.t.join(5)
        if self.reset:
            self.peak = max(self.peak, self.h.proc_status("VmHWM"))
        return self.before, self.peak


def group_stream(h, r):
    vip = "127.0.0.110"
    addrs = member_addrs(110, 2)
    P = free_port(list(addrs.values()))
    topology(h, 110, 2, P)
    V = vip_ports(vip, 4)
    h.ctl("vip", "add", "big", "--listen", f"{vip}:{V[0]}", "--pool", WEB, "--backend-port", P)
    for name, addr in addrs.items():
        h.start_backend(name, addr, [P])
    start_and_wait(h, [("big", f"{vip}:{V[0]}", "off", WEB)])
    wait_all_up(h, WEB, list(addrs))
    big = (vip, V[0])
    SIZE = 256 * MiB
    RSS_BOUND = 64 * MiB

    def upload():
        watch = RssWatch(h)
        digest = hashlib.sha256()
        t0 = time.monotonic()
        with Conn(*big, timeout=60) as c:
            c.send(build("POST", "/upload?big=1", [("Content-Length", str(SIZE))]))
            for piece in generated(SIZE):
                digest.update(piece)
                c.sock.sendall(piece)
            res = c.read_response(60 * h.slack)
        dt = time.monotonic() - t0
        before, peak = watch.finish()
        expect_status(res, 200, f"POST of {SIZE} bytes")
        j = res.json()
        check((j["body_size"], j["body_sha256"]) == (SIZE, digest.hexdigest()),
              f"backend got {j['body_size']} bytes sha256 {j['body_sha256']}, sent {SIZE} {digest.hexdigest()}")
        print(f"  upload {SIZE // MiB} MiB in {dt:.1f}s ({SIZE / MiB / dt:.0f} MiB/s); pooldns RSS "
              f"{before // MiB} MiB before, peak {peak // MiB} MiB")
        check(peak - before < RSS_BOUND, f"pooldns RSS rose from {before // MiB} MiB to {peak // MiB} MiB during a "
                                         f"streamed upload (bound +{RSS_BOUND // MiB} MiB): it buffers the body")

    r.case("a 256 MiB upload streams through with pooldns's RSS within +64 MiB", upload)

    def download(chunked_response):
        size = SIZE if not chunked_response else 32 * MiB
        watch = RssWatch(h)
        digest = hashlib.sha256()
        got = 0
        t0 = time.monotonic()
        target = f"/download?bytes={size}&chunked={int(chunked_response)}&u={uuid.uuid4().hex[:6]}"
        with Conn(*big, timeout=60) as c:
            c.send(build("GET", target))
            head = c.read_head(10 * h.slack)
            expect_status(head, 200, f"GET {target}")
            for piece in c.body_chunks(head, 30 * h.slack):
                digest.update(piece)
                got += len(piece)
        dt = time.monotonic() - t0
        before, peak = watch.finish()
        sent = h.wait_backend_line(f"download {size} sha256={digest.hexdigest()}", 5 * h.slack,
                                   f"a backend to report sending {size} bytes with the sha256 received "
                                   f"({got} bytes, {digest.hexdigest()})")
        check(got == size, f"received {got} bytes of {size}")
        print(f"  download {size // MiB} MiB from {sent} in {dt:.1f}s ({size / MiB / dt:.0f} MiB/s); pooldns RSS "
              f"{before // MiB} MiB before, peak {peak // MiB} MiB")
        check(peak - before < RSS_BOUND, f"pooldns RSS rose from {before // MiB} MiB to {peak // MiB} MiB during a "
                                         f"streamed download (bound +{RSS_BOUND // MiB} MiB)")

    r.case("a 256 MiB download streams through with pooldns's RSS within +64 MiB", lambda: download(False))
    r.case("a chunked 32 MiB download streams through intact", lambda: download(True))

    late = f"{vip}:{V[1]}"
    moved = f"{vip}:{V[2]}"
    bound = 1.0 * h.slack + 0.25

    def add_live():
        since = h.log_offset()
        t0 = time.monotonic()
        h.ctl("vip", "add", "late", "--listen", late, "--pool", WEB, "--backend-port", P)
        h.wait_log(rf"vip_listening vip=late listen={re.escape(late)} tls=off pool={re.escape(WEB)}", since, bound,
                   f"vip_listening for 'late' within {bound:.2f}s of vip add")
        _, dt = wait_for(lambda: once(vip, V[1]).status == 200, bound, "a GET through the new VIP")
        print(f"  listening and answering {time.monotonic() - t0:.2f}s after vip add")

    r.case("vip add while running: the listener opens within 1 s", add_live)

    def set_listen():
        since = h.log_offset()
        h.ctl("vip", "set", "late", "--listen", moved)
        h.wait_log(rf"vip_listening vip=late listen={re.escape(moved)}", since, bound,
                   f"vip_listening for 'late' on {moved} within {bound:.2f}s of vip set --listen")
        wait_for(lambda: not can_connect(vip, V[1]), bound, f"the old address {late} to refuse connections")
        expect_status(once(vip, V[2]), 200, f"GET via the moved listener {moved}")

    r.case("vip set --listen moves the listener within 1 s", set_listen)

    def delete_inflight():
        size = 24 * MiB
        rate = int(8 * MiB / h.slack)
        target = f"/download?bytes={size}&rate={rate}&del=1"
        digest = hashlib.sha256()
        with Conn(vip, V[2], timeout=30) as c:
            c.send(build("GET", target))
            head = c.read_head(10 * h.slack)
            expect_status(head, 200, f"GET {target}")
            body = c.body_chunks(head, 10 * h.slack)
            got = 0
            while got < MiB:
                piece = next(body)
                digest.update(piece)
                got += len(piece)
            since = h.log_offset()
            t0 = time.monotonic()
            h.ctl("vip", "delete", "late")
            _, dt = wait_for(lambda: not can_connect(vip, V[2]), bound, "new connections to be refused after vip delete")
            h.wait_log(r"vip_closed vip=late", since, bound, "vip_closed vip=late")
            check(got < size, "the download finished before the VIP was deleted: the test proves nothing")
            for piece in body:
                digest.update(piece)
                got += len(piece)
            total = time.monotonic() - t0
        check(got == size, f"the in-flight download on a deleted VIP got {got} of {size} bytes")
        h.wait_backend_line(f"download {size} sha256={digest.hexdigest()}", 5 * h.slack,
                            "the download's sha256 to match what the backend sent")
        print(f"  refused {dt:.2f}s after vip delete; the in-flight download completed {total:.2f}s after it")

    r.case("vip delete: new connections refused within 1 s, an in-flight download still completes", delete_inflight)

    def listen_failed():
        busy = f"{vip}:{V[3]}"
        squatter = socket.socket()
        squatter.bind((vip, V[3]))
        squatter.listen(1)
        try:
            since = h.log_offset()
            h.ctl("vip", "add", "busy", "--listen", busy, "--pool", WEB, "--backend-port", P)
            m, _ = h.wait_log(rf'vip_listen_failed vip=busy listen={re.escape(busy)} reason="([^"]+)"', since, bound,
                              f"vip_listen_failed for a VIP whose address {busy} is taken")

            def recorded():
                st = h.vip_stats("busy")
                return st if st and st.get("stats") and st["stats"]["listening"] is False \
                    and st["stats"]["listen_error"] else None

            st, _ = wait_for(recorded, 3 * h.slack, "status --json to show 'busy' not listening, with the error")
            print(f"  reason={m.group(1)!r}; status listen_error={st['stats']['listen_error']!r}")
            expect_status(once(*big), 200, "GET through another VIP while 'busy' cannot listen")
        finally:
            squatter.close()
        since = h.log_offset()
        os.kill(h.server_pid(), signal.SIGHUP)
        h.wait_log(rf"vip_listening vip=busy listen={re.escape(busy)}", since, 2 * h.slack,
                   "vip_listening for 'busy' after its address was freed and SIGHUP sent")
        expect_status(once(vip, V[3]), 200, "GET through 'busy' once it listens")
        h.ctl("vip", "delete", "busy")

    r.case("a VIP whose address is taken: vip_listen_failed, shown by status, listens after SIGHUP once free",
           listen_failed)


GROUPS = {"proxy": group_proxy, "persist": group_persist, "limits": group_limits, "tls": group_tls,
          "stream": group_stream}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--group", required=True, choices=sorted(GROUPS))
    ap.add_argument("-k", help="run only the cases whose name matches this regex")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("pooldns")
    ap.add_argument("pooldnsctl")
    args = ap.parse_args()
    h = Harness(args.pooldns, args.pooldnsctl, args.group)
    r = Runner(h, args.k)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: (_ for _ in ()).throw(SystemExit(128 + s)))
    rc = 1
    t0 = time.monotonic()
    try:
        print(f"=== {args.group}: {h.dir}{' (sanitizer build: bounds x3)' if h.sanitized else ''}", flush=True)
        GROUPS[args.group](h, r)
        if h.server is not None:
            since = h.log_offset()
            code = h.stop_server()
            if code != 0:
                print(f"FAIL pooldns exited {code} on SIGTERM:\n{h.log()[since:][-3000:]}")
                r.results.append(("pooldns exits 0 on SIGTERM", False, f"exit {code}"))
        # UBSan reports and goes on unless told to halt: its reports fail the group here.
        reports = [x for x in h.log().splitlines() if "runtime error:" in x or "ERROR: AddressSanitizer" in x
                   or "ERROR: LeakSanitizer" in x]
        if reports:
            print("FAIL sanitizer reports in the pooldns log:\n" + "\n".join(reports[:20]))
            r.results.append(("no sanitizer reports", False, reports[0]))
        rc = r.finish()
    except Exception as e:  # noqa: BLE001 - set-up failed: say where and show the server's log
        import traceback
        traceback.print_exc()
        print(f"FAIL {args.group} set-up: {e}")
        print("--- pooldns log (last lines):")
        print(h.tail_log(60))
        rc = 1
    finally:
        h.cleanup(keep=args.keep)
    print(f"({time.monotonic() - t0:.1f}s)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
