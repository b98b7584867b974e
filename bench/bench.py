#!/usr/bin/env python3
"""libmip benchmarks, every competitor side by side in one run (issue #7). Started by
bench/run.sh, which builds mip-build in Release and picks the Python that has boto3, moto and the
aws CLI. Never part of the test suite: nothing here asserts on time.

Each scenario runs every competitor `--runs` times (round robin, the starting competitor rotating
per run), through the same servers and on the same data; the table shows medians and ratios.
Servers: moto_server + nginx (object GET/HEAD from a mirror of the bucket) behind a latency proxy
adding 20 ms per request/response exchange (servers.py, latency_proxy.py)."""
import argparse
import json
import os
import pathlib
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import datagen  # noqa: E402
import servers  # noqa: E402
from servers import BUCKET  # noqa: E402

PY = sys.executable  # the Python with boto3 (pyenv); the reference and boto3 competitors use it
REF = HERE / "reference"
B3 = HERE / "competitors" / "boto3_threads.py"
MB = 1 << 20


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- running and timing ------------------------------------------------------------------

class Failed(RuntimeError):
    pass


def run_timed(argv, env, log_path, cwd=None):
    """Wall time of one process and its peak RSS (KiB) as GNU time reports it (measured in a
    small process, so the fork of this big Python process does not count)."""
    rss_file = pathlib.Path(str(log_path) + ".rss")
    with open(log_path, "ab") as out:
        out.write(f"\n$ {' '.join(map(str, argv))}\n".encode())
        out.flush()
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *[str(a) for a in argv]],
                           env=env, cwd=cwd, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        dt = time.perf_counter() - t0
    if p.returncode != 0:
        tail = pathlib.Path(log_path).read_text(errors="replace")[-3000:]
        raise Failed(f"{argv[0]} exited {p.returncode}; log {log_path}:\n{tail}")
    try:
        rss = int(rss_file.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        rss = 0
    return dt, rss


def output_of(log_path):
    return pathlib.Path(log_path).read_text(errors="replace")


class Scenario:
    """name -> competitors: list of (label, setup(run) -> (argv, env, check), cleanup(run))."""

    def __init__(self, bench, name, title, work_units=None):
        self.bench = bench
        self.name = name
        self.title = title
        self.competitors = []
        self.work_units = work_units

    def add(self, label, make, cleanup=None):
        self.competitors.append((label, make, cleanup))

    def run(self, runs):
        b = self.bench
        res = {"title": self.title, "competitors": {}}
        for label, _, _ in self.competitors:
            res["competitors"][label] = {"seconds": [], "max_rss_kib": []}
        logdir = b.work / "logs" / self.name
        logdir.mkdir(parents=True, exist_ok=True)
        log(f"{self.name}: {self.title} — {len(self.competitors)} competitors × {runs} runs")
        for r in range(runs):
            order = self.competitors[r % len(self.competitors):] + self.competitors[:r % len(self.competitors)]
            for label, make, cleanup in order:
                spec = make(r)
                if spec is None:
                    continue
                argv, env, check = spec
                lp = logdir / f"{label.replace(' ', '_').replace('/', '_')}.{r}.log"
                lp.unlink(missing_ok=True)
                try:
                    if label.startswith("wrk"):
                        dt, rss = b.run_wrk(argv, env, lp)
                    else:
                        dt, rss = run_timed(argv, env, lp)
                    if check:
                        check(lp)
                except Failed as e:  # recorded, and the other competitors go on
                    log(f"  {self.name} run {r + 1}/{runs} {label}: FAILED: {str(e)[:300]}")
                    res["competitors"][label].setdefault("failures", []).append(str(e)[-2000:])
                    continue
                finally:
                    if cleanup:
                        cleanup(r)
                res["competitors"][label]["seconds"].append(dt)
                res["competitors"][label]["max_rss_kib"].append(rss)
                log(f"  {self.name} run {r + 1}/{runs} {label}: {dt:.3f} s" + (f", peak RSS {rss / 1024:.0f} MiB" if rss else ""))
        for label, c in res["competitors"].items():
            if c["seconds"]:
                c["median"] = statistics.median(c["seconds"])
                c["median_rss_mib"] = statistics.median(c["max_rss_kib"]) / 1024
        b.results["scenarios"][self.name] = res
        b.save()
        return res


def expect(*needles):
    def check(lp):
        out = output_of(lp)
        for n in needles:
            if n not in out:
                raise Failed(f"expected {n!r} in {lp}:\n{out[-2000:]}")
    return check


# ---- the bench ---------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.mip = pathlib.Path(args.mip).resolve()
        self.work = pathlib.Path(args.work).resolve()
        self.data = self.work / "data"
        self.out = pathlib.Path(args.out).resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        self.aws = servers.tools.find_tool("aws")
        self.results = {
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
            "settings": {"runs": args.runs, "delay_ms": args.delay_ms, "max_in_flight": 32, "threads": 32,
                         "big_bytes": 0 if args.no_big else args.big_size},
            "scenarios": {}, "ceilings": {}, "scaling": {}, "checks": {},
        }
        self.stack = None
        previous = self.out / "results.json"
        if args.only and previous.is_file():  # a partial re-run updates the earlier results
            old = json.loads(previous.read_text())
            for k in ("scenarios", "ceilings", "scaling", "checks"):
                if old.get(k):
                    self.results[k] = old[k] if k != "scenarios" else dict(old[k])

    def save(self):
        path = self.out / "results.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.results, indent=2) + "\n")
        os.replace(tmp, path)

    # environment ------------------------------------------------------------------------
    def env(self, concurrency_config=True, extra=None):
        e = servers.client_env(self.stack.endpoint, extra)
        if concurrency_config:
            e["AWS_CONFIG_FILE"] = str(self.work / "aws-config-32")
        e["PYTHONDONTWRITEBYTECODE"] = "1"
        return e

    def mipv(self, *args):
        return [self.mip, "-q", *args]

    def s3args(self, prefix):
        return ["--store", f"s3://{BUCKET}/{prefix}", "--endpoint", self.stack.endpoint,
                "--allow-insecure-loopback", "--base-url", f"{datagen.BASE}/{prefix}"]

    def fresh(self, path):
        path = pathlib.Path(path)
        shutil.rmtree(path, ignore_errors=True)
        return path

    # wrk ---------------------------------------------------------------------------------
    def wrk_script(self, name, body):
        p = self.work / "wrk" / f"{name}.lua"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(body)
        return p

    def wrk_get_script(self, name, keys):
        lines = ",\n".join(json.dumps(f"/{BUCKET}/{k}") for k in keys)
        return self.wrk_script(name, f"""
local paths = {{
{lines}
}}
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
""")

    def run_wrk(self, argv, env, lp):
        """argv = wrk command; returns (seconds per request, 0) and stores the rate."""
        with open(lp, "ab") as out:
            r = subprocess.run([str(a) for a in argv], env=env, stdout=subprocess.PIPE, stderr=out, text=True,
                               timeout=120)
            out.write(r.stdout.encode())
        if r.returncode != 0:
            raise Failed(f"wrk failed: {r.stdout[-1000:]}")
        rate = None
        total = errors = 0
        for line in r.stdout.splitlines():
            if line.startswith("Requests/sec:"):
                rate = float(line.split()[1])
            if " requests in " in line:
                total = int(line.split()[0])
            if "Non-2xx" in line:
                errors += int(line.split()[-1])
            if "Socket errors" in line:
                errors += sum(int(x.rstrip(",")) for x in line.split()[3::2] if x.rstrip(",").isdigit())
        # moto occasionally answers 500 to two concurrent PUTs of one key; a few are tolerated and
        # the rate counts successful requests only
        if total and errors > 0.05 * total:
            raise Failed(f"wrk saw {errors} errors in {total} requests:\n{r.stdout}")
        if rate and total:
            rate *= (total - errors) / total
        if not rate:
            raise Failed(f"no rate in wrk output: {r.stdout}")
        return 1.0 / rate, 0

    def wrk(self, script, threads=2, conns=32, seconds=None):
        seconds = seconds or self.args.wrk_seconds
        return ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--timeout", "30s", "-s", script,
                self.stack.endpoint]

    # data ----------------------------------------------------------------------------------
    def prepare_data(self):
        a = self.args
        self.data.mkdir(parents=True, exist_ok=True)
        (self.work / "aws-config-32").write_text("[default]\ns3 =\n  max_concurrent_requests = 32\n  max_queue_size = 10000\n")
        t0 = time.time()
        # index sets (sidecars only)
        self.index_sets = {}
        sizes = {2000}
        if self.want("scaling"):
            sizes |= {500, 2000} if a.quick else {500, 2000, 10000}
        if not any(self.want(x) for x in ("ceilings", "index2000", "incremental", "scaling")):
            sizes = set()
        for n in sorted(sizes):
            prefix = f"idx{n}"
            objs = datagen.index_objects(prefix, n)
            self.stack.seed(objs)
            self.index_sets[n] = (prefix, objs)
            log(f"seeded {n} sidecars under {prefix}/")
        if self.want("cache500"):
            self.data_cache()
        if self.want("upload200"):
            self.data_upload()
        if self.want("big") and not a.no_big:
            self.big_dir = self.data / "big" / "bundled"
            self.big_mhl = datagen.big_bundle(self.big_dir, a.big_size)
            log(f"big bundle: {a.big_size / MB:.0f} MiB")
        if self.want("bundle60"):
            self.data_bundle()
        if self.want("publish100"):
            self.data_publish()
        log(f"data ready in {time.time() - t0:.0f} s")

    def want(self, name):
        only = [s for s in self.args.only.split(",") if s]
        return not only or name in only

    def data_cache(self):
        # cache-check set: 500 recipes published by libmip into a local store, copied to S3
        d = self.data / "cache500"
        if not (d / "store").is_dir():
            self.fresh(d)
            datagen.make_recipes(d / "recipes", 500, 2_000, seed=500)
            env = dict(os.environ, SOURCE_DATE_EPOCH="1767225600")
            for verb in ("prepare", "bundle", "upload"):
                extra = ["--recipes", d / "recipes"] if verb == "prepare" else []
                if verb == "upload":
                    extra = ["--store", d / "store", "--base-url", f"{datagen.BASE}/cache500"]
                subprocess.run([str(x) for x in self.mipv("--build-dir", d / "build", verb, *extra)], env=env,
                               check=True, stdout=subprocess.DEVNULL)
        sidecars = sorted((d / "store").glob("*.mhl.mip.json"))
        self.stack.seed([(f"cache500/{p.name}", p.read_bytes()) for p in sidecars])
        with open(d / "wheels.jsonl", "w") as f:
            for p in sidecars:
                f.write(json.dumps(json.loads(p.read_text())) + "\n")
        log(f"cache-check set: {len(sidecars)} published sidecars")

    def data_upload(self):
        # upload set: 200 bundles of ~1 MB
        d = self.data / "up200"
        if not (d / "build" / "bundled").is_dir():
            self.fresh(d)
            datagen.make_recipes(d / "recipes", 200, 120_000, seed=200, binary_bytes=900_000)
            for verb, extra in (("prepare", ["--recipes", d / "recipes"]), ("bundle", [])):
                subprocess.run([str(x) for x in self.mipv("--build-dir", d / "build", verb, *extra)],
                               check=True, stdout=subprocess.DEVNULL)
        self.up_dir = d / "build" / "bundled"
        self.up_bytes = sum(p.stat().st_size for p in self.up_dir.iterdir())
        log(f"upload set: {len(list(self.up_dir.glob('*.mhl')))} bundles, {self.up_bytes / MB:.0f} MiB")

    def data_bundle(self):
        a = self.args
        # bundle set: 60 packages, ~300 MB of MATLAB-like sources, prepared by libmip
        d = self.data / "bundle60"
        per = (a.bundle_mb * 1_000_000) // 60
        if not (d / "build" / "prepared").is_dir():
            self.fresh(d)
            datagen.make_recipes(d / "recipes", 60, per, seed=60)
            subprocess.run([str(x) for x in self.mipv("--build-dir", d / "build", "prepare", "--recipes", d / "recipes")],
                           check=True, stdout=subprocess.DEVNULL)
        self.bundle_prepared = d / "build" / "prepared"
        self.bundle_bytes = sum(datagen.tree_bytes(p) for p in self.bundle_prepared.glob("*.dir"))
        self.bundle_files = sum(datagen.tree_files(p) for p in self.bundle_prepared.glob("*.dir"))
        log(f"bundle set: 60 packages, {self.bundle_bytes / 1e6:.0f} MB in {self.bundle_files} files")

    def data_publish(self):
        # publish set: 100 recipes (prepare.yaml for libmip, package.py for the reference)
        d = self.data / "publish100"
        if not (d / "recipes").is_dir():
            self.fresh(d)
            datagen.make_recipes(d / "recipes", 100, 100_000, seed=100, reference_root=d / "reference-recipes")
        self.pub = d

    # ceilings ------------------------------------------------------------------------------
    def measure_ceilings(self):
        """Request rates of the servers themselves at 32 connections: nginx direct, through the
        proxy at 0 ms, through the proxy at 20 ms, moto direct; shows what bounds what."""
        keys = [k for k, _ in self.index_sets[2000][1]]
        script = self.wrk_get_script("ceiling-get", keys)
        auth = 'wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=benchkey/20260101/auto/s3/aws4_request, SignedHeaders=host, Signature=00"\n'
        moto_get = self.wrk_script("ceiling-moto-get", auth + script.read_text())
        put = self.wrk_script("ceiling-moto-put", auth + """
wrk.method = "PUT"
wrk.body = string.rep("m", 1048576)
local i = 0
request = function()
  i = i % 200 + 1
  return wrk.format(nil, string.format("/bench/wrk-put/k%03d", i))
end
""")
        out = {}
        for label, endpoint, s in (("nginx GET direct", self.stack.nginx.endpoint, script),
                                   ("GET via proxy 0 ms", self.stack.proxy0.endpoint, script),
                                   (f"GET via proxy {self.args.delay_ms} ms", self.stack.endpoint, script),
                                   ("moto GET direct", self.stack.moto.endpoint, moto_get),
                                   ("moto PUT 1 MiB direct", self.stack.moto.endpoint, put)):
            argv = ["wrk", "-t2", "-c32", f"-d{self.args.wrk_seconds}s", "--timeout", "30s", "-s", s, endpoint]
            lp = self.work / "logs" / "ceilings.log"
            lp.parent.mkdir(parents=True, exist_ok=True)
            spr, _ = self.run_wrk(argv, None, lp)
            out[label] = 1.0 / spr
            log(f"ceiling {label}: {out[label]:.0f} requests/s")
        self.stack.delete_prefix("wrk-put/")
        # moto's ListObjectsV2 cost: one 1,000-key page of the 2,000-sidecar prefix, through the
        # 20 ms proxy (every competitor lists; it is moto CPU, not round trips)
        import urllib.request
        times = []
        for _ in range(5):
            req = urllib.request.Request(f"{self.stack.endpoint}/{BUCKET}?list-type=2&prefix=idx2000%2F&delimiter=%2F",
                                         headers={"Authorization": "AWS4-HMAC-SHA256 Credential=benchkey/20260101/auto/s3/aws4_request, SignedHeaders=host, Signature=00"})
            t0 = time.perf_counter()
            with urllib.request.urlopen(req, timeout=60) as r:
                r.read()
            times.append(time.perf_counter() - t0)
        out["moto list page (1,000 keys) via proxy, seconds"] = statistics.median(times)
        log(f"moto listing page of 1,000 keys via the proxy: {statistics.median(times) * 1000:.0f} ms")
        self.results["ceilings"] = out
        self.save()

    # scenarios -------------------------------------------------------------------------------
    def sc_index(self):
        n = 2000
        prefix, objs = self.index_sets[n]
        sc = Scenario(self, "index2000", f"index assembly, {n} sidecars")
        wd = self.work / "run" / "index"
        sc.add("libmip", lambda r: (self.mipv("--build-dir", self.fresh(wd / "lib"), "index", *self.s3args(prefix)),
                                    self.env(), expect(f"index: {n} package(s)")))
        sc.add("reference", lambda r: ([PY, REF / "assemble_index.py", BUCKET, prefix, wd / "ref.json"],
                                       self.env(), expect(f"indexed {n}")))
        sc.add("boto3 32 threads", lambda r: ([PY, B3, "index", BUCKET, prefix, wd / "b3.json"], self.env(),
                                             expect(f"indexed {n}")))
        sc.add("aws s3 sync", lambda r: ([self.aws, "--endpoint-url", self.stack.endpoint, "s3", "sync", "--quiet",
                                          f"s3://{BUCKET}/{prefix}/", self.fresh(wd / "aws")], self.env(), None))
        script = self.wrk_get_script("index2000", [k for k, _ in objs])
        sc.add("wrk (GET rate)", lambda r: (self.wrk(script), None, None))
        wd.mkdir(parents=True, exist_ok=True)
        return sc.run(self.args.runs)

    def sc_cache(self):
        d = self.data / "cache500"
        sc = Scenario(self, "cache500", "cache check, 500 packages (all published, all skipped)")
        wd = self.work / "run" / "cache"
        sc.add("libmip", lambda r: (self.mipv("--build-dir", self.fresh(wd / "lib"), "prepare", "--recipes",
                                              d / "recipes", *self.s3args("cache500")),
                                    self.env(), expect("0 done, 500 skipped")))
        sc.add("libmip, local store", lambda r: (self.mipv("--build-dir", self.fresh(wd / "loc"), "prepare", "--recipes",
                                                           d / "recipes", "--store", d / "store"),
                                                 self.env(), expect("0 done, 500 skipped")))
        sc.add("reference", lambda r: ([PY, REF / "check_cache.py", f"{self.stack.endpoint}/{BUCKET}/cache500",
                                        d / "wheels.jsonl"], self.env(), expect("skipped 500 built 0")))
        return sc.run(self.args.runs)

    def sc_upload(self):
        sc = Scenario(self, "upload200", "upload, 200 bundles of ~1 MB + sidecars")
        up = self.up_dir
        count = len(list(up.glob("*.mhl")))

        def clean(name):
            return lambda r: self.stack.delete_prefix(f"up/{name}-{r}/")
        sc.add("libmip", lambda r: (self.mipv("--build-dir", up.parent, "upload", *self.s3args(f"up/lib-{r}")),
                                    self.env(), expect(f"{count} done")), clean("lib"))
        sc.add("libmip --flat-urls", lambda r: (self.mipv("--build-dir", up.parent, "upload", "--flat-urls",
                                                          *self.s3args(f"up/flat-{r}")),
                                                self.env(), expect(f"{count} done")), clean("flat"))
        sc.add("reference", lambda r: ([PY, REF / "bundle_and_upload_packages.py", up, BUCKET, f"up/ref-{r}",
                                        "--upload-only"], self.env(), expect(f"processed {count}")), clean("ref"))
        sc.add("boto3 32 threads", lambda r: ([PY, B3, "upload", up, BUCKET, f"up/b3-{r}"], self.env(),
                                             expect(f"uploaded {2 * count}")), clean("b3"))
        sc.add("aws s3 cp --recursive", lambda r: ([self.aws, "--endpoint-url", self.stack.endpoint, "s3", "cp",
                                                    "--recursive", "--quiet", up, f"s3://{BUCKET}/up/aws-{r}/"],
                                                   self.env(), None), clean("aws"))
        mhl = sorted(up.glob("*.mhl"))[0]
        size = mhl.stat().st_size
        side = len(pathlib.Path(str(mhl) + ".mip.json").read_bytes())
        auth = 'wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=benchkey/20260101/auto/s3/aws4_request, SignedHeaders=host, Signature=00"\n'
        script = self.wrk_script("upload200", auth + f"""
local big = string.rep("m", {size})
local small = string.rep("s", {side})
local i = 0
request = function()
  i = i % {2 * count} + 1
  local body = (i % 2 == 1) and big or small
  return wrk.format("PUT", string.format("/bench/up/wrk/k%04d", i), nil, body)
end
""")
        sc.add("wrk (PUT rate)", lambda r: (self.wrk(script), None, None), lambda r: self.stack.delete_prefix("up/wrk/"))
        return sc.run(self.args.runs)

    def sc_big(self):
        if self.args.no_big:
            return None
        sc = Scenario(self, "big", f"upload, one {self.args.big_size / (1 << 30):.0f} GiB bundle (multipart)")
        d = self.big_dir

        def clean(name):
            return lambda r: self.stack.delete_prefix(f"big/{name}-{r}/")
        sc.add("libmip --flat-urls", lambda r: (self.mipv("--build-dir", d.parent, "upload", "--flat-urls",
                                                          *self.s3args(f"big/lib-{r}")),
                                                self.env(False), expect("1 done")), clean("lib"))
        sc.add("boto3 transfer manager", lambda r: ([PY, B3, "big", self.big_mhl, BUCKET, f"big/b3-{r}/{self.big_mhl.name}"],
                                                   self.env(False), expect("uploaded 1")), clean("b3"))
        sc.add("aws s3 cp", lambda r: ([self.aws, "--endpoint-url", self.stack.endpoint, "s3", "cp", "--quiet",
                                        self.big_mhl, f"s3://{BUCKET}/big/aws-{r}/{self.big_mhl.name}"],
                                       self.env(False), None), clean("aws"))
        return sc.run(self.args.runs)

    def sc_bundle(self):
        sc = Scenario(self, "bundle60", f"bundle, 60 packages, {self.bundle_bytes / 1e6:.0f} MB of MATLAB sources")
        prepared = self.bundle_prepared
        wd = self.work / "run" / "bundle"
        wd.mkdir(parents=True, exist_ok=True)
        sc.add("libmip -j 1", lambda r: (self.mipv("--build-dir", prepared.parent, "bundle", "-j", "1",
                                                   "--output-dir", self.fresh(wd / "lib1")), None, expect("60 done")))
        sc.add("libmip -j 2", lambda r: (self.mipv("--build-dir", prepared.parent, "bundle", "-j", "2",
                                                   "--output-dir", self.fresh(wd / "lib2")), None, expect("60 done")))
        sc.add("python zipfile (reference)", lambda r: ([PY, REF / "bundle_and_upload_packages.py", prepared, "--no-upload"],
                                                        None, expect("processed 60")))
        zip_sh = wd / "infozip.sh"
        zip_sh.write_text('set -e\nout="$1"; shift\nrm -rf "$out"; mkdir -p "$out"\nfor d in "$@"; do\n'
                          '  (cd "$d" && zip -X -q -r -6 "$out/$(basename "$d" .dir).mhl" .)\ndone\n')
        dirs = sorted(prepared.glob("*.dir"))
        sc.add("Info-ZIP zip -X", lambda r: (["bash", zip_sh, wd / "infozip", *dirs], None, None))
        return sc.run(self.args.runs)

    def sc_publish(self):
        sc = Scenario(self, "publish100", "publish end to end, 100 packages (prepare → bundle → upload → index)")
        wd = self.work / "run" / "publish"
        wd.mkdir(parents=True, exist_ok=True)
        ep = self.stack.endpoint

        def clean(name):
            return lambda r: self.stack.delete_prefix(f"pub/{name}-{r}/")
        sc.add("libmip", lambda r: (self.mipv("--build-dir", self.fresh(wd / "lib"), "publish", "--recipes",
                                              self.pub / "recipes", *self.s3args(f"pub/lib-{r}")),
                                    self.env(), expect("index: 100 package(s)")), clean("lib"))
        ref_sh = wd / "reference.sh"
        ref_sh.write_text(
            'set -e\nPY="$1"; REF="$2"; RECIPES="$3"; OUT="$4"; EP="$5"; PREFIX="$6"\n'
            'rm -rf "$OUT"; mkdir -p "$OUT"\n'
            '"$PY" "$REF/prepare_packages.py" "$RECIPES" "$OUT/prepared" "$EP/bench/$PREFIX"\n'
            '"$PY" "$REF/bundle_and_upload_packages.py" "$OUT/prepared" bench "$PREFIX"\n'
            '"$PY" "$REF/assemble_index.py" bench "$PREFIX" "$OUT/index.json"\n')
        sc.add("reference pipeline", lambda r: (["bash", ref_sh, PY, REF, self.pub / "reference-recipes", wd / "ref", ep,
                                                 f"pub/ref-{r}"], self.env(), expect("built 100", "indexed 100")),
               clean("ref"))
        return sc.run(self.args.runs)

    def sc_incremental(self):
        prefix, objs = self.index_sets[2000]
        objs = list(objs)
        wd = self.work / "run" / "incremental"
        warm = wd / "warm"
        self.fresh(wd)
        epoch = {"SOURCE_DATE_EPOCH": "1767225600"}
        subprocess.run([str(x) for x in self.mipv("--build-dir", warm, "index", *self.s3args(prefix))],
                       env=self.env(extra=epoch), check=True, stdout=subprocess.DEVNULL)
        changed = max(1, len(objs) // 100)
        sc = Scenario(self, "incremental", f"index assembly, {changed} of {len(objs)} sidecars changed (1%)")

        def mutate(r):
            idx = [(r * changed + k) * 37 % len(objs) for k in range(changed)]
            batch = [datagen.mutate(objs[i][0], objs[i][1], r + 1) for i in idx]
            for i, kv in zip(idx, batch):
                objs[i] = kv
            self.stack.seed(batch)
        sc.add("libmip full", lambda r: (self.mipv("--build-dir", self.fresh(wd / "full"), "index",
                                                   *self.s3args(prefix)), self.env(extra=epoch), expect("index: 2000")))

        def incremental(r):
            mutate(r)
            return (self.mipv("--json", "--build-dir", warm, "index", *self.s3args(prefix)),
                    self.env(extra=epoch), expect(f'"sidecars_downloaded": {changed}'))
        sc.add("libmip incremental", incremental)
        res = sc.run(self.args.runs)
        a = (wd / "full" / "gh-pages" / "index.json").read_bytes()
        subprocess.run([str(x) for x in self.mipv("--build-dir", self.fresh(wd / "check"), "index", *self.s3args(prefix))],
                       env=self.env(extra=epoch), check=True, stdout=subprocess.DEVNULL)
        full = (wd / "check" / "gh-pages" / "index.json").read_bytes()
        inc = (warm / "gh-pages" / "index.json").read_bytes()
        self.results["checks"]["incremental index equals a full assembly"] = (full == inc)
        log(f"incremental index equals a full assembly: {full == inc}")
        del a
        self.save()
        return res

    def sc_startup(self):
        sc = Scenario(self, "startup", "start-up: mip-build --version vs the reference's imports")
        sc.add("libmip", lambda r: ([self.mip, "--version"], None, None))
        sc.add("reference", lambda r: ([PY, REF / "startup.py"], self.env(), expect("ok")))
        return sc.run(max(self.args.runs, 10))

    def sc_scaling(self):
        sizes = sorted(self.index_sets)
        out = {}
        wd = self.work / "run" / "scaling"
        for n in sizes:
            prefix, _ = self.index_sets[n]
            sc = Scenario(self, f"scaling{n}", f"index assembly, {n} sidecars (libmip)")
            sc.add("libmip", lambda r, prefix=prefix, n=n: (
                self.mipv("--build-dir", self.fresh(wd / "lib"), "index", *self.s3args(prefix)),
                self.env(), expect(f"index: {n} package(s)")))
            res = sc.run(self.args.runs)
            out[n] = res["competitors"]["libmip"]["median"]
            del self.results["scenarios"][f"scaling{n}"]
        self.results["scaling"] = {"libmip_median_seconds": out}
        self.save()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mip", required=True, help="mip-build (Release)")
    p.add_argument("--work", required=True, help="scratch directory (data, logs, servers)")
    p.add_argument("--out", default=str(HERE / "results"))
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--delay-ms", type=float, default=20)
    p.add_argument("--wrk-seconds", type=int, default=3)
    p.add_argument("--no-big", action="store_true", help="skip the 2 GiB multipart upload")
    p.add_argument("--big-size", type=int, default=2 << 30)
    p.add_argument("--bundle-mb", type=int, default=300)
    p.add_argument("--quick", action="store_true", help="no 10,000-sidecar set (development)")
    p.add_argument("--only", default="", help="comma-separated scenario names")
    args = p.parse_args()
    # SIGTERM (run.sh's trap) unwinds through the finally below, which stops every server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    b = Bench(args)
    b.stack = servers.Stack(b.work / "servers", args.delay_ms)
    t0 = time.time()
    try:
        b.stack.start()
        log(f"servers: proxy {b.stack.endpoint} ({args.delay_ms} ms) -> nginx {b.stack.nginx.endpoint} -> moto {b.stack.moto.endpoint}")
        b.prepare_data()
        steps = {"ceilings": b.measure_ceilings, "startup": b.sc_startup, "index2000": b.sc_index,
                 "incremental": b.sc_incremental, "scaling": b.sc_scaling, "cache500": b.sc_cache,
                 "upload200": b.sc_upload, "bundle60": b.sc_bundle, "publish100": b.sc_publish, "big": b.sc_big}
        only = [s for s in args.only.split(",") if s]
        for name, fn in steps.items():
            if only and name not in only:
                continue
            fn()
    finally:
        b.stack.stop()
        b.results["total_seconds"] = time.time() - t0
        b.save()
    log(f"done in {time.time() - t0:.0f} s; results in {b.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
