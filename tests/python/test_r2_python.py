"""mip_native.R2Client from Python against a real moto_server behind the SigV4-verifying proxy:
object round trips, a multipart upload read back with the aws CLI, conditional PUT, listing,
the typed errors (AuthError with its S3 code) and the pipeline's S3 store, all from Python."""
import hashlib
import json
import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))

import s3  # noqa: E402

import mip_native  # noqa: E402


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with s3.S3Stack(tmp_path_factory.mktemp("r2-python")) as st:
        yield st


def client(stack, **overrides):
    fields = dict(endpoint=stack.endpoint, bucket=stack.bucket, prefix="py", access_key_id=s3.ACCESS_KEY,
                  secret_access_key=s3.SECRET_KEY, allow_insecure_loopback=True)
    fields.update(overrides)
    return mip_native.R2Client(mip_native.R2Config(**fields))


def test_round_trip_with_awkward_keys(stack):
    c = client(stack)
    keys = ["plain.txt", "with space.txt", "plus+equals=.txt", "tilde~colon:at@.txt", "é/nested/ünï.json"]
    for i, key in enumerate(keys):
        r = c.put(key, f"payload {i}".encode(), content_type="text/plain")
        assert r.written and not r.precondition_failed
    for i, key in enumerate(keys):
        assert c.get(key) == f"payload {i}".encode()
        info = c.head(key)
        assert info is not None and info.size == len(f"payload {i}")
    listed = [o.key for o in c.list("")]
    assert sorted(keys) == sorted(k for k in listed if k in keys)
    assert [o.key for o in c.list("é/", recursive=True)] == ["é/nested/ünï.json"]
    c.remove("plain.txt")
    assert c.get("plain.txt") is None and c.head("plain.txt") is None
    # The objects live under the client's prefix in the bucket, as the aws CLI sees them.
    out = stack.aws("s3api", "head-object", "--bucket", stack.bucket, "--key", "py/with space.txt")
    assert json.loads(out.stdout)["ContentLength"] == len("payload 1")


def test_conditional_put_answers_412_as_a_result(stack):
    c = client(stack)
    assert c.put("once.txt", b"first", if_none_match=True).written
    again = c.put("once.txt", b"second", if_none_match=True)
    assert again.precondition_failed and not again.written
    assert c.get("once.txt") == b"first"


def test_copy_known_digest_and_content_addressed_puts(stack, tmp_path):
    c = client(stack)
    body = os.urandom(70_000)
    digest = hashlib.sha256(body).hexdigest()
    (tmp_path / "b.mhl").write_bytes(body)
    cas = f"sha256/{digest}/b.mhl"
    r = c.put(cas, file=tmp_path / "b.mhl", sha256=digest, if_none_match=True,
              accept_existing_size=len(body))
    assert r.written
    again = c.put(cas, body, if_none_match=True, accept_existing_size=len(body))
    assert again.precondition_failed and not again.written
    with pytest.raises(mip_native.RemoteError, match="different size"):
        c.put(cas, b"short", if_none_match=True, accept_existing_size=5)
    # A wrong digest is refused by the (verifying) server; nothing is written.
    with pytest.raises(mip_native.RemoteError):
        c.put("wrong.mhl", body, sha256="0" * 64)
    assert c.head("wrong.mhl") is None
    copied = c.put("b.mhl", copy_from=cas, content_type="application/zip", cache_control="no-cache")
    assert copied.written and c.get("b.mhl") == body
    with pytest.raises(ValueError):
        c.put("x", b"data", copy_from=cas)
    # The same API on a local store.
    local = mip_native.LocalStore(tmp_path / "store")
    assert local.put(cas, body, if_none_match=True, accept_existing_size=len(body)).written
    assert local.put("b.mhl", copy_from=cas).written and local.get("b.mhl") == body


def test_multipart_upload_reads_back_byte_identical(stack, tmp_path):
    data = os.urandom(5 * 1024 * 1024 * 2 + 12345)  # three parts of 5 MiB at the minimum size
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    c = client(stack, part_size=5 * 1024 * 1024, multipart_threshold=5 * 1024 * 1024)
    c.reset_stats()
    assert c.put("big.bin", file=src, content_type="application/zip").written
    assert c.stats().multipart_uploads == 1
    assert c.list_multipart_uploads() == []  # completed, nothing left open
    dest = tmp_path / "back.bin"
    stack.aws("s3", "cp", f"s3://{stack.bucket}/py/big.bin", str(dest))
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_wrong_secret_is_an_auth_error_with_its_code(stack):
    bad = client(stack, secret_access_key="not-the-secret")
    with pytest.raises(mip_native.AuthError) as err:
        bad.put("x.txt", b"x")
    assert isinstance(err.value, mip_native.RemoteError)
    assert err.value.http_status == 403
    assert err.value.s3_code == "SignatureDoesNotMatch"
    assert "not-the-secret" not in str(err.value)


def test_pipeline_publishes_into_s3_from_python(stack, tmp_path, source_dir, monkeypatch):
    for k, v in stack.client_env().items():
        if k.startswith("AWS_"):
            monkeypatch.setenv(k, v)
    report = mip_native.publish(recipes=source_dir / "examples" / "packages", build_dir=tmp_path / "b",
                                package=["mathutils", "geomkit"], store=f"s3://{stack.bucket}/pyidx",
                                endpoint=stack.endpoint, allow_insecure_loopback=True,
                                base_url="https://example.invalid/pyidx", jobs=2)
    assert report.ok
    index = json.loads((tmp_path / "b" / "gh-pages" / "index.json").read_text())
    assert sorted(p["name"] for p in index["packages"]) == ["geomkit", "mathutils"]
    c = client(stack, prefix="pyidx")
    for p in index["packages"]:
        key = p["mhl_url"][len("https://example.invalid/pyidx/"):]
        assert hashlib.sha256(c.get(key)).hexdigest() == p["mhl_sha256"]
