#!/usr/bin/env python3
"""fake_llm_timed.py: the fake model of bench/llm-lane.sh, on 127.0.0.1.

    fake_llm_timed.py --portfile FILE --log FILE [--delay-ms 50] [--port 0]
    fake_llm_timed.py --floor N --port PORT

Answers every POST /v1/chat/completions (OpenAI shape) and /api/chat
(Ollama shape) with "ok" after a fixed delay (--delay-ms, 50), like a local
model that takes the same time for every request.  GET /v1/models and
/api/tags list one model.  It speaks HTTP/1.1 with keep-alive and reads
requests by Content-Length, nothing more: it is a stopwatch, not a server
for the tests (that is tests/helpers/fake_llm.py).

One thread per connection (a model server serves one request at a time
anyway; wf's llm lane of concurrency 1 sends one at a time).  Once the port
listens it is written to --portfile (whole, by rename).

--log FILE: one line per answered chat request, written after the reply's
last byte went out:
    SEQ ACCEPT_NS START_NS END_NS WALL_START_NS WALL_END_NS STATUS ARRIVE_NS
ACCEPT_NS: the connection's accept() returned (CLOCK_MONOTONIC, ns; the
same for every request of a kept-alive connection); START_NS: the first
bytes of the request were read; END_NS: the last byte of the reply was
written (sendall returned); WALL_*: the same on CLOCK_REALTIME, to line up
with strace -tt; ARRIVE_NS: when the kernel received those first bytes
(SO_TIMESTAMPNS, CLOCK_REALTIME; WALL_START_NS where the kernel gives
none).  The gap the bench reports is START of one request minus END of
the one before; ARRIVE minus WALL_END leaves out the start of this
server's thread for the connection.

--floor N: be the client instead: N chat requests one after another on one
kept-alive connection to 127.0.0.1:PORT.  The gaps the server then logs are
the floor of the server plus loopback, with no process start at all.
"""
import argparse
import http.client
import json
import os
import signal
import socket
import struct
import sys
import threading
import time

MODEL = "fake"
# Linux's SO_TIMESTAMPNS (SCM_TIMESTAMPNS): the kernel's receive time of
# the bytes a recvmsg returns, as a struct timespec on CLOCK_REALTIME.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TIMESPEC = struct.Struct("@qq")


def kernel_time(anc):
    """The SCM_TIMESTAMPNS of a recvmsg's ancillary data, in ns, or None."""
    for lvl, typ, data in anc:
        if (lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and
                len(data) >= TIMESPEC.size):
            sec, nsec = TIMESPEC.unpack_from(data)
            return sec * 1000000000 + nsec
    return None


def reply_body(path, body):
    try:
        req = json.loads(body) if body else {}
    except ValueError:
        req = {}
    model = req.get("model", MODEL) if isinstance(req, dict) else MODEL
    if path.startswith("/api/chat"):
        return {"model": model, "created_at": "2026-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": "ok"},
                "done": True, "done_reason": "stop",
                "prompt_eval_count": 3, "eval_count": 1}
    return {"id": "chatcmpl-timed", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant",
                                                  "content": "ok"},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1,
                      "total_tokens": 4}}


class Server:
    def __init__(self, opts):
        self.delay = opts.delay_ms / 1000.0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", opts.port))
        # set on the listener too: a connection's first bytes may come
        # before its accept(), and they carry a receive time only when
        # time stamping was on as they came (an accepted socket inherits
        # the option)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            pass
        self.sock.listen(128)
        self.log = open(opts.log, "a", encoding="ascii") if opts.log else None
        self.lock = threading.Lock()
        self.seq = 0

    def record(self, acc, start, end, wstart, wend, status, arrive):
        if self.log is None:
            return
        with self.lock:
            self.seq += 1
            self.log.write("%d %d %d %d %d %d %d %d\n" % (
                self.seq, acc, start, end, wstart, wend, status,
                arrive if arrive is not None else wstart))
            self.log.flush()

    def serve(self):
        while True:
            conn, _ = self.sock.accept()
            acc = time.monotonic_ns()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                conn.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            except OSError:
                pass
            threading.Thread(target=self.conn, args=(conn, acc),
                             daemon=True).start()

    def conn(self, c, acc):
        buf = b""
        try:
            while True:
                # the request head: its first bytes start the clock
                start = wstart = arrive = None
                while b"\r\n\r\n" not in buf:
                    d, anc, _, _ = c.recvmsg(65536, 64)
                    if not d:
                        return
                    if start is None:
                        start = time.monotonic_ns()
                        wstart = time.time_ns()
                        arrive = kernel_time(anc)
                    buf += d
                if start is None:  # pipelined after the previous one
                    start = time.monotonic_ns()
                    wstart = time.time_ns()
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split()
                if len(parts) < 2:
                    return
                method, path = parts[0], parts[1]
                hdr = {}
                for ln in lines[1:]:
                    k, _, v = ln.partition(":")
                    hdr[k.strip().lower()] = v.strip()
                n = int(hdr.get("content-length", "0") or 0)
                while len(buf) < n:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                body, buf = buf[:n], buf[n:]
                close = hdr.get("connection", "").lower() == "close"
                chat = method == "POST" and (
                    path.endswith("/chat/completions") or
                    path.startswith("/api/chat"))
                if chat:
                    # the model's fixed time, counted from the request's
                    # first byte
                    left = self.delay - (time.monotonic_ns() - start) / 1e9
                    if left > 0:
                        time.sleep(left)
                    status, obj = 200, reply_body(path, body)
                elif method == "GET" and path in ("/v1/models", "/api/tags"):
                    status = 200
                    obj = ({"models": [{"name": MODEL}]} if path == "/api/tags"
                           else {"object": "list", "data": [
                               {"id": MODEL, "object": "model"}]})
                else:
                    status, obj = 404, {"error": "not found"}
                out = json.dumps(obj).encode()
                c.sendall(("HTTP/1.1 %d %s\r\nContent-Type: application/json"
                           "\r\nContent-Length: %d\r\n%s\r\n" % (
                               status, "OK" if status == 200 else "Not Found",
                               len(out),
                               "Connection: close\r\n" if close else "")
                           ).encode() + out)
                end = time.monotonic_ns()
                wend = time.time_ns()
                if chat:
                    self.record(acc, start, end, wstart, wend, status,
                                arrive)
                if close:
                    return
        except (ConnectionError, OSError, ValueError):
            return
        finally:
            c.close()


def floor(opts):
    """A kept-alive client sending requests back to back."""
    h = http.client.HTTPConnection("127.0.0.1", opts.port)
    h.connect()
    h.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    body = json.dumps({"model": MODEL, "messages": [
        {"role": "user", "content": "floor"}]})
    for _ in range(opts.floor):
        h.request("POST", "/v1/chat/completions", body,
                  {"Content-Type": "application/json"})
        r = h.getresponse()
        r.read()
        if r.status != 200:
            sys.exit("floor: status %d" % r.status)
    h.close()


def main():
    ap = argparse.ArgumentParser(
        description="the timed fake model of bench/llm-lane.sh")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--portfile")
    ap.add_argument("--log")
    ap.add_argument("--delay-ms", type=int, default=50)
    ap.add_argument("--floor", type=int, default=0)
    opts = ap.parse_args()
    if opts.floor:
        floor(opts)
        return
    srv = Server(opts)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    port = srv.sock.getsockname()[1]
    if opts.portfile:
        tmp = opts.portfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, opts.portfile)
    else:
        print(port, flush=True)
    srv.serve()


if __name__ == "__main__":
    main()
