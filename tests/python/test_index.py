"""IndexAssembler and the upload/index verbs from Python, on a LocalStore."""
import json

import pytest

import mip_native as m
from pkgtrees import make_prepared_dir

EPOCH = 1700000000


def publish_local(tmp_path, packages):
    build = tmp_path / "build"
    for name, version in packages:
        make_prepared_dir(build / "prepared", name, version)
    store_dir = tmp_path / "store"
    common = dict(build_dir=build, store=str(store_dir), source_date_epoch=EPOCH)
    assert m.bundle(**common).ok
    up = m.upload(**common)
    assert up.ok, up.items
    return build, store_dir, common


def test_upload_then_index_orders_entries(tmp_path):
    build, store_dir, common = publish_local(
        tmp_path, [("zeta", "1.0.0"), ("alpha", "1.2.0"), ("alpha", "1.10.0")])
    report = m.index(**common)
    assert isinstance(report, m.IndexReport)
    assert report.written and report.total_packages == 3
    doc = json.loads(report.index_json.read_text())
    assert [(p["name"], p["version"]) for p in doc["packages"]] == [
        ("alpha", "1.10.0"), ("alpha", "1.2.0"), ("zeta", "1.0.0")]
    assert doc["total_packages"] == 3
    assert doc["last_updated"] == "2023-11-14T22:13:20Z"
    for entry in doc["packages"]:
        assert entry["mhl_url"].startswith("file://")
        assert entry["mip_json_url"].endswith(".mhl.mip.json")
        assert len(entry["mhl_sha256"]) == 64
    assert report.packages_html.is_file()


def test_assembler_skips_a_bad_sidecar_and_strict_fails(tmp_path):
    _, store_dir, _ = publish_local(tmp_path, [("good", "1.0.0")])
    store = m.LocalStore(store_dir)
    store.put("broken-1.0-any-none-any.mhl.mip.json", b'{"name": "other"}')
    assembler = m.IndexAssembler(store, source_date_epoch=EPOCH)
    result = assembler.assemble()
    assert [p.name for p in result.packages] == ["good"]
    assert [s.key for s in result.skipped] == ["broken-1.0-any-none-any.mhl.mip.json"]
    assert result.skipped[0].reason
    assert result.sidecars_listed == 2
    out = tmp_path / "pages"
    m.IndexAssembler.write(result, out)
    assert json.loads((out / "index.json").read_text()) == json.loads(result.index_json())
    with pytest.raises(m.SpecError):
        m.IndexAssembler(store, m.IndexOptions(strict=True), m.RunOptions(source_date_epoch=EPOCH)).assemble()


def test_assembler_keeps_the_store_alive(tmp_path):
    _, store_dir, _ = publish_local(tmp_path, [("kept", "2.0")])
    assembler = m.IndexAssembler(m.LocalStore(store_dir), base_url="https://example.org/core",
                                 source_date_epoch=EPOCH)
    import gc
    gc.collect()
    result = assembler.assemble()
    assert [p.mip_json_url for p in result.packages] == [
        "https://example.org/core/kept-2.0-any-none-any.mhl.mip.json"]


def test_index_order_less():
    a = m.PackageSpec(name="a", version="1.10")
    b = m.PackageSpec(name="a", version="1.9")
    assert m.index_order_less(a, b) and not m.index_order_less(b, a)
