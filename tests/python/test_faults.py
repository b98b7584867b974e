"""Fault injection: `mip-build publish` into S3 through tests/servers/fault_proxy.py (seeded 500,
503 SlowDown, 429, connection resets mid-response, truncated bodies and a stall past the client's
timeout), in front of the SigV4-verifying proxy and moto_server.

* 100 generated packages with 20% of requests faulted: the run succeeds, every object read back
  straight from moto is byte-identical (sha256) to the local bundle, the index matches the
  sidecars, and every injected fault shows up as a `retry n/N` line in the `-v` output.
* Every request faulted: exit code 5, no index, nothing half-published, no multipart upload left
  open (ListMultipartUploads is empty, also when only the UploadPart requests of a 70 MiB package
  fail), and a rerun once the faults stop completes.

The fault figures of each run are printed (pytest -s shows them) and kept in the proxy's stats
file under the test's tmp_path."""
import hashlib
import json
import pathlib
import re
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import faults  # noqa: E402
import s3  # noqa: E402

pytestmark = pytest.mark.slow

BASE = "https://example.invalid"
# Worker threads log while the main thread draws progress, so a log line may start mid-line.
RETRY_LINE = re.compile(r"retry \d+/\d+ [A-Za-z]+ s3://")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with s3.S3Stack(tmp_path_factory.mktemp("faults-s3")) as st:
        yield st


def s3_env(extra=None):
    env = {"AWS_ACCESS_KEY_ID": s3.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": s3.SECRET_KEY,
           "SOURCE_DATE_EPOCH": "1700000000", "NO_PROXY": "*"}
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        env[k] = ""
    env.update(extra or {})
    return env


def publish(run_cli, recipes, build, endpoint, prefix, *extra, jobs=1, timeout=900):
    return run_cli("-v", "publish", "--test", "skip", "--recipes", recipes, "--build-dir", build, "-j", str(jobs),
                   "--store", f"s3://test/{prefix}", "--endpoint", endpoint,
                   "--allow-insecure-loopback", "--base-url", f"{BASE}/{prefix}", *extra,
                   env=s3_env(), timeout=timeout)


def store_objects(stack, prefix):
    objects = faults.bucket_objects(stack.moto_endpoint, "test", prefix + "/")
    return {k[len(prefix) + 1:]: v for k, v in objects.items()}


def print_figures(label, stats, extra=""):
    print(f"\n[faults] {label}: {stats['requests']} requests, {stats['faulted']} faulted "
          f"({stats['by_kind']}), {stats['forwarded']} forwarded {extra}")


def test_publish_100_packages_through_20_percent_faults(tmp_path, run_cli, stack):
    prefix = "faulty/packages"
    recipes = tmp_path / "recipes"
    names = faults.make_recipes(recipes, 100)
    build = tmp_path / "build"
    with faults.FaultProxyProcess(stack.endpoint, tmp_path / "proxy", seed=20240611, rate=0.2,
                                  max_consecutive=3, max_stalls=1, stall_seconds=75) as fp:
        r = publish(run_cli, recipes, build, fp.endpoint, prefix, jobs=2)
        stats = fp.stats()
    (tmp_path / "publish.stderr").write_text(r.stderr)
    print_figures("20% run", stats, f"; exit {r.returncode}")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-6000:]

    # The plan really was ~20% of requests, and every kind of fault happened. At least 501
    # requests reach the proxy without faults: 100 sidecar reads (prepare's cache check, reused
    # by the upload), 100 × (bundle PUT, sidecar PUT; a new bucket gets no flat copy), a listing
    # and 100 GETs.
    assert stats["requests"] - stats["faulted"] >= 401, stats
    assert 0.12 * stats["requests"] <= stats["faulted"] <= 0.3 * stats["requests"], stats
    for kind in ("500", "503", "429", "reset", "truncate", "stall"):
        assert stats["by_kind"][kind] > 0, (kind, stats)

    # Every fault was survived by a visible retry (none reached the result). The one exception:
    # a reset before any byte of the answer on a *reused* keep-alive connection, which libcurl
    # itself resends on a fresh connection without telling libmip.
    injected = [json.loads(line) for line in fp.log_path.read_text().splitlines()]
    assert len(injected) == stats["faulted"]
    silent = [f for f in injected if f.get("when") == "before forwarding"]
    retries = RETRY_LINE.findall(r.stderr)
    assert stats["faulted"] - len(silent) <= len(retries) <= stats["faulted"], \
        (len(retries), len(silent), stats)
    assert "retry 1/5 PutObject" in r.stderr and "retry 1/5 GetObject" in r.stderr
    assert re.search(r"retry \d/5 \w+ s3://test/faulty/packages/\S+: curl 28 ", r.stderr), \
        "the stalled request was not timed out and retried"

    # Read back, fault-free, straight from moto: every object byte-identical to the local bundle.
    objects = store_objects(stack, prefix)
    assert len(objects) == 201, sorted(objects)[:10]  # 100 × 2 + the index manifest
    assert faults.check_store_consistent(objects, f"{BASE}/{prefix}") == []
    bundled = build / "bundled"
    mhls = sorted(bundled.glob("*.mhl"))
    assert len(mhls) == 100
    for mhl in mhls:
        local = mhl.read_bytes()
        digest = sha256(local)
        assert mhl.name not in objects, mhl.name
        assert sha256(objects[f"sha256/{digest}/{mhl.name}"]) == digest, mhl.name
        local_sidecar = json.loads((bundled / (mhl.name + ".mip.json")).read_text())
        remote_sidecar = json.loads(objects[mhl.name + ".mip.json"])
        assert remote_sidecar == local_sidecar, mhl.name
        assert remote_sidecar["mhl_sha256"] == digest
        assert remote_sidecar["mhl_size"] == len(local)

    # The index matches the sidecars, entry for entry.
    index = json.loads((build / "gh-pages" / "index.json").read_text())
    assert index["total_packages"] == 100
    assert sorted(e["name"] for e in index["packages"]) == names
    for entry in index["packages"]:
        wheel = "-".join(entry[k] for k in ("name", "version", "matlab_tag", "abi_tag", "platform_tag"))
        sidecar = json.loads(objects[wheel + ".mhl.mip.json"])
        assert {k: v for k, v in entry.items() if k != "mip_json_url"} == sidecar, wheel
        assert entry["mip_json_url"] == f"{BASE}/{prefix}/{wheel}.mhl.mip.json"
        key = entry["mhl_url"][len(f"{BASE}/{prefix}/"):]
        assert sha256(objects[key]) == entry["mhl_sha256"]


def test_every_request_faulted_fails_cleanly_and_a_rerun_completes(tmp_path, run_cli, stack):
    prefix = "allfault/packages"
    recipes = tmp_path / "recipes"
    faults.make_recipes(recipes, 8, prefix="down")
    build = tmp_path / "build"
    with faults.FaultProxyProcess(stack.endpoint, tmp_path / "proxy", seed=5, rate=1.0,
                                  kinds=["500", "503", "429", "reset", "truncate"],
                                  max_consecutive=-1) as fp:
        r = publish(run_cli, recipes, build, fp.endpoint, prefix, jobs=1)
        stats = fp.stats()
        print_figures("all faulted", stats, f"; exit {r.returncode}")
        assert r.returncode == 5, r.stdout[-3000:] + r.stderr[-4000:]
        assert stats["faulted"] == stats["requests"] > 0
        assert "mip-build: error" in r.stderr or "upload: failed" in r.stdout
        assert "upload: failed" in r.stdout, r.stdout
        assert "[after 6 attempts]" in r.stdout + r.stderr
        assert not (build / "gh-pages" / "index.json").exists()
        assert not (build / "gh-pages").exists() or not any((build / "gh-pages").iterdir())
        # Nothing half-published: whatever landed (a reset after forwarding lets a request
        # through) is consistent, and no package got a sidecar.
        objects = store_objects(stack, prefix)
        assert not [k for k in objects if k.endswith(".mip.json")], sorted(objects)
        assert faults.check_store_consistent(objects, f"{BASE}/{prefix}") == []
        assert faults.open_multipart_uploads(stack.moto_endpoint, "test") == []

        # The faults stop: the same command completes.
        fp.configure(rate=0.0)
        fp.reset_stats()
        r2 = publish(run_cli, recipes, build, fp.endpoint, prefix, jobs=1)
        assert r2.returncode == 0, r2.stdout[-3000:] + r2.stderr[-4000:]
        assert fp.stats()["faulted"] == 0
    index = json.loads((build / "gh-pages" / "index.json").read_text())
    assert index["total_packages"] == 8
    objects = store_objects(stack, prefix)
    assert len(objects) == 17  # per package the sha256/ bundle and the sidecar, + the index manifest
    assert faults.check_store_consistent(objects, f"{BASE}/{prefix}") == []


def test_multipart_upload_with_every_part_faulted_is_aborted(tmp_path, run_cli, stack):
    """A 70 MiB package goes multipart (threshold 64 MiB). Every UploadPart fails: the upload
    must be aborted, not left open; the rerun completes and reads back byte-identical."""
    prefix = "bigfault/packages"
    recipes = tmp_path / "recipes"
    blob = hashlib.shake_256(b"mip big package").digest(70 * 1024 * 1024)  # incompressible
    faults.make_recipes(recipes, 1, prefix="big", big={1: blob})
    build = tmp_path / "build"
    with faults.FaultProxyProcess(stack.endpoint, tmp_path / "proxy", seed=9, rate=1.0,
                                  kinds=["500", "503", "reset"], max_consecutive=-1,
                                  match=["partNumber="]) as fp:
        r = publish(run_cli, recipes, build, fp.endpoint, prefix, jobs=1)
        stats = fp.stats()
        print_figures("every part faulted", stats, f"; exit {r.returncode}")
        assert r.returncode == 5, r.stdout[-3000:] + r.stderr[-4000:]
        assert stats["faulted"] > 0
        assert not (build / "gh-pages" / "index.json").exists()
        assert faults.open_multipart_uploads(stack.moto_endpoint, "test") == []
        objects = store_objects(stack, prefix)
        assert not [k for k in objects if k.endswith(".mip.json")]

        fp.configure(rate=0.0)
        r2 = publish(run_cli, recipes, build, fp.endpoint, prefix, jobs=1)
        assert r2.returncode == 0, r2.stdout[-3000:] + r2.stderr[-4000:]
    objects = store_objects(stack, prefix)
    mhl = next((build / "bundled").glob("*.mhl"))
    assert mhl.stat().st_size > 64 * 1024 * 1024
    digest = sha256(mhl.read_bytes())
    assert sha256(objects[f"sha256/{digest}/{mhl.name}"]) == digest
    assert faults.check_store_consistent(objects, f"{BASE}/{prefix}") == []
    assert faults.open_multipart_uploads(stack.moto_endpoint, "test") == []


def test_parallel_prepare_against_an_s3_store_completes(tmp_path, run_cli, stack):
    """`-j 4` with an S3 store: prepare's cache check must not call one R2Client from several
    threads at once (its multi handle is single-threaded). Fault-free; fails by timeout if the
    workers livelock on the shared curl multi handle (they did, until prepare fetched the
    published sidecars with one get_many before its parallel phase)."""
    prefix = "parallel/packages"
    recipes = tmp_path / "recipes"
    faults.make_recipes(recipes, 8, prefix="par")
    try:
        r = publish(run_cli, recipes, tmp_path / "build", stack.endpoint, prefix, jobs=4,
                    timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("mip-build publish -j 4 against an S3 store hung for 60 s: Preparer runs "
                    "fetch_published() (R2Client::get) on several worker threads at once, which "
                    "share one curl multi handle (libmip/src/preparer.cpp)")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-4000:]
    index = json.loads((tmp_path / "build" / "gh-pages" / "index.json").read_text())
    assert index["total_packages"] == 8
