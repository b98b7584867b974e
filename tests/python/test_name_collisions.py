"""Issue 13, item 5: package names that are equal once lower-cased with `-` as `_` (`dup` and
`Dup`, `foo-bar` and `Foo_Bar`) are refused by `upload` before anything is uploaded, whether both
are in this run or one is already in the store — otherwise both get published and every later
`index` of the store fails until someone deletes an object by hand. Local store and S3 (moto
behind the signature-verifying proxy)."""
import os
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import pkgtrees  # noqa: E402
import s3  # noqa: E402

EPOCH = "1700000000"
BASE_URL = "https://example.invalid/coll"
S3_ENV = {"AWS_ACCESS_KEY_ID": s3.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": s3.SECRET_KEY}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with s3.S3Stack(tmp_path_factory.mktemp("collide-s3")) as st:
        yield st


def bundles(run_cli, build, *names):
    for name in names:
        pkgtrees.make_prepared_dir(build / "prepared", name)
    r = run_cli("bundle", "--build-dir", build, env={"SOURCE_DATE_EPOCH": EPOCH})
    assert r.returncode == 0, r.stdout + r.stderr
    return build


def local_objects(store):
    if not store.exists():
        return []
    return sorted(p.relative_to(store).as_posix() for p in store.rglob("*")
                  if p.is_file() and ".mip-tmp" not in p.parts)


def s3_objects(stack, prefix):
    r = stack.aws("s3", "ls", "--recursive", f"s3://test/{prefix}/", check=False)
    return sorted(line.split()[-1] for line in r.stdout.splitlines() if line.strip())


def assert_refused(r, *names):
    out = r.stdout + r.stderr
    assert r.returncode == 3, out
    assert "collide" in out, out
    for n in names:
        assert f"'{n}'" in out, (n, out)


@pytest.mark.parametrize("first, second", [("dup", "Dup"), ("foo-bar", "Foo_Bar")])
def test_local_store_refuses_a_collision_within_one_run(tmp_path, run_cli, first, second):
    build = bundles(run_cli, tmp_path / "build", first, second)
    store = tmp_path / "store"
    r = run_cli("upload", "--build-dir", build, "--store", store)
    assert_refused(r, first, second)
    assert local_objects(store) == []


def test_local_store_refuses_a_name_already_published_in_another_spelling(tmp_path, run_cli):
    store = tmp_path / "store"
    r = run_cli("upload", "--build-dir", bundles(run_cli, tmp_path / "b1", "dup"), "--store", store)
    assert r.returncode == 0, r.stdout + r.stderr
    before = local_objects(store)
    assert "dup-1.0.0-any-none-any.mhl.mip.json" in before

    r = run_cli("upload", "--build-dir", bundles(run_cli, tmp_path / "b2", "Dup", "other"),
                "--store", store)
    assert_refused(r, "Dup", "dup")
    assert "already in" in r.stdout + r.stderr
    # Nothing uploaded: not Dup, and not the innocent 'other' either (the run stops first).
    assert local_objects(store) == before
    # The store stays indexable (before the fix, index failed on the pair from then on).
    r = run_cli("index", "--build-dir", tmp_path / "b2", "--store", store)
    assert r.returncode == 0, r.stdout + r.stderr

    # Republishing the same spelling is not a collision.
    r = run_cli("upload", "--build-dir", tmp_path / "b1", "--store", store)
    assert r.returncode == 0, r.stdout + r.stderr


def test_s3_store_refuses_collisions_before_any_put(tmp_path, run_cli, stack):
    prefix = "coll/packages"
    flags = ["--store", f"s3://test/{prefix}", "--endpoint", stack.endpoint,
             "--allow-insecure-loopback", "--base-url", BASE_URL]

    # Within one run: no PUT reaches the server.
    stack.clear_log()
    r = run_cli("upload", "--build-dir", bundles(run_cli, tmp_path / "b0", "dup", "Dup"), *flags,
                env=S3_ENV)
    assert_refused(r, "dup", "Dup")
    assert [x for x in stack.records() if x["method"] in ("PUT", "POST")] == []
    assert s3_objects(stack, prefix) == []

    # Against the bucket's listing.
    r = run_cli("upload", "--build-dir", bundles(run_cli, tmp_path / "b1", "Foo-Bar"), *flags,
                env=S3_ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    before = s3_objects(stack, prefix)
    assert any(k.endswith("Foo-Bar-1.0.0-any-none-any.mhl.mip.json") for k in before), before
    stack.clear_log()
    r = run_cli("upload", "--build-dir", bundles(run_cli, tmp_path / "b2", "foo_bar"), *flags,
                env=S3_ENV)
    assert_refused(r, "foo_bar", "Foo-Bar")
    assert [x for x in stack.records() if x["method"] in ("PUT", "POST")] == []
    assert s3_objects(stack, prefix) == before
    assert s3.SECRET_KEY not in r.stdout + r.stderr
