#!/usr/bin/env python3
"""A pool member for tests: one listener speaking one protocol (stdlib only).

Usage:
  backend.py --mode MODE --listen 127.0.0.X:PORT [--status N] [--cert F --key F]
             [--tls-version 1.2|1.3] [--sip-provisional] [--print-peers] [--max-seconds N]

Modes (every connection is served on its own thread):
  tcp      accept and echo whatever arrives until the peer closes
  tls      TLS handshake, then echo until the peer closes
  http     read one request; answer "HTTP/1.1 STATUS" (default 200) with a short
           body and Connection: close. A request that is not HTTP (a TLS
           ClientHello, binary) gets "400 Bad Request", as real servers do.
  https    the same over TLS
  sip      answer every request on the connection with "SIP/2.0 STATUS" (default
           200) echoing Via, From, To (adding a tag), Call-ID and CSeq, with
           Content-Length: 0; with --sip-provisional a "100 Trying" comes first,
           50 ms before the final response
  sips     the same over TLS
  silent   accept and never send a byte (probes time out)
  garbage  read what arrives, answer a line that is no protocol, keep the connection open
  reset    read what arrives (up to 200 ms), then reset the connection (RST)
  close    read what arrives (up to 200 ms), then close it cleanly without answering
  flood    read the request, send "HTTP/1.1 200 " and 64 KiB of reason phrase that
           never ends, keep the connection open (a response without a status line)

Output on stdout, one line each, flushed:
  ready PORT            once listening (PORT is the bound one: useful with port 0)
and with --print-peers:
  peer IP:PORT          a connection was accepted (the probe's source address)
  sni NAME              the server name a TLS client sent ("-" when none)
  http METHOD PATH HOST a request line and its Host header ("-" when none)
  sip METHOD URI        a SIP request line

--cert/--key default to certs/server.pem and certs/server.key next to this
script (a certificate for localhost, fe01.contoso.test and 127.0.0.1-9 signed by
certs/ca.pem). The listener sets SO_REUSEADDR, so a test may kill this process
and start a new one on the same address at once (failover tests do). It exits
on SIGTERM or SIGINT, when its stdout is closed, or after --max-seconds.
"""

import argparse
import struct
import os
import signal
import socket
import ssl
import sys
import threading
import time
from http import HTTPStatus

HERE = os.path.dirname(os.path.abspath(__file__))
CONN_TIMEOUT = 30.0  # no connection thread outlives a silent peer by more than this
MAX_REQUEST = 64 * 1024

SIP_REASONS = {100: "Trying", 180: "Ringing", 200: "OK", 403: "Forbidden", 404: "Not Found",
               480: "Temporarily Unavailable", 486: "Busy Here", 500: "Server Internal Error",
               503: "Service Unavailable", 603: "Decline"}

print_lock = threading.Lock()


def emit(line):
    with print_lock:
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, ValueError):
            # The test that started us is gone: nobody will stop us otherwise.
            os._exit(0)


def parse_listen(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"--listen {text!r}: expected IP:PORT or [IPv6]:PORT")
    if host.startswith("[") and host.endswith("]"):
        return socket.AF_INET6, host[1:-1], int(port)
    return socket.AF_INET, host, int(port)


def peer_text(peer):
    host, port = peer[0], peer[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def read_until(conn, marker, limit=MAX_REQUEST, buf=b""):
    """Reads until `marker` is in the buffer, the peer closes, or `limit` bytes."""
    while marker not in buf and len(buf) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf


def read_briefly(conn, seconds=0.2):
    """Whatever arrives within `seconds` (the request, usually), or nothing."""
    conn.settimeout(seconds)
    try:
        return conn.recv(65536)
    except (socket.timeout, ssl.SSLError, OSError):
        return b""
    finally:
        conn.settimeout(CONN_TIMEOUT)


def drain(conn):
    """Reads until the peer closes, so closing never discards unread bytes (an RST)."""
    try:
        while conn.recv(4096):
            pass
    except (OSError, ssl.SSLError):
        pass


def echo(conn):
    try:
        while True:
            data = conn.recv(4096)
            if not data:
                return
            conn.sendall(data)
    except (OSError, ssl.SSLError):
        pass


def looks_like_http(data):
    head = data[:16]
    return bool(head) and head.split(b" ", 1)[0].isalpha() and all(32 <= b < 127 or b in (9, 10, 13) for b in head)


def serve_http(conn, args):
    request = conn.recv(4096)
    # A TLS ClientHello never ends in a blank line: answer it at once, as real servers do.
    if looks_like_http(request):
        request = read_until(conn, b"\r\n\r\n", buf=request)
    if not looks_like_http(request):
        status = 400
    else:
        status = args.status or 200
        lines = request.split(b"\r\n")
        parts = lines[0].decode("latin-1").split(" ")
        host = "-"
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "host":
                host = value.strip()
        if args.print_peers and len(parts) >= 2:
            emit(f"http {parts[0]} {parts[1]} {host}")
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Status"
    body = f"{status} {phrase}\n".encode()
    conn.sendall(f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    drain(conn)


def sip_headers(message):
    """(request line, [(name, value)]) of one SIP message's head."""
    lines = message.decode("utf-8", "replace").split("\r\n")
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            headers[-1] = (headers[-1][0], headers[-1][1] + " " + line.strip())
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return lines[0], headers


COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "l": "content-length"}


def canonical(name):
    name = name.lower()
    return COMPACT.get(name, name)


def sip_response(code, headers, to_tag):
    out = [f"SIP/2.0 {code} {SIP_REASONS.get(code, 'Status')}"]
    for name, value in headers:
        key = canonical(name)
        if key == "via":
            out.append(f"Via: {value}")
        elif key == "from":
            out.append(f"From: {value}")
        elif key == "to":
            # A final response names the dialog's far end with a tag (RFC 3261 section 8.2.6.2).
            if code >= 200 and ";tag=" not in value:
                value += f";tag={to_tag}"
            out.append(f"To: {value}")
        elif key == "call-id":
            out.append(f"Call-ID: {value}")
        elif key == "cseq":
            out.append(f"CSeq: {value}")
    out += ["Server: pooldns-test-backend", "Content-Length: 0", "", ""]
    return "\r\n".join(out).encode()


def serve_sip(conn, args):
    buf = b""
    to_tag = os.urandom(4).hex()
    while True:
        buf = buf.lstrip(b"\r\n")  # keep-alive CRLFs (RFC 5626)
        buf = read_until(conn, b"\r\n\r\n", buf=buf)
        if b"\r\n\r\n" not in buf:
            return
        head, _, buf = buf.partition(b"\r\n\r\n")
        request_line, headers = sip_headers(head)
        length = 0
        for name, value in headers:
            if canonical(name) == "content-length" and value.isdigit():
                length = int(value)
        while len(buf) < length:
            chunk = conn.recv(4096)
            if not chunk:
                return
            buf += chunk
        buf = buf[length:]
        if args.print_peers:
            parts = request_line.split(" ")
            emit(f"sip {parts[0]} {parts[1] if len(parts) > 1 else '-'}")
        if args.sip_provisional:
            conn.sendall(sip_response(100, headers, to_tag))
            time.sleep(0.05)
        conn.sendall(sip_response(args.status or 200, headers, to_tag))


def handle(conn, peer, args, tls_context):
    conn.settimeout(CONN_TIMEOUT)
    try:
        # TLS 1.3 session tickets and the answer are separate small writes: without this,
        # Nagle holds the answer until the client's delayed ACK (40 ms).
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if args.print_peers:
            emit(f"peer {peer_text(peer)}")
        if tls_context is not None:
            conn = tls_context.wrap_socket(conn, server_side=True)
        mode = args.mode
        if mode in ("tcp", "tls"):
            echo(conn)
        elif mode in ("http", "https"):
            serve_http(conn, args)
        elif mode in ("sip", "sips"):
            serve_sip(conn, args)
        elif mode == "silent":
            drain(conn)
        elif mode == "garbage":
            read_briefly(conn)
            conn.sendall(b"this is no response at all\x00\x01\x02\r\n\r\n")
            drain(conn)
        elif mode == "reset":
            read_briefly(conn)
            # Linger 0: close() sends RST instead of FIN.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif mode == "close":
            read_briefly(conn)
        elif mode == "flood":
            read_briefly(conn)
            conn.sendall(b"HTTP/1.1 200 " + b"O" * 65536)
            drain(conn)
    except (OSError, ssl.SSLError, ValueError):
        pass  # the peer went away or spoke nonsense: both are expected of probes
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", required=True,
                        choices=["tcp", "tls", "http", "https", "sip", "sips", "silent", "garbage", "reset",
                                 "close", "flood"])
    parser.add_argument("--listen", required=True, type=parse_listen, help="IP:PORT or [IPv6]:PORT (port 0: any)")
    parser.add_argument("--status", type=int, default=0, help="HTTP or SIP final status (default 200)")
    parser.add_argument("--cert", default=os.path.join(HERE, "certs", "server.pem"))
    parser.add_argument("--key", default=os.path.join(HERE, "certs", "server.key"))
    parser.add_argument("--tls-version", choices=["1.2", "1.3"], help="offer only this TLS version")
    parser.add_argument("--sip-provisional", action="store_true", help="send 100 Trying before the final response")
    parser.add_argument("--print-peers", action="store_true", help="print each peer address and request")
    parser.add_argument("--max-seconds", type=float, default=600, help="exit after this long (default 600)")
    args = parser.parse_args()

    tls_context = None
    if args.mode in ("tls", "https", "sips"):
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.load_cert_chain(args.cert, args.key)
        if args.tls_version:
            version = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[args.tls_version]
            tls_context.minimum_version = tls_context.maximum_version = version
        if args.print_peers:
            tls_context.sni_callback = lambda sock, name, ctx: emit(f"sni {name or '-'}")

    family, host, port = args.listen
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(1024)
    listener.settimeout(0.2)  # wakes the accept loop to notice signals and the deadline

    # A plain flag, not a threading.Event: a second signal arriving while the
    # first handler is inside Event.set() would deadlock on its lock (Ctrl-C
    # delivers SIGINT to the process group, then the parent sends SIGTERM).
    stopping = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.append(True))
    deadline = time.monotonic() + args.max_seconds

    emit(f"ready {listener.getsockname()[1]}")
    while not stopping and time.monotonic() < deadline:
        try:
            conn, peer = listener.accept()
        except socket.timeout:
            continue
        except OSError:
            if stopping:
                break
            time.sleep(0.05)  # out of descriptors, say: do not spin
            continue
        threading.Thread(target=handle, args=(conn, peer, args, tls_context), daemon=True).start()
    listener.close()
    sys.stdout.flush()
    # Daemon threads may sit in recv(); leave without waiting for them.
    os._exit(0)


if __name__ == "__main__":
    main()
