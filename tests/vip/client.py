"""An HTTP/1.1 client over raw sockets for the VIP system tests (stdlib only).

Raw, not http.client, because the tests must send what real clients send and
also what they must not (oversized heads, conflicting framing, one byte at a
time), see every byte of the answer (1xx, 101 and what follows), and know
whether the VIP kept or closed the connection. Every read has a deadline.
"""

import json
import select
import socket
import ssl
import time

DEFAULT_TIMEOUT = 10.0


class Response:
    def __init__(self, version, status, reason, headers):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # [(name, value)] as received
        self.body = b""
        self.raw_head = b""

    def header(self, name):
        name = name.lower()
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return None

    def all(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n.lower() == name]

    @property
    def backend(self):
        return self.header("X-Backend")

    def json(self):
        return json.loads(self.body)

    def summary(self):
        body = self.body[:300]
        return f"{self.status} {self.reason} headers={self.headers} body={body!r}"


class ConnectionClosed(Exception):
    pass


class Conn:
    """One client connection. tls: an ssl.SSLContext (then sni is the server_hostname)."""

    def __init__(self, host, port, *, source=None, tls=None, sni=None, timeout=DEFAULT_TIMEOUT):
        self.host, self.port = host, port
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if source:
            sock.bind((source, 0))
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
            if tls is not None:
                sock = tls.wrap_socket(sock, server_hostname=sni)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.buf = bytearray()
        self.eof = False

    def local(self):
        return self.sock.getsockname()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline passed")
        self.sock.settimeout(left)
        data = self.sock.recv(262144)
        if not data:
            self.eof = True
            raise ConnectionClosed("the VIP closed the connection")
        self.buf += data

    def read_until(self, marker, deadline, limit=1 << 20):
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out = bytes(self.buf[:i + len(marker)])
                del self.buf[:i + len(marker)]
                return out
            if len(self.buf) > limit:
                raise ValueError(f"no {marker!r} within {limit} bytes: {bytes(self.buf[:200])!r}")
            self._fill(deadline)

    def read_some(self, n, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        if not self.buf:
            self._fill(deadline)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_exact(self, n, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            self._fill(deadline)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_head(self, timeout=DEFAULT_TIMEOUT):
        """The next response head (1xx included)."""
        deadline = time.monotonic() + timeout
        raw = self.read_until(b"\r\n\r\n", deadline)
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ValueError(f"not an HTTP status line: {lines[0]!r}")
        headers = []
        for line in lines[1:]:
            if line:
                n, _, v = line.partition(":")
                headers.append((n.strip(), v.strip()))
        r = Response(parts[0], int(parts[1]), parts[2] if len(parts) > 2 else "", headers)
        r.raw_head = raw
        return r

    def body_chunks(self, r, timeout=DEFAULT_TIMEOUT, head_request=False):
        """Yields the body of response r as it arrives (deadline per piece)."""
        if head_request or r.status in (204, 304) or 100 <= r.status < 200:
            return
        te = (r.header("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            while True:
                line = self.read_until(b"\r\n", time.monotonic() + timeout, 4096)
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.read_until(b"\r\n", time.monotonic() + timeout) != b"\r\n":
                        pass
                    return
                left = size
                while left:
                    piece = self.read_some(min(left, 262144), timeout)
                    left -= len(piece)
                    yield piece
                if self.read_exact(2, timeout) != b"\r\n":
                    raise ValueError("chunk not followed by CRLF")
        elif r.header("Content-Length") is not None:
            left = int(r.header("Content-Length"))
            while left:
                piece = self.read_some(min(left, 262144), timeout)
                left -= len(piece)
                yield piece
        else:
            while True:
                try:
                    yield self.read_some(262144, timeout)
                except ConnectionClosed:
                    return

    def read_response(self, timeout=DEFAULT_TIMEOUT, head_request=False, skip_1xx=True):
        """The next final response (1xx skipped unless skip_1xx is False; 101 is final)."""
        while True:
            r = self.read_head(timeout)
            if skip_1xx and 100 <= r.status < 200 and r.status != 101:
                continue
            break
        if r.status != 101:
            r.body = b"".join(self.body_chunks(r, timeout, head_request))
        return r

    def request(self, method, target, headers=(), body=None, host="web.contoso.test", timeout=DEFAULT_TIMEOUT):
        self.send(build(method, target, headers, body, host))
        return self.read_response(timeout, head_request=(method == "HEAD"))

    def duplex_echo(self, blob, timeout=DEFAULT_TIMEOUT, piece=16384):
        """Sends blob while reading what comes back, on this one thread, until len(blob) bytes came.

        One thread because an SSL object must not be read and written from two
        threads at once (OpenSSL's rule; Python's ssl does not lock it).
        """
        deadline = time.monotonic() + timeout
        got = bytearray(self.buf)
        self.buf.clear()
        sent = 0
        self.sock.setblocking(False)
        try:
            while len(got) < len(blob):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise socket.timeout(f"echo: sent {sent} of {len(blob)} bytes, {len(got)} came back")
                pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
                writable = [self.sock] if sent < len(blob) else []
                r, w, _ = select.select([self.sock], writable, [], 0 if pending else min(left, 0.5))
                if w:
                    try:
                        sent += self.sock.send(blob[sent:sent + piece])
                    except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                        pass
                if r or pending:
                    try:
                        data = self.sock.recv(65536)
                    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                        continue
                    if not data:
                        self.eof = True
                        raise ConnectionClosed(f"the VIP closed the tunnel after {sent} bytes sent and "
                                               f"{len(got)} echoed of {len(blob)}")
                    got += data
        finally:
            self.sock.setblocking(True)
        return bytes(got)

    def wait_closed(self, timeout):
        """True once the peer closed (EOF or reset) within timeout; data that comes is discarded."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
                return True
            if not data:
                return True


def build(method, target, headers=(), body=None, host="web.contoso.test"):
    lines = [f"{method} {target} HTTP/1.1"]
    names = {n.lower() for n, _ in headers}
    if host is not None and "host" not in names:
        lines.append(f"Host: {host}")
    lines += [f"{n}: {v}" for n, v in headers]
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return data + (body or b"")


def chunked(pieces):
    out = b""
    for p in pieces:
        out += f"{len(p):x}\r\n".encode() + p + b"\r\n"
    return out + b"0\r\n\r\n"


def once(host, port, method="GET", target="/headers", headers=(), body=None, *, source=None, tls=None,
         sni=None, vhost="web.contoso.test", timeout=DEFAULT_TIMEOUT):
    """One request on a fresh connection."""
    with Conn(host, port, source=source, tls=tls, sni=sni, timeout=timeout) as c:
        return c.request(method, target, headers, body, host=vhost, timeout=timeout)


def can_connect(host, port, timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
