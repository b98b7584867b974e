"""LocalStore / open_store / R2Client from Python, on real directories."""
import os

import pytest

import mip_native as m


def no_temp_files(root):
    leftovers = [p for p in root.rglob("*") if p.is_file() and ".tmp" in p.name]
    assert leftovers == []


def test_put_get_head_list_remove(tmp_path):
    store = m.LocalStore(tmp_path / "store")
    assert isinstance(store, m.Store)
    r = store.put("core/a.mhl.mip.json", b'{"name": "a"}', content_type="application/json")
    assert r.written and not r.precondition_failed and r.key == "core/a.mhl.mip.json"
    assert store.get("core/a.mhl.mip.json") == b'{"name": "a"}'
    assert store.path_for("core/a.mhl.mip.json").read_bytes() == b'{"name": "a"}'
    info = store.head("core/a.mhl.mip.json")
    assert info.size == 13 and info.key == "core/a.mhl.mip.json" and info.etag
    assert store.head("core/missing") is None
    assert store.get("core/missing") is None
    store.put("core/sub/b.mhl", b"zip")
    keys = [o.key for o in store.list("core/")]
    assert keys == ["core/a.mhl.mip.json", "core/sub/b.mhl"]
    assert [o.key for o in store.list("core/", recursive=False)] == ["core/a.mhl.mip.json"]
    store.remove("core/a.mhl.mip.json")
    store.remove("core/a.mhl.mip.json")  # absent is fine
    assert store.get("core/a.mhl.mip.json") is None
    no_temp_files(tmp_path / "store")


def test_put_from_a_file_and_get_to_file(tmp_path):
    src = tmp_path / "payload.bin"
    data = os.urandom(300_000)
    src.write_bytes(data)
    store = m.LocalStore(str(tmp_path / "store"))
    assert store.put("x/payload.bin", file=src).written
    dest = tmp_path / "out" / "copy.bin"
    dest.parent.mkdir()
    assert store.get_to_file("x/payload.bin", dest)
    assert dest.read_bytes() == data
    assert not store.get_to_file("x/absent", tmp_path / "out" / "absent")
    assert not (tmp_path / "out" / "absent").exists()
    with pytest.raises(ValueError):
        store.put("k", b"a", file=src)


def test_if_none_match_reports_precondition(tmp_path):
    store = m.LocalStore(tmp_path / "s")
    assert store.put("k", b"first", if_none_match=True).written
    r = store.put("k", b"second", if_none_match=True)
    assert r.precondition_failed and not r.written
    assert store.get("k") == b"first"


def test_open_store_paths_and_file_urls(tmp_path):
    a = m.open_store(str(tmp_path / "a"))
    assert type(a) is m.LocalStore
    assert a.default_base_url().startswith("file://")
    b = m.open_store((tmp_path / "b").as_uri())
    assert type(b) is m.LocalStore
    assert (tmp_path / "b").is_dir()
    b.put("k", b"v")
    assert (tmp_path / "b" / "k").read_bytes() == b"v"
    assert "b" in b.describe()
    assert repr(b).startswith("LocalStore(")


def test_open_store_rejects_unknown_schemes(tmp_path):
    with pytest.raises(m.SpecError):
        m.open_store("ftp://example.org/x")


def test_r2_config_never_shows_secrets():
    config = m.R2Config.from_environment({"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                                          "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-secret",
                                          "AWS_ENDPOINT_URL": "https://acct.r2.cloudflarestorage.com"})
    config.bucket = "mip-packages"
    config.prefix = "core/packages"
    text = repr(config)
    assert "wJalrXUtnFEMI-secret" not in text and "AKIDEXAMPLE" not in text
    assert "mip-packages" in text
    client = m.R2Client(config)
    assert isinstance(client, m.Store)
    assert client.describe() == "s3://mip-packages/core/packages"
    assert client.bucket == "mip-packages" and client.prefix == "core/packages"
    assert "secret" not in repr(client)


def test_r2_client_refuses_plain_http_endpoints():
    with pytest.raises(m.MipError):
        m.R2Client(endpoint="http://example.org", bucket="b", access_key_id="a",
                   secret_access_key="s")


def test_open_store_s3_without_credentials_is_auth_error(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    with pytest.raises(m.AuthError):
        m.open_store("s3://bucket/core/packages", endpoint="https://example.invalid")
