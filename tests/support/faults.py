"""Helpers for the reliability tests: the fault proxy as a child process, generated recipe trees,
direct (fault-free) reads of what moto holds, and store consistency checks.

    with FaultProxyProcess(stack.endpoint, workdir, seed=7, rate=0.2) as fp:
        fp.endpoint          # what mip-build talks to
        fp.configure(rate=0) # change the fault plan on the fly
        fp.stats()           # {"requests", "forwarded", "faulted", "by_kind": {...}}
"""
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
FAULT_PROXY = HERE.parent / "servers" / "fault_proxy.py"

sys.path.insert(0, str(HERE))

import s3  # noqa: E402


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class FaultProxyProcess:
    """tests/servers/fault_proxy.py in a child process; its port is read from its first line."""

    def __init__(self, upstream, workdir, seed=1, rate=0.2, kinds=None, max_consecutive=3,
                 max_stalls=0, stall_seconds=75.0, match=None):
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "faults.log"
        self.stats_path = self.workdir / "faults.stats.json"
        self.args = [sys.executable, str(FAULT_PROXY), "--upstream", upstream, "--seed", str(seed),
                     "--rate", str(rate), "--max-consecutive", str(max_consecutive),
                     "--max-stalls", str(max_stalls), "--stall-seconds", str(stall_seconds),
                     "--log", str(self.log_path), "--stats", str(self.stats_path),
                     "--lifetime", "1800", "--stdin-lifeline"]
        if kinds is not None:
            self.args += ["--kinds", ",".join(kinds)]
        for m in match or []:
            self.args += ["--match", m]
        self.proc = None
        self.port = None

    def start(self):
        with open(self.workdir / "fault_proxy.stderr", "wb") as err:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=err, env=s3.clean_env())
        line = self.proc.stdout.readline().decode()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError("fault proxy did not start: " + line +
                               (self.workdir / "fault_proxy.stderr").read_text(errors="replace"))
        self.port = int(line.split()[1])
        return self

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def _call(self, method, path, doc=None):
        data = None if doc is None else json.dumps(doc).encode()
        req = urllib.request.Request(self.endpoint + path, data=data, method=method)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=30) as r:
            return json.loads(r.read() or b"{}")

    def configure(self, **cfg):
        return self._call("POST", "/__faults__/config", cfg)

    def stats(self):
        return self._call("GET", "/__faults__/stats")

    def reset_stats(self):
        return self._call("POST", "/__faults__/reset-stats", {})

    def stop(self):
        if self.proc is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def make_recipes(root, count, prefix="pkg", payload_bytes=64, big=None):
    """`count` tiny prepare.yaml recipes with local `path` sources: <prefix>001 … Each package's
    content differs. `big`: {index: bytes} extra large incompressible files."""
    root = pathlib.Path(root)
    names = []
    for i in range(1, count + 1):
        name = f"{prefix}{i:03d}"
        d = root / name
        (d / "src").mkdir(parents=True)
        (d / "src" / f"{name}_fn.m").write_text(
            f"function r = {name}_fn()\n% generated test package {i}\nr = {i};\nend\n")
        (d / "src" / "data.txt").write_bytes(
            hashlib.sha256(f"{name}".encode()).hexdigest().encode() * max(1, payload_bytes // 64))
        if big and i in big:
            (d / "src" / "blob.bin").write_bytes(big[i])
        (d / "prepare.yaml").write_text(
            f"name: {name}\ndescription: generated test package {i}\nversion: \"1.0.{i}\"\n"
            f"license: MIT\nprepare:\n  path: {{path: src, destination: {name}}}\n")
        names.append(name)
    return names


def boto_client(endpoint):
    """A boto3 client aimed straight at moto (no proxies, no faults)."""
    import boto3
    from botocore.config import Config
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=s3.ACCESS_KEY,
                        aws_secret_access_key=s3.SECRET_KEY, region_name="us-east-1",
                        config=Config(retries={"max_attempts": 1, "mode": "standard"},
                                      proxies={}))


def bucket_objects(endpoint, bucket, prefix=""):
    """{key: bytes} of every object under `prefix`, read directly from moto."""
    client = boto_client(endpoint)
    out = {}
    token = None
    while True:
        kwargs = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        page = client.list_objects_v2(**kwargs)
        for obj in page.get("Contents", []):
            out[obj["Key"]] = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        if not page.get("IsTruncated"):
            break
        token = page["NextContinuationToken"]
    return out


def open_multipart_uploads(endpoint, bucket):
    client = boto_client(endpoint)
    return client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def check_store_consistent(objects, base_url):
    """Checks a store given as {relative key: bytes}. Returns a list of problems (empty = ok):
    every sidecar parses, its mhl_url names an object of the store whose bytes match
    mhl_sha256/mhl_size, and no temporary or partial objects exist. A store that holds flat names
    (a `<wheel>.mhl` at its top) must hold every sidecar's: the uploader then writes the flat copy
    before the sidecar; a store without them must not gain one (libmip writes no flat copy there
    unless asked with --flat-copy)."""
    problems = []
    flat_names = any(k.endswith(".mhl") and "/" not in k for k in objects)
    for key, data in sorted(objects.items()):
        base = key.rsplit("/", 1)[-1]
        if base.startswith(".") or ".tmp" in base or "mip-tmp" in key:
            problems.append(f"temporary object visible: {key}")
            continue
        if key.endswith(".mhl.mip.json"):
            try:
                side = json.loads(data)
            except ValueError as e:
                problems.append(f"{key}: not JSON ({e})")
                continue
            url = side.get("mhl_url", "")
            if not url.startswith(base_url + "/"):
                problems.append(f"{key}: mhl_url {url!r} outside {base_url}")
                continue
            target = url[len(base_url) + 1:]
            if target not in objects:
                problems.append(f"{key}: mhl_url target {target} missing")
                continue
            if sha256(objects[target]) != side.get("mhl_sha256"):
                problems.append(f"{key}: {target} bytes do not match mhl_sha256")
            if len(objects[target]) != side.get("mhl_size"):
                problems.append(f"{key}: {target} size does not match mhl_size")
            flat = key[: -len(".mip.json")]
            if flat_names and flat not in objects:
                problems.append(f"{key}: flat {flat} missing")
        elif key.endswith(".mhl"):
            if not objects[key].startswith(b"PK\x03\x04") or b"PK\x05\x06" not in objects[key][-4096:]:
                problems.append(f"{key}: not a complete zip archive")
            if key.startswith("sha256/"):
                digest = key.split("/")[1]
                if sha256(objects[key]) != digest:
                    problems.append(f"{key}: content-addressed object with other bytes")
        elif key == "mip-index-manifest.json":
            # valid, naming existing sidecars, and every sidecar (a rerun fills what a killed
            # run left out)
            try:
                named = json.loads(objects[key])["sidecars"]
            except (ValueError, KeyError, TypeError):
                problems.append(f"{key}: not a valid index manifest")
                continue
            problems += [f"{key}: names missing {n}" for n in named if n not in objects]
            problems += [f"{key}: lacks {n}" for n in objects
                         if n.endswith(".mhl.mip.json") and n not in named]
        else:
            problems.append(f"unexpected object {key}")
    return problems


def local_store_objects(root):
    """{relative key: bytes} of a directory store, its private scratch area `.mip-tmp/` (never
    listed as keys) excluded; see local_store_scratch()."""
    root = pathlib.Path(root)
    out = {}
    if not root.exists():
        return out
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if rel.parts[0] == ".mip-tmp":
            continue
        if p.is_file() or p.is_symlink():
            out[rel.as_posix()] = p.read_bytes()
    return out


def local_store_scratch(root):
    """Names left in a directory store's `.mip-tmp/` scratch area."""
    tmp = pathlib.Path(root) / ".mip-tmp"
    return sorted(p.name for p in tmp.iterdir()) if tmp.is_dir() else []


def tree_sizes(root):
    root = pathlib.Path(root)
    return {p.relative_to(root).as_posix(): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def env_without_aws():
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
