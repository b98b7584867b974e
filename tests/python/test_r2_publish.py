"""End to end: `mip-build publish` into an S3 bucket (moto_server behind the SigV4-verifying proxy,
R2 mode). The index built from the bucket equals the index built from a local store apart from
URLs, every object reads back byte-identical with the aws CLI, every request was signed
correctly, carried no Expect header and the right Content-Type / Cache-Control (mip-format §4)."""
import hashlib
import json
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import faults  # noqa: E402
import s3  # noqa: E402

BASE_URL = "https://example.invalid/core/packages"
URL_FIELDS = ("mhl_url", "mip_json_url")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with s3.S3Stack(tmp_path_factory.mktemp("publish-s3")) as st:
        yield st


def tree(root):
    root = pathlib.Path(root)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".mip-tmp" not in p.parts}


def without_urls(entry):
    return {k: v for k, v in entry.items() if k not in URL_FIELDS}


def test_publish_to_s3_matches_a_local_publish(tmp_path, run_cli, source_dir, stack):
    recipes = source_dir / "examples" / "packages"
    # The YAML recipes (Python recipes need the bindings, which this test is not about).
    selection = []
    for d in sorted(recipes.iterdir()):
        if (d / "prepare.yaml").is_file():
            selection += ["--package", d.name]
    assert selection
    env = {"SOURCE_DATE_EPOCH": "1700000000", "AWS_ACCESS_KEY_ID": s3.ACCESS_KEY,
           "AWS_SECRET_ACCESS_KEY": s3.SECRET_KEY}
    s3_flags = ["--endpoint", stack.endpoint, "--allow-insecure-loopback", "--allow-octave-builds"]
    build = tmp_path / "build"

    stack.clear_log()
    remote = run_cli("publish", "--test", "skip", "--recipes", recipes, *selection, "--build-dir", build, "-j", "2",
                     "--store", "s3://test/core/packages", *s3_flags, "--base-url", BASE_URL,
                     env=env)
    assert remote.returncode == 0, remote.stdout + remote.stderr
    assert s3.SECRET_KEY not in remote.stdout + remote.stderr
    publish_records = stack.records()

    # The same bundles into a local store, indexed from there.
    local_store = tmp_path / "local-store"
    r = run_cli("upload", "--build-dir", build, "--store", local_store, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run_cli("index", "--build-dir", build, "--store", local_store, "--output-dir",
                tmp_path / "local-index", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    # And the bucket indexed again with --verify (every .mhl downloaded and checked).
    r = run_cli("index", "--build-dir", build, "--store", "s3://test/core/packages", *s3_flags,
                "--base-url", BASE_URL, "--verify", "--output-dir", tmp_path / "verify-index",
                env=env)
    assert r.returncode == 0, r.stdout + r.stderr

    local_index = json.loads((tmp_path / "local-index" / "index.json").read_text())
    remote_index = json.loads((build / "gh-pages" / "index.json").read_text())
    verified_index = json.loads((tmp_path / "verify-index" / "index.json").read_text())
    assert verified_index == remote_index
    assert remote_index["total_packages"] == local_index["total_packages"] == len(selection) // 2
    assert [without_urls(e) for e in remote_index["packages"]] == \
        [without_urls(e) for e in local_index["packages"]]
    for entry in remote_index["packages"]:
        wheel = "-".join(entry[k] for k in ("name", "version", "matlab_tag", "abi_tag",
                                             "platform_tag"))
        assert entry["mhl_url"] == f"{BASE_URL}/sha256/{entry['mhl_sha256']}/{wheel}.mhl"
        assert entry["mip_json_url"] == f"{BASE_URL}/{wheel}.mhl.mip.json"

    # Every object, read back by an independent client, is byte-identical.
    download = tmp_path / "download"
    stack.aws("s3", "cp", "--recursive", "s3://test/core/packages", str(download))
    remote_objects = tree(download)
    local_objects = tree(local_store)
    assert sorted(remote_objects) == sorted(local_objects)
    for key, data in remote_objects.items():
        if key.endswith(".mhl"):
            assert data == local_objects[key], key
        elif key == "mip-index-manifest.json":  # the same sidecars; each store's own ETags
            assert sorted(json.loads(data)["sidecars"]) == \
                sorted(json.loads(local_objects[key])["sidecars"])
        else:
            assert key.endswith(".mhl.mip.json"), key
            remote_sidecar, local_sidecar = json.loads(data), json.loads(local_objects[key])
            assert without_urls(remote_sidecar) == without_urls(local_sidecar), key
            assert remote_sidecar["mhl_url"].startswith(BASE_URL + "/sha256/")
            assert sha256(remote_objects[remote_sidecar["mhl_url"][len(BASE_URL) + 1:]]) == \
                remote_sidecar["mhl_sha256"]

    # What the bucket saw: signed correctly, no Expect, the right headers per object kind.
    records = publish_records
    puts = [r for r in records if r["method"] == "PUT"]
    assert len(puts) >= len(remote_objects)
    for r in records:
        assert r["error"] is None, r
        assert r["expect"] is None, r
    for r in puts:
        if r["path"].endswith(".mhl"):
            assert r["content_type"] == "application/zip", r
        else:
            assert r["content_type"] == "application/json", r
        if "/sha256/" in r["path"]:
            assert r["if_none_match"] == "*", r
            assert "immutable" in (r["cache_control"] or ""), r

    # Per package, in order: the create-only bundle (its known digest signed as the payload
    # hash), then the sidecar. A new bucket holds no flat names, so no flat copy is made.
    # Before the first write, publish reads each published sidecar once: the upload's check
    # reuses the prepare stage's read (the index reads the new ones afterwards).
    first_put = next(i for i, r in enumerate(records) if r["method"] == "PUT")
    sidecar_gets = {}
    for r in records[:first_put]:
        if r["method"] == "GET" and r["path"].endswith(".mhl.mip.json") and not r["query"]:
            sidecar_gets[r["path"]] = sidecar_gets.get(r["path"], 0) + 1
    assert len(sidecar_gets) == len(selection) // 2, sidecar_gets
    assert set(sidecar_gets.values()) == {1}, sidecar_gets
    for entry in remote_index["packages"]:
        wheel = "-".join(entry[k] for k in ("name", "version", "matlab_tag", "abi_tag", "platform_tag"))
        position = {}
        for i, r in enumerate(records):
            if r["method"] != "PUT" or r["status"] != 200:
                continue
            if r["path"].endswith(f"/sha256/{entry['mhl_sha256']}/{wheel}.mhl"):
                position["bundle"] = i
                assert r["content_sha256"] == entry["mhl_sha256"], r
                assert r["body_bytes"] == entry["mhl_size"], r
            elif r["path"].endswith(f"/core/packages/{wheel}.mhl"):
                position["flat"] = i
            elif r["path"].endswith(f"/core/packages/{wheel}.mhl.mip.json"):
                position["sidecar"] = i
        assert "flat" not in position, (wheel, position)
        assert position["bundle"] < position["sidecar"], (wheel, position)
        assert f"{wheel}.mhl" not in remote_objects


def test_upload_of_many_packages_checks_by_listing(tmp_path, run_cli, stack):
    """Above 32 packages the upload's "already published?" check is one listing: a sidecar whose
    ETag is the MD5 of ours is skipped unread, a missing one is uploaded, a different one is read
    and compared."""
    recipes = tmp_path / "recipes"
    names = faults.make_recipes(recipes, 40)
    build = tmp_path / "build"
    prefix = "many/packages"
    env = {"SOURCE_DATE_EPOCH": "1700000000", "AWS_ACCESS_KEY_ID": s3.ACCESS_KEY,
           "AWS_SECRET_ACCESS_KEY": s3.SECRET_KEY}
    store = ["--store", f"s3://test/{prefix}", "--endpoint", stack.endpoint, "--allow-insecure-loopback",
             "--base-url", f"https://example.invalid/{prefix}"]
    for verb in (["prepare", "--recipes", recipes, "--force"], ["bundle"], ["upload", *store]):
        r = run_cli(*verb, "--build-dir", build, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
    assert "upload: 40 done" in r.stdout + r.stderr

    def upload_again():
        stack.clear_log()
        r = run_cli("upload", "--build-dir", build, *store, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        records = stack.records()
        lists = [x for x in records if x["method"] == "GET" and "list-type=2" in x["query"]]
        sidecar_gets = [x["path"] for x in records if x["method"] == "GET" and x["path"].endswith(".mip.json")]
        puts = [x["path"] for x in records if x["method"] == "PUT"]
        return r.stdout + r.stderr, lists, sidecar_gets, puts

    out, lists, gets, puts = upload_again()
    assert "0 done, 40 skipped" in out
    assert len(lists) == 1 and gets == [] and puts == []

    wheel = f"{names[0]}-1.0.1-any-none-any"
    stack.aws("s3", "rm", f"s3://test/{prefix}/{wheel}.mhl.mip.json")
    spaced = tmp_path / "spaced.json"
    other = f"{names[1]}-1.0.2-any-none-any"
    spaced.write_text((build / "bundled" / f"{other}.mhl.mip.json").read_text() + "\n")
    stack.aws("s3", "cp", str(spaced), f"s3://test/{prefix}/{other}.mhl.mip.json")
    out, lists, gets, puts = upload_again()
    assert "1 done, 39 skipped" in out, out
    assert len(lists) == 1
    assert gets == [f"/test/{prefix}/{other}.mhl.mip.json"]  # read: same fields, so skipped
    assert sorted(p.rsplit("/", 1)[1] for p in puts) == sorted([f"{wheel}.mhl", f"{wheel}.mhl.mip.json"])
    assert [p for p in puts if "/sha256/" not in p and p.endswith(".mhl")] == []  # no flat copy


def test_the_flat_copy_is_made_exactly_when_asked_or_the_bucket_has_flat_names(tmp_path, run_cli, stack):
    """`--flat-copy` writes the flat `<wheel>.mhl` as a server-side copy into a new bucket prefix;
    without it a prefix gets one only once it holds flat names; `--flat-urls` uploads the flat
    name itself (the bytes, no content-addressed key)."""
    recipes = tmp_path / "recipes"
    names = faults.make_recipes(recipes, 2)
    build = tmp_path / "build"
    env = {"SOURCE_DATE_EPOCH": "1700000000", "AWS_ACCESS_KEY_ID": s3.ACCESS_KEY,
           "AWS_SECRET_ACCESS_KEY": s3.SECRET_KEY}
    for verb in (["prepare", "--recipes", recipes, "--force"], ["bundle"]):
        r = run_cli(*verb, "--build-dir", build, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
    wheels = sorted(p.name[:-len(".mhl")] for p in (build / "bundled").glob("*.mhl"))
    assert len(wheels) == len(names) == 2

    def upload(prefix, *flags):
        stack.clear_log()
        r = run_cli("upload", "--build-dir", build, "--store", f"s3://test/{prefix}", "--endpoint", stack.endpoint,
                    "--allow-insecure-loopback", "--base-url", f"https://example.invalid/{prefix}", *flags, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        puts = [x for x in stack.records() if x["method"] == "PUT"]
        flat = [x for x in puts if "/sha256/" not in x["path"] and x["path"].endswith(".mhl")]
        for x in puts:
            assert x["error"] is None, x
        return puts, flat

    def keys(prefix):
        out = stack.aws("s3", "ls", "--recursive", f"s3://test/{prefix}/").stdout
        return sorted(line.split()[-1].split(f"{prefix}/", 1)[1] for line in out.splitlines() if line.strip())

    puts, flat = upload("fc/new")
    assert len(puts) == 5 and flat == []  # 2 × (sha256/ bundle, sidecar) + the index manifest
    assert not any(k in keys("fc/new") for k in (f"{w}.mhl" for w in wheels))

    puts, flat = upload("fc/asked", "--flat-copy")
    assert len(puts) == 7 and len(flat) == 2  # + 2 flat copies
    for x in flat:
        assert x["body_bytes"] == 0 and x["cache_control"] == "no-cache", x  # CopyObject
    for w in wheels:
        assert f"{w}.mhl" in keys("fc/asked")
    local = (build / "bundled" / f"{wheels[0]}.mhl").read_bytes()
    download = tmp_path / "flat.mhl"
    stack.aws("s3", "cp", f"s3://test/fc/asked/{wheels[0]}.mhl", str(download))
    assert download.read_bytes() == local

    # A package missing from a prefix that holds flat names gets its copy without being asked
    # (the other one is unchanged, so skipped).
    stack.aws("s3", "rm", f"s3://test/fc/asked/{wheels[1]}.mhl.mip.json")
    stack.aws("s3", "rm", f"s3://test/fc/asked/{wheels[1]}.mhl")
    puts, flat = upload("fc/asked")
    assert [x["path"].rsplit("/", 1)[1] for x in flat] == [f"{wheels[1]}.mhl"]

    puts, flat = upload("fc/flat-urls", "--flat-urls")
    assert len(puts) == 5 and len(flat) == 2  # + the index manifest
    assert all(x["body_bytes"] == len((build / "bundled" / x["path"].rsplit("/", 1)[1]).read_bytes()) for x in flat)
    assert not any(k.startswith("sha256/") for k in keys("fc/flat-urls"))


def test_a_no_op_publish_reads_each_sidecar_once(tmp_path, run_cli, stack):
    """Publishing again with nothing changed: the prepare stage reads each published sidecar to
    skip its package, and the index reuses those reads for the sidecars its listing shows
    unchanged — one GET per sidecar and one listing in the whole run. The index is the same as a
    separate `index` run's."""
    recipes = tmp_path / "recipes"
    names = faults.make_recipes(recipes, 4)
    env = {"SOURCE_DATE_EPOCH": "1700000000", "AWS_ACCESS_KEY_ID": s3.ACCESS_KEY,
           "AWS_SECRET_ACCESS_KEY": s3.SECRET_KEY}
    store = ["--store", "s3://test/noop/packages", "--endpoint", stack.endpoint, "--allow-insecure-loopback",
             "--base-url", "https://example.invalid/noop/packages"]
    r = run_cli("publish", "--test", "skip", "--recipes", recipes, "--build-dir", tmp_path / "first", *store, env=env)
    assert r.returncode == 0, r.stdout + r.stderr

    stack.clear_log()
    build = tmp_path / "again"
    r = run_cli("publish", "--test", "skip", "--recipes", recipes, "--build-dir", build, *store, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"0 done, {len(names)} skipped" in r.stdout + r.stderr
    records = stack.records()
    sidecar_gets = {}
    for x in records:
        if x["method"] == "GET" and x["path"].endswith(".mhl.mip.json") and not x["query"]:
            sidecar_gets[x["path"]] = sidecar_gets.get(x["path"], 0) + 1
    assert len(sidecar_gets) == len(names), sidecar_gets
    assert set(sidecar_gets.values()) == {1}, sidecar_gets
    # One listing, the index's: with nothing to upload, the upload stage lists nothing.
    assert len([x for x in records if x["method"] == "GET" and "list-type=2" in x["query"]]) == 1
    assert [x for x in records if x["method"] == "PUT"] == []

    r = run_cli("index", "--build-dir", tmp_path / "alone", *store, "--output-dir", tmp_path / "alone-index", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (build / "gh-pages" / "index.json").read_bytes() == (tmp_path / "alone-index" / "index.json").read_bytes()


def tamper_keeping_size(mhl):
    """Flips the first byte of the first entry's data: same size, still a readable zip, other bytes
    than the sidecar's `mhl_sha256` names."""
    data = bytearray(mhl.read_bytes())
    name_len, extra_len = int.from_bytes(data[26:28], "little"), int.from_bytes(data[28:30], "little")
    at = 30 + name_len + extra_len
    data[at] ^= 0xFF
    mhl.write_bytes(bytes(data))


def test_a_tampered_bundle_among_many_writes_nothing_and_the_others_go_on(tmp_path, run_cli, stack):
    """The upload starts each package's PUTs once its own bundle is verified, while later bundles
    are still being hashed. A bundle whose bytes do not match its sidecar writes no object at all;
    with --keep-going every other package is uploaded; without it no package starts after the
    mismatch is found, and each other package is either complete (bundle, then sidecar; in the
    index manifest) or absent, reported skipped."""
    recipes = tmp_path / "recipes"
    faults.make_recipes(recipes, 40)
    build = tmp_path / "build"
    env = {"SOURCE_DATE_EPOCH": "1700000000", "AWS_ACCESS_KEY_ID": s3.ACCESS_KEY,
           "AWS_SECRET_ACCESS_KEY": s3.SECRET_KEY}
    for verb in (["prepare", "--recipes", recipes, "--force"], ["bundle"]):
        r = run_cli(*verb, "--build-dir", build, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
    wheels = sorted(p.name[:-len(".mhl")] for p in (build / "bundled").glob("*.mhl"))
    assert len(wheels) == 40

    def upload(prefix, *flags):
        stack.clear_log()
        r = run_cli("upload", "--build-dir", build, "--store", f"s3://test/{prefix}", "--endpoint", stack.endpoint,
                    "--allow-insecure-loopback", "--base-url", f"https://example.invalid/{prefix}", *flags, env=env)
        puts = [x["path"].split(f"/test/{prefix}/", 1)[1] for x in stack.records() if x["method"] == "PUT"]
        # `aws s3 ls` exits 1 on an empty prefix
        out = stack.aws("s3", "ls", "--recursive", f"s3://test/{prefix}/", check=False).stdout
        keys = {line.split()[-1].split(f"{prefix}/", 1)[1] for line in out.splitlines() if line.strip()}
        return r, puts, keys

    def written(wheel, keys):
        return {k for k in keys if k.endswith(f"/{wheel}.mhl") or k.startswith(f"{wheel}.mhl")}

    # --keep-going: the tampered package (in the middle) fails, the 39 others are published.
    bad = wheels[20]
    tamper_keeping_size(build / "bundled" / f"{bad}.mhl")
    r, puts, keys = upload("tamper/keep", "--keep-going")
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "upload: 39 done, 0 skipped, 0 planned, 1 failed" in out, out
    assert bad in out and "mhl_sha256" in out, out
    assert [p for p in puts if bad in p] == [] and written(bad, keys) == set()
    for w in wheels:
        if w != bad:
            assert f"{w}.mhl.mip.json" in keys and f"sha256/" in "".join(written(w, keys)), w
    manifest = json.loads(stack.aws("s3", "cp", "s3://test/tamper/keep/mip-index-manifest.json", "-").stdout)
    assert f"{bad}.mhl.mip.json" not in json.dumps(manifest)
    assert all(f"{w}.mhl.mip.json" in json.dumps(manifest) for w in wheels if w != bad)

    # Without --keep-going, the first bundle is the tampered one: whatever started before its
    # check failed is complete; nothing of it is written; nothing is left half-published.
    (build / "bundled" / f"{bad}.mhl").unlink()
    (build / "bundled" / f"{bad}.mhl.mip.json").unlink()
    first = wheels[0]
    tamper_keeping_size(build / "bundled" / f"{first}.mhl")
    r, puts, keys = upload("tamper/stop")
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert [p for p in puts if first in p] == [] and written(first, keys) == set()
    complete = [w for w in wheels[1:] if w != bad and f"{w}.mhl.mip.json" in keys]
    for w in wheels[1:]:
        if w == bad:
            continue
        objects = written(w, keys)
        if w in complete:
            assert len(objects) == 2, (w, objects)  # the sha256/ bundle and the sidecar
            bundle_put = next(i for i, p in enumerate(puts) if p.endswith(f"/{w}.mhl"))
            assert bundle_put < puts.index(f"{w}.mhl.mip.json")
        else:
            assert objects == set(), (w, objects)
    skipped = 38 - len(complete)
    assert f"upload: {len(complete)} done, {skipped} skipped, 0 planned, 1 failed" in out, out
    if skipped:
        assert "not run: another bundle failed its check" in out, out
