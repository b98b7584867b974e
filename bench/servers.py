"""The benchmark's servers, all on 127.0.0.1 and stopped by PID:

    client ──> latency proxy (20 ms per exchange) ──> nginx ──┬─> static files (object GET/HEAD)
                                                              └─> moto_server (everything else)

nginx serves `GET`/`HEAD` of an object (no query string) from a directory that mirrors the
bucket (`<static>/<bucket>/<key>`) and passes everything else — PUT, multipart, listings, objects
missing from the mirror — to moto_server over kept-alive connections. The bench writes every
object it seeds into moto *and* into the mirror, so both give the same bytes; nginx sends no
ETag (`etag off`), so clients see the listing's ETags only (moto: the MD5), as with S3.

nginx also counts the clients' requests: one line per request in `requests.log` (method, query
or not, served by moto or from the mirror, status, bytes in and out, CopyObject or not), except
those marked `X-Bench-Load` — wrk's scripts set it, so its millions of requests stay out.
`RequestLog` reads the lines one run added (`mark()` before, `since(mark)` after)."""
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "support"))

import tools  # noqa: E402  (find_tool: PATH, ~/.pyenv/shims, ~/.pyenv/versions/*/bin)

ACCESS_KEY = "benchkey"
SECRET_KEY = "benchsecret"
BUCKET = "bench"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client_env(endpoint, extra=None):
    """Environment for every client (libmip, the reference, boto3, aws, rclone): test credentials,
    no proxies, no user AWS or rclone configuration, no SDK-default CRC32 checksums."""
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy") and not k.startswith(("AWS_", "RCLONE_"))}
    env.update({
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
        "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
        "NO_PROXY": "*",
    })
    if extra:
        env.update(extra)
    return env


class Process:
    """A child process in its own process group, stopped by PID (group) on stop()."""

    def __init__(self, argv, log_path, env=None, stdout_pipe=False):
        self.argv = [str(a) for a in argv]
        self.log_path = pathlib.Path(log_path)
        self.env = env
        self.stdout_pipe = stdout_pipe
        self.proc = None

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE if self.stdout_pipe else log,
                                     stderr=log, stdin=subprocess.DEVNULL, env=self.env,
                                     start_new_session=True)
        log.close()
        return self

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None


def wait_http(url, proc, what, timeout=15.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except (urllib.error.URLError, OSError) as e:
            last = e
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up ({last}); log: {proc.log_path}")


class Moto:
    """moto_server's application and server, started by moto_bulk.py (which adds the bulk-seeding
    endpoint) with this Python — the one run.sh chose because it has moto."""

    def __init__(self, workdir):
        try:
            import moto  # noqa: F401  (moto_bulk.py needs it in this Python)
        except ImportError:
            raise RuntimeError(f"{sys.executable} has no moto (run the bench through bench/run.sh)") from None
        self.port = free_port()
        self.p = Process([sys.executable, HERE / "moto_bulk.py", "-H", "127.0.0.1", "-p", self.port],
                         pathlib.Path(workdir) / "moto.log", env=client_env("http://127.0.0.1:1"))

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.p.start()
        wait_http(self.endpoint + "/moto-api/", self.p, "moto_server")
        return self

    def stop(self):
        self.p.stop()


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    map $http_x_bench_load $bench_log {{ "" 1; default 0; }}
    map $http_x_amz_copy_source $bench_copy {{ "" plain; default copy; }}
    log_format bench '$request_method q$is_args $upstream_addr $status $request_length $bytes_sent $bench_copy';
    access_log {work}/requests.log bench if=$bench_log;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_max_body_size 0;
    client_body_buffer_size 1m;
    client_body_temp_path {work}/client_body;
    proxy_temp_path {work}/proxy_temp;
    types {{ }}
    default_type application/octet-stream;
    upstream moto {{ server 127.0.0.1:{moto_port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        etag off;
        location / {{
            error_page 418 = @moto;
            if ($request_method !~ ^(GET|HEAD)$) {{ return 418; }}
            if ($args != "") {{ return 418; }}
            root {static};
            try_files $uri @moto;
        }}
        location @moto {{
            proxy_pass http://moto;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 600s;
            proxy_send_timeout 600s;
        }}
    }}
}}
"""


class RequestLog:
    """The requests nginx logged (see NGINX_CONF's `bench` format). A line is written when nginx
    has sent the response, i.e. before the client can have read it, so every request of a client
    process that has exited is in the file."""

    def __init__(self, path):
        self.path = pathlib.Path(path)

    def mark(self):
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def since(self, mark):
        """[{method, query, moto, status, bytes_in, bytes_out, copy}] logged after `mark`."""
        try:
            with open(self.path, "rb") as f:
                f.seek(mark)
                text = f.read().decode(errors="replace")
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) != 7:
                continue
            method, q, upstream, status, rin, rout, copy = parts
            out.append({"method": method, "query": q == "q?", "moto": upstream != "-",
                        "status": int(status) if status.isdigit() else 0,
                        "bytes_in": int(rin) if rin.isdigit() else 0,
                        "bytes_out": int(rout) if rout.isdigit() else 0, "copy": copy == "copy"})
        return out


def request_kind(r):
    """A short name for one logged request: GET (object, from the mirror), GET moto (object nginx
    did not have: a miss or 404), LIST (GET with a query: ListObjectsV2), PUT, PUT part, COPY,
    HEAD, POST (multipart create/complete), DELETE."""
    m = r["method"]
    if m == "GET":
        return "LIST" if r["query"] else ("GET moto" if r["moto"] else "GET")
    if m == "PUT":
        return "COPY" if r["copy"] else ("PUT part" if r["query"] else "PUT")
    if m == "HEAD":
        return "HEAD moto" if r["moto"] else "HEAD"
    return m


class Nginx:
    def __init__(self, workdir, static_dir, moto_port):
        self.exe = shutil.which("nginx") or "/usr/sbin/nginx"
        self.work = pathlib.Path(workdir) / "nginx"
        self.work.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        conf = self.work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(work=self.work, moto_port=moto_port, port=self.port,
                                           static=static_dir))
        self.p = Process([self.exe, "-p", self.work, "-c", conf, "-e", self.work / "nginx-error.log"],
                         self.work / "nginx.log")
        self.requests = RequestLog(self.work / "requests.log")

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.p.start()
        wait_http(self.endpoint + "/", self.p, "nginx")
        return self

    def stop(self):
        self.p.stop()


class LatencyProxy:
    def __init__(self, workdir, upstream_port, delay_ms, name="proxy"):
        self.delay_ms = delay_ms
        self.p = Process([sys.executable, HERE / "latency_proxy.py", "--upstream", f"127.0.0.1:{upstream_port}",
                          "--delay-ms", delay_ms], pathlib.Path(workdir) / f"{name}.log", stdout_pipe=True)
        self.port = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.p.start()
        line = self.p.proc.stdout.readline().decode()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"latency proxy did not start: {line!r}; log: {self.p.log_path}")
        self.port = int(line.split()[1])
        return self

    def stop(self):
        self.p.stop()


class Stack:
    """moto + nginx + the latency proxy (+ a zero-delay proxy for measuring the proxy itself)."""

    def __init__(self, workdir, delay_ms=20):
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.static = self.workdir / "static"
        (self.static / BUCKET).mkdir(parents=True, exist_ok=True)
        self.delay_ms = delay_ms
        self.moto = self.nginx = self.proxy = self.proxy0 = None

    def start(self):
        try:
            self.moto = Moto(self.workdir).start()
            self.nginx = Nginx(self.workdir, self.static, self.moto.port).start()
            self.proxy = LatencyProxy(self.workdir, self.nginx.port, self.delay_ms).start()
            self.proxy0 = LatencyProxy(self.workdir, self.nginx.port, 0, name="proxy0").start()
            import boto3  # noqa: F401  (pyenv Python)
            self.admin().create_bucket(Bucket=BUCKET)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        for s in (self.proxy0, self.proxy, self.nginx, self.moto):
            if s is not None:
                try:
                    s.stop()
                except Exception as e:  # keep stopping the others
                    print(f"bench: stopping a server: {e}", file=sys.stderr)

    @property
    def endpoint(self):
        return self.proxy.endpoint

    @property
    def requests(self):
        return self.nginx.requests

    def admin(self, max_pool=32):
        """A boto3 client straight to moto (no proxy): seeding and cleaning, never timed."""
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.moto.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
                            config=Config(max_pool_connections=max_pool, retries={"max_attempts": 5},
                                          request_checksum_calculation="when_required",
                                          response_checksum_validation="when_required"))

    def seed(self, objects, mirror=True):
        """objects: iterable of (key, bytes), written to moto (moto_bulk.py's endpoint, one
        request for all) and, with mirror, to nginx's mirror. Untimed set-up."""
        import urllib.request
        staging = self.workdir / "unmirrored"
        lines = []
        for key, data in objects:
            path = (self.static / BUCKET / key) if mirror else (staging / key)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
            lines.append(f"{key}\t{path}")
        try:
            for i in range(0, len(lines), 20000):
                body = "\n".join(lines[i:i + 20000]).encode()
                req = urllib.request.Request(f"{self.moto.endpoint}/_bench/seed?bucket={BUCKET}", data=body,
                                             method="POST")
                with urllib.request.urlopen(req, timeout=600) as r:
                    n = int(r.read().decode().strip())
                if n != len(lines[i:i + 20000]):
                    raise RuntimeError(f"moto seeded {n} of {len(lines[i:i + 20000])} objects")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"seeding moto failed: {e.read().decode(errors='replace')[:500]}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def delete_prefix(self, prefix):
        """Removes every object under prefix (moto and mirror); untimed housekeeping."""
        s3 = self.admin()
        token = None
        while True:
            kw = {"Bucket": BUCKET, "Prefix": prefix}
            if token:
                kw["ContinuationToken"] = token
            page = s3.list_objects_v2(**kw)
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            for i in range(0, len(keys), 1000):
                s3.delete_objects(Bucket=BUCKET, Delete={"Objects": keys[i:i + 1000], "Quiet": True})
            if not page.get("IsTruncated"):
                break
            token = page["NextContinuationToken"]
        # unfinished multipart uploads hold parts in moto's memory
        up = s3.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix)
        for u in up.get("Uploads", []):
            s3.abort_multipart_upload(Bucket=BUCKET, Key=u["Key"], UploadId=u["UploadId"])
        shutil.rmtree(self.static / BUCKET / prefix, ignore_errors=True)
