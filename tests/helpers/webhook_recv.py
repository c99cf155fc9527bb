#!/usr/bin/env python3
"""webhook_recv.py SECRET_FILE OUT MODE_FILE: a webhook receiver for tests.

Listens on 127.0.0.1 (a port of its own; printed on stdout, one line) and
verifies each POST with the secret in SECRET_FILE, both ways wf signs:
  - Standard Webhooks: webhook-signature "v1,<base64>" of HMAC-SHA256 over
    "webhook-id.webhook-timestamp.body", keyed with the base64-decoded part
    of a whsec_ secret; webhook-timestamp within 5 minutes of now;
  - the seed's X-Webhook-Signature: hex HMAC-SHA256 of the body keyed with
    the secret string as given.
Each request is one JSON line in OUT: {"t","path","headers","body",
"std_ok","seed_ok","ts_ok","status"}.  MODE_FILE, read at every request,
scripts the answer (the count restarts when its text changes):
  200 (or missing)    answer 200
  fail CODE N         CODE the first N times, then 200
  retry-after S       429 with Retry-After: S the first time, then 200
  always CODE         CODE every time
  hang S              wait S seconds, then 200
  never               take the request and never answer (until the
                      client goes)
"""
import base64
import hashlib
import hmac
import http.server
import json
import socketserver
import sys
import threading
import time

secret_file, out_path, mode_path = sys.argv[1:4]
lock = threading.Lock()
state = {"mode": None, "n": 0}


def secret():
    with open(secret_file) as f:
        return f.read().strip()


def verify(headers, body):
    s = secret()
    key = base64.b64decode(s[6:]) if s.startswith("whsec_") else s.encode()
    mid = headers.get("webhook-id", "")
    ts = headers.get("webhook-timestamp", "")
    want = base64.b64encode(hmac.new(key, f"{mid}.{ts}.".encode() + body,
                                     hashlib.sha256).digest()).decode()
    got = headers.get("webhook-signature", "").split()
    std_ok = any(g.startswith("v1,") and hmac.compare_digest(g[3:], want)
                 for g in got)
    try:
        ts_ok = abs(time.time() - int(ts)) <= 300
    except ValueError:
        ts_ok = False
    seed = hmac.new(s.encode(), body, hashlib.sha256).hexdigest()
    seed_ok = hmac.compare_digest(headers.get("x-webhook-signature", ""),
                                  seed)
    return std_ok, seed_ok, ts_ok


def answer():
    try:
        with open(mode_path) as f:
            mode = f.read().strip()
    except OSError:
        mode = "200"
    with lock:
        if mode != state["mode"]:
            state["mode"], state["n"] = mode, 0
        state["n"] += 1
        n = state["n"]
    w = mode.split() or ["200"]
    if w[0] == "fail":
        return (int(w[1]) if n <= int(w[2]) else 200), {}, 0
    if w[0] == "retry-after":
        return (429, {"Retry-After": w[1]}, 0) if n == 1 else (200, {}, 0)
    if w[0] == "always":
        return int(w[1]), {}, 0
    if w[0] == "hang":
        return 200, {}, float(w[1])
    if w[0] == "never":
        return 200, {}, None
    return 200, {}, 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        headers = {k.lower(): v for k, v in self.headers.items()}
        std_ok, seed_ok, ts_ok = verify(headers, body)
        code, extra, delay = answer()
        rec = {"t": time.time(), "path": self.path, "headers": headers,
               "body": body.decode(errors="replace"), "std_ok": std_ok,
               "seed_ok": seed_ok, "ts_ok": ts_ok, "status": code}
        with lock:
            with open(out_path, "a") as f:
                f.write(json.dumps(rec) + "\n")
        if delay is None:
            # Until the client gives up and closes: then a read sees EOF.
            self.rfile.read(1)
            return
        if delay:
            time.sleep(delay)
        reply = b'{"ok":true}' if code < 300 else b'{"error":"scripted"}'
        try:
            self.send_response(code)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
        except OSError:
            pass

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()
