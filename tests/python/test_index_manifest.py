"""The index manifest (`mip-index-manifest.json`, issue #18): uploaders maintain it with
conditional writes, `index` with a warm cache reads it instead of listing the store. Checked on a
local store and on S3 (moto_server behind the verifying proxy): the incremental index has the
same bytes as a full assembly; concurrent uploaders (processes, different packages, one store)
never lose an entry; a corrupt or hostile manifest is warned about and the store listed;
sidecars deleted or written behind the uploader's back are caught by the full listing."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import s3  # noqa: E402

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}
BASE_URL = "https://example.invalid/core/packages"
MANIFEST = "mip-index-manifest.json"
COUNT = 6


def ok(r):
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def make_recipes(root, count=COUNT):
    names = []
    for i in range(count):
        name = f"man_{i}"
        d = pathlib.Path(root) / name
        (d / "src").mkdir(parents=True)
        (d / "src" / f"f_{i}.m").write_text(f"function y = f_{i}(x)\ny = x + {i};\nend\n")
        (d / "prepare.yaml").write_text(
            f"name: {name}\ndescription: manifest test package {i}\nversion: \"1.{i}.0\"\n"
            f"license: MIT\nprepare:\n  path: {{path: src, destination: {name}}}\n")
        names.append(name)
    return names


def describe(recipes, name, text):
    y = pathlib.Path(recipes) / name / "prepare.yaml"
    y.write_text("\n".join(f"description: {text}" if line.startswith("description:") else line
                           for line in y.read_text().splitlines()) + "\n")


@pytest.fixture(scope="module")
def recipes(tmp_path_factory):
    root = tmp_path_factory.mktemp("man-recipes")
    make_recipes(root)
    return root


@pytest.fixture(scope="module")
def bundled(tmp_path_factory, recipes, mip_build_exe):
    """Every package prepared and bundled once: `<build>/bundled`."""
    build = tmp_path_factory.mktemp("man-build")
    env = dict(os.environ, **EPOCH)
    for verb in (["prepare", "--recipes", str(recipes)], ["bundle"]):
        r = subprocess.run([mip_build_exe, *verb, "--build-dir", str(build)], env=env,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
    return build / "bundled"


def index(run_cli, build, flags, *extra, env=EPOCH):
    r = ok(run_cli("--json", "-v", "index", "--build-dir", build, *flags, *extra, env=env))
    return json.loads(r.stdout), r.stderr


SITE = ("index.json", "packages.html", "feed.json", "feed.xml")


def site_bytes(build):
    """index.json, the channel page and the feeds: a warm run must match a full one in all four."""
    return b"\0".join((pathlib.Path(build) / "gh-pages" / f).read_bytes() for f in SITE)


def full_index(run_cli, tmp_path, flags, env=EPOCH):
    full = tmp_path / f"full{len(list(tmp_path.glob('full*')))}"
    doc, _ = index(run_cli, full, flags, env=env)
    assert doc["sidecar_source"] == "listing"
    return site_bytes(full)


# --- local store -----------------------------------------------------------------------------

def local_manifest(store):
    return json.loads((pathlib.Path(store) / MANIFEST).read_text())


def test_local_incremental_index_reads_the_manifest_and_equals_a_full_one(tmp_path, run_cli, recipes):
    rec = tmp_path / "recipes"
    shutil.copytree(recipes, rec)
    build, store = tmp_path / "build", tmp_path / "store"
    flags = ["--store", store]
    ok(run_cli("publish", "--test", "skip", "--recipes", rec, "--build-dir", build, *flags, env=EPOCH))
    # the upload created the manifest, untrusted (listed_at 0); publish's index had a cold cache
    # and only listed
    m = local_manifest(store)
    assert m["listed_at"] == 0
    assert sorted(m["sidecars"]) == sorted(p.name for p in store.glob("*.mhl.mip.json"))
    # warm: the untrusted manifest makes this run list, and the listing marks it checked
    doc, _ = index(run_cli, build, flags)
    assert (doc["sidecar_source"], doc["sidecars_downloaded"]) == ("listing", 0)
    assert local_manifest(store)["listed_at"] > 0
    doc, _ = index(run_cli, build, flags)
    assert (doc["sidecar_source"], doc["sidecars_downloaded"]) == ("manifest", 0)
    for name in ("man_1", "man_4"):
        describe(rec, name, f"changed {name}")
    ok(run_cli("publish", "--test", "skip", "--recipes", rec, "--build-dir", tmp_path / "other",
               "--package", "man_1", "--package", "man_4", *flags, env=EPOCH))
    doc, _ = index(run_cli, build, flags)
    assert (doc["sidecar_source"], doc["sidecars_downloaded"]) == ("manifest", 2)
    assert site_bytes(build) == full_index(run_cli, tmp_path, flags)
    assert b"changed man_4" in site_bytes(build)
    # --full-listing lists even with a fresh manifest (and finds nothing to repair)
    doc, _ = index(run_cli, build, flags, "--full-listing")
    assert (doc["sidecar_source"], doc["sidecars_downloaded"]) == ("listing", 0)


@pytest.mark.parametrize("text", [
    b"{not json",
    b'{"format": 1, "listed_at": 1, "sidecars": {"../../etc/passwd.mhl.mip.json": "x"}}',
    b'{"format": 99, "listed_at": 1, "sidecars": {}}',
    b'{"format": 1, "listed_at": 1, "sidecars": {"man_0-1.0.0-any.mhl.mip.json": ""}}',
])
def test_local_corrupt_manifest_is_warned_about_listed_and_repaired(tmp_path, run_cli, bundled, text):
    build, store = tmp_path / "build", tmp_path / "store"
    flags = ["--store", store, "--base-url", BASE_URL]
    ok(run_cli("upload", "--input-dir", bundled, "--build-dir", build, *flags, env=EPOCH))
    index(run_cli, build, flags, "--full-listing")
    (store / MANIFEST).write_bytes(text)
    doc, err = index(run_cli, build, flags)
    assert doc["sidecar_source"] == "listing"
    assert f"ignoring {MANIFEST}" in err
    assert doc["total_packages"] == COUNT
    assert site_bytes(build) == full_index(run_cli, tmp_path, flags)
    assert len(local_manifest(store)["sidecars"]) == COUNT, "the listing repaired it"
    doc, _ = index(run_cli, build, flags)
    assert doc["sidecar_source"] == "manifest"


def test_local_manifest_that_omits_a_package_trusted_only_after_a_listing(tmp_path, run_cli, bundled):
    """A manifest an uploader created on a store it never saw whole is not trusted."""
    build, store = tmp_path / "build", tmp_path / "store"
    flags = ["--store", store, "--base-url", BASE_URL]
    ok(run_cli("upload", "--input-dir", bundled, "--build-dir", build, "--package", "man_0", *flags, env=EPOCH))
    m = local_manifest(store)
    assert m["listed_at"] == 0 and len(m["sidecars"]) == 1
    ok(run_cli("upload", "--input-dir", bundled, "--build-dir", build, *flags, env=EPOCH))
    assert local_manifest(store)["listed_at"] == 0
    for _ in range(2):  # a cold cache, then a warm one: both list
        doc, _ = index(run_cli, build, flags)
        assert (doc["sidecar_source"], doc["total_packages"]) == ("listing", COUNT)
    assert local_manifest(store)["listed_at"] > 0
    doc, _ = index(run_cli, build, flags)
    assert (doc["sidecar_source"], doc["total_packages"]) == ("manifest", COUNT)


def test_local_sidecar_deleted_or_rewritten_behind_the_back_is_caught_by_the_full_listing(
        tmp_path, run_cli, bundled):
    build, store = tmp_path / "build", tmp_path / "store"
    flags = ["--store", store, "--base-url", BASE_URL]
    ok(run_cli("upload", "--input-dir", bundled, "--build-dir", build, *flags, env=EPOCH))
    index(run_cli, build, flags, "--full-listing")
    gone = sorted(store.glob("man_2-*.mhl.mip.json"))[0]
    gone.unlink()
    edited = sorted(store.glob("man_3-*.mhl.mip.json"))[0]
    doc = json.loads(edited.read_text())
    doc["description"] = "rewritten behind the back"
    edited.write_text(json.dumps(doc))
    # Between full listings the manifest is the truth: neither change is seen yet.
    doc, _ = index(run_cli, build, flags)
    assert (doc["sidecar_source"], doc["total_packages"]) == ("manifest", COUNT)
    assert b"rewritten behind the back" not in site_bytes(build)
    # The full listing sees both, and repairs the manifest.
    doc, _ = index(run_cli, build, flags, "--full-listing")
    assert (doc["sidecar_source"], doc["total_packages"]) == ("listing", COUNT - 1)
    assert b"rewritten behind the back" in site_bytes(build)
    assert site_bytes(build) == full_index(run_cli, tmp_path, flags)
    assert gone.name not in local_manifest(store)["sidecars"]
    doc, _ = index(run_cli, build, flags)
    assert (doc["sidecar_source"], doc["sidecars_downloaded"]) == ("manifest", 0)
    assert site_bytes(build) == full_index(run_cli, tmp_path, flags)


@pytest.mark.parametrize("damage", ["truncate", "flip", "foreign"])
def test_local_damaged_index_cache_is_warned_about_and_assembled_in_full(tmp_path, run_cli, bundled, damage):
    """The cache of sidecars and their index entries (`cache/index/index-cache.bin`): a damaged or
    foreign one is never used in part; the run warns, lists the store and rewrites it."""
    build, store = tmp_path / "build", tmp_path / "store"
    flags = ["--store", store, "--base-url", BASE_URL]
    ok(run_cli("upload", "--input-dir", bundled, "--build-dir", build, *flags, env=EPOCH))
    index(run_cli, build, flags, "--full-listing")
    cache = build / "cache" / "index" / "index-cache.bin"
    good = cache.read_bytes()
    mtime = cache.stat().st_mtime_ns
    doc, _ = index(run_cli, build, flags)
    assert (doc["sidecar_source"], doc["sidecars_downloaded"]) == ("manifest", 0)
    assert cache.stat().st_mtime_ns == mtime, "an unchanged cache is not rewritten"
    data = bytearray(good)
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        i = good.index(b"changed") if b"changed" in good else len(good) // 2
        data[i] ^= 0x20
    else:
        data = b'{"man_0-1.0.0-any-none-any.mhl.mip.json": {"etag": "x", "data": "{}"}}'
    cache.write_bytes(bytes(data))
    doc, err = index(run_cli, build, flags)
    assert "ignoring unreadable index cache" in err
    assert (doc["sidecar_source"], doc["total_packages"]) == ("listing", COUNT)
    assert site_bytes(build) == full_index(run_cli, tmp_path, flags)
    assert cache.read_bytes() == good
    doc, _ = index(run_cli, build, flags)
    assert (doc["sidecar_source"], doc["sidecars_downloaded"]) == ("manifest", 0)
    assert site_bytes(build) == full_index(run_cli, tmp_path, flags)


def test_local_stale_manifest_is_listed_again(tmp_path, run_cli, bundled):
    """The periodic check: a manifest whose last full listing is over a day old."""
    build, store = tmp_path / "build", tmp_path / "store"
    flags = ["--store", store, "--base-url", BASE_URL]
    ok(run_cli("upload", "--input-dir", bundled, "--build-dir", build, *flags, env=EPOCH))
    index(run_cli, build, flags, "--full-listing")
    m = local_manifest(store)
    m["listed_at"] -= 2 * 86400
    (store / MANIFEST).write_text(json.dumps(m))
    doc, err = index(run_cli, build, flags)
    assert doc["sidecar_source"] == "listing"
    assert "more than a day old" in err
    doc, _ = index(run_cli, build, flags)
    assert doc["sidecar_source"] == "manifest"


def test_dry_run_index_writes_no_manifest(tmp_path, run_cli, bundled):
    build, store = tmp_path / "build", tmp_path / "store"
    flags = ["--store", store, "--base-url", BASE_URL]
    ok(run_cli("upload", "--input-dir", bundled, "--build-dir", build, "--package", "man_0", *flags, env=EPOCH))
    before = (store / MANIFEST).read_bytes()
    ok(run_cli("index", "--dry-run", "--build-dir", build, *flags, env=EPOCH))
    assert (store / MANIFEST).read_bytes() == before


# --- concurrent uploaders, local and S3 --------------------------------------------------------

@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with s3.S3Stack(tmp_path_factory.mktemp("man-s3")) as st:
        yield st


S3_ENV = dict(EPOCH, AWS_ACCESS_KEY_ID=s3.ACCESS_KEY, AWS_SECRET_ACCESS_KEY=s3.SECRET_KEY)


def s3_flags(stack, prefix):
    return ["--store", f"s3://test/{prefix}", "--endpoint", stack.endpoint, "--allow-insecure-loopback",
            "--base-url", BASE_URL]


def concurrent_uploads(mip_build_exe, tmp_path, bundled, flags, env):
    """One `mip-build upload` process per package, all started before any is waited for."""
    procs = []
    for i in range(COUNT):
        cmd = [mip_build_exe, "upload", "--input-dir", str(bundled), "--build-dir", str(tmp_path / f"u{i}"),
               "--package", f"man_{i}", *map(str, flags)]
        procs.append(subprocess.Popen(cmd, env=dict(os.environ, **env), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, out + err


def stored_sidecars(stack, store, prefix):
    """{key: ETag} of the store's sidecars, and the manifest (or None)."""
    if stack is None:
        etags = {p.name: None for p in pathlib.Path(store).glob("*.mhl.mip.json")}
        path = pathlib.Path(store) / MANIFEST
        return etags, json.loads(path.read_text()) if path.exists() else None
    r = stack.aws("s3api", "list-objects-v2", "--bucket", "test", "--prefix", prefix + "/")
    listed = json.loads(r.stdout or "{}").get("Contents", [])
    etags = {o["Key"][len(prefix) + 1:]: o["ETag"].strip('"') for o in listed
             if o["Key"].endswith(".mhl.mip.json") and "/" not in o["Key"][len(prefix) + 1:]}
    got = stack.aws("s3", "cp", f"s3://test/{prefix}/{MANIFEST}", "-", check=False)
    return etags, json.loads(got.stdout) if got.returncode == 0 else None


@pytest.mark.parametrize("where", ["local", "s3"])
def test_concurrent_uploaders_never_lose_an_entry(tmp_path, run_cli, mip_build_exe, bundled, stack, where):
    for trial in range(3):
        wd = tmp_path / f"t{trial}"
        if where == "local":
            store, prefix = wd / "store", None
            flags, env, st = ["--store", store, "--base-url", BASE_URL], EPOCH, None
        else:
            store, prefix = None, f"man/conc{trial}"
            flags, env, st = s3_flags(stack, prefix), S3_ENV, stack
        warm = wd / "warm"
        if trial > 0:
            # a trusted manifest first (a listing wrote it), so the uploads race on If-Match;
            # trial 0 races on creating it (If-None-Match: *)
            ok(run_cli("upload", "--input-dir", bundled, "--build-dir", warm, "--package", "man_0", *flags, env=env))
            doc, _ = index(run_cli, warm, flags, "--full-listing", env=env)
            assert doc["sidecar_source"] == "listing"
        concurrent_uploads(mip_build_exe, wd, bundled, flags, env)
        etags, manifest = stored_sidecars(st, store, prefix)
        assert len(etags) == COUNT
        assert manifest is not None
        assert sorted(manifest["sidecars"]) == sorted(etags), f"trial {trial}: an entry was lost"
        if st is not None:
            assert manifest["sidecars"] == etags, "each entry holds the sidecar's ETag"
        assert (manifest["listed_at"] > 0) == (trial > 0)
        if trial > 0:
            doc, _ = index(run_cli, warm, flags, env=env)
            assert (doc["sidecar_source"], doc["total_packages"]) == ("manifest", COUNT)
            assert doc["sidecars_downloaded"] == COUNT - 1
            assert site_bytes(warm) == full_index(run_cli, wd, flags, env=env)
    if where == "s3":
        assert all(r.get("status", 200) != 403 for r in stack.records())


def test_python_full_listing_kwarg_and_sidecar_source(tmp_path, run_cli, bundled):
    """`full_listing=` from Python: it lists a store whose manifest could serve, and creates
    the manifest where none exists."""
    import mip_native as m
    build, store = tmp_path / "build", tmp_path / "store"
    ok(run_cli("upload", "--input-dir", bundled, "--build-dir", build, *["--store", store, "--base-url", BASE_URL],
               env=EPOCH))
    (store / MANIFEST).unlink()
    cache = tmp_path / "cache"
    warm = m.IndexAssembler(m.LocalStore(store), cache_dir=cache, base_url=BASE_URL).assemble()
    assert (warm.sidecar_source, len(warm.packages)) == ("listing", COUNT)
    assert not (store / MANIFEST).exists(), "an index without --full-listing creates none"
    full = m.IndexAssembler(m.LocalStore(store), cache_dir=cache, base_url=BASE_URL, full_listing=True).assemble()
    assert (full.sidecar_source, full.sidecars_downloaded) == ("listing", 0)
    assert len(local_manifest(store)["sidecars"]) == COUNT
    again = m.IndexAssembler(m.LocalStore(store), cache_dir=cache, base_url=BASE_URL).assemble()
    assert (again.sidecar_source, again.sidecars_downloaded) == ("manifest", 0)
    assert again.index_json() == full.index_json()


@pytest.fixture(scope="module")
def bundled_many(tmp_path_factory, mip_build_exe):
    """More packages than the upload checks one by one (it lists the store instead)."""
    root = tmp_path_factory.mktemp("man-many")
    make_recipes(root / "recipes", 34)
    env = dict(os.environ, **EPOCH)
    for verb in (["prepare", "--recipes", str(root / "recipes")], ["bundle"]):
        r = subprocess.run([mip_build_exe, *verb, "--build-dir", str(root / "build")], env=env,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
    return root / "build" / "bundled"


@pytest.mark.parametrize("many", [False, True], ids=["checked-by-gets", "checked-by-listing"])
def test_an_upload_reads_the_manifest_with_its_check_not_after(tmp_path, run_cli, bundled, bundled_many,
                                                              stack, many):
    """The upload reads the index manifest in the same batch (or listing) that checks what is
    published, so updating it at the end costs one conditional PUT, not a GET and a PUT: one GET
    of it in the run, before the first PUT, and it then lists every sidecar with its ETag."""
    src, count = (bundled_many, 34) if many else (bundled, COUNT)
    prefix = f"man/once-{int(many)}"
    flags = s3_flags(stack, prefix)
    ok(run_cli("upload", "--input-dir", src, "--build-dir", tmp_path / "first", "--package", "man_0", *flags,
               env=S3_ENV))
    stack.clear_log()
    ok(run_cli("upload", "--input-dir", src, "--build-dir", tmp_path / "all", *flags, env=S3_ENV))
    records = stack.records()
    manifest_gets = [i for i, x in enumerate(records) if x["method"] == "GET" and x["path"].endswith(MANIFEST)]
    puts = [i for i, x in enumerate(records) if x["method"] == "PUT" and not x["path"].endswith(MANIFEST)]
    assert len(manifest_gets) == 1, [(x["method"], x["path"]) for x in records]
    assert puts and manifest_gets[0] < puts[0]
    assert [x["method"] for x in records if x["path"].endswith(MANIFEST)] == ["GET", "PUT"]
    etags, manifest = stored_sidecars(stack, None, prefix)
    assert len(etags) == count
    assert manifest["sidecars"] == etags
