#!/usr/bin/env python3
"""A VIP pool member for the VIP system tests: a small threaded HTTP/1.1 server
(stdlib only), one process per member.

Usage:
  backend.py --name NAME --listen IP:PORT [--listen IP:PORT]... [--cert F --key F]
             [--idle-close-ms N] [--max-seconds N]

--idle-close-ms N: a connection that sends no request for N ms is closed (as
web servers close idle keep-alive connections); prints "idle-close IP:PORT".

Every listener serves the same HTTP/1.1 application (TLS when --cert is given),
each connection on its own thread, keep-alive honoured, request bodies read with
Content-Length or chunked framing and hashed as they stream (never stored),
"Expect: 100-continue" answered with "100 Continue" before the body is read.
A connection that sends nothing (a tcp health probe) is simply held open.

Every response carries "X-Backend: NAME". Paths:
  /download?bytes=N[&chunked=1][&rate=BPS]
              N bytes generated on the fly (Content-Length, or chunked with
              chunked=1), at most BPS bytes per second when rate is given;
              prints "download N sha256=HEX" once sent
  /slow?ms=N  waits N ms, then answers as /headers
  /never      reads the request and never answers (holds the connection)
  /ws         with "Connection: Upgrade" + "Upgrade: websocket": "101 Switching
              Protocols", then echoes raw bytes until the peer closes
  /status?code=N  answers status N (body as /headers; none for 204 and 304)
  /nolength?bytes=N  N bytes with neither Content-Length nor chunked: the body
              ends when the backend closes the connection
  /setcookie  as /headers, with "Set-Cookie: app=1; Path=/"
  anything else (e.g. /headers, /upload): 200 with a JSON body
              {"backend", "method", "target", "version", "headers": [[name, value]...],
               "body_size", "body_sha256", "peer", "continue_sent"}

Output on stdout, one line each, flushed:
  ready PORT [PORT]...          once every listener is bound
  req METHOD TARGET size=N sha256=HEX peer=IP:PORT   after each request's body
  download N sha256=HEX        after a download was sent completely
  idle-close IP:PORT           (--idle-close-ms) an idle connection was closed
  ws-end echoed=N reason=R     a /ws tunnel ended (the peer closed, or the error)
It exits on SIGTERM or SIGINT, or after --max-seconds.
"""

import argparse
import hashlib
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

CONN_TIMEOUT = 300.0  # a held connection (a health probe) outlives no test
MAX_HEAD = 256 * 1024
BLOCK = os.urandom(1024 * 1024 + 65536)  # download data: windows of this at moving offsets

print_lock = threading.Lock()


def emit(line):
    with print_lock:
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, ValueError):
            os._exit(0)


class Closed(Exception):
    pass


class Reader:
    """Buffered reads over a socket, so the bytes after a head stay available."""

    def __init__(self, conn):
        self.conn = conn
        self.buf = bytearray()

    def fill(self):
        data = self.conn.recv(262144)
        if not data:
            raise Closed()
        self.buf += data

    def until(self, marker, limit=MAX_HEAD):
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out = bytes(self.buf[:i + len(marker)])
                del self.buf[:i + len(marker)]
                return out
            if len(self.buf) > limit:
                raise Closed()
            self.fill()

    def some(self, n):
        """Up to n bytes (at least one)."""
        if not self.buf:
            self.fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    fields = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        fields.append([name.strip(), value.strip()])
    return method, target, version, fields


def field(fields, name):
    name = name.lower()
    for n, v in fields:
        if n.lower() == name:
            return v
    return None


def read_body(reader, fields, on_data):
    """Reads the request body (Content-Length or chunked), passing each piece to on_data."""
    te = field(fields, "transfer-encoding")
    if te is not None and "chunked" in te.lower():
        while True:
            line = reader.until(b"\r\n", 4096).decode("latin-1")
            size = int(line.split(";", 1)[0].strip(), 16)
            if size == 0:
                # Trailers, then the blank line.
                while reader.until(b"\r\n", 65536) != b"\r\n":
                    pass
                return
            left = size
            while left:
                piece = reader.some(min(left, 262144))
                on_data(piece)
                left -= len(piece)
            if reader.until(b"\r\n", 2) != b"\r\n":
                raise Closed()
        return
    length = field(fields, "content-length")
    left = int(length) if length is not None else 0
    while left:
        piece = reader.some(min(left, 262144))
        on_data(piece)
        left -= len(piece)


def respond(conn, status, headers, body=b"", close=False):
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Status"
    out = [f"HTTP/1.1 {status} {phrase}"]
    out += [f"{n}: {v}" for n, v in headers]
    out.append(f"Content-Length: {len(body)}")
    if close:
        out.append("Connection: close")
    conn.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)


def send_download(conn, name, size, chunked, rate, close):
    head = [f"HTTP/1.1 200 OK", f"X-Backend: {name}", "Content-Type: application/octet-stream"]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}")
    if close:
        head.append("Connection: close")
    conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    digest = hashlib.sha256()
    sent = 0
    index = 0
    view = memoryview(BLOCK)
    start = time.monotonic()
    while sent < size:
        n = min(65536, size - sent)
        off = (index * 4099) % (1024 * 1024)
        piece = view[off:off + n]
        digest.update(piece)
        if chunked:
            conn.sendall(f"{n:x}\r\n".encode() + piece + b"\r\n")
        else:
            conn.sendall(piece)
        sent += n
        index += 1
        if rate:
            ahead = sent / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    if chunked:
        conn.sendall(b"0\r\n\r\n")
    emit(f"download {size} sha256={digest.hexdigest()}")


def serve(conn, peer, args, tls_context):
    conn.settimeout(CONN_TIMEOUT)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls_context is not None:
        conn = tls_context.wrap_socket(conn, server_side=True)
    reader = Reader(conn)
    peer_text = f"{peer[0]}:{peer[1]}"
    while True:
        if args.idle_close_ms and not reader.buf:
            conn.settimeout(args.idle_close_ms / 1000)
            try:
                reader.fill()
            except (socket.timeout, TimeoutError):
                emit(f"idle-close {peer_text}")
                return
            finally:
                conn.settimeout(CONN_TIMEOUT)
        head = reader.until(b"\r\n\r\n")
        method, target, version, fields = parse_head(head)
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        conn_field = (field(fields, "connection") or "").lower()
        close = version == "HTTP/1.0" and "keep-alive" not in conn_field or "close" in conn_field
        continue_sent = False
        expect = field(fields, "expect")
        has_body = field(fields, "content-length") not in (None, "0") or field(fields, "transfer-encoding") is not None
        if expect is not None and expect.lower() == "100-continue" and has_body:
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            continue_sent = True
        digest = hashlib.sha256()
        size = 0

        def on_data(piece):
            nonlocal size
            digest.update(piece)
            size += len(piece)

        read_body(reader, fields, on_data)
        emit(f"req {method} {target} size={size} sha256={digest.hexdigest()} peer={peer_text}")

        path = url.path
        if path == "/never":
            while True:
                reader.fill()  # until the peer gives up
        if path == "/ws" and "upgrade" in conn_field and field(fields, "upgrade"):
            conn.sendall(f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: {field(fields, 'upgrade')}\r\n"
                         f"Connection: Upgrade\r\nX-Backend: {args.name}\r\n\r\n".encode())
            if reader.buf:
                conn.sendall(bytes(reader.buf))
                reader.buf.clear()
            echoed = 0
            try:
                while True:
                    data = conn.recv(65536)
                    if not data:
                        emit(f"ws-end echoed={echoed} reason=peer-closed")
                        return
                    conn.sendall(data)
                    echoed += len(data)
            except (OSError, ssl.SSLError) as e:
                emit(f"ws-end echoed={echoed} reason={e!r}")
                raise
        if path == "/download":
            send_download(conn, args.name, int(query.get("bytes", "0")), query.get("chunked") == "1",
                          float(query.get("rate", "0")), close)
            if close:
                return
            continue
        if path == "/nolength":
            n = int(query.get("bytes", "0"))
            conn.sendall(f"HTTP/1.1 200 OK\r\nX-Backend: {args.name}\r\nConnection: close\r\n\r\n".encode())
            digest = hashlib.sha256()
            view = memoryview(BLOCK)
            sent = 0
            while sent < n:
                piece = view[(sent // 65536 * 4099) % (1024 * 1024):][:min(65536, n - sent)]
                digest.update(piece)
                conn.sendall(piece)
                sent += len(piece)
            emit(f"download {n} sha256={digest.hexdigest()}")
            return
        if path in ("/status",) and query.get("code") in ("204", "304"):
            code = int(query["code"])
            conn.sendall(f"HTTP/1.1 {code} {HTTPStatus(code).phrase}\r\nX-Backend: {args.name}\r\n"
                         f"{'Connection: close' + chr(13) + chr(10) if close else ''}\r\n".encode())
            if close:
                return
            continue
        if path == "/garbage":
            # A broken member: a status line the proxy cannot parse, or a body
            # longer than its Content-Length, by ?kind=.
            kind = query.get("kind", "line")
            if kind == "line":
                conn.sendall(b"HTTP/1.1 2x0 Broken\r\n\x00\x01\r\n\r\n")
            elif kind == "fields":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello")
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA-BYTES-AFTER-THE-BODY")
            return
        if path == "/slow":
            time.sleep(int(query.get("ms", "0")) / 1000)
        status = int(query.get("code", "200")) if path == "/status" else 200
        body = json.dumps({
            "backend": args.name, "method": method, "target": target, "version": version,
            "headers": fields, "body_size": size, "body_sha256": digest.hexdigest(),
            "peer": peer_text, "continue_sent": continue_sent,
        }).encode()
        extra = [("Set-Cookie", "app=1; Path=/")] if path == "/setcookie" else []
        respond(conn, status, [("X-Backend", args.name), ("Content-Type", "application/json")] + extra, body, close)
        if close:
            return


def handle(conn, peer, args, tls_context):
    try:
        serve(conn, peer, args, tls_context)
    except (Closed, OSError, ssl.SSLError, ValueError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def parse_listen(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"--listen {text!r}: expected IP:PORT")
    return host, int(port)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--listen", required=True, action="append", type=parse_listen)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--idle-close-ms", type=float, default=0)
    parser.add_argument("--max-seconds", type=float, default=600)
    args = parser.parse_args()

    tls_context = None
    if args.cert:
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.load_cert_chain(args.cert, args.key)

    listeners = []
    for host, port in args.listen:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(1024)
        listeners.append(s)

    # A plain flag, not a threading.Event: a second signal arriving while the
    # first handler is inside Event.set() would deadlock on its lock (as in
    # tests/probes/backend.py).
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))

    def accept_loop(listener):
        listener.settimeout(0.2)
        while not stopping:
            try:
                conn, peer = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                time.sleep(0.05)
                continue
            threading.Thread(target=handle, args=(conn, peer, args, tls_context), daemon=True).start()

    for s in listeners:
        threading.Thread(target=accept_loop, args=(s,), daemon=True).start()
    emit("ready " + " ".join(str(s.getsockname()[1]) for s in listeners))
    deadline = time.monotonic() + args.max_seconds
    while not stopping and time.monotonic() < deadline:
        time.sleep(0.1)
    sys.stdout.flush()
    # Connection threads may sit in recv(); leave without waiting for them.
    os._exit(0)


if __name__ == "__main__":
    main()
