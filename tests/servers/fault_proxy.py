#!/usr/bin/env python3
"""A seeded, fault-injecting HTTP reverse proxy for the S3 tests (in front of moto_server or of the
SigV4-verifying proxy, tests/servers/sigv4_proxy.py).

Requests pass through unchanged (the Host header too, so SigV4 signatures made for this proxy's
address still verify upstream). A chosen fraction of them is faulted instead:

  500       answer `500 InternalError` (S3 XML), request not forwarded
  503       answer `503 SlowDown` (S3 XML), request not forwarded
  429       answer `429 SlowDown` (S3 XML, `Retry-After: 0`), request not forwarded
  reset     reset the connection (RST): half the time before forwarding, half the time after
            forwarding, mid-response (status line, headers and half the body, then RST; for a
            bodiless answer only half the head, since a whole head would be a whole answer)
  truncate  forward, then send the headers with the full Content-Length but only half the body
            and close cleanly (FIN); a bodiless answer is reset mid-head instead
  stall     forward, send part of the answer as above, then go silent for --stall-seconds
            (past the client's stall timeout) before closing

Decisions are deterministic for a seed, whatever order concurrent requests arrive in: the n-th
request with a given (method, path, query) is faulted when sha256(seed|request|n) falls below the
rate, and the same digest picks the kind. `--max-consecutive K` never faults more than K attempts
of one request in a row (so a client with more retries than K always gets through; -1 = no
limit);
`--max-stalls N` caps stalls over the proxy's life (each costs the client a full timeout).

Control (plain HTTP, never forwarded):
  GET  /__faults__/stats            {"requests", "forwarded", "faulted", "by_kind": {...}}
  POST /__faults__/config           JSON with any of rate, kinds, max_consecutive, max_stalls,
                                    stall_seconds, match (list of substrings of
                                    "METHOD path?query"; empty = every request)
  POST /__faults__/reset-stats

Every injected fault is appended to --log as one JSON line; --stats is rewritten (atomically)
with the counts after each fault and at exit.

Run: python3 fault_proxy.py --upstream http://127.0.0.1:PORT [--port 0] [--seed 1] [--rate 0.2]
        [--kinds 500,503,429,reset,truncate,stall] [--max-consecutive 3] [--max-stalls 0]
        [--stall-seconds 75] [--log FILE] [--stats FILE] [--lifetime SECONDS]
Prints `PORT <n>` on stdout once listening; stops on SIGTERM, when stdin closes (with
--stdin-lifeline) or after --lifetime seconds (default 3600), whichever comes first."""
import argparse
import hashlib
import http.client
import http.server
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape

from http_body import read_request_body

ALL_KINDS = ("500", "503", "429", "reset", "truncate", "stall")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection",
              "te", "trailer", "upgrade"}


def error_xml(code, message, resource):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '<Resource>%s</Resource><RequestId>fault-proxy</RequestId></Error>' % (
                escape(code), escape(message), escape(resource))).encode()


class FaultState:
    def __init__(self, upstream, seed=1, rate=0.2, kinds=ALL_KINDS, max_consecutive=3,
                 max_stalls=0, stall_seconds=75.0, log_path=None, stats_path=None, match=None):
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream_host = parsed.hostname
        self.upstream_port = parsed.port or 80
        self.seed = seed
        self.rate = rate
        self.kinds = list(kinds)
        self.max_consecutive = max_consecutive
        self.max_stalls = max_stalls
        self.stall_seconds = stall_seconds
        self.match = list(match or [])
        self.log_path = log_path
        self.stats_path = stats_path
        self.lock = threading.Lock()
        self.occurrence = {}   # request identity -> attempts seen
        self.consecutive = {}  # request identity -> faults in a row
        self.stalls = 0
        self.stop_event = threading.Event()
        self.local = threading.local()
        self.reset_stats()

    def reset_stats(self):
        with self.lock:
            self.stats = {"requests": 0, "forwarded": 0, "faulted": 0,
                          "by_kind": {k: 0 for k in ALL_KINDS}}

    def configure(self, cfg):
        with self.lock:
            for name in ("rate", "max_consecutive", "max_stalls", "stall_seconds", "seed"):
                if name in cfg:
                    setattr(self, name, cfg[name])
            if "kinds" in cfg:
                unknown = set(cfg["kinds"]) - set(ALL_KINDS)
                if unknown:
                    raise ValueError(f"unknown fault kinds {sorted(unknown)}")
                self.kinds = list(cfg["kinds"])
            if "match" in cfg:
                self.match = list(cfg["match"] or [])

    def snapshot(self):
        with self.lock:
            return json.loads(json.dumps(self.stats))

    def write_stats(self):
        if not self.stats_path:
            return
        data = json.dumps(self.snapshot(), sort_keys=True)
        tmp = f"{self.stats_path}.tmp-{os.getpid()}-{threading.get_ident()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(data + "\n")
        os.replace(tmp, self.stats_path)

    def log(self, record):
        if not self.log_path:
            return
        line = json.dumps(record, sort_keys=True)
        with self.lock:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(line + "\n")

    def decide(self, method, raw_target):
        """The fault kind for this request, or None. Also returns the variant digest byte."""
        identity = f"{method} {raw_target}"
        with self.lock:
            self.stats["requests"] += 1
            n = self.occurrence.get(identity, 0)
            self.occurrence[identity] = n + 1
            if self.rate <= 0 or not self.kinds:
                self.consecutive[identity] = 0
                return None, 0
            if self.match and not any(m in identity for m in self.match):
                self.consecutive[identity] = 0
                return None, 0
            digest = hashlib.sha256(f"{self.seed}|{identity}|{n}".encode()).digest()
            u = int.from_bytes(digest[:8], "big") / 2.0 ** 64
            in_a_row = self.consecutive.get(identity, 0)
            limited = self.max_consecutive is not None and self.max_consecutive >= 0
            if u >= self.rate or (limited and in_a_row >= self.max_consecutive):
                self.consecutive[identity] = 0
                return None, 0
            kind = self.kinds[digest[8] % len(self.kinds)]
            if kind == "stall":
                if self.stalls >= self.max_stalls:
                    others = [k for k in self.kinds if k != "stall"]
                    if not others:
                        self.consecutive[identity] = 0
                        return None, 0
                    kind = others[digest[9] % len(others)]
                else:
                    self.stalls += 1
            self.consecutive[identity] = in_a_row + 1
            self.stats["faulted"] += 1
            self.stats["by_kind"][kind] += 1
            return kind, digest[10]

    def upstream(self, fresh=False):
        conn = getattr(self.local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=300)
            self.local.conn = conn
        return conn


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault-proxy"
    state: FaultState = None

    def log_message(self, format, *args):  # noqa: A002
        pass

    def handle_expect_100(self):
        # Like R2: no interim 100 (the client must not wait for one); read the body when it comes.
        return True

    def _reset(self):
        """Drops the connection with a TCP RST."""
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    def _control(self, body):
        state = self.state
        path = self.path.split("?", 1)[0]
        try:
            if self.command == "GET" and path == "/__faults__/stats":
                payload = json.dumps(state.snapshot(), sort_keys=True).encode()
            elif self.command == "POST" and path == "/__faults__/config":
                state.configure(json.loads(body or b"{}"))
                payload = b"{}"
            elif self.command == "POST" and path == "/__faults__/reset-stats":
                state.reset_stats()
                payload = b"{}"
            else:
                self.send_error(404)
                return
        except ValueError as e:
            payload = json.dumps({"error": str(e)}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _forward(self, body):
        state = self.state
        headers = {n: v for n, v in self.headers.items()
                   if n.lower() not in ("expect", "connection", "transfer-encoding",
                                        "content-length", "keep-alive")}
        headers["Content-Length"] = str(len(body))
        for attempt in range(2):
            conn = state.upstream(fresh=attempt > 0)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                break
            except (http.client.HTTPException, OSError):
                if attempt == 1:
                    raise
        with state.lock:
            state.stats["forwarded"] += 1
        out = [(n, v) for n, v in response.getheaders() if n.lower() not in HOP_BY_HOP]
        if self.command == "HEAD":
            length = response.getheader("Content-Length")
            if length is not None:
                out.append(("Content-Length", length))
        else:
            out.append(("Content-Length", str(len(payload))))
        return response.status, response.reason, out, payload

    def _send_head(self, status, reason, headers):
        self.send_response(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def _handle(self):
        state = self.state
        body = read_request_body(self)
        if self.path.startswith("/__faults__/"):
            return self._control(body)
        raw_path = self.path.split("?", 1)[0]
        kind, variant = state.decide(self.command, self.path)
        record = {"t": round(time.time(), 3), "method": self.command, "target": self.path,
                  "fault": kind}
        if kind in ("500", "503", "429"):
            code = {"500": "InternalError", "503": "SlowDown", "429": "SlowDown"}[kind]
            payload = error_xml(code, "injected by fault_proxy", raw_path)
            headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(payload)))]
            if kind == "429":
                headers.append(("Retry-After", "0"))
            self._send_head(int(kind), None, headers)
            if self.command != "HEAD":
                self.wfile.write(payload)
            state.log(record)
            state.write_stats()
            return None
        if kind == "reset" and variant % 2 == 0:
            record["when"] = "before forwarding"
            state.log(record)
            state.write_stats()
            return self._reset()
        status, reason, headers, payload = self._forward(body)
        if kind is None:
            self._send_head(status, reason, headers)
            if self.command != "HEAD" and payload:
                self.wfile.write(payload)
            return None
        record["status"] = status
        # What a fault lets through: the whole head and half the body; for a bodiless answer
        # (HEAD, empty body) only half the head, since a complete head would be a complete answer.
        head = self._head_bytes(status, reason, headers)
        bodiless = self.command == "HEAD" or not payload
        if bodiless:
            sent = head[: len(head) // 2]
        else:
            sent = head + payload[: len(payload) // 2]
        if kind == "truncate" and bodiless:
            kind = "reset"
            record["fault"] = "truncate->reset (bodiless answer)"
        record["sent"] = len(sent)
        record["of"] = len(head) + (0 if self.command == "HEAD" else len(payload))
        if kind == "reset":
            record["when"] = "mid-response"
            state.log(record)
            state.write_stats()
            self.wfile.write(sent)
            return self._reset()
        if kind == "truncate":
            state.log(record)
            state.write_stats()
            self.wfile.write(sent)
            self.wfile.flush()
            self.close_connection = True
            return None
        # stall: part of the answer, then silence past the client's timeout.
        record["seconds"] = state.stall_seconds
        state.log(record)
        state.write_stats()
        self.wfile.write(sent)
        self.wfile.flush()
        state.stop_event.wait(state.stall_seconds)
        self.close_connection = True
        return None

    def _head_bytes(self, status, reason, headers):
        lines = [f"HTTP/1.1 {status} {reason or ''}".rstrip(),
                 f"Server: {self.server_version}", "Connection: close"]
        lines += [f"{n}: {v}" for n, v in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def do_GET(self):
        try:
            self._handle()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ValueError)):
            return
        super().handle_error(request, client_address)


class FaultProxy:
    """The proxy in a background thread: `with FaultProxy(upstream, seed=1, rate=0.2) as p:`."""

    def __init__(self, upstream, port=0, **kwargs):
        self.state = FaultState(upstream, **kwargs)
        handler = type("BoundFaultHandler", (Handler,), {"state": self.state})
        self.httpd = QuietServer(("127.0.0.1", port), handler)
        self.port = self.httpd.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.state.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()
        self.state.write_stats()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--kinds", default=",".join(ALL_KINDS))
    parser.add_argument("--max-consecutive", type=int, default=3)
    parser.add_argument("--max-stalls", type=int, default=0)
    parser.add_argument("--stall-seconds", type=float, default=75.0)
    parser.add_argument("--match", action="append", default=[])
    parser.add_argument("--log")
    parser.add_argument("--stats")
    parser.add_argument("--lifetime", type=float, default=3600.0)
    parser.add_argument("--stdin-lifeline", action="store_true",
                        help="stop when stdin reaches end of file (the parent died or closed it)")
    args = parser.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = set(kinds) - set(ALL_KINDS)
    if unknown:
        parser.error(f"unknown fault kinds: {sorted(unknown)}")
    proxy = FaultProxy(args.upstream, args.port, seed=args.seed, rate=args.rate, kinds=kinds,
                       max_consecutive=args.max_consecutive, max_stalls=args.max_stalls,
                       stall_seconds=args.stall_seconds, log_path=args.log,
                       stats_path=args.stats, match=args.match)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    if args.stdin_lifeline:
        def lifeline():
            try:
                sys.stdin.read()
            finally:
                done.set()
        threading.Thread(target=lifeline, daemon=True).start()
    proxy.start()
    print(f"PORT {proxy.port}", flush=True)
    done.wait(args.lifetime)
    proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
