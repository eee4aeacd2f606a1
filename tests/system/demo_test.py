#!/usr/bin/env python3
"""The README's first command, tools/demo.sh, started as a newcomer would start it
(in a terminal session of its own, Ctrl-C delivered to the whole process group),
against an already built tree: it must serve the contoso topology with the dead
servers absent from the pool answers, and Ctrl-C must stop everything it started.

Usage: demo_test.py BUILD_DIR   (holding tools/pooldnsctl and server/pooldns)
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures += 1


def free_udp_tcp_port():
    # Below the ephemeral range, free for both UDP and TCP (as tests/system/ports.sh).
    for port in range(23000 + os.getpid() % 5000, 32767):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t, \
                    socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as u6, socket.socket(socket.AF_INET6) as t6:
                u.bind(("127.0.0.1", port))
                t.bind(("127.0.0.1", port))
                u6.bind(("::1", port))
                t6.bind(("::1", port))
                return port
        except OSError:
            continue
    raise SystemExit("no free port")


def answers(port, name, rrtype):
    out = subprocess.run(["drill", "-Q", "-p", str(port), "@127.0.0.1", name, rrtype], capture_output=True,
                         text=True, timeout=10)
    return sorted(line.strip() for line in out.stdout.splitlines() if line.strip())


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited: it only waits to be reaped by its parent.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def session(build, stop):
    """Runs the demo until it serves; `stop` is "ctrl-c" (SIGINT to its process
    group, as a terminal sends it: every process gets it) or "term" (SIGTERM to
    the demo script alone: only its own clean-up can stop what it started)."""
    port = free_udp_tcp_port()
    with tempfile.TemporaryDirectory(prefix="pooldns-demo-") as tmp:
        env = dict(os.environ, POOLDNS_DEMO_BUILD=build, POOLDNS_DEMO_PORT=str(port), POOLDNS_DEMO_DIR=tmp)
        log_path = os.path.join(tmp, "demo.log")
        log = open(log_path, "w")
        # A terminal's foreground job: its own process group, SIGINT not ignored.
        demo = subprocess.Popen(["bash", os.path.join(ROOT, "tools", "demo.sh")], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            deadline = time.monotonic() + 90
            text = ""
            while time.monotonic() < deadline and demo.poll() is None:
                text = open(log_path).read()
                if "serving (demo pid" in text:
                    break
                time.sleep(0.2)
            check("serving (demo pid" in text, "the demo reaches 'serving' within 90 s")
            if "serving (demo pid" not in text:
                print(text[-4000:])
                return
            with open(os.path.join(tmp, "pids")) as f:
                pids = [int(p) for p in f.read().split()]
            check(len(pids) == 18 and all(alive(p) for p in pids), f"the demo's {len(pids)} processes are running")
            if stop == "term":
                demo.send_signal(signal.SIGTERM)
                try:
                    code = demo.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    code = None
                check(code == 143, f"SIGTERM to the demo script ends it (exit {code}, expected 143)")
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and any(alive(p) for p in pids):
                    time.sleep(0.1)
                check(not any(alive(p) for p in pids), "the demo's clean-up stopped everything it started")
                return
            # What the demo says it shows, asked again by a client of our own.
            # The demo has just re-enabled fe02; the server takes an edit within a second.
            deadline = time.monotonic() + 3
            while answers(port, "pool01.contoso.com", "A") != ["127.0.0.21", "127.0.0.22"]:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            check(answers(port, "pool01.contoso.com", "A") == ["127.0.0.21", "127.0.0.22"],
                  "pool01 answers the live Front End servers only (fe03 absent)")
            check(answers(port, "sip.contoso.com", "A") == ["127.0.0.41"], "Access Edge: edge01's address only")
            check(answers(port, "webconf.contoso.com", "A") == ["127.0.0.51", "127.0.0.52"],
                  "Web Conferencing Edge: both servers")
            check(answers(port, "medpool.contoso.com", "A") == ["127.0.0.71"], "Mediation: med01 only")
            check(answers(port, "edge01.contoso.com", "A") == ["127.0.0.31"],
                  "an Edge host record carries the internal address only")
            check(answers(port, "_sipfederationtls._tcp.contoso.com", "SRV") == ["0 0 5061 sip.contoso.com."],
                  "federation SRV points at the Access Edge")
            check(answers(port, "web-int.contoso.com", "A") == ["127.0.0.10"], "web services FQDN -> the VIP")
            shown = text.split(f"@127.0.0.1 pool01.contoso.com A\n", 1)[-1].split("\n\n", 1)[0].split()
            check(sorted(shown) == ["127.0.0.21", "127.0.0.22"], f"the demo prints pool01 without fe03: {shown}")
            for needle in ("Set-Cookie: MS-WSMAN=", "rules: ok", "-> 200 OK"):
                check(needle in text, f"the demo's output shows {needle!r}")
            # Ctrl-C: SIGINT to the whole foreground process group.
            os.killpg(demo.pid, signal.SIGINT)
            try:
                code = demo.wait(timeout=20)
            except subprocess.TimeoutExpired:
                code = None
            check(code == 130, f"Ctrl-C ends the demo (exit {code}, expected 130)")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and any(alive(p) for p in pids):
                time.sleep(0.1)
            check(not any(alive(p) for p in pids), "nothing the demo started is left running")
            try:
                os.killpg(demo.pid, 0)
                group_left = True
            except ProcessLookupError:
                group_left = False
            check(not group_left, "its process group is empty")
        finally:
            if demo.poll() is None:
                os.killpg(demo.pid, signal.SIGKILL)
                demo.wait()
            log.close()
            if failures:
                print(open(log_path).read()[-3000:])


if __name__ == "__main__":
    build_dir = os.path.abspath(sys.argv[1])
    session(build_dir, "ctrl-c")
    session(build_dir, "term")
    print(f"demo_test: {failures} failure(s)")
    sys.exit(1 if failures else 0)
