"""A fault-injecting HTTP proxy on loopback, in front of moto, for the outage
tests (tests/backend.rs, `outages`): S3 and DynamoDB requests pass through
unless a rule in the rules file (JSON, re-read on every request, so a test
can change it between commands) matches them.

    python3 fault_proxy.py PORT UPSTREAM_PORT RULES_FILE LOG_FILE

A rule: {"method": "PUT", "path": "regex", "target": "DynamoDB_20120810.PutItem",
"fault": "503" | "500" | "throttle" | "reset" | "hang", "skip": K, "times": N}
matches requests by method, path (regex search on the path and query) and
DynamoDB's X-Amz-Target; lets the first K matches through, then fails the next
N (-1: all). Faults answer as the real services do: S3's 503 SlowDown and 500
InternalError XML, DynamoDB's 400 ThrottlingException JSON; `reset` closes the
connection without an answer; `hang` answers nothing for 60 s.

Every request is logged as `METHOD PATH TARGET -> STATUS|FAULT`.
"""

import http.client
import json
import re
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, UPSTREAM, RULES, LOG = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
LOCK = threading.Lock()
SEEN = {}  # rule index -> matching requests so far


def rules():
    try:
        with open(RULES) as f:
            return json.load(f)
    except (OSError, ValueError):
        return []


def log(line):
    with LOCK, open(LOG, "a") as f:
        f.write(line + "\n")


def fault_for(method, path, target):
    with LOCK:
        for i, rule in enumerate(rules()):
            if rule.get("method") and rule["method"] != method:
                continue
            if rule.get("path") and not re.search(rule["path"], path):
                continue
            if rule.get("target") and rule["target"] != target:
                continue
            key = json.dumps(rule, sort_keys=True)
            SEEN[key] = SEEN.get(key, 0) + 1
            n = SEEN[key] - rule.get("skip", 0)
            times = rule.get("times", -1)
            if n >= 1 and (times < 0 or n <= times):
                return rule["fault"]
    return None


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def answer(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        target = self.headers.get("X-Amz-Target", "")
        body = self.body()
        fault = fault_for(self.command, self.path, target)
        line = f"{self.command} {self.path} {target}".rstrip()
        if fault == "reset":
            log(f"{line} -> reset")
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if fault == "hang":
            log(f"{line} -> hang")
            time.sleep(60)
            self.close_connection = True
            return
        if fault is not None:
            log(f"{line} -> {fault}")
            if target.startswith("DynamoDB"):
                kind = "ThrottlingException" if fault in ("503", "throttle") else "InternalServerError"
                payload = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{kind}", "message": "injected"})
                status = 400 if kind == "ThrottlingException" else 500
                self.answer(status, payload.encode(), "application/x-amz-json-1.0")
            else:
                code, status = ("SlowDown", 503) if fault in ("503", "throttle") else ("InternalError", 500)
                payload = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>injected</Message></Error>"
                self.answer(status, payload.encode(), "application/xml")
            return
        upstream = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "content-length")}
        headers["Content-Length"] = str(len(body))
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        log(f"{line} -> {response.status}")
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in ("transfer-encoding", "content-length", "connection", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        upstream.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Proxy).serve_forever()
