#!/usr/bin/env python3
"""ui_stub.py: a stand-in for wf-httpd, for the web page's tests.

Serves web/ under /ui/ with wf-httpd's Content-Security-Policy and answers
the API's GET endpoints (and the POSTs the page sends) by running the real
CLI, $WF_BIN/wf, against the real store ($WF_HOME).  It listens on
127.0.0.1, port 0 unless given, and prints its port on stdout.  Only until
wf-httpd is there: the page is meant to be tested against the real server.

usage: ui_stub.py WEBDIR [PORT]

A POST needs "Authorization: Bearer T"; T must equal $WF_UI_TOKEN when
that is set (any token otherwise), as a stand-in for wf's token store.
"""

import json
import mimetypes
import os
import re
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CSP = "default-src 'self'"
WEB = os.path.realpath(sys.argv[1] if len(sys.argv) > 1 else "web")
WF = os.path.join(os.environ.get("WF_BIN", "bin"), "wf")
VERSION = "0.1.0"


class CliError(Exception):
    def __init__(self, status, line):
        super().__init__(line)
        self.status = status
        self.line = line


def wf(*args):
    """Run wf ARGS; its stdout, or CliError with its last stderr line."""
    p = subprocess.run([WF, *args], capture_output=True, text=True,
                       timeout=30, check=False)
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or ["wf failed"])[-1]
        err = re.sub(r"^wf: ", "", err)
        # the CLI's exit codes (sysexits) as HTTP statuses
        status = {64: 400, 65: 409, 66: 404, 77: 403}.get(p.returncode, 500)
        raise CliError(status, err)
    return p.stdout


def wf_json(*args):
    return json.loads(wf(*args) or "null")


def pos_int(s):
    if not re.fullmatch(r"[1-9][0-9]{0,17}", s or ""):
        raise CliError(400, f"not an id: {s!r}")
    return s


class Handler(BaseHTTPRequestHandler):
    server_version = "ui_stub"

    def log_message(self, fmt, *args):  # quiet: bats shows stderr on failure
        sys.stderr.write("ui_stub: " + (fmt % args) + "\n")

    def send(self, status, body, ctype="application/json", extra=None):
        if not isinstance(body, bytes):
            body = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, line):
        self.send(status, {"error": line})

    def static(self, rel):
        rel = rel or "index.html"
        path = os.path.realpath(os.path.join(WEB, rel))
        if not path.startswith(WEB + os.sep) or not os.path.isfile(path):
            return self.error(404, "no such file")
        ctype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("javascript"):
            ctype += "; charset=utf-8"
        with open(path, "rb") as f:
            self.send(200, f.read(), ctype)

    def do_GET(self):
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        p = u.path
        try:
            if p == "/" or p == "/ui":
                return self.send(302, b"", "text/plain", {"Location": "/ui/"})
            if p.startswith("/ui/"):
                return self.static(p[len("/ui/"):])
            if p == "/api/health":
                return self.send(200, {"ok": True, "version": VERSION})
            if p == "/api/board":
                args = ["board", "--json"]
                if q.get("project_id"):
                    args += ["--project-id", pos_int(q["project_id"][0])]
                return self.send(200, wf_json(*args))
            if p == "/api/queue/status":
                return self.send(200, wf_json("queue", "status", "--json"))
            if p == "/api/projects":
                return self.send(200, wf_json("project", "list", "--json"))
            m = re.fullmatch(r"/api/projects/([^/]+)/tasks", p)
            if m:
                pid = pos_int(m.group(1))
                return self.send(200, wf_json("task", "list", "--project-id",
                                              pid, "--json"))
            if p == "/api/log":
                limit = int(pos_int(q.get("limit", ["50"])[0]))
                lines = wf("log", "--json").splitlines()[-limit:]
                return self.send(200, [json.loads(l) for l in lines if l])
            return self.error(404, f"no such endpoint: {p}")
        except CliError as e:
            return self.error(e.status, e.line)

    def do_HEAD(self):
        self.do_GET()

    def authorized(self):
        h = self.headers.get("Authorization", "")
        if not h.startswith("Bearer ") or not h[7:].strip():
            return False
        want = os.environ.get("WF_UI_TOKEN")
        return want is None or h[7:].strip() == want

    def do_POST(self):
        p = urlsplit(self.path).path
        n = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(n) or b"{}") if n else {}
        except ValueError:
            return self.error(400, "the body is not JSON")
        if not isinstance(body, dict):
            return self.error(400, "the body is not a JSON object")
        if not self.authorized():
            return self.error(401, "a bearer token is needed")
        try:
            m = re.fullmatch(r"/api/projects/([^/]+)/execute", p)
            if m:
                pid = pos_int(m.group(1))
                args = ["pipeline", "--project-id", pid, "--detach"]
                tid = body.get("task_id")
                if tid:
                    args += ["--task-id", self.task_number(pid, str(tid))]
                out = wf(*args)
                run = re.search(r"run (\d+)", out)
                return self.send(201, {"run_id": int(run.group(1)) if run
                                       else None, "project_id": int(pid)})
            m = re.fullmatch(r"/api/runs/([^/]+)/(approve-deploy|retry)", p)
            if m:
                rid = pos_int(m.group(1))
                args = ["run", m.group(2), rid]
                if m.group(2) == "approve-deploy" and body.get("env"):
                    args += ["--env", str(body["env"])]
                try:
                    wf(*args)
                except CliError as e:  # a run in the wrong state
                    raise CliError(409 if e.status in (400, 409, 500)
                                   else e.status, e.line) from e
                return self.send(200, wf_json("run", "show", rid, "--json"))
            return self.error(404, f"no such endpoint: {p}")
        except CliError as e:
            return self.error(e.status, e.line)

    @staticmethod
    def task_number(pid, tid):
        """The CLI takes a task's number; the API its task_id ("T1")."""
        if tid.isdigit():
            return tid
        for t in wf_json("task", "list", "--project-id", pid, "--json"):
            if t.get("task_id") == tid:
                return str(t["id"])
        raise CliError(404, f"no task {tid} in project {pid}")


def main():
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
