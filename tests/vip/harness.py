"""The processes of a VIP system test: a temp dir with the SQLite file, pooldnsctl,
one pooldns, one backend.py per member; waits bounded by deadlines, never bare
sleeps where an event (a log line, a port, a status row) can be awaited.

Every process started here gets PR_SET_PDEATHSIG, so even a test killed by
ctest's timeout leaves nothing behind; cleanup() stops each by PID.
"""

import ctypes
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
BACKEND = os.path.join(HERE, "backend.py")

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class TestFailure(AssertionError):
    pass


def fail(msg):
    raise TestFailure(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def wait_for(pred, timeout, what, interval=0.02):
    """Polls pred until it returns a truthy value; returns (value, seconds); fails after timeout."""
    t0 = time.monotonic()
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v, time.monotonic() - t0
        except Exception as e:  # noqa: BLE001 - a poll may meet a half-ready peer
            last_exc = e
        if time.monotonic() - t0 > timeout:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            fail(f"{what}: not within {timeout:.1f}s{extra}")
        time.sleep(interval)


def port_free_on(addrs, port):
    socks = []
    try:
        for a in addrs:
            s = socket.socket()
            socks.append(s)
            s.bind((a, port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def free_port(addrs):
    """A TCP port free on every address, below the kernel's ephemeral range
    (32768-60999): a port the OS picks could be taken by some test's outgoing
    connection between this check and the server's bind."""
    rng = random.Random(os.getpid() ^ int(time.monotonic() * 1e6))
    for _ in range(200):
        port = rng.randint(20000, 32767)
        if port_free_on(addrs, port):
            return port
    raise RuntimeError(f"no common free port on {addrs}")


class Backend:
    def __init__(self, name, proc, out_path, ports):
        self.name, self.proc, self.out_path, self.ports = name, proc, out_path, ports

    def lines(self):
        try:
            with open(self.out_path, encoding="utf-8", errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []


class Harness:
    def __init__(self, pooldns, ctl, group):
        self.pooldns = os.path.abspath(pooldns)
        self.ctl_bin = os.path.abspath(ctl)
        self.group = group
        self.dir = tempfile.mkdtemp(prefix=f"pooldns-vip-{group}.")
        self.db = os.path.join(self.dir, "p.db")
        self.log_path = os.path.join(self.dir, "pooldns.log")
        self.server = None
        self.keep_open = []  # sockets a test holds for the whole group (closed by cleanup)
        self.backends = {}
        self.procs = []
        self.sanitized = self._sanitized()
        # Bounds stated by the spec hold for the normal build; sanitizer builds get 3x.
        self.slack = 3.0 if self.sanitized else 1.0
        self.server_env = dict(os.environ)
        self.server_env.pop("POOLDNS_DB", None)

    def _sanitized(self):
        if any(os.environ.get(v) for v in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS")):
            return True
        try:
            out = subprocess.run(["ldd", self.pooldns], capture_output=True, text=True, timeout=10).stdout
            if re.search(r"lib[at]san", out):
                return True
            with open(self.pooldns, "rb") as f:
                data = f.read()
            return b"__asan_init" in data or b"__tsan_init" in data
        except (OSError, subprocess.SubprocessError):
            return False

    # ---- processes -------------------------------------------------------------

    def spawn(self, argv, out_path, env=None):
        out = open(out_path, "ab")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             preexec_fn=_die_with_parent, env=env)
        out.close()
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        if p is None or p.poll() is not None:
            return p.returncode if p else None
        p.send_signal(sig)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            return p.wait(5)

    def cleanup(self, keep=False):
        for sock in self.keep_open:
            sock.close()
        for p in self.procs:
            try:
                self.stop(p, timeout=5)
            except Exception:  # noqa: BLE001
                traceback.print_exc()
        if keep:
            print(f"(kept {self.dir})")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- pooldnsctl ------------------------------------------------------------

    def ctl(self, *args, check=True, json_out=False):
        argv = [self.ctl_bin, "--db", self.db] + (["--json"] if json_out else []) + [str(a) for a in args]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if check and r.returncode != 0:
            fail(f"pooldnsctl {' '.join(argv[3:])} exited {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}")
        if json_out and r.returncode == 0:
            return json.loads(r.stdout)
        return r

    def status(self):
        return self.ctl("status", json_out=True)

    def member_health(self, pool, server):
        for p in self.status().get("pools", []):
            if p.get("fqdn") == pool:
                for m in p.get("members", []):
                    if m.get("server") == server:
                        return m.get("health")
        return None

    def wait_health(self, pool, server, state, timeout):
        return wait_for(lambda: self.member_health(pool, server) == state, timeout,
                        f"member {server} of {pool} to be recorded {state} (status --json)")[1]

    def vip_stats(self, name):
        """The VIP's counter section of status --json (a dict), or None."""
        d = self.status()
        vips = d.get("vips")
        if isinstance(vips, dict):
            return vips.get(name)
        for v in vips or []:
            if v.get("name") == name:
                return v
        return None

    # ---- backends --------------------------------------------------------------

    def start_backend(self, name, addr, ports, cert=None, key=None, label=None, extra=()):
        """Starts backend.py answering as NAME; LABEL (default NAME) is its key in self.backends."""
        label = label or name
        out_path = os.path.join(self.dir, f"backend-{label}.out")
        try:
            os.unlink(out_path)
        except FileNotFoundError:
            pass
        argv = [sys.executable, BACKEND, "--name", name, "--max-seconds", "600"]
        for port in ports:
            argv += ["--listen", f"{addr}:{port}"]
        if cert:
            argv += ["--cert", cert, "--key", key]
        argv += list(extra)
        p = self.spawn(argv, out_path)
        b = Backend(name, p, out_path, ports)
        self.backends[label] = b

        def ready():
            if p.poll() is not None:
                fail(f"backend {name} exited {p.returncode}: {open(out_path).read()}")
            return any(line.startswith("ready") for line in b.lines())

        wait_for(ready, 10, f"backend {name} on {addr}:{ports} to start")
        return b

    def kill_backend(self, label, sig=signal.SIGKILL):
        b = self.backends.pop(label)
        self.stop(b.proc, sig)

    def wait_backend_line(self, needle, timeout, what=None):
        """The label of the backend whose output has a line containing needle."""
        def found():
            for label, b in list(self.backends.items()):
                if any(needle in line for line in b.lines()):
                    return label
            return None
        return wait_for(found, timeout, what or f"a backend to print {needle!r}")[0]

    # ---- the server ------------------------------------------------------------

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_offset(self):
        return len(self.log())

    def wait_log(self, pattern, since=0, timeout=5.0, what=None):
        rx = re.compile(pattern)

        def found():
            if self.server is not None and self.server.poll() is not None:
                fail(f"pooldns exited {self.server.returncode} while waiting for /{pattern}/")
            return rx.search(self.log()[since:])

        m, dt = wait_for(found, timeout, what or f"log line /{pattern}/")
        return m, dt

    def start_server(self, dns_port, env_extra=None):
        env = dict(self.server_env)
        for k, v in (env_extra or {}).items():
            env[k] = (env[k] + ":" + v) if k in env and env[k] else v
        argv = [self.pooldns, "--db", self.db, "--dns", f"127.0.0.1:{dns_port}", "--threads", "1"]
        self.server = self.spawn(argv, self.log_path, env)
        return self.server

    def stop_server(self):
        rc = self.stop(self.server, signal.SIGTERM, timeout=20)
        return rc

    def server_pid(self):
        return self.server.pid

    def proc_status(self, field):
        with open(f"/proc/{self.server.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        return None

    def tail_log(self, n=40):
        """The last n lines of the server's log, without the access log (one line per request)."""
        return "\n".join([x for x in self.log().splitlines() if " vip_access " not in x][-n:])


class Runner:
    """Runs named cases in order; a failed case is reported and the next one runs."""

    def __init__(self, h, only=None):
        self.h = h
        self.only = only
        self.results = []

    def case(self, name, fn):
        if self.only and not re.search(self.only, name):
            return
        t0 = time.monotonic()
        print(f"--- {name}", flush=True)
        try:
            fn()
            dt = time.monotonic() - t0
            print(f"ok   {name} ({dt:.2f}s)", flush=True)
            self.results.append((name, True, ""))
        except Exception as e:  # noqa: BLE001
            dt = time.monotonic() - t0
            msg = str(e) if isinstance(e, TestFailure) else "".join(traceback.format_exception(e))
            print(f"FAIL {name} ({dt:.2f}s): {msg}", flush=True)
            self.results.append((name, False, msg))

    def finish(self):
        failed = [r for r in self.results if not r[1]]
        if failed:
            print("--- pooldns log (last lines):")
            print(self.h.tail_log(60))
        print(f"=== {self.h.group}: {len(self.results) - len(failed)} passed, {len(failed)} failed")
        for name, _, msg in failed:
            print(f"FAILED: {name}: {msg.splitlines()[0] if msg else ''}")
        return 1 if failed else 0
