#!/usr/bin/env python3
"""slowclients: hostile clients for wf-httpd, and probes timed beside them.

  slowclients.py PORT [--idle N] [--slow N] [--from ADDR] [--probe-from ADDR]
                 [--probes N] [--hold S] [--after S] [--path P]

Opens N keep-alive connections from ADDR that each make one GET and then
idle, and N more that trickle a request's head one byte a second and
never finish it.  While they are held (--hold seconds) it probes: each
probe is a GET on a new connection, from --probe-from, timed until its
reply is read whole.  Then it waits --after seconds for the server to
time the hostile ones out and probes again.  It prints one JSON line:
the probes answered and failed, their p99 and max in ms, during and
after, and how many hostile connections the server had closed by then.
Exit 0 when it could run (the caller judges the figures), 1 when not.
"""
import argparse
import json
import select
import socket
import sys
import time


def request(path, host="127.0.0.1"):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host)).encode()


def read_reply(s, deadline):
    """Read one HTTP reply with a Content-Length; True when whole."""
    buf = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except (socket.timeout, OSError):
            return False
        if not chunk:
            return False
        buf += chunk
        head, sep, body = buf.partition(b"\r\n\r\n")
        if not sep:
            continue
        n = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v.strip())
        if len(body) >= n:
            return head.startswith(b"HTTP/1.1 200") or \
                head.startswith(b"HTTP/1.0 200")


def connect(port, src, timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if src:
        s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def probe(port, src, path):
    t0 = time.monotonic()
    try:
        s = connect(port, src)
    except OSError:
        return None
    try:
        s.sendall(request(path))
        ok = read_reply(s, t0 + 2.0)
    except OSError:
        ok = False
    finally:
        s.close()
    return (time.monotonic() - t0) * 1000 if ok else None


def summary(times):
    ok = sorted(t for t in times if t is not None)
    out = {"answered": len(ok), "failed": len(times) - len(ok)}
    if ok:
        out["p99_ms"] = round(ok[min(len(ok) - 1, int(len(ok) * 0.99))], 2)
        out["max_ms"] = round(ok[-1], 2)
    return out


def closed_by_peer(conns):
    """How many of conns the server has closed (EOF or reset)."""
    n = 0
    for s in conns:
        try:
            r, _, _ = select.select([s], [], [], 0)
            if r:  # it sends nothing unasked but a close or an error
                n += 1
        except OSError:
            n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--idle", type=int, default=100)
    ap.add_argument("--slow", type=int, default=300)
    ap.add_argument("--from", dest="src", default="127.0.0.1")
    ap.add_argument("--probe-from", default="127.0.0.1")
    ap.add_argument("--probes", type=int, default=100)
    ap.add_argument("--hold", type=float, default=5)
    ap.add_argument("--after", type=float, default=0)
    ap.add_argument("--path", default="/api/projects")
    a = ap.parse_args()

    idle, slow, refused = [], [], 0
    asked = []
    for _ in range(a.idle):
        try:
            s = connect(a.port, a.src)
            s.sendall(request(a.path))
            asked.append(s)
        except OSError:
            refused += 1
    deadline = time.monotonic() + 3.0  # for all: one deadline
    for s in asked:
        if read_reply(s, deadline):
            idle.append(s)
        else:
            refused += 1
            s.close()
    head = request(a.path)
    for _ in range(a.slow):
        try:
            s = connect(a.port, a.src)
            s.sendall(head[:1])
            slow.append([s, 1])
        except OSError:
            refused += 1

    during, t_end = [], time.monotonic() + a.hold
    gap = a.hold / max(a.probes, 1)
    next_tick = time.monotonic()
    while time.monotonic() < t_end or len(during) < a.probes:
        if time.monotonic() >= next_tick:
            # one more byte of each slow head, never the last
            for c in slow:
                if c[1] < len(head) - 1:
                    try:
                        c[0].send(head[c[1]:c[1] + 1])
                        c[1] += 1
                    except OSError:
                        pass
            next_tick = time.monotonic() + 1.0
        if len(during) < a.probes:
            during.append(probe(a.port, a.probe_from, a.path))
        time.sleep(gap)
    held_closed = closed_by_peer(idle) + closed_by_peer([c[0] for c in slow])
    time.sleep(a.after)
    freed = closed_by_peer(idle) + closed_by_peer([c[0] for c in slow])
    after = [probe(a.port, a.probe_from, a.path) for _ in range(a.probes)] \
        if a.after > 0 else []
    print(json.dumps({
        "opened": len(idle) + len(slow), "refused": refused,
        "closed_during": held_closed, "closed_after": freed,
        "during": summary(during), "after": summary(after)}))
    for s in idle:
        s.close()
    for c in slow:
        c[0].close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
