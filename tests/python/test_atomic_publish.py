"""Atomic publishing (mip-format §4, §11.2): while a package is republished under the same wheel
name with different bytes, a reader that polls the index and fetches each entry's `mhl_url` never
gets bytes whose sha256 differs from the entry's `mhl_sha256`.

The index points at the write-once, content-addressed key `sha256/<hex>/<wheel>.mhl`; the flat
`<wheel>.mhl` (reference layout) is replaced on rebuild, but no index libmip writes refers to it
(unless `--flat-urls`, whose overwrite needs `--allow-overwrite`, tested here as the refusal).

Runs against a local directory store and against S3 (moto behind the verifying proxy); the reader
reads the index the publisher deploys (`build/gh-pages/index.json`) and fetches objects the way a
client would (the file, or a GET straight from moto)."""
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import threading

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import faults  # noqa: E402
import s3  # noqa: E402

pytestmark = pytest.mark.slow

ROUNDS = 6


def env_for():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("MIP_STORE", "MIP_BASE_URL")}
    env.update({"AWS_ACCESS_KEY_ID": s3.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": s3.SECRET_KEY,
                "SOURCE_DATE_EPOCH": "1700000000", "NO_PROXY": "*"})
    return env


class Reader(threading.Thread):
    """Polls index.json and fetches every entry's mhl_url until stopped."""

    def __init__(self, index_file, fetch):
        super().__init__(daemon=True)
        self.index_file = index_file
        self.fetch = fetch
        self.stop = threading.Event()
        self.reads = 0
        self.digests = set()
        self.mismatches = []
        self.errors = []

    def run(self):
        while not self.stop.is_set():
            try:
                doc = json.loads(self.index_file.read_bytes())
            except FileNotFoundError:
                continue
            except ValueError as e:  # a torn index would be a failure too
                self.mismatches.append(f"index.json unreadable: {e}")
                continue
            for entry in doc["packages"]:
                try:
                    data = self.fetch(entry["mhl_url"])
                except Exception as e:  # noqa: BLE001 - recorded and asserted on
                    self.errors.append(f"{entry['mhl_url']}: {e!r}")
                    continue
                digest = hashlib.sha256(data).hexdigest()
                self.reads += 1
                if entry["name"] == "atom001":
                    self.digests.add(entry["mhl_sha256"])
                if digest != entry["mhl_sha256"] or len(data) != entry["mhl_size"]:
                    self.mismatches.append(f"{entry['mhl_url']}: got {digest}, index says "
                                           f"{entry['mhl_sha256']}")


def republish(exe, recipes, build, extra, rounds, first=0):
    src = recipes / "atom" / "src"
    results = []
    for i in range(first, first + rounds):
        (src / "data.txt").write_text(f"round {i}\n" * (1000 + i))
        r = subprocess.run([exe, "publish", "--test", "skip", "--recipes", recipes, "--build-dir", build, "-j", "1",
                            *extra], capture_output=True, text=True, env=env_for(), timeout=600)
        results.append(r)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return results


def run_scenario(exe, tmp_path, extra, fetch_for):
    recipes = tmp_path / "recipes"
    faults.make_recipes(recipes, 3, prefix="stable")
    faults.make_recipes(recipes, 1, prefix="atom")
    (recipes / "atom001").rename(recipes / "atom")
    build = tmp_path / "build"
    republish(exe, recipes, build, extra, 1)
    reader = Reader(build / "gh-pages" / "index.json", fetch_for(build))
    reader.start()
    try:
        republish(exe, recipes, build, extra, ROUNDS, first=1)
    finally:
        reader.stop.set()
        reader.join()
    print(f"\n[atomic] {reader.reads} fetches, {len(reader.digests)} distinct atom digests seen, "
          f"{len(reader.mismatches)} mismatches")
    assert reader.errors == []
    assert reader.mismatches == []
    assert reader.reads > 0
    assert len(reader.digests) >= 2, "the reader never overlapped a republish"
    index = json.loads((build / "gh-pages" / "index.json").read_text())
    atom = [e for e in index["packages"] if e["name"] == "atom001"]
    assert len(atom) == 1
    return build, atom[0]


def test_republishing_never_serves_bytes_that_differ_from_the_index_local(tmp_path, mip_build_exe):
    def fetch_for(build):
        return lambda url: pathlib.Path(url[len("file://"):]).read_bytes()

    build, atom = run_scenario(mip_build_exe, tmp_path, [], fetch_for)
    store = build / "store"
    # Every round's content-addressed copy is still there, each with its own bytes.
    copies = list((store / "sha256").glob("*/atom001-*.mhl"))
    assert len(copies) == ROUNDS + 1
    for c in copies:
        assert hashlib.sha256(c.read_bytes()).hexdigest() == c.parent.name


def test_republishing_never_serves_bytes_that_differ_from_the_index_s3(tmp_path, mip_build_exe):
    with s3.S3Stack(tmp_path / "s3") as stack:
        prefix = "atomic/packages"
        base = f"https://example.invalid/{prefix}"
        extra = ["--store", f"s3://test/{prefix}", "--endpoint", stack.endpoint,
                 "--allow-insecure-loopback", "--base-url", base]
        client = faults.boto_client(stack.moto_endpoint)

        def fetch_for(build):
            def fetch(url):
                key = prefix + "/" + url[len(base) + 1:]
                return client.get_object(Bucket="test", Key=key)["Body"].read()
            return fetch

        _, atom = run_scenario(mip_build_exe, tmp_path, extra, fetch_for)
        keys = faults.bucket_objects(stack.moto_endpoint, "test", prefix + "/sha256/")
        assert len([k for k in keys if "atom001" in k]) == ROUNDS + 1


def test_flat_urls_refuse_to_overwrite_published_bytes(tmp_path, mip_build_exe):
    """With --flat-urls the index points at the replaceable name, so replacing its bytes needs
    --allow-overwrite: without it, the republish fails and the published bytes stay."""
    recipes = tmp_path / "recipes"
    faults.make_recipes(recipes, 1, prefix="flat")
    build = tmp_path / "build"
    args = ["publish", "--test", "skip", "--recipes", recipes, "--build-dir", build, "--flat-urls", "-j", "1"]
    r = subprocess.run([mip_build_exe, *map(str, args)], capture_output=True, text=True, env=env_for())
    assert r.returncode == 0, r.stderr
    flat = next((build / "store").glob("flat001-*.mhl"))
    before = flat.read_bytes()
    index_before = (build / "gh-pages" / "index.json").read_bytes()
    (recipes / "flat001" / "src" / "data.txt").write_text("changed\n")
    r = subprocess.run([mip_build_exe, *map(str, args)], capture_output=True, text=True, env=env_for())
    # A local store refuses it locally: exit 4 (local I/O), no made-up HTTP status (issue 13).
    assert r.returncode == 4, r.stdout + r.stderr
    assert "--allow-overwrite" in r.stdout + r.stderr and "HTTP 412" not in r.stdout + r.stderr
    assert flat.read_bytes() == before
    assert (build / "gh-pages" / "index.json").read_bytes() == index_before
