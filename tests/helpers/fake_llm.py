#!/usr/bin/env python3
"""fake_llm.py: a stand-in LLM server for the tests, on 127.0.0.1 only.

    fake_llm.py --port 0 --portfile FILE [--script FILE] [--log FILE]
                [--delay-ms N] [--verbose]

Speaks
  POST /v1/chat/completions, /engines/v1/chat/completions   OpenAI shape,
       with usage.prompt_tokens and usage.completion_tokens
  POST /api/chat    Ollama shape, with prompt_eval_count and eval_count;
       refuses (400) a request whose "stream" is not false
  GET  /v1/models, /engines/v1/models, /api/tags    a one-model list
and writes the port it got to FILE (whole, by rename) once it listens.

--log FILE appends one JSON line per request once it is answered: method,
path, body (parsed when it is JSON), authorization, the reply (status,
fault, tokens), and t_arrival_ns / t_reply_ns (wall clock, time.time_ns)
with mono_arrival_ns / mono_reply_ns (time.monotonic_ns).  Arrival is when
the request line was read; reply is when its writing began (taken before
the write, so that a client that reads the reply and sends its next
request can never appear to have done so before it: a thread preempted
between its write and its clock would make it seem so on a busy machine).

--script FILE is a JSON object mapping a trigger, a substring of the last
user message (or "*", tried last), to a reply or a list of replies served
in turn (the last one repeating).  Triggers are tried in file order; the
file is read again when it changes.  A reply is
  {"content": "...", "prompt_tokens": N, "completion_tokens": M,
   "model": "...", "finish_reason": "stop", "delay_ms": D}
or a fault
  {"fault": F, "retry_after": S, "retry_after_date": true, "message": "...",
   "delay_ms": D}
where F is "refuse" (the connection is reset once the request is read),
"hang" (no reply for delay_ms, default 600 s, then the connection is
closed), "garbage" (200 with a body that is not JSON), "empty" (200 with
empty content), "nochoices" (200, a JSON object with no reply in it),
"stream" (200 with two JSON lines, as a server that streams), "huge" (200
with a reply of 9 MiB), or an HTTP status such as "400", "429", "500",
"503" (with an error body, and Retry-After: S when retry_after is given,
as an HTTP date S seconds ahead when retry_after_date is true; a
"location" is sent as Location, for a redirect).  With nothing matching
the reply is content "ok" with 3 prompt and 1 completion tokens.

--delay-ms N adds a fixed latency to every reply.  SIGTERM ends it.
"""
import argparse
import email.utils
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY_MAX = 64 << 20
DEFAULT = {"content": "ok", "prompt_tokens": 3, "completion_tokens": 1}
OPENAI_PATHS = ("/v1/chat/completions", "/engines/v1/chat/completions")
OLLAMA_PATH = "/api/chat"


class Script:
    """The scripted replies, read again whenever the file changes."""

    def __init__(self, path):
        self.path = path
        self.stamp = None
        self.rules = {}
        self.turn = {}
        self.lock = threading.Lock()

    def _load(self):
        if self.path is None:
            return
        try:
            st = os.stat(self.path)
        except OSError:
            return
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self.stamp:
            return
        with open(self.path, encoding="utf-8") as f:
            rules = json.load(f)
        if not isinstance(rules, dict):
            raise ValueError("the script is not a JSON object")
        self.rules, self.turn, self.stamp = rules, {}, stamp

    def reply(self, text):
        with self.lock:
            try:
                self._load()
            except (OSError, ValueError) as e:
                print("fake_llm: script: %s" % e, file=sys.stderr)
            keys = [k for k in self.rules if k != "*" and k in text]
            if "*" in self.rules:
                keys.append("*")
            if not keys:
                return None, dict(DEFAULT)
            key = keys[0]
            r = self.rules[key]
            if isinstance(r, list):
                n = self.turn.get(key, 0)
                self.turn[key] = n + 1
                r = r[min(n, len(r) - 1)] if r else {}
            return key, dict(r) if isinstance(r, dict) else dict(DEFAULT)


def last_user_text(body):
    """The text of the last user message, content string or parts."""
    msgs = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(msgs, list):
        return ""
    for m in reversed(msgs):
        if not isinstance(m, dict) or m.get("role") != "user":
            continue
        c = m.get("content")
        if isinstance(c, str):
            return c
        if isinstance(c, list):
            return " ".join(p.get("text", "") for p in c
                            if isinstance(p, dict) and
                            isinstance(p.get("text"), str))
        return ""
    return ""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake_llm/1"

    def parse_request(self):
        self.t_arrival = time.time_ns()
        self.mono_arrival = time.monotonic_ns()
        return super().parse_request()

    def log_message(self, fmt, *args):
        if self.server.opts.verbose:
            super().log_message(fmt, *args)

    # Writing replies.

    def send_json(self, status, obj, headers=()):
        data = json.dumps(obj).encode()
        self.send_raw(status, data, headers)

    def send_raw(self, status, data, headers=(),
                 ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.sent_wall_ns = time.time_ns()
        self.sent_mono_ns = time.monotonic_ns()
        self.wfile.write(data)
        self.wfile.flush()

    def record(self, entry):
        sent = getattr(self, "sent_mono_ns", None)
        if sent is None or sent < self.mono_arrival:
            # nothing sent for this request (a fault): now
            self.sent_wall_ns = time.time_ns()
            self.sent_mono_ns = time.monotonic_ns()
        entry["t_reply_ns"] = self.sent_wall_ns
        entry["mono_reply_ns"] = self.sent_mono_ns
        log = self.server.log
        if log is None:
            return
        line = json.dumps(entry) + "\n"
        with self.server.log_lock:
            log.write(line)
            log.flush()

    def reset(self):
        """Drop the connection with a RST, as a server that refuses."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        # Close the descriptor itself: the file objects still hold the
        # socket, and its close() would wait for them.
        try:
            os.close(self.connection.detach())
        except OSError:
            pass

    # Requests.

    def do_GET(self):
        entry = self.entry(None)
        if self.path in ("/v1/models", "/engines/v1/models"):
            self.send_json(200, {"object": "list", "data": [
                {"id": "fake", "object": "model", "owned_by": "fake"}]})
        elif self.path == "/api/tags":
            self.send_json(200, {"models": [{"name": "fake",
                                             "model": "fake"}]})
        else:
            self.send_json(404, {"error": "no such endpoint"})
        self.record(entry)

    def entry(self, body):
        return {"method": self.command, "path": self.path, "body": body,
                "authorization": self.headers.get("Authorization"),
                "content_type": self.headers.get("Content-Type"),
                "t_arrival_ns": self.t_arrival,
                "mono_arrival_ns": self.mono_arrival}

    def do_POST(self):
        try:
            n = int(self.headers.get("Content-Length", "-1"))
        except ValueError:
            n = -1
        if n < 0 or n > BODY_MAX:
            self.send_json(411 if n < 0 else 413,
                           {"error": "a Content-Length up to %d" % BODY_MAX})
            self.close_connection = True
            return
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        entry = self.entry(body)
        if self.path in OPENAI_PATHS:
            shape = "openai"
        elif self.path == OLLAMA_PATH:
            shape = "ollama"
        else:
            self.send_json(404, {"error": "no such endpoint"})
            entry["status"] = 404
            self.record(entry)
            return
        if not isinstance(body, dict):
            self.send_json(400, {"error": "the body is not a JSON object"})
            entry["status"] = 400
            self.record(entry)
            return
        if shape == "ollama" and body.get("stream") is not False:
            self.send_json(400, {"error": "fake_llm: \"stream\" must be "
                                          "false"})
            entry["status"] = 400
            self.record(entry)
            return
        key, spec = self.server.script.reply(last_user_text(body))
        entry["trigger"] = key
        self.answer(shape, body, spec, entry)
        self.record(entry)

    def answer(self, shape, body, spec, entry):
        delay = self.server.opts.delay_ms + int(spec.get("delay_ms", 0))
        fault = spec.get("fault")
        entry["fault"] = fault
        if fault == "hang":
            time.sleep(int(spec.get("delay_ms", 600000)) / 1000)
            self.reset()
            return
        if delay > 0:
            time.sleep(delay / 1000)
        if fault == "refuse":
            self.reset()
            return
        model = spec.get("model") or body.get("model") or "fake"
        if fault is not None and str(fault).isdigit():
            status = int(fault)
            msg = spec.get("message", "fake_llm: scripted %d" % status)
            headers = []
            if "location" in spec:
                headers.append(("Location", str(spec["location"])))
            if "retry_after" in spec:
                ra = int(spec["retry_after"])
                if spec.get("retry_after_date"):
                    headers.append(("Retry-After", email.utils.formatdate(
                        time.time() + ra, usegmt=True)))
                else:
                    headers.append(("Retry-After", str(ra)))
            err = ({"error": {"message": msg, "type": "fake_error"}}
                   if shape == "openai" else {"error": msg})
            entry["status"] = status
            self.send_json(status, err, headers)
            return
        if fault == "garbage":
            entry["status"] = 200
            self.send_raw(200, b"<html>502 Bad Gateway, or so</html>\n")
            return
        if fault == "nochoices":
            entry["status"] = 200
            self.send_json(200, {"object": "chat.completion",
                                 "model": model} if shape == "openai"
                           else {"model": model, "done": True})
            return
        if fault == "stream":
            entry["status"] = 200
            parts = [{"model": model, "message": {"role": "assistant",
                                                  "content": "o"},
                      "done": False},
                     {"model": model, "message": {"role": "assistant",
                                                  "content": "k"},
                      "done": True}]
            self.send_raw(200, b"".join(json.dumps(p).encode() + b"\n"
                                        for p in parts),
                          ctype="application/x-ndjson")
            return
        content = "" if fault == "empty" else spec.get("content", "ok")
        if fault == "huge":
            content = "x" * (9 << 20)
        pt = int(spec.get("prompt_tokens", 3))
        ct = int(spec.get("completion_tokens", 1))
        reason = spec.get("finish_reason", "stop")
        entry.update(status=200, prompt_tokens=pt, completion_tokens=ct)
        if shape == "openai":
            n = self.server.next_id()
            self.send_json(200, {
                "id": "chatcmpl-fake-%d" % n,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": {
                    "role": "assistant", "content": content},
                    "finish_reason": reason}],
                "usage": {"prompt_tokens": pt, "completion_tokens": ct,
                          "total_tokens": pt + ct}})
        else:
            self.send_json(200, {
                "model": model,
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                            time.gmtime()),
                "message": {"role": "assistant", "content": content},
                "done": True, "done_reason": reason,
                "total_duration": delay * 1000000,
                "prompt_eval_count": pt, "eval_count": ct})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, opts):
        super().__init__(("127.0.0.1", opts.port), Handler)
        self.opts = opts
        self.script = Script(opts.script)
        self.log = open(opts.log, "a", encoding="utf-8") if opts.log else None
        self.log_lock = threading.Lock()
        self.ids = 0
        self.ids_lock = threading.Lock()

    def handle_error(self, request, client_address):
        # A client that gave up (a time-out, a reply over its cap) is
        # part of the tests, not an error of the fake.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def next_id(self):
        with self.ids_lock:
            self.ids += 1
            return self.ids


def main():
    ap = argparse.ArgumentParser(description="a fake LLM server for tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--portfile")
    ap.add_argument("--script")
    ap.add_argument("--log")
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--verbose", action="store_true")
    opts = ap.parse_args()

    srv = Server(opts)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    port = srv.server_address[1]
    if opts.portfile:
        tmp = opts.portfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, opts.portfile)
    else:
        print(port, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
