"""Zip-slip guard of download_and_extract_zip: unsafe entries are refused before anything is
written, inside or outside the target; the archive is not left behind."""
import os

import pytest

import mip_build_helpers as h
import mip_native as m
from pkgtrees import SYMLINK_MODE, make_zip

UNSAFE = {
    "parent": "../evil.m",
    "nested-parent": "pkg/../../evil.m",
    "absolute": "/tmp/mip-zip-slip-evil.m",
    "drive": "C:/evil.m",
    "backslash-parent": "pkg\\..\\..\\evil.m",
    "nul": "pkg/evQil.m",  # patched to a NUL below (zipfile truncates names at NUL)
}


def snapshot(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("kind", sorted(UNSAFE))
def test_unsafe_names_are_refused_before_writing(http_server, tmp_path, kind):
    root, base = http_server
    # A safe entry first: it must not be written either.
    archive = make_zip(root / "evil.zip", {"pkg/ok.m": "ok", UNSAFE[kind]: "pwned"})
    if kind == "nul":
        data = archive.read_bytes()
        assert data.count(b"pkg/evQil.m") == 2  # local and central header
        archive.write_bytes(data.replace(b"pkg/evQil.m", b"pkg/ev\0il.m"))
    target = tmp_path / "area" / "target"
    target.mkdir(parents=True)
    before = snapshot(tmp_path)
    with pytest.raises(m.ArchiveError):
        h.download_and_extract_zip(f"{base}/evil.zip", target)
    assert snapshot(tmp_path) == before
    assert not os.path.exists("/tmp/mip-zip-slip-evil.m")


def test_symlink_entries_are_refused(tmp_path):
    archive = make_zip(tmp_path / "links.zip", {"pkg/a.m": "a",
                                                 "pkg/link": ("../../outside", SYMLINK_MODE)})
    target = tmp_path / "target"
    with pytest.raises(m.ArchiveError):
        h.download_and_extract_zip(archive.as_uri(), target)
    assert not target.exists() or snapshot(target) == []


def test_refused_archive_leaves_no_temp_file_in_cwd(http_server, tmp_path, monkeypatch):
    root, base = http_server
    make_zip(root / "evil.zip", {"../x.m": "x"})
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    with pytest.raises(m.ArchiveError):
        h.download_and_extract_zip(f"{base}/evil.zip")
    assert os.listdir(cwd) == []


def test_safe_names_with_dots_are_fine(tmp_path):
    archive = make_zip(tmp_path / "ok.zip", {"pkg/..hidden/a.m": "a", "pkg/v1..2/b.m": "b"})
    out = tmp_path / "out"
    h.download_and_extract_zip(archive.as_uri(), out)
    assert (out / "pkg" / "..hidden" / "a.m").read_text() == "a"
    assert (out / "pkg" / "v1..2" / "b.m").read_text() == "b"
