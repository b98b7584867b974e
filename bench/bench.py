#!/usr/bin/env python3
"""libmip benchmarks, every competitor side by side in one run (issue #7). Started by
bench/run.sh, which builds mip-build in Release and picks the Python that has boto3, moto and the
aws CLI. Never part of the test suite: nothing here asserts on time.

Each scenario runs every competitor `--runs` times (round robin, the starting competitor rotating
per run), through the same servers and on the same data; the table shows medians and ratios.
Servers: moto_server + nginx (object GET/HEAD from a mirror of the bucket) behind a latency proxy
adding 20 ms per request/response exchange (servers.py, latency_proxy.py).

Per run and competitor it records the wall time, the client's peak RSS, its CPU (user + system
of the whole client process tree) and the requests nginx saw from it (count and mix). Before the
scenarios it measures what the servers sustain alone (`ceilings`), so the report can say, per
competitor, how long the servers alone need for that competitor's requests."""
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
import rclone  # noqa: E402
import servers  # noqa: E402
from servers import BUCKET  # noqa: E402

PY = sys.executable  # the Python with boto3 (pyenv); the reference and boto3 competitors use it
REF = HERE / "reference"
B3 = HERE / "competitors" / "boto3_threads.py"
MB = 1 << 20
SCALE_SIZES = (1000, 2000, 5000, 10000)
# moto does not check signatures; wrk and the ceiling listing send this constant header
FAKE_AUTH = "AWS4-HMAC-SHA256 Credential=benchkey/20260101/auto/s3/aws4_request, SignedHeaders=host, Signature=00"
# wrk runs one Lua state per thread: each numbers its PUT keys under its own thread id, so two
# threads never write one key at once (moto answers such a pair with a 500 now and then)
WRK_THREAD_IDS = """
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
"""
CEILING_NAMES = {  # results.json "ceilings" keys (report.py prints the same names)
    "nginx_get_per_s": "nginx object GETs/s, direct",
    "proxy0_get_per_s": "object GETs/s through the proxy at 0 ms (nginx + proxy)",
    "proxy_get_per_s": "object GETs/s through the proxy at the bench's delay",
    "moto_get_per_s": "moto object GETs/s, direct",
    "moto_put_small_per_s": "moto PUTs/s of a sidecar (~1.5 KB), direct",
    "moto_put_1mib_per_s": "moto PUTs/s of 1 MiB, direct",
    "moto_put_8mib_per_s": "moto PUTs/s of 8 MiB (a multipart part), direct, 8 connections",
    "moto_complete_s_per_mib": "moto CompleteMultipartUpload, seconds per MiB of the object",
    "moto_copy_1mib_per_s": "moto CopyObjects/s of 1 MiB, direct",
    "proxy_put_1mib_per_s": "PUTs/s of 1 MiB through proxy + nginx + moto",
    "moto_list_page_s": "moto ListObjectsV2 page of 1,000 keys, direct (s)",
    "proxy_list_page_s": "the same page through the proxy (s)",
}
SCALE_SIZES_QUICK = (100, 200, 500, 1000)
SCALE_BASE_URL = "https://example.org/scale"  # one public URL for every catalogue size
SCALE_BATCH = 500  # packages per mip-build call when generating the catalogues


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---- running and timing ------------------------------------------------------------------

class Failed(RuntimeError):
    pass


TIMER_CPU = 0.0  # CPU seconds GNU time itself costs per run (measured once at start-up)


def run_timed(argv, env, log_path, cwd=None):
    """Runs one client process to completion; returns {seconds, rss_kib, cpu_seconds}.

    Peak RSS is what GNU time reports for its child (a small process, so the fork of this big
    Python process does not count). CPU is user + system from os.wait4 on the GNU time process:
    the kernel adds every descendant it waited for (the client, and for a shell script or an aws
    CLI every process it started) to it; GNU time's own share is subtracted."""
    rss_file = pathlib.Path(str(log_path) + ".rss")
    with open(log_path, "ab") as out:
        out.write(f"\n$ {' '.join(map(str, argv))}\n".encode())
        out.flush()
        t0 = time.perf_counter()
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *[str(a) for a in argv]],
                             env=env, cwd=cwd, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        try:
            _, status, ru = os.wait4(p.pid, 0)
        except BaseException:  # SIGTERM/Ctrl-C of the bench: stop the client's whole group too
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            raise
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        tail = pathlib.Path(log_path).read_text(errors="replace")[-3000:]
        raise Failed(f"{argv[0]} exited {p.returncode}; log {log_path}:\n{tail}")
    try:
        rss = int(rss_file.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        rss = 0
    cpu = max(0.0, ru.ru_utime + ru.ru_stime - TIMER_CPU)
    return {"seconds": dt, "rss_kib": rss, "cpu_seconds": cpu}


def measure_timer_cpu(workdir):
    """GNU time's own CPU per run (`/usr/bin/time true`), subtracted from every measurement."""
    global TIMER_CPU
    lp = pathlib.Path(workdir) / "timer-baseline.log"
    lp.unlink(missing_ok=True)
    cpus = [run_timed(["true"], None, lp)["cpu_seconds"] for _ in range(15)]
    TIMER_CPU = statistics.median(cpus)
    return TIMER_CPU


def output_of(log_path):
    return pathlib.Path(log_path).read_text(errors="replace")


def summarize_requests(reqs):
    """{kind: [count, bytes in, bytes out]} of the requests one run made (servers.request_kind)."""
    mix = {}
    for r in reqs:
        k = servers.request_kind(r)
        e = mix.setdefault(k, [0, 0, 0])
        e[0] += 1
        e[1] += r["bytes_in"]
        e[2] += r["bytes_out"]
    return dict(sorted(mix.items()))


class Scenario:
    """A job every competitor does on the same data: add(label, make, cleanup, concurrency).
    make(run) -> (argv, env, check) or None; check(log_path, request_mix) raises Failed.
    `objects`: what the job moves or handles (for CPU per object), `unit` names them;
    `before_round(run)`: called once per round, before any competitor (e.g. to change data)."""

    def __init__(self, bench, name, title, objects=None, unit="objects", before_round=None):
        self.bench = bench
        self.name = name
        self.title = title
        self.competitors = []
        self.objects = objects
        self.unit = unit
        self.before_round = before_round

    def add(self, label, make, cleanup=None, concurrency=None, twin=True):
        """concurrency: requests the competitor keeps in flight (for the latency bound). With
        --mip-baseline, every libmip competitor gets a twin running the baseline binary on the
        same job, in the same rounds (before/after a change, side by side); `twin=False` for a
        line whose flags the baseline does not know."""
        self.competitors.append((label, make, cleanup, concurrency))
        base = self.bench.baseline
        if base and twin and label.startswith("libmip"):
            self.competitors.append((f"{label} @{base[1]}", with_binary(make, self.bench.mip, base[0]), cleanup,
                                     concurrency))

    def run(self, runs):
        b = self.bench
        res = {"title": self.title, "objects": self.objects, "unit": self.unit, "competitors": {}}
        for label, _, _, conc in self.competitors:
            res["competitors"][label] = {"seconds": [], "max_rss_kib": [], "cpu_seconds": [], "requests": [],
                                         "concurrency": conc}
        logdir = b.work / "logs" / self.name
        logdir.mkdir(parents=True, exist_ok=True)
        log(f"{self.name}: {self.title} — {len(self.competitors)} competitors × {runs} runs")
        t_start = time.time()
        for r in range(runs):
            if self.before_round:
                self.before_round(r)
            k = r % len(self.competitors)
            order = self.competitors[k:] + self.competitors[:k]
            for label, make, cleanup, _ in order:
                spec = make(r)
                if spec is None:
                    continue
                argv, env, check = spec
                c = res["competitors"][label]
                lp = logdir / f"{label.replace(' ', '_').replace('/', '_')}.{r}.log"
                lp.unlink(missing_ok=True)
                mark = b.stack.requests.mark()
                try:
                    if label.startswith("wrk"):
                        m = b.run_wrk(argv, env, lp)
                    else:
                        m = run_timed(argv, env, lp)
                    mix = summarize_requests(b.stack.requests.since(mark))
                    if check:
                        check(lp, mix)
                except Failed as e:  # recorded, and the other competitors go on
                    log(f"  {self.name} run {r + 1}/{runs} {label}: FAILED: {str(e)[:300]}")
                    c.setdefault("failures", []).append(str(e)[-2000:])
                    continue
                finally:
                    if cleanup:
                        cleanup(r)
                c["seconds"].append(m["seconds"])
                c["max_rss_kib"].append(m["rss_kib"])
                c["cpu_seconds"].append(m["cpu_seconds"])
                c["requests"].append(sum(v[0] for v in mix.values()))
                c["request_mix"] = mix  # the last successful run's
                if "requests_done" in m:  # wrk: its own count (nginx does not log wrk's requests)
                    c.setdefault("requests_done", []).append(m["requests_done"])
                per = self.per_object(m)
                log(f"  {self.name} run {r + 1}/{runs} {label}: {m['seconds']:.3f} s, CPU {m['cpu_seconds']:.3f} s"
                    + (f" ({per * 1000:.3f} ms per {'request' if 'requests_done' in m else self.unit.rstrip('s')})"
                       if per is not None else "")
                    + (f", peak RSS {m['rss_kib'] / 1024:.0f} MiB" if m["rss_kib"] else "")
                    + (f", {c['requests'][-1]} requests" if c["requests"][-1] else ""))
        for label, c in res["competitors"].items():
            if c["seconds"]:
                c["median"] = statistics.median(c["seconds"])
                c["median_rss_mib"] = statistics.median(c["max_rss_kib"]) / 1024
                c["median_cpu_seconds"] = statistics.median(c["cpu_seconds"])
                c["median_requests"] = statistics.median(c["requests"])
                if c.get("requests_done"):  # wrk: CPU per request it issued
                    c["cpu_ms_per_object"] = 1000 * statistics.median(
                        cpu / max(n, 1) for cpu, n in zip(c["cpu_seconds"], c["requests_done"]))
                elif self.objects:
                    c["cpu_ms_per_object"] = 1000 * c["median_cpu_seconds"] / self.objects
        res["wall_seconds"] = time.time() - t_start
        b.results["scenarios"][self.name] = res
        b.save()
        return res

    def per_object(self, m):
        if "requests_done" in m:
            return m["cpu_seconds"] / max(m["requests_done"], 1)
        return m["cpu_seconds"] / self.objects if self.objects else None


def with_binary(make, old, new):
    """make() with every argv word equal to `old` replaced by `new` (the baseline mip-build)."""
    def swapped(r):
        spec = make(r)
        if spec is None:
            return None
        argv, env, check = spec
        return [new if a == old else a for a in argv], env, check
    return swapped


def expect(*needles):
    def check(lp, mix=None):
        out = output_of(lp)
        for n in needles:
            if n not in out:
                raise Failed(f"expected {n!r} in {lp}:\n{out[-2000:]}")
    return check


def files_in(directory, count, suffix=".mhl.mip.json"):
    """The competitor downloaded `count` files ending in suffix into directory."""
    def check(lp, mix=None):
        n = sum(1 for p in pathlib.Path(directory).rglob(f"*{suffix}") if p.is_file())
        if n != count:
            raise Failed(f"{directory}: {n} files *{suffix}, expected {count}; log {lp}")
    return check


def gets(count):
    """The competitor fetched exactly `count` objects (nginx's log: GETs of objects)."""
    def check(lp, mix=None):
        n = sum(v[0] for k, v in (mix or {}).items() if k in ("GET", "GET moto"))
        if n != count:
            raise Failed(f"{n} object GETs, expected {count} (requests: {mix}); log {lp}")
    return check


def both(*checks):
    def check(lp, mix=None):
        for c in checks:
            c(lp, mix)
    return check


# ---- the bench ---------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.mip = pathlib.Path(args.mip).resolve()
        # (path, label) of an earlier mip-build measured beside this one, or None
        self.baseline = ((pathlib.Path(args.mip_baseline).resolve(), args.baseline_label)
                         if args.mip_baseline else None)
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
            "scenarios": {}, "ceilings": {}, "scaling": {}, "scale10k": {}, "checks": {},
        }
        self.stack = None
        previous = self.out / "results.json"
        if args.only and previous.is_file():  # a partial re-run updates the earlier results
            old = json.loads(previous.read_text())
            for k in ("scenarios", "ceilings", "scaling", "scale10k", "checks"):
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

    def s3args(self, prefix, base_url=None):
        return ["--store", f"s3://{BUCKET}/{prefix}", "--endpoint", self.stack.endpoint,
                "--allow-insecure-loopback", "--base-url", base_url or f"{datagen.BASE}/{prefix}"]

    def fresh(self, path):
        path = pathlib.Path(path)
        shutil.rmtree(path, ignore_errors=True)
        return path

    # wrk ---------------------------------------------------------------------------------
    def wrk_script(self, name, body):
        """A wrk Lua script; its requests carry X-Bench-Load, so nginx does not log them."""
        p = self.work / "wrk" / f"{name}.lua"
        p.parent.mkdir(parents=True, exist_ok=True)
        marker = 'wrk.headers["X-Bench-Load"] = "wrk"\n'
        p.write_text(body if body.startswith(marker) else marker + body)
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
        """argv = wrk command; returns {seconds: seconds per request, cpu_seconds: wrk's CPU,
        requests_done: requests it completed} and checks its error count."""
        out_file = pathlib.Path(str(lp) + ".out")
        with open(lp, "ab") as err, open(out_file, "wb") as out:
            p = subprocess.Popen([str(a) for a in argv], env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
        stdout = out_file.read_text(errors="replace")
        with open(lp, "a") as f:
            f.write(stdout)
        if p.returncode != 0:
            raise Failed(f"wrk failed: {stdout[-1000:]}")
        rate = None
        total = errors = 0
        for line in stdout.splitlines():
            if line.startswith("Requests/sec:"):
                rate = float(line.split()[1])
            if " requests in " in line:
                total = int(line.split()[0])
            if "Non-2xx" in line:
                errors += int(line.split()[-1])
            if "Socket errors" in line:
                errors += sum(int(x.rstrip(",")) for x in line.split()[3::2] if x.rstrip(",").isdigit())
        # moto answers 500 to two concurrent PUTs of one key now and then (the PUT scripts give
        # each wrk thread its own keys); a few errors are tolerated and the rate counts successes
        if total and errors > 0.05 * total:
            raise Failed(f"wrk saw {errors} errors in {total} requests:\n{stdout}")
        if rate and total:
            rate *= (total - errors) / total
        if not rate:
            raise Failed(f"no rate in wrk output: {stdout}")
        return {"seconds": 1.0 / rate, "rss_kib": 0, "cpu_seconds": ru.ru_utime + ru.ru_stime,
                "requests_done": total}

    def wrk(self, script, threads=2, conns=32, seconds=None, endpoint=None):
        seconds = seconds or self.args.wrk_seconds
        return ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--timeout", "30s", "-s", script,
                endpoint or self.stack.endpoint]

    # data ----------------------------------------------------------------------------------
    def prepare_data(self):
        a = self.args
        self.data.mkdir(parents=True, exist_ok=True)
        (self.work / "aws-config-32").write_text("[default]\ns3 =\n  max_concurrent_requests = 32\n  max_queue_size = 10000\n")
        self.rclone_conf = rclone.write_config(self.work / "rclone.conf", self.stack.endpoint,
                                               servers.ACCESS_KEY, servers.SECRET_KEY)
        t0 = time.time()
        # index sets (sidecars only)
        self.index_sets = {}
        sizes = {2000}
        if self.want("scaling"):
            sizes |= {500, 2000} if a.quick else {500, 2000, 10000}
        if not any(self.want(x) for x in ("index2000", "incremental", "scaling")):
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
        if self.want("scale10k"):
            self.data_scale()
        log(f"data ready in {time.time() - t0:.0f} s")
        self.results["data_seconds"] = time.time() - t0

    def want(self, name):
        only = [s for s in self.args.only.split(",") if s]
        return not only or name in only

    def scale_sizes(self):
        if self.args.scale_sizes:
            return sorted(int(x) for x in self.args.scale_sizes.split(","))
        return list(SCALE_SIZES_QUICK if self.args.quick else SCALE_SIZES)

    def data_scale(self):
        """Catalogues of 1,000 … 10,000 published packages, each in its own store prefix, and the
        recipes that produced them. libmip itself prepares and bundles the largest catalogue once
        (tiny packages: the catalogue's size is what is measured, not the packages'), cached in
        data/scale<largest size>/: a new mip-build reuses it while a dry-run cache check of the
        first batch against its sidecars still says "skipped" (else it is regenerated). The store is
        this mip-build's own upload of them into a local store (per binary), so the objects and
        the layout are whatever the library writes; the catalogue of N is the first N packages'
        objects. They are loaded into moto in bulk (moto_bulk.py) and into nginx's mirror."""
        sizes = self.scale_sizes()
        top = max(sizes)
        digest = datagen.sha256_file(self.mip)[:12]
        d = self.data / f"scale{top}"
        ok = d / "bundled.ok"  # holds the digests of the mip-builds the data is valid for
        epoch = dict(os.environ, SOURCE_DATE_EPOCH="1767225600")
        t0 = time.time()
        if ok.is_file() and digest not in ok.read_text().split():
            if self.scale_data_valid(d, top):
                ok.write_text(ok.read_text() + digest + "\n")
            else:
                log("scale: the cached packages no longer pass this mip-build's cache check; regenerating")
                ok.unlink()
        if not ok.is_file():
            self.fresh(d)
            # batches of SCALE_BATCH packages, each its own recipes and build directory: prepare,
            # bundle and upload write one file per package into one directory with an atomic
            # write that scans that whole directory (O(N²) for one directory of N; see
            # scale_store), batches keep it linear
            for b, first in enumerate(range(0, top, SCALE_BATCH)):
                recipes = d / "recipes" / f"b{b:03d}"
                datagen.make_tiny_recipes(recipes, min(SCALE_BATCH, top - first), first=first)
                for verb, extra in (("prepare", ["--recipes", recipes]), ("bundle", [])):
                    subprocess.run([str(x) for x in self.mipv("--build-dir", d / "build" / f"b{b:03d}", verb, *extra)],
                                   env=epoch, check=True, stdout=subprocess.DEVNULL)
                shutil.rmtree(d / "build" / f"b{b:03d}" / "prepared", ignore_errors=True)  # not needed
            ok.write_text(digest + "\n")
            log(f"scale: prepared and bundled {top} packages in {time.time() - t0:.0f} s")
        bundled = sorted(d.glob("build/b*/bundled/*.mhl"), key=lambda f: f.name)
        if len(bundled) < top:
            raise RuntimeError(f"scale data: {len(bundled)} bundles under {d / 'build'}, expected {top}")
        recipe_dirs = {p.name: p for p in d.glob("recipes/b*/*")}
        # this mip-build's store of the largest catalogue; a smaller one is its first N packages'
        # objects (or, if the store holds an object of no single package, N's own upload)
        stores = d / f"stores-{digest}"
        for old in d.glob("stores-*"):
            if old != stores:
                shutil.rmtree(old, ignore_errors=True)
        top_store = self.scale_store(stores / f"size{top}", bundled)
        by_name = {}
        for key, f in self.store_objects(top_store):
            by_name.setdefault(key.rsplit("/", 1)[-1].split("-")[0], []).append((key, f))
        names = [mhl.name.split("-")[0] for mhl in bundled[:top]]
        shared = set(by_name) - set(names)
        self.scale = {}
        for n in sizes:
            if n == top:  # the whole store, its index manifest included, as every smaller size has
                objects = self.store_objects(top_store)
            elif not shared:
                objects = [kf for name in names[:n] for kf in by_name[name]]
            else:
                objects = self.store_objects(self.scale_store(stores / f"size{n}", bundled[:n]))
            objs = [(f"scale{n}/{key}", f.read_bytes()) for key, f in objects]
            t1 = time.time()
            self.stack.seed(objs)
            log(f"scale: {n} packages, {len(objs)} objects seeded under scale{n}/ in {time.time() - t1:.0f} s")
            recipes = stores / f"recipes{n}"
            if not recipes.is_dir():
                tmp = self.fresh(stores / f"recipes{n}.tmp")
                tmp.mkdir(parents=True)
                for name in names[:n]:
                    (tmp / name).symlink_to(recipe_dirs[name])
                tmp.rename(recipes)
            self.scale[n] = {"recipes": recipes, "prefix": f"scale{n}", "objects": len(objs)}
        log(f"scale data ready in {time.time() - t0:.0f} s")

    def scale_store(self, sd, bundles):
        """A local store holding `bundles` (and their sidecars) as this mip-build uploads them.
        Uploaded SCALE_BATCH packages per `mip-build upload`: upload rewrites each sidecar in its input
        directory with an atomic write that scans the whole directory for stale temporary files,
        so one upload of N packages costs O(N²) (10,000: over 20 minutes of CPU); batches keep
        it linear and give the same store."""
        store = sd / "store"
        if (sd / "ok").is_file():
            return store
        t0 = time.time()
        self.fresh(sd)
        for i in range(0, len(bundles), SCALE_BATCH):
            batch = self.fresh(sd / "bundled")
            batch.mkdir(parents=True)
            for mhl in bundles[i:i + SCALE_BATCH]:
                for f in (mhl, pathlib.Path(str(mhl) + ".mip.json")):
                    shutil.copyfile(f, batch / f.name)  # copies: upload rewrites the sidecars
            subprocess.run([str(x) for x in self.mipv("--build-dir", sd / "build", "upload", "--input-dir", batch,
                                                      "--store", store, "--base-url", SCALE_BASE_URL)],
                           env=dict(os.environ, SOURCE_DATE_EPOCH="1767225600"), check=True,
                           stdout=subprocess.DEVNULL)
        shutil.rmtree(sd / "bundled", ignore_errors=True)
        shutil.rmtree(sd / "build", ignore_errors=True)
        (sd / "ok").write_text("")
        log(f"scale: uploaded {len(bundles)} packages into a local store in {time.time() - t0:.0f} s")
        return store

    @staticmethod
    def store_objects(store):
        """(key, path) of every object in a libmip local store: its files, minus the store's own
        temporary directory, with the percent-encoded path segments decoded back to the key."""
        import urllib.parse
        out = []
        for f in sorted(pathlib.Path(store).rglob("*")):
            rel = f.relative_to(store)
            if rel.parts[0] == ".mip-tmp" or not f.is_file():
                continue
            out.append(("/".join(urllib.parse.unquote(seg) for seg in rel.parts), f))
        return out

    def scale_data_valid(self, d, top):
        """Would this mip-build skip the cached recipes against the cached sidecars? (The first
        batch stands for all: they differ only in name and number.)"""
        t0 = time.time()
        recipes = d / "recipes" / "b000"
        count = sum(1 for _ in recipes.iterdir()) if recipes.is_dir() else 0
        work = self.fresh(d / "check")
        r = subprocess.run([str(x) for x in self.mipv("--build-dir", work, "prepare", "--dry-run", "--recipes", recipes,
                                                      "--store", d / "build" / "b000" / "bundled")],
                           env=dict(os.environ, SOURCE_DATE_EPOCH="1767225600"), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        shutil.rmtree(work, ignore_errors=True)
        valid = count > 0 and r.returncode == 0 and f"0 done, {count} skipped" in r.stdout
        log(f"scale: cached packages checked with this mip-build in {time.time() - t0:.0f} s: "
            f"{'still all skipped' if valid else 'stale'}")
        return valid

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
        """What the servers sustain alone, independent of any scenario and of every client but
        wrk (32 connections, 2 threads): object GETs from nginx direct, through the proxy at 0 ms
        (the proxy's own cost) and at the bench's delay; moto's GETs, PUTs of a sidecar-sized, a
        1 MiB and an 8 MiB body, CopyObjects of 1 MiB, all direct (moto's CPU is the limit, not
        round trips); a 1 MiB PUT through the whole stack; moto's time to complete a multipart
        upload; and moto's time to render one ListObjectsV2 page of 1,000 keys, direct and
        through the proxy. report.py turns these into a per-request cost model ("server bound":
        how long the servers alone need for a client's requests)."""
        t0 = time.time()
        objs = datagen.index_objects("ceil", 1000)
        self.stack.seed(objs)
        self.stack.seed([("ceil-src/one-mib", b"c" * MB)], mirror=False)
        small = len(objs[0][1])
        keys = [k for k, _ in objs]
        auth = f'wrk.headers["Authorization"] = "{FAKE_AUTH}"\n'
        get = self.wrk_get_script("ceiling-get", keys)
        moto_get = self.wrk_script("ceiling-moto-get", auth + get.read_text())

        def put_script(name, size, prefix, extra=""):
            return self.wrk_script(name, auth + extra + WRK_THREAD_IDS + f"""
wrk.method = "PUT"
wrk.body = string.rep("m", {size})
local i = 0
request = function()
  i = i % 200 + 1
  return wrk.format(nil, string.format("/{BUCKET}/{prefix}/t%d-k%03d", tid, i))
end
""")
        put_small = put_script("ceiling-moto-put-small", small, "wrk-put-small")
        put_big = put_script("ceiling-moto-put", MB, "wrk-put")
        put_part = put_script("ceiling-moto-put-8mib", 8 * MB, "wrk-put-8mib")
        copy = self.wrk_script("ceiling-moto-copy", auth + WRK_THREAD_IDS + f"""
wrk.method = "PUT"
wrk.headers["x-amz-copy-source"] = "/{BUCKET}/ceil-src/one-mib"
local i = 0
request = function()
  i = i % 200 + 1
  return wrk.format(nil, string.format("/{BUCKET}/wrk-copy/t%d-k%03d", tid, i))
end
""")
        st = self.stack
        out = {"delay_ms": self.args.delay_ms, "put_small_bytes": small, "wrk_seconds": self.args.wrk_seconds}
        for key, endpoint, script, conns in (("nginx_get_per_s", st.nginx.endpoint, get, 32),
                                             ("proxy0_get_per_s", st.proxy0.endpoint, get, 32),
                                             ("proxy_get_per_s", st.endpoint, get, 32),
                                             ("moto_get_per_s", st.moto.endpoint, moto_get, 32),
                                             ("moto_put_small_per_s", st.moto.endpoint, put_small, 32),
                                             ("moto_put_1mib_per_s", st.moto.endpoint, put_big, 32),
                                             ("moto_put_8mib_per_s", st.moto.endpoint, put_part, 8),
                                             ("moto_copy_1mib_per_s", st.moto.endpoint, copy, 32),
                                             ("proxy_put_1mib_per_s", st.endpoint, put_big, 32)):
            lp = self.work / "logs" / "ceilings.log"
            lp.parent.mkdir(parents=True, exist_ok=True)
            m = self.run_wrk(self.wrk(script, conns=conns, endpoint=endpoint), None, lp)
            out[key] = 1.0 / m["seconds"]
            log(f"ceiling {CEILING_NAMES[key]}: {out[key]:.0f}/s")
        for prefix in ("wrk-put/", "wrk-put-small/", "wrk-put-8mib/", "wrk-copy/"):
            st.delete_prefix(prefix)
        # moto's CompleteMultipartUpload concatenates the parts in Python: time it alone for an
        # object of 8 parts of 8 MiB (the parts uploaded untimed, direct)
        from concurrent.futures import ThreadPoolExecutor
        s3 = st.admin(8)
        up = s3.create_multipart_upload(Bucket=BUCKET, Key="ceil-mp/object")["UploadId"]
        body = b"p" * (8 * MB)

        def part(n):
            r = s3.upload_part(Bucket=BUCKET, Key="ceil-mp/object", UploadId=up, PartNumber=n, Body=body)
            return {"PartNumber": n, "ETag": r["ETag"]}
        with ThreadPoolExecutor(8) as ex:
            parts = list(ex.map(part, range(1, 9)))
        t1 = time.perf_counter()
        s3.complete_multipart_upload(Bucket=BUCKET, Key="ceil-mp/object", UploadId=up,
                                     MultipartUpload={"Parts": parts})
        out["moto_complete_s_per_mib"] = (time.perf_counter() - t1) / 64
        log(f"ceiling {CEILING_NAMES['moto_complete_s_per_mib']}: {out['moto_complete_s_per_mib'] * 1000:.1f} ms")
        st.delete_prefix("ceil-mp/")
        # moto's ListObjectsV2: one page of the 1,000 keys under ceil/, rendered by moto in Python
        import urllib.request
        for key, endpoint in (("moto_list_page_s", st.moto.endpoint), ("proxy_list_page_s", st.endpoint)):
            times = []
            for _ in range(5):
                req = urllib.request.Request(f"{endpoint}/{BUCKET}?list-type=2&prefix=ceil%2F&delimiter=%2F",
                                             headers={"Authorization": FAKE_AUTH})
                t1 = time.perf_counter()
                with urllib.request.urlopen(req, timeout=60) as r:
                    body = r.read()
                times.append(time.perf_counter() - t1)
            if body.count(b"<Key>") != 1000:
                raise RuntimeError(f"ceiling listing returned {body.count(b'<Key>')} keys, expected 1000")
            out[key] = statistics.median(times)
            out["list_page_bytes"] = len(body)
            log(f"ceiling {CEILING_NAMES[key]}: {out[key] * 1000:.0f} ms")
        out["seconds"] = time.time() - t0
        self.results["ceilings"] = out
        self.save()

    # scenarios -------------------------------------------------------------------------------
    def sc_index(self):
        n = 2000
        prefix, objs = self.index_sets[n]
        sc = Scenario(self, "index2000", f"index assembly, {n} sidecars", objects=n, unit="sidecars")
        wd = self.work / "run" / "index"
        sc.add("libmip", lambda r: (self.mipv("--build-dir", self.fresh(wd / "lib"), "index", *self.s3args(prefix)),
                                    self.env(), expect(f"index: {n} package(s)")), concurrency=32)
        # The same concurrency as rclone's best line (--transfers 64).
        sc.add("libmip --max-in-flight 64", lambda r: (
            self.mipv("--build-dir", self.fresh(wd / "lib64"), "index", "--max-in-flight", "64",
                      *self.s3args(prefix)),
            self.env(), expect(f"index: {n} package(s)")), concurrency=64)
        sc.add("reference", lambda r: ([PY, REF / "assemble_index.py", BUCKET, prefix, wd / "ref.json"],
                                       self.env(), expect(f"indexed {n}")), concurrency=1)
        sc.add("boto3 32 threads", lambda r: ([PY, B3, "index", BUCKET, prefix, wd / "b3.json"], self.env(),
                                             expect(f"indexed {n}")), concurrency=32)
        sc.add("aws s3 sync", lambda r: ([self.aws, "--endpoint-url", self.stack.endpoint, "s3", "sync", "--quiet",
                                          f"s3://{BUCKET}/{prefix}/", self.fresh(wd / "aws")], self.env(),
                                         files_in(wd / "aws", n)), concurrency=32)
        for t in (32, 64):
            sc.add(f"rclone copy --transfers {t}", lambda r, t=t: (
                rclone.download(self.rclone_conf, BUCKET, prefix, self.fresh(wd / f"rclone{t}"), transfers=t),
                self.env(False), both(files_in(wd / f"rclone{t}", n), gets(n))), concurrency=t)
        script = self.wrk_get_script("index2000", [k for k, _ in objs])
        sc.add("wrk (GET rate)", lambda r: (self.wrk(script), None, None), concurrency=32)
        wd.mkdir(parents=True, exist_ok=True)
        return sc.run(self.args.runs)

    def sc_cache(self):
        d = self.data / "cache500"
        sc = Scenario(self, "cache500", "cache check, 500 packages (all published, all skipped)", objects=500,
                      unit="packages")
        wd = self.work / "run" / "cache"
        sc.add("libmip", lambda r: (self.mipv("--build-dir", self.fresh(wd / "lib"), "prepare", "--recipes",
                                              d / "recipes", *self.s3args("cache500")),
                                    self.env(), expect("0 done, 500 skipped")), concurrency=32)
        sc.add("libmip, local store", lambda r: (self.mipv("--build-dir", self.fresh(wd / "loc"), "prepare", "--recipes",
                                                           d / "recipes", "--store", d / "store"),
                                                 self.env(), expect("0 done, 500 skipped")))
        sc.add("reference", lambda r: ([PY, REF / "check_cache.py", f"{self.stack.endpoint}/{BUCKET}/cache500",
                                        d / "wheels.jsonl"], self.env(), expect("skipped 500 built 0")), concurrency=1)
        return sc.run(self.args.runs)

    def sc_upload(self):
        up = self.up_dir
        count = len(list(up.glob("*.mhl")))
        sc = Scenario(self, "upload200", f"upload, {count} bundles of ~1 MB + sidecars", objects=2 * count,
                      unit="objects")

        def clean(name):
            return lambda r: self.stack.delete_prefix(f"up/{name}-{r}/")
        sc.add("libmip", lambda r: (self.mipv("--build-dir", up.parent, "upload", *self.s3args(f"up/lib-{r}")),
                                    self.env(), expect(f"{count} done")), clean("lib"), concurrency=32)
        sc.add("libmip --flat-copy", lambda r: (self.mipv("--build-dir", up.parent, "upload", "--flat-copy",
                                                          *self.s3args(f"up/copy-{r}")),
                                                self.env(), expect(f"{count} done")), clean("copy"), concurrency=32,
               twin=False)  # --flat-copy is new: the baseline's "libmip" line is its twin
        sc.add("libmip --flat-urls", lambda r: (self.mipv("--build-dir", up.parent, "upload", "--flat-urls",
                                                          *self.s3args(f"up/flat-{r}")),
                                                self.env(), expect(f"{count} done")), clean("flat"), concurrency=32)
        sc.add("reference", lambda r: ([PY, REF / "bundle_and_upload_packages.py", up, BUCKET, f"up/ref-{r}",
                                        "--upload-only"], self.env(), expect(f"processed {count}")), clean("ref"),
               concurrency=1)
        sc.add("boto3 32 threads", lambda r: ([PY, B3, "upload", up, BUCKET, f"up/b3-{r}"], self.env(),
                                             expect(f"uploaded {2 * count}")), clean("b3"), concurrency=32)
        sc.add("aws s3 cp --recursive", lambda r: ([self.aws, "--endpoint-url", self.stack.endpoint, "s3", "cp",
                                                    "--recursive", "--quiet", up, f"s3://{BUCKET}/up/aws-{r}/"],
                                                   self.env(), self.stored(f"up/aws-{r}/", 2 * count)), clean("aws"),
               concurrency=32)
        sc.add("rclone copy", lambda r: (rclone.upload_dir(self.rclone_conf, up, BUCKET, f"up/rclone-{r}"),
                                         self.env(False), self.stored(f"up/rclone-{r}/", 2 * count)),
               clean("rclone"), concurrency=32)
        mhl = sorted(up.glob("*.mhl"))[0]
        size = mhl.stat().st_size
        side = len(pathlib.Path(str(mhl) + ".mip.json").read_bytes())
        auth = 'wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=benchkey/20260101/auto/s3/aws4_request, SignedHeaders=host, Signature=00"\n'
        script = self.wrk_script("upload200", auth + WRK_THREAD_IDS + f"""
local big = string.rep("m", {size})
local small = string.rep("s", {side})
local i = 0
request = function()
  i = i % {2 * count} + 1
  local body = (i % 2 == 1) and big or small
  return wrk.format("PUT", string.format("/bench/up/wrk/t%d-k%04d", tid, i), nil, body)
end
""")
        sc.add("wrk (PUT rate)", lambda r: (self.wrk(script), None, None), lambda r: self.stack.delete_prefix("up/wrk/"),
               concurrency=32)
        return sc.run(self.args.runs)

    def sc_big(self):
        if self.args.no_big:
            return None
        size = self.big_mhl.stat().st_size
        shown = f"{size / (1 << 30):.0f} GiB" if size >= (1 << 30) - 8192 else f"{size / MB:.0f} MiB"
        sc = Scenario(self, "big", f"upload, one {shown} bundle (multipart)", objects=1, unit="files")
        d = self.big_dir
        name = self.big_mhl.name

        def clean(label):
            return lambda r: self.stack.delete_prefix(f"big/{label}-{r}/")
        sc.add("libmip --flat-urls", lambda r: (self.mipv("--build-dir", d.parent, "upload", "--flat-urls",
                                                          *self.s3args(f"big/lib-{r}")),
                                                self.env(False), expect("1 done")), clean("lib"), concurrency=8)
        sc.add("boto3 transfer manager", lambda r: ([PY, B3, "big", self.big_mhl, BUCKET, f"big/b3-{r}/{name}"],
                                                   self.env(False), expect("uploaded 1")), clean("b3"), concurrency=10)
        sc.add("aws s3 cp", lambda r: ([self.aws, "--endpoint-url", self.stack.endpoint, "s3", "cp", "--quiet",
                                        self.big_mhl, f"s3://{BUCKET}/big/aws-{r}/{name}"],
                                       self.env(False), self.stored(f"big/aws-{r}/", 1, size)), clean("aws"),
               concurrency=10)
        sc.add("rclone copyto", lambda r: (rclone.upload_file(self.rclone_conf, self.big_mhl, BUCKET, f"big/rclone-{r}/{name}"),
                                           self.env(False), self.stored(f"big/rclone-{r}/", 1, size)),
               clean("rclone"), concurrency=8)
        return sc.run(self.args.runs)

    def sc_bundle(self):
        sc = Scenario(self, "bundle60", f"bundle, 60 packages, {self.bundle_bytes / 1e6:.0f} MB of MATLAB sources",
                      objects=60, unit="packages")
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
        sc = Scenario(self, "publish100", "publish end to end, 100 packages (prepare → bundle → upload → index)",
                      objects=100, unit="packages")
        wd = self.work / "run" / "publish"
        wd.mkdir(parents=True, exist_ok=True)
        ep = self.stack.endpoint

        def clean(name):
            return lambda r: self.stack.delete_prefix(f"pub/{name}-{r}/")
        # --test skip: the reference pipeline tests nothing (publish's test stage runs Octave,
        # which would time Octave, not the publish)
        sc.add("libmip", lambda r: (self.mipv("--build-dir", self.fresh(wd / "lib"), "publish", "--test", "skip",
                                              "--recipes", self.pub / "recipes", *self.s3args(f"pub/lib-{r}")),
                                    self.env(), expect("index: 100 package(s)")), clean("lib"), concurrency=32)
        ref_sh = wd / "reference.sh"
        ref_sh.write_text(
            'set -e\nPY="$1"; REF="$2"; RECIPES="$3"; OUT="$4"; EP="$5"; PREFIX="$6"\n'
            'rm -rf "$OUT"; mkdir -p "$OUT"\n'
            '"$PY" "$REF/prepare_packages.py" "$RECIPES" "$OUT/prepared" "$EP/bench/$PREFIX"\n'
            '"$PY" "$REF/bundle_and_upload_packages.py" "$OUT/prepared" bench "$PREFIX"\n'
            '"$PY" "$REF/assemble_index.py" bench "$PREFIX" "$OUT/index.json"\n')
        sc.add("reference pipeline", lambda r: (["bash", ref_sh, PY, REF, self.pub / "reference-recipes", wd / "ref", ep,
                                                 f"pub/ref-{r}"], self.env(), expect("built 100", "indexed 100")),
               clean("ref"), concurrency=1)
        return sc.run(self.args.runs)

    def sc_incremental(self):
        prefix, objs = self.index_sets[2000]
        objs = list(objs)
        n = len(objs)
        wd = self.work / "run" / "incremental"
        warm = wd / "warm"
        self.fresh(wd)
        epoch = {"SOURCE_DATE_EPOCH": "1767225600"}
        manifest_key = f"{prefix}/mip-index-manifest.json"
        admin = self.stack.admin()
        # the warm states, untimed: libmip's ETag cache and index manifest (`--full-listing`
        # creates it, as a first publish does), rclone's local copy
        # each binary keeps its own warm state (the baseline twin may have another cache format)
        bins = [(self.mip, warm)] + ([(self.baseline[0], wd / "warm-baseline")] if self.baseline else [])

        def update_warm(*flags):
            for binary, w in bins:
                argv = [binary if a == self.mip else a for a in self.mipv("--build-dir", w, "index", *flags,
                                                                          *self.s3args(prefix))]
                subprocess.run([str(x) for x in argv], env=self.env(extra=epoch), check=True,
                               stdout=subprocess.DEVNULL)
        update_warm("--full-listing")
        subprocess.run(rclone.download(self.rclone_conf, BUCKET, prefix, wd / "rclone"), env=self.env(False),
                       check=True, stdout=subprocess.DEVNULL)
        changed = max(1, n // 100)

        import hashlib

        def record_in_manifest(batch):
            # What an uploader does after writing its sidecars (docs/formats.md, "The index
            # manifest"): read the manifest, set each sidecar's ETag (a single-part PUT's ETag is
            # its MD5), write it back with If-Match on the ETag read; 412 = read again.
            for _ in range(10):
                got = admin.get_object(Bucket=BUCKET, Key=manifest_key)
                doc = json.loads(got["Body"].read())
                for key, data in batch:
                    doc["sidecars"][key[len(prefix) + 1:]] = hashlib.md5(data).hexdigest()
                try:
                    admin.put_object(Bucket=BUCKET, Key=manifest_key, Body=json.dumps(doc).encode(),
                                     ContentType="application/json", IfMatch=got["ETag"])
                    return
                except admin.exceptions.ClientError as e:
                    if e.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
                        raise
            raise RuntimeError("the index manifest kept changing")

        def mutate(r):
            # once per round, before any competitor: each incremental competitor then finds the
            # same `changed` sidecars changed since its own previous run. libmip's warm state is
            # brought up to date first (untimed); each libmip incremental run (the baseline twin
            # too) starts from a copy of it, so both see exactly these changes.
            if r > 0:
                update_warm()
            idx = [(r * changed + k) * 37 % n for k in range(changed)]
            batch = [datagen.mutate(objs[i][0], objs[i][1], r + 1) for i in idx]
            for i, kv in zip(idx, batch):
                objs[i] = kv
            self.stack.seed(batch)
            record_in_manifest(batch)

        def sidecar_gets(count):
            # the changed sidecars, plus the manifest itself when the client reads it (libmip
            # since the manifest; rclone: it is one more changed object) — the baseline binary
            # lists instead and reads exactly `count`
            def check(lp, mix=None):
                got = sum(v[0] for k, v in (mix or {}).items() if k in ("GET", "GET moto"))
                if got not in (count, count + 1):
                    raise Failed(f"{got} object GETs, expected {count} (+1 manifest) (requests: {mix}); log {lp}")
            return check
        sc = Scenario(self, "incremental", f"index assembly, {changed} of {n} sidecars changed (1%)", objects=n,
                      unit="sidecars", before_round=mutate)
        sc.add("libmip full", lambda r: (self.mipv("--build-dir", self.fresh(wd / "full"), "index",
                                                   *self.s3args(prefix)), self.env(extra=epoch),
                                         expect(f"index: {n} package(s)")), concurrency=32)
        def warm_copy(binary):
            shutil.rmtree(wd / "inc", ignore_errors=True)
            src = dict((str(b), w) for b, w in bins)[str(binary)]
            shutil.copytree(src, wd / "inc", ignore=shutil.ignore_patterns(".mip-build.lock"))
            return wd / "inc"

        def incremental(binary):
            return lambda r: ([binary if a == self.mip else a
                               for a in self.mipv("--json", "--build-dir", warm_copy(binary), "index",
                                                  *self.s3args(prefix))],
                              self.env(extra=epoch),
                              both(expect(f'"sidecars_downloaded": {changed}'), sidecar_gets(changed)))
        sc.add("libmip incremental", incremental(self.mip), concurrency=32, twin=False)
        if self.baseline:
            sc.add(f"libmip incremental @{self.baseline[1]}", incremental(self.baseline[0]), concurrency=32,
                   twin=False)
        sc.add("rclone copy --checksum (warm)", lambda r: (
            rclone.download(self.rclone_conf, BUCKET, prefix, wd / "rclone", checksum=True), self.env(False),
            both(files_in(wd / "rclone", n), sidecar_gets(changed))), concurrency=32)
        try:
            res = sc.run(self.args.runs)
            subprocess.run([str(x) for x in self.mipv("--build-dir", self.fresh(wd / "check"), "index",
                                                      *self.s3args(prefix))],
                           env=self.env(extra=epoch), check=True, stdout=subprocess.DEVNULL)
        finally:
            # the other scenarios on this prefix see the store as seeded (no manifest)
            admin.delete_object(Bucket=BUCKET, Key=manifest_key)
        full = (wd / "check" / "gh-pages" / "index.json").read_bytes()
        inc = (wd / "inc" / "gh-pages" / "index.json").read_bytes()  # the last incremental run's
        self.results["checks"]["incremental index equals a full assembly"] = (full == inc)
        log(f"incremental index equals a full assembly: {full == inc}")
        self.save()
        return res

    def sc_startup(self):
        sc = Scenario(self, "startup", "start-up: mip-build --version vs the reference's imports", objects=1,
                      unit="starts")
        sc.add("libmip", lambda r: ([self.mip, "--version"], None, None))
        sc.add("reference", lambda r: ([PY, REF / "startup.py"], self.env(), expect("ok")))
        return sc.run(max(self.args.runs, 10))

    def sc_scaling(self):
        sizes = sorted(self.index_sets)
        out = {}
        wd = self.work / "run" / "scaling"
        for n in sizes:
            prefix, _ = self.index_sets[n]
            sc = Scenario(self, f"scaling{n}", f"index assembly, {n} sidecars (libmip)", objects=n, unit="sidecars")
            sc.add("libmip", lambda r, prefix=prefix, n=n: (
                self.mipv("--build-dir", self.fresh(wd / "lib"), "index", *self.s3args(prefix)),
                self.env(), expect(f"index: {n} package(s)")), concurrency=32)
            res = sc.run(self.args.runs)
            out[n] = res["competitors"]["libmip"]["median"]
            del self.results["scenarios"][f"scaling{n}"]
        self.results["scaling"] = {"libmip_median_seconds": out}
        self.save()


    def sc_scale10k(self):
        """A no-op publish (every package already published: all skipped, then the index) and an
        index assembly, for catalogues of 1,000 … 10,000 packages: wall time, requests, client CPU
        and peak RSS per size, and how each grows."""
        wd = self.work / "run" / "scale"
        wd.mkdir(parents=True, exist_ok=True)
        out = {"sizes": sorted(self.scale), "no-op publish": {}, "index": {}}
        for n in sorted(self.scale):
            s = self.scale[n]
            sc = Scenario(self, f"scale{n}", f"catalogue of {n} packages (libmip)", objects=n, unit="packages")
            sc.add("no-op publish", lambda r, s=s, n=n: (
                self.mipv("--build-dir", self.fresh(wd / "publish"), "publish", "--recipes", s["recipes"],
                          *self.s3args(s["prefix"], SCALE_BASE_URL)),
                self.env(), expect(f"0 done, {n} skipped", f"index: {n} package(s)")), concurrency=32)
            sc.add("index", lambda r, s=s, n=n: (
                self.mipv("--build-dir", self.fresh(wd / "index"), "index", *self.s3args(s["prefix"], SCALE_BASE_URL)),
                self.env(), expect(f"index: {n} package(s)")), concurrency=32)
            res = sc.run(self.args.runs)
            for job, c in res["competitors"].items():
                if c.get("median") is None:
                    out[job][n] = {"failures": c.get("failures", [])}
                    continue
                out[job][n] = {k: c[k] for k in ("seconds", "median", "median_cpu_seconds", "cpu_ms_per_object",
                                                 "median_rss_mib", "max_rss_kib", "requests", "median_requests",
                                                 "request_mix") if k in c}
                out[job][n]["store_objects"] = s["objects"]
            del self.results["scenarios"][f"scale{n}"]
        lo, hi = min(self.scale), max(self.scale)
        out["linearity"] = {}
        for job in ("no-op publish", "index"):
            a, b = out[job].get(lo, {}).get("median"), out[job].get(hi, {}).get("median")
            if a and b:
                # time(hi) ÷ (hi/lo × time(lo)): 1 = linear, the target is ≤ 2
                out["linearity"][job] = b / (hi / lo * a)
                log(f"scale: {job}: time({hi}) = {b:.2f} s = {out['linearity'][job]:.2f} × {hi // lo} × time({lo})")
        self.results["scale10k"] = out
        self.save()

    def stored(self, prefix, count, size=None):
        """A check: moto holds `count` objects under prefix (each of `size` bytes if given)."""
        def check(lp, mix=None):
            s3 = self.stack.admin()
            objs = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
                objs += page.get("Contents", [])
            bad = [o["Key"] for o in objs if size is not None and o["Size"] != size]
            if len(objs) != count or bad:
                raise Failed(f"{prefix}: {len(objs)} objects (expected {count}), wrong sizes: {bad[:3]}; log {lp}")
        return check


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mip", required=True, help="mip-build (Release)")
    p.add_argument("--mip-baseline", default="",
                   help="an earlier mip-build (Release): each libmip line gets a twin '… @LABEL' running it")
    p.add_argument("--baseline-label", default="baseline")
    p.add_argument("--work", required=True, help="scratch directory (data, logs, servers)")
    p.add_argument("--out", default=str(HERE / "results"))
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--delay-ms", type=float, default=20)
    p.add_argument("--wrk-seconds", type=int, default=3)
    p.add_argument("--no-big", action="store_true", help="skip the 2 GiB multipart upload")
    p.add_argument("--big-size", type=int, default=2 << 30)
    p.add_argument("--bundle-mb", type=int, default=300)
    p.add_argument("--quick", action="store_true",
                   help="no 10,000-sidecar set; scale10k with 100 … 1,000 packages (development)")
    p.add_argument("--scale-sizes", default="", help="scale10k catalogue sizes, e.g. 1000,2000,5000,10000")
    p.add_argument("--no-ceilings", action="store_true", help="keep the previous run's server ceilings")
    p.add_argument("--only", default="", help="comma-separated scenario names")
    args = p.parse_args()
    # SIGTERM (run.sh's trap) unwinds through the finally below, which stops every server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    only = [s for s in args.only.split(",") if s]
    names = ("ceilings", "startup", "index2000", "incremental", "scaling", "cache500", "upload200", "bundle60",
             "publish100", "big", "scale10k")
    unknown = [x for x in only if x not in names]
    if unknown:
        p.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(names)}")
    b = Bench(args)
    b.stack = servers.Stack(b.work / "servers", args.delay_ms)
    t0 = time.time()
    try:
        b.stack.start()
        log(f"servers: proxy {b.stack.endpoint} ({args.delay_ms} ms) -> nginx {b.stack.nginx.endpoint} -> moto {b.stack.moto.endpoint}")
        log(f"GNU time's own CPU per run: {measure_timer_cpu(b.work) * 1000:.2f} ms (subtracted)")
        b.results["settings"]["timer_cpu_seconds"] = TIMER_CPU
        # the servers' own limits, measured in every invocation (scenario-independent)
        if not args.no_ceilings or not b.results["ceilings"]:
            b.measure_ceilings()
        b.prepare_data()
        steps = {"startup": b.sc_startup, "index2000": b.sc_index, "incremental": b.sc_incremental,
                 "scaling": b.sc_scaling, "cache500": b.sc_cache, "upload200": b.sc_upload, "bundle60": b.sc_bundle,
                 "publish100": b.sc_publish, "big": b.sc_big, "scale10k": b.sc_scale10k}
        for name, fn in steps.items():
            if only and name not in only:
                continue
            t1 = time.time()
            fn()
            b.results.setdefault("step_seconds", {})[name] = time.time() - t1
    finally:
        b.stack.stop()
        b.results["total_seconds"] = time.time() - t0
        b.save()
    log(f"done in {time.time() - t0:.0f} s; results in {b.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
