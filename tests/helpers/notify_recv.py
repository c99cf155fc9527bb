#!/usr/bin/env python3
"""notify_recv.py SOCKET OUT: a stand-in for systemd's notify socket.

Binds a unix datagram socket at SOCKET and appends each datagram it gets
to OUT, one a line, until it gets STOPPING=1 or hears nothing for 20 s.
"""
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(20)
with open(out, "a") as f:
    while True:
        try:
            d = s.recv(4096)
        except socket.timeout:
            break
        f.write(d.decode(errors="replace") + "\n")
        f.flush()
        if d.startswith(b"STOPPING=1"):
            break
