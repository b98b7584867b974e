"""Bundler and the bundle verb from Python: deterministic archives, sidecars, options as keyword
arguments, PathLike paths, progress events."""
import hashlib
import json
import zipfile

import pytest

import mip_native as m
from pkgtrees import make_prepared_dir


def test_bundle_writes_mhl_and_sidecar(tmp_path):
    d = make_prepared_dir(tmp_path / "prepared", "alpha", files={
        "alpha/zeta.m": "function zeta\nend\n", "alpha/+pkg/f.m": "function f\nend\n"})
    result = m.Bundler(source_date_epoch=1700000000).bundle(d, tmp_path / "bundled")
    assert result.wheel == "alpha-1.0.0-any-none-any"
    assert result.mhl_path == tmp_path / "bundled" / "alpha-1.0.0-any-none-any.mhl"
    data = result.mhl_path.read_bytes()
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size == len(data)
    with zipfile.ZipFile(result.mhl_path) as zf:
        names = zf.namelist()
    assert names == sorted(names, key=lambda n: n.encode())
    assert {"mip.json", "load_package.m", "unload_package.m", "alpha/zeta.m",
            "alpha/+pkg/f.m"} <= set(names)
    assert result.entries == len(names)
    sidecar = json.loads(result.sidecar_path.read_text())
    assert sidecar["mhl_sha256"] == result.sha256 and sidecar["mhl_size"] == result.size
    assert sidecar["name"] == "alpha"


def test_same_dir_same_epoch_same_bytes(tmp_path):
    d = make_prepared_dir(tmp_path / "prepared", "beta")
    a = m.Bundler(source_date_epoch=1600000000).bundle(d, tmp_path / "one")
    b = m.Bundler(run=m.RunOptions(source_date_epoch=1600000000)).bundle(str(d), str(tmp_path / "two"))
    assert a.mhl_path.read_bytes() == b.mhl_path.read_bytes()
    assert a.sha256 == b.sha256
    c = m.Bundler(source_date_epoch=1600000000, compression_level=0).bundle(d, tmp_path / "three")
    assert c.sha256 != a.sha256


def test_base_url_sets_mhl_url(tmp_path):
    d = make_prepared_dir(tmp_path / "prepared", "gamma")
    r = m.Bundler(base_url="https://pkgs.example.org/core/packages").bundle(d, tmp_path / "out")
    sidecar = json.loads(r.sidecar_path.read_text())
    assert sidecar["mhl_url"] == m.Bundler.mhl_url("https://pkgs.example.org/core/packages",
                                                   r.wheel, r.sha256, False)
    assert f"/sha256/{r.sha256}/" in sidecar["mhl_url"]
    flat = m.Bundler.mhl_url("https://x.example/p", r.wheel, r.sha256, True)
    assert flat == f"https://x.example/p/{r.wheel}.mhl"


def test_dir_name_must_match_mip_json(tmp_path):
    d = make_prepared_dir(tmp_path / "prepared", "delta")
    wrong = d.with_name("other-1.0.0-any-none-any.dir")
    d.rename(wrong)
    with pytest.raises(m.SpecError):
        m.Bundler().bundle(wrong, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_options_keyword_errors():
    with pytest.raises(TypeError, match="compresion_level"):
        m.Bundler(compresion_level=3)
    o = m.BundleOptions(compression_level=9)
    assert o.compression_level == 9 and m.RunOptions(flat_urls=True).flat_urls
    assert "compression_level=9" in repr(o)
    assert o._replace(compression_level=1).compression_level == 1
    assert o.compression_level == 9


def test_bundle_verb_reports_each_package_with_progress(tmp_path):
    build = tmp_path / "build"
    for name in ["one", "two", "three"]:
        make_prepared_dir(build / "prepared", name)
    events = []
    report = m.bundle(build_dir=build, source_date_epoch=1700000000, progress=events.append,
                      progress_interval=0)
    assert isinstance(report, m.StageReport)
    assert report.ok and report.stage == "bundle"
    assert sorted(i.package for i in report.items) == ["one", "three", "two"]
    assert all(i.status == m.ItemStatus.done for i in report.items)
    assert sorted(p.name for p in (build / "bundled").glob("*.mhl")) == [
        "one-1.0.0-any-none-any.mhl", "three-1.0.0-any-none-any.mhl", "two-1.0.0-any-none-any.mhl"]
    assert events and all(isinstance(e, m.ProgressEvent) for e in events)
    assert events[0].phase == m.ProgressPhase.started
    assert events[-1].phase == m.ProgressPhase.finished
    assert events[-1].done == 3 and events[-1].total == 3
    assert {e.stage for e in events} == {"bundle"}
    assert json.loads(report.to_json())["stage"] == "bundle"


def test_bundle_verb_dry_run_plans(tmp_path):
    build = tmp_path / "build"
    make_prepared_dir(build / "prepared", "solo")
    report = m.bundle(m.PipelineOptions(build_dir=build, dry_run=True))
    assert [i.status for i in report.items] == [m.ItemStatus.planned]
    assert not (build / "bundled").exists() or not list((build / "bundled").glob("*.mhl"))
