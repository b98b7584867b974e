"""S3 test servers: a real moto_server on 127.0.0.1 behind the signature-verifying proxy
(tests/servers/sigv4_proxy.py), with a bucket created through the aws CLI.

    with S3Stack() as s3:          # moto + bucket "test" + proxy (R2 mode)
        s3.endpoint                # http://127.0.0.1:<proxy port>  (what clients talk to)
        s3.moto_endpoint           # moto itself (bucket admin only; never a signature oracle)
        s3.aws("s3", "cp", ...)    # the aws CLI through the proxy
        s3.records()               # the proxy's JSON log, one dict per request

moto_server and aws are found by tools.require_tool() (PATH, ~/.pyenv/shims,
~/.pyenv/versions/*/bin); a missing tool raises (a test failure, never a skip). The proxy itself
runs in this process and needs only botocore (Debian's python3-botocore)."""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import threading

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "servers"))

import tools  # noqa: E402
from sigv4_proxy import SigV4Proxy  # noqa: E402

ACCESS_KEY = "testkey"
SECRET_KEY = "testsecret"
BUCKET = "test"


def clean_env(extra=None):
    """Environment for child tools: no proxies, no user AWS config, test credentials."""
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy") and not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        # SDK-default CRC32 checksums have broken R2 uploads (s3-r2.md §3).
        "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
        "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
        "NO_PROXY": "*",
    })
    if extra:
        env.update(extra)
    return env


class MotoServer:
    """moto_server -H 127.0.0.1 -p 0, stopped by PID.

    The kernel picks the port (no probe-then-bind race with other processes), and `start()`
    returns once moto listens: werkzeug prints ` * Running on http://127.0.0.1:<port>` after it
    has bound the socket, and we wait for that line however long a loaded machine takes to import
    moto — no polling against a deadline. Its output goes on to moto.log through a thread."""

    READY = re.compile(rb"Running on http://127\.0\.0\.1:(\d+)")

    def __init__(self, log_dir):
        self.exe = tools.require_tool("moto_server")
        self.log_path = pathlib.Path(log_dir) / "moto.log"
        self.proc = None
        self.port = None
        self._copier = None

    def start(self):
        env = clean_env({"PYTHONUNBUFFERED": "1"})
        self.proc = subprocess.Popen([self.exe, "-H", "127.0.0.1", "-p", "0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        log = open(self.log_path, "ab")
        for line in self.proc.stdout:
            log.write(line)
            ready = self.READY.search(line)
            if ready:
                self.port = int(ready.group(1))
                break
        else:  # end of output: moto_server exited before listening
            code = self.proc.wait()
            log.close()
            self.proc = None
            raise RuntimeError(f"moto_server exited ({code}) before listening on 127.0.0.1; "
                               f"log: {self.log_path.read_text(errors='replace')[-2000:]}")
        log.flush()
        self._copier = threading.Thread(target=self._copy, args=(self.proc.stdout, log),
                                        daemon=True)
        self._copier.start()
        return self

    @staticmethod
    def _copy(stream, log):
        with log:
            for line in stream:
                log.write(line)
                log.flush()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._copier is not None:
            self._copier.join()  # moto has exited: its output ends
            self._copier = None
        if self.proc is not None:
            self.proc.stdout.close()
        self.proc = None


def run_aws(endpoint, *args, check=True, env=None, timeout=300):
    aws = tools.require_tool("aws")
    r = subprocess.run([aws, "--endpoint-url", endpoint, *map(str, args)], env=clean_env(env),
                       capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"aws {' '.join(map(str, args))} failed ({r.returncode}): "
                           f"{r.stderr[-2000:]}")
    return r


class S3Stack:
    """moto_server + bucket + verifying proxy. `r2=True`: no 100 Continue, max-keys cap, equal
    parts. `latency_ms`: delay per forwarded request."""

    def __init__(self, workdir=None, r2=True, latency_ms=0, bucket=BUCKET):
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mip-s3-")
            workdir = self._tmp.name
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.bucket = bucket
        self.log_path = self.workdir / "proxy.log"
        self.moto = MotoServer(self.workdir)
        self.r2 = r2
        self.latency_ms = latency_ms
        self.proxy = None

    def start(self):
        self.moto.start()
        try:
            run_aws(self.moto.endpoint, "s3", "mb", f"s3://{self.bucket}")
            self.proxy = SigV4Proxy(self.moto.endpoint, {ACCESS_KEY: SECRET_KEY},
                                    str(self.log_path), self.r2, self.latency_ms).start()
        except BaseException:
            self.moto.stop()
            raise
        return self

    def stop(self):
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None
        self.moto.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def endpoint(self):
        return self.proxy.endpoint

    @property
    def moto_endpoint(self):
        return self.moto.endpoint

    def aws(self, *args, check=True, env=None):
        """The aws CLI through the verifying proxy."""
        return run_aws(self.endpoint, *args, check=check, env=env)

    def records(self):
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text(encoding="utf-8").splitlines()
                if line.strip()]

    def clear_log(self):
        if self.log_path.exists():
            self.log_path.unlink()

    def client_env(self, extra=None):
        """Environment for a libmip client (mip-build, mip_tests) aimed at the proxy."""
        return clean_env(dict({"AWS_ENDPOINT_URL": self.endpoint}, **(extra or {})))

    def describe(self):
        return {"endpoint": self.endpoint, "moto": self.moto_endpoint, "bucket": self.bucket,
                "log": str(self.log_path), "aws": tools.require_tool("aws"),
                "access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY,
                "aws_env": clean_env(), "pid": os.getpid()}
