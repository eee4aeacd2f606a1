#!/usr/bin/env python3
"""TCP listeners for the pool benchmark: one socket per address in a file, all on
one port, accepting and closing every connection (what a TCP health check
needs). Every --toggle-seconds a random --toggle-fraction of them closes (or
reopens), so member states flip during the run. Bounded by --max-seconds.

Usage: listeners.py ADDRESSES_FILE PORT [--down-fraction F] [--toggle-fraction F]
                    [--toggle-seconds S] [--max-seconds S]
Prints "ready N" once N sockets listen.
"""
import argparse
import random
import selectors
import socket
import time

ap = argparse.ArgumentParser()
ap.add_argument("addresses")
ap.add_argument("port", type=int)
ap.add_argument("--down-fraction", type=float, default=0.1)
ap.add_argument("--toggle-fraction", type=float, default=0.01)
ap.add_argument("--toggle-seconds", type=float, default=3.0)
ap.add_argument("--max-seconds", type=float, default=600)
a = ap.parse_args()
random.seed(7)
addresses = [line.strip() for line in open(a.addresses) if line.strip()]
sel = selectors.DefaultSelector()
socks = {}


def open_one(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, a.port))
    s.listen(128)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    socks[addr] = s


def close_one(addr):
    s = socks.pop(addr)
    sel.unregister(s)
    s.close()


for addr in addresses:
    if random.random() >= a.down_fraction:
        open_one(addr)
print(f"ready {len(socks)}", flush=True)
end = time.time() + a.max_seconds
next_toggle = time.time() + a.toggle_seconds
flips = 0
while time.time() < end:
    for key, _ in sel.select(timeout=0.05):
        try:
            while True:
                c, _ = key.fileobj.accept()
                c.close()
        except (BlockingIOError, OSError):
            pass
    if time.time() >= next_toggle:
        next_toggle += a.toggle_seconds
        for addr in random.sample(addresses, max(1, int(len(addresses) * a.toggle_fraction))):
            if addr in socks:
                close_one(addr)
            else:
                open_one(addr)
            flips += 1
print(f"done flips {flips}", flush=True)
