#!/usr/bin/env python3
"""A signature-verifying reverse proxy for S3 (the tests' SigV4 oracle), in front of moto_server.

Every request is checked independently with botocore's reference `S3SigV4Auth`, pinned to the
request's own `x-amz-date`, and forwarded to the upstream only when the signature matches.
Failures are answered with real S3 XML errors (403 SignatureDoesNotMatch, InvalidAccessKeyId,
RequestTimeTooSkewed, AccessDenied; 400 XAmzContentSHA256Mismatch, AuthorizationHeaderMalformed)
and logged with the expected canonical request.

Checks (shared/spec/s3-r2.md §6):
 1. scope `<date>/<auto|us-east-1>/s3/aws4_request` with a known key; date == x-amz-date's date;
 2. `host`, `x-amz-date`, `x-amz-content-sha256` signed; `STREAMING-*` payloads rejected;
 3. the raw path is decoded once and re-encoded by S3 rules, the query is rebuilt (decoded,
    re-encoded, sorted) from the raw string, signed-header values come from the wire (Host with
    its port);
 4. a hex payload hash must equal the body's SHA-256; skew <= 15 min.
R2 mode (default on): never sends `100 Continue` (logs any `Expect`), caps ListObjectsV2
`max-keys` at 1,000, rejects multipart uploads with unequal non-trailing parts (InvalidPart).

Test hooks (unsigned, under /__proxy__/): POST /__proxy__/faults with a JSON list of faults,
each {"method": "PUT", "path_contains": "...", "query_contains": "...", "count": 1,
"action": "status"|"reset"|"reset_after"|"delay" ("seconds": answer normally, that much later), "status": 503, "code": "SlowDown", "retry_after": "0"};
DELETE /__proxy__/faults clears them. Faults apply after a successful signature check;
"reset" drops the connection instead of forwarding, "reset_after" forwards and then drops it
(the request landed, its answer is lost).
`--latency-ms` delays every forwarded request (for concurrency measurements).

Each request is logged as one JSON line in --log: method, raw path and query, status, error
code, the Expect header (or null), signed headers, body size, seconds.

Run: python3 sigv4_proxy.py --upstream http://127.0.0.1:PORT --key testkey:testsecret
     [--port 0] [--log FILE] [--no-r2] [--latency-ms N]
Prints `PORT <n>` on stdout once listening. Uses Debian's python3-botocore (no moto needed)."""
import argparse
import calendar
import contextlib
import hashlib
import http.client
import http.server
import itertools
import json
import re
import socket
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from http_body import read_request_body

MAX_SKEW_SECONDS = 15 * 60
ALLOWED_REGIONS = ("auto", "us-east-1")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server",
              "proxy-connection", "te", "trailer", "upgrade"}
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/,\s]*)/([^/,\s]+)/aws4_request,\s*"
    r"SignedHeaders=([a-z0-9;\-]+),\s*Signature=([0-9a-f]{64})$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def s3_encode(raw: bytes, keep_slash: bool) -> str:
    return urllib.parse.quote(raw, safe="/~" if keep_slash else "~")


def canonical_path(raw_path: str) -> str:
    return s3_encode(urllib.parse.unquote_to_bytes(raw_path), True)


def canonical_query_pairs(raw_query: str):
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((urllib.parse.unquote_to_bytes(name), urllib.parse.unquote_to_bytes(value)))
    return pairs


def encode_query(pairs) -> str:
    encoded = sorted((s3_encode(n, False), s3_encode(v, False)) for n, v in pairs)
    return "&".join(f"{n}={v}" for n, v in encoded)


class S3Reject(Exception):
    def __init__(self, status, code, message, canonical=None):
        super().__init__(message)
        self.status, self.code, self.message, self.canonical = status, code, message, canonical


class Verifier:
    """Recomputes a request's signature with botocore's S3SigV4Auth."""

    def __init__(self, keys):
        self.keys = dict(keys)  # access key id -> secret

    def verify(self, method, raw_target, headers, body, now=None):
        """headers: list of (name, value) as received. Returns the signed-header list."""
        now = time.time() if now is None else now
        lower = {}
        for name, value in headers:
            lower.setdefault(name.lower(), []).append(value)
        auth = lower.get("authorization", [None])[0]
        if not auth:
            raise S3Reject(403, "AccessDenied", "Missing Authorization header")
        m = AUTH_RE.match(auth.strip())
        if not m:
            raise S3Reject(400, "AuthorizationHeaderMalformed", "Malformed Authorization header")
        access_key, scope_date, region, service, signed_list, signature = m.groups()
        if access_key not in self.keys:
            raise S3Reject(403, "InvalidAccessKeyId",
                           "The AWS Access Key Id you provided does not exist in our records.")
        if service != "s3" or region not in ALLOWED_REGIONS:
            raise S3Reject(400, "AuthorizationHeaderMalformed",
                           f"credential scope must be <date>/auto|us-east-1/s3/aws4_request")
        signed = signed_list.split(";")
        for required in ("host", "x-amz-date", "x-amz-content-sha256"):
            if required not in signed:
                raise S3Reject(403, "AccessDenied", f"'{required}' must be a signed header")
        if signed != sorted(signed):
            raise S3Reject(403, "SignatureDoesNotMatch", "SignedHeaders are not sorted")
        for name in signed:
            if name not in lower:
                raise S3Reject(403, "SignatureDoesNotMatch", f"signed header '{name}' missing")
        amz_date = lower["x-amz-date"][0]
        try:
            t = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            raise S3Reject(403, "AccessDenied", "Invalid x-amz-date") from None
        if scope_date != amz_date[:8]:
            raise S3Reject(403, "SignatureDoesNotMatch", "credential scope date != x-amz-date")
        if abs(now - t) > MAX_SKEW_SECONDS:
            raise S3Reject(403, "RequestTimeTooSkewed",
                           "The difference between the request time and the current time is too "
                           "large.")
        payload = lower["x-amz-content-sha256"][0]
        if payload.startswith("STREAMING-"):
            raise S3Reject(400, "InvalidRequest", "STREAMING-* payloads are not supported (R2)")
        if HEX64.match(payload):
            if hashlib.sha256(body).hexdigest() != payload:
                raise S3Reject(400, "XAmzContentSHA256Mismatch",
                               "The provided 'x-amz-content-sha256' header does not match what "
                               "was computed.")
        elif payload != "UNSIGNED-PAYLOAD":
            raise S3Reject(400, "InvalidArgument", "x-amz-content-sha256 must be hex or "
                                                   "UNSIGNED-PAYLOAD")
        raw_path, _, raw_query = raw_target.partition("?")
        url = "http://" + lower["host"][0] + canonical_path(raw_path)
        query = encode_query(canonical_query_pairs(raw_query))
        if query:
            url += "?" + query
        signed_headers = [(n, v) for n, v in headers if n.lower() in signed]
        request = AWSRequest(method=method, url=url, headers={}, data=body)
        for name, value in signed_headers:
            request.headers[name] = value  # an email.message: repeated names append, in order
        request.context["timestamp"] = amz_date
        signer = S3SigV4Auth(Credentials(access_key, self.keys[access_key]), "s3", region)
        canonical = signer.canonical_request(request)
        expected_signed = canonical.split("\n")[-2]
        string_to_sign = signer.string_to_sign(request, canonical)
        expected = signer.signature(string_to_sign, request)
        if expected != signature or expected_signed != signed_list:
            raise S3Reject(403, "SignatureDoesNotMatch",
                           "The request signature we calculated does not match the signature "
                           "you provided. Check your key and signing method.", canonical)
        return signed


def error_xml(code, message, request_id, resource=""):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '<Resource>%s</Resource><RequestId>%s</RequestId></Error>' % (
                escape(code), escape(message), escape(resource), escape(request_id))).encode()


class ProxyState:
    def __init__(self, upstream, keys, log_path=None, r2=True, latency_ms=0):
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream_host = parsed.hostname
        self.upstream_port = parsed.port or 80
        self.verifier = Verifier(keys)
        self.log_path = log_path
        self.r2 = r2
        self.latency = latency_ms / 1000.0
        self.lock = threading.Lock()
        self.faults = []
        self.part_sizes = {}  # upload id -> {part number: size}
        self.ids = itertools.count(1)
        self.local = threading.local()
        self.key_locks = {}  # object path -> lock serialising its conditional PUTs

    def conditional_lock(self, raw_path):
        """S3 and R2 apply a conditional PUT (If-Match / If-None-Match) atomically; moto checks,
        then writes, with other requests in between (its server is threaded). Forwarding the
        conditional PUTs of one key one at a time gives the tests S3's guarantee."""
        with self.lock:
            return self.key_locks.setdefault(raw_path, threading.Lock())

    def log(self, record):
        if not self.log_path:
            return
        line = json.dumps(record, ensure_ascii=False)
        with self.lock:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(line + "\n")

    def take_fault(self, method, raw_path, raw_query):
        with self.lock:
            for fault in self.faults:
                if fault.get("count", 1) <= 0:
                    continue
                if fault.get("method") and fault["method"] != method:
                    continue
                if fault.get("path_contains") and fault["path_contains"] not in \
                        urllib.parse.unquote(raw_path):
                    continue
                if fault.get("query_contains") and fault["query_contains"] not in raw_query:
                    continue
                fault["count"] = fault.get("count", 1) - 1
                return dict(fault)
        return None

    def upstream(self, fresh=False):
        conn = getattr(self.local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.local.conn = conn
        return conn


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sigv4-proxy"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK add
    # ~40 ms to every response with a body on keep-alive connections.
    disable_nagle_algorithm = True
    state: ProxyState = None  # set on the subclass

    def log_message(self, format, *args):  # noqa: A002
        pass

    # R2 never answers 100 Continue: record the header and read the body when it comes.
    def handle_expect_100(self):
        if not self.state.r2:
            return super().handle_expect_100()
        return True

    def _send(self, status, headers, body, request_id=None):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if request_id:
            self.send_header("x-amz-request-id", request_id)
        if self.command != "HEAD" or not any(n.lower() == "content-length" for n, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _control(self, body):
        state = self.state
        if self.command == "POST":
            with state.lock:
                state.faults.extend(json.loads(body or b"[]"))
        elif self.command == "DELETE":
            with state.lock:
                state.faults.clear()
        self._send(204, [], b"")

    def _handle(self):
        state = self.state
        started = time.monotonic()
        request_id = "proxy-%06d" % next(state.ids)
        raw_target = self.path
        raw_path, _, raw_query = raw_target.partition("?")
        expect = self.headers.get("Expect")
        body = read_request_body(self)
        if raw_path.startswith("/__proxy__/"):
            return self._control(body)
        self.fault_injected = False
        record = {"id": request_id, "method": self.command, "path": raw_path, "query": raw_query,
                  "expect": expect, "body_bytes": len(body),
                  "content_sha256": self.headers.get("x-amz-content-sha256"),
                  "content_type": self.headers.get("Content-Type"),
                  "cache_control": self.headers.get("Cache-Control"),
                  "if_none_match": self.headers.get("If-None-Match")}
        try:
            record["signed_headers"] = state.verifier.verify(
                self.command, raw_target, list(self.headers.items()), body)
            self._check_r2_rules(raw_path, raw_query, body)
            status, headers, payload = self._forward_or_fault(raw_path, raw_query, body)
        except S3Reject as e:
            record.update({"status": e.status, "error": e.code,
                           "seconds": round(time.monotonic() - started, 4)})
            if e.canonical is not None:
                record["expected_canonical_request"] = e.canonical
            state.log(record)
            return self._send(e.status, [("Content-Type", "application/xml")],
                              error_xml(e.code, e.message, request_id, raw_path), request_id)
        except ConnectionResetError:
            record.update({"status": 0, "error": "reset", "fault": True,
                           "seconds": round(time.monotonic() - started, 4)})
            state.log(record)
            self.close_connection = True
            return None
        record.update({"status": status, "error": None, "fault": self.fault_injected,
                       "seconds": round(time.monotonic() - started, 4)})
        state.log(record)
        self._send(status, headers, payload)
        return None

    def _check_r2_rules(self, raw_path, raw_query, body):
        state = self.state
        if not state.r2:
            return
        params = dict((n.decode(), v.decode("utf-8", "replace"))
                      for n, v in canonical_query_pairs(raw_query))
        if self.command == "POST" and "uploadId" in params:
            sizes = state.part_sizes.get(params["uploadId"], {})
            try:
                root = ET.fromstring(body)
            except ET.ParseError:
                raise S3Reject(400, "MalformedXML", "The XML you provided was not well-formed")
            numbers = [int(e.text) for e in root.iter() if e.tag.endswith("PartNumber")]
            found = [sizes.get(n) for n in numbers]
            if found and None not in found:
                first = found[0]
                for n, size in zip(numbers[1:-1], found[1:-1]):
                    if size != first:
                        raise S3Reject(400, "InvalidPart",
                                       f"Non Uniform Part Sizes: Expected part {n} to have size "
                                       f"{first}, found {size}")
                if len(found) > 1 and found[-1] > first:
                    raise S3Reject(400, "InvalidPart",
                                   f"Non Uniform Part Sizes: Expected part {numbers[-1]} to have "
                                   f"size at most {first}, found {found[-1]}")

    def _forward_or_fault(self, raw_path, raw_query, body):
        state = self.state
        fault = state.take_fault(self.command, raw_path, raw_query)
        lose_answer = False
        if fault and fault.get("action") == "delay":  # a slow but correct answer
            time.sleep(float(fault.get("seconds", 0.5)))
            fault = None
        if fault:
            self.fault_injected = True
            if fault.get("action") == "reset":
                raise ConnectionResetError("injected reset")
            lose_answer = fault.get("action") == "reset_after"
        if fault and not lose_answer:
            headers = [("Content-Type", "application/xml")]
            if fault.get("retry_after") is not None:
                headers.append(("Retry-After", str(fault["retry_after"])))
            status = int(fault.get("status", 503))
            code = fault.get("code", "SlowDown")
            return status, headers, error_xml(code, "injected by sigv4_proxy", "fault", raw_path)
        if state.latency:
            time.sleep(state.latency)
        query = raw_query
        if state.r2 and self.command == "GET" and "list-type=2" in raw_query:
            pairs = [(n, v) for n, v in canonical_query_pairs(raw_query) if n != b"max-keys"]
            original = dict(canonical_query_pairs(raw_query)).get(b"max-keys")
            cap = 1000 if original is None else min(1000, int(original))
            query = encode_query(pairs + [(b"max-keys", str(cap).encode())])
        target = raw_path + ("?" + query if query else "")
        headers = {n: v for n, v in self.headers.items()
                   if n.lower() not in ("expect", "connection", "transfer-encoding",
                                        "content-length", "keep-alive")}
        headers["Content-Length"] = str(len(body))
        conditional = self.command == "PUT" and any(
            n.lower() in ("if-match", "if-none-match") for n in headers)
        with state.conditional_lock(raw_path) if conditional else contextlib.nullcontext():
            for attempt in range(2):
                conn = state.upstream(fresh=attempt > 0)
                try:
                    conn.request(self.command, target, body=body, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                    break
                except (http.client.HTTPException, OSError):
                    if attempt == 1:
                        raise
        if lose_answer:  # the request landed; its answer is lost
            raise ConnectionResetError("injected reset after forwarding")
        out_headers = [(n, v) for n, v in response.getheaders() if n.lower() not in HOP_BY_HOP]
        if self.command == "HEAD":
            length = response.getheader("Content-Length")
            if length is not None:
                out_headers.append(("Content-Length", length))
        if state.r2 and self.command == "PUT" and response.status == 200:
            params = dict((n.decode(), v.decode("utf-8", "replace"))
                          for n, v in canonical_query_pairs(raw_query))
            if "uploadId" in params and "partNumber" in params:
                with state.lock:
                    state.part_sizes.setdefault(params["uploadId"], {})[
                        int(params["partNumber"])] = len(body)
        return response.status, out_headers, payload

    def do_GET(self):
        self._handle()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the default backlog of 5 resets bursts of 32+ new connections

    def handle_error(self, request, client_address):
        # A client that hangs up (a cancelled transfer) is not an error worth a traceback.
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


class SigV4Proxy:
    """The proxy in a background thread: `with SigV4Proxy(upstream, {"key": "secret"}) as p:`."""

    def __init__(self, upstream, keys, log_path=None, r2=True, latency_ms=0, port=0):
        self.state = ProxyState(upstream, keys, log_path, r2, latency_ms)
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.httpd = QuietServer(("127.0.0.1", port), handler)
        self.port = self.httpd.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--key", action="append", default=[], help="ACCESS_KEY:SECRET")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log")
    parser.add_argument("--no-r2", action="store_true")
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args(argv)
    keys = dict(k.split(":", 1) for k in args.key) or {"testkey": "testsecret"}
    proxy = SigV4Proxy(args.upstream, keys, args.log, not args.no_r2, args.latency_ms, args.port)
    print(f"PORT {proxy.port}", flush=True)
    try:
        proxy.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
