"""mip_build_helpers (the historical recipe helpers) over mip_native: downloads from a local HTTP
server, clones of repositories the test creates, symbols, load/unload scripts, platform tag."""
import hashlib
import logging
import os
import stat

import pytest

import mip_build_helpers as h
import mip_native as m
from mip_build_helpers import _record
from pkgtrees import make_zip


def serve_zip(root, name, entries):
    path = make_zip(root / name, entries)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


# --- download_and_extract_zip ------------------------------------------------------------------

def test_download_extracts_and_returns_sha256(http_server, tmp_path, monkeypatch, caplog):
    root, base = http_server
    _, digest = serve_zip(root, "chebfun-master.zip", {
        "chebfun-master/chebfun.m": "function chebfun\nend\n",
        "chebfun-master/tools/run.sh": ("#!/bin/sh\n", 0o100755)})
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    with caplog.at_level(logging.WARNING, logger="mip_native"):
        got = h.download_and_extract_zip(f"{base}/chebfun-master.zip")
    assert got == digest
    # Default extract_dir is the cwd, top folder kept (as the reference did).
    assert (work / "chebfun-master" / "chebfun.m").read_text() == "function chebfun\nend\n"
    assert stat.S_IMODE((work / "chebfun-master/tools/run.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((work / "chebfun-master/chebfun.m").stat().st_mode) == 0o644
    # Nothing but the extracted folder in the cwd: no temp_download.zip (the reference's leak).
    assert sorted(os.listdir(work)) == ["chebfun-master"]
    # Plain http warns through the logging bridge.
    assert any(r.name == "mip_native" and r.levelno == logging.WARNING and "http" in r.message
               for r in caplog.records)


def test_download_sha256_mismatch_fails_before_extraction(http_server, tmp_path):
    root, base = http_server
    serve_zip(root, "a.zip", {"a/x.m": "x"})
    out = tmp_path / "out"
    with pytest.raises(m.MipError) as info:
        h.download_and_extract_zip(f"{base}/a.zip", out, sha256="0" * 64)
    assert "sha256" in str(info.value)
    assert not out.exists() or list(out.iterdir()) == []


def test_download_strip_top_level_and_file_urls(tmp_path):
    path, digest = serve_zip(tmp_path, "pkg.zip", {"pkg-1.0/src/f.m": "f", "pkg-1.0/README": "r"})
    out = tmp_path / "out"
    assert h.download_and_extract_zip(path.as_uri(), out, sha256=digest.upper(),
                                      strip_top_level=True) == digest
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "README", "src/f.m"]


def test_download_404_is_a_remote_error(http_server, tmp_path):
    _, base = http_server
    with pytest.raises(m.RemoteError) as info:
        h.download_and_extract_zip(f"{base}/nope.zip", tmp_path / "o", retries=0)
    assert info.value.http_status == 404


def test_download_rejects_other_schemes(tmp_path):
    with pytest.raises(m.SpecError):
        h.download_and_extract_zip("ftp://example.org/a.zip", tmp_path / "o")


def test_fetches_are_recorded_only_while_recording(http_server, tmp_path, git_factory):
    root, base = http_server
    _, digest = serve_zip(root, "r.zip", {"r/a.m": "a"})
    repo = git_factory.create("lib", {"lib.m": "function lib\nend\n"})
    h.download_and_extract_zip(f"{base}/r.zip", tmp_path / "before")
    _record.start()
    h.download_and_extract_zip(f"{base}/r.zip", tmp_path / "z")
    commit = h.clone_repository_and_remove_git(str(repo), tmp_path / "g")
    items, newest, mirrored = _record.stop()
    assert items == [
        {"type": "zip", "url": f"{base}/r.zip", "sha256": digest},
        {"type": "git", "url": str(repo), "ref": None, "commit": commit},
    ]
    assert newest == 1700001000  # git_factory's first commit time
    assert mirrored == []  # no MIP_SOURCE_MIRRORS
    assert _record.stop() == ([], None, [])


# --- clone_repository_and_remove_git -----------------------------------------------------------

def test_clone_default_branch_removes_every_git(git_factory, tmp_path):
    import servers

    repo = git_factory.create("fmm2d", {"makefile": "all:\n", "matlab/fmm.m": "function fmm\nend\n"})
    sub = git_factory.create("sub", {"s.m": "s"})
    servers.git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "ext/sub")
    head = git_factory.commit(repo, {"README": "with submodule"})
    clone = tmp_path / "fmm2d_clone"
    commit = h.clone_repository_and_remove_git(str(repo), str(clone))
    assert commit == head and len(commit) == 40
    assert (clone / "matlab" / "fmm.m").is_file()
    assert not any(p.name == ".git" for p in clone.rglob("*"))


def test_clone_a_tag_and_a_commit(git_factory, tmp_path):
    import servers

    repo = git_factory.create("lib", {"v.txt": "1"})
    first = servers.git(repo, "rev-parse", "HEAD")
    servers.git(repo, "tag", "v1.0")
    git_factory.commit(repo, {"v.txt": "2"})
    assert h.clone_repository_and_remove_git(str(repo), tmp_path / "tag", ref="v1.0") == first
    assert (tmp_path / "tag" / "v.txt").read_text() == "1"
    result = m.clone_repository_and_remove_git(str(repo), tmp_path / "commit", ref=first)
    assert result.commit == first and result.commit_time == 1700001000
    assert (tmp_path / "commit" / "v.txt").read_text() == "1"


def test_clone_into_a_non_empty_dir_is_an_error(git_factory, tmp_path):
    repo = git_factory.create("lib", {"a": "a"})
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(m.SpecError):
        h.clone_repository_and_remove_git(str(repo), target)
    assert (target / "keep.txt").read_text() == "mine"


def test_clone_failure_is_a_build_error(tmp_path):
    with pytest.raises(m.BuildError):
        h.clone_repository_and_remove_git(str(tmp_path / "missing.git"), tmp_path / "c")


# --- symbols -----------------------------------------------------------------------------------

@pytest.fixture
def package_tree(tmp_path):
    base = tmp_path / "pkg"
    for rel in ["b.m", "a.m", "mexsrc.c", "README.md", "9bad.m", "+ns/f.m", "@Cls/Cls.m",
                "private/p.m", "sub/s.m", "sub/deeper/d.m", "sub/+inner/i.m", "skip/x.m"]:
        p = base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("%")
    return base


def test_collect_exposed_symbols_variants(package_tree):
    assert h.collect_exposed_symbols(package_tree) == ["Cls", "a", "b", "ns"]
    assert h.collect_exposed_symbols(package_tree, extensions=[".m", ".c"]) == [
        "Cls", "a", "b", "mexsrc", "ns"]
    assert h.collect_exposed_symbols_with_extensions(package_tree, [".c"]) == ["Cls", "mexsrc", "ns"]
    # Old recipes pass the package folder name as a second argument.
    assert h.collect_exposed_symbols_top_level(str(package_tree), "pkg") == ["Cls", "a", "b", "ns"]
    assert h.collect_exposed_symbols_multiple_paths(package_tree.parent, ["pkg", "pkg/sub"]) == [
        "Cls", "a", "b", "inner", "ns", "s"]
    assert h.collect_exposed_symbols_recursive(package_tree.parent, "pkg",
                                               exclude_dirs=["skip"]) == [
        "Cls", "a", "b", "d", "inner", "ns", "s"]


# --- load/unload scripts -----------------------------------------------------------------------

def test_create_load_and_unload_scripts_exact_text(tmp_path):
    mhl = tmp_path / "x.dir"
    (mhl / "lib" / "it's").mkdir(parents=True)
    h.create_load_and_unload_scripts(str(mhl), dirs_to_add_to_path=[
        str(mhl), str(mhl / "lib"), mhl / "lib" / "it's", str(mhl / "lib")])
    assert (mhl / "load_package.m").read_text() == (
        "addpath(fileparts(mfilename('fullpath')));\n"
        "addpath(fullfile(fileparts(mfilename('fullpath')), 'lib'));\n"
        "addpath(fullfile(fileparts(mfilename('fullpath')), 'lib/it''s'));\n")
    assert (mhl / "unload_package.m").read_text() == (
        "rmpath(fullfile(fileparts(mfilename('fullpath')), 'lib/it''s'));\n"
        "rmpath(fullfile(fileparts(mfilename('fullpath')), 'lib'));\n"
        "rmpath(fileparts(mfilename('fullpath')));\n")


def test_create_load_scripts_refuses_dirs_outside(tmp_path):
    mhl = tmp_path / "x.dir"
    mhl.mkdir()
    with pytest.raises(m.SpecError):
        h.create_load_and_unload_scripts(mhl, dirs_to_add_to_path=[str(tmp_path)])
    assert not (mhl / "load_package.m").exists()


def test_create_load_scripts_empty_list_gives_empty_files(tmp_path):
    h.create_load_and_unload_scripts(tmp_path, dirs_to_add_to_path=[])
    assert (tmp_path / "load_package.m").read_bytes() == b""
    assert (tmp_path / "unload_package.m").read_bytes() == b""


def test_legacy_create_load_m_and_unload_m(tmp_path):
    mhl = tmp_path / "chebfun.dir"
    for rel in ["chebfun/tools", "chebfun/+cheb", "chebfun/private", "chebfun/a/b"]:
        (mhl / rel).mkdir(parents=True)
    h.create_load_m_and_unload_m(str(mhl), "chebfun")
    assert (mhl / "load_package.m").read_text() == (
        "addpath(fullfile(fileparts(mfilename('fullpath')), 'chebfun'));\n")
    h.create_load_m_and_unload_m(str(mhl), "chebfun", subdirs=["tools"])
    assert (mhl / "unload_package.m").read_text() == (
        "rmpath(fullfile(fileparts(mfilename('fullpath')), 'chebfun/tools'));\n"
        "rmpath(fullfile(fileparts(mfilename('fullpath')), 'chebfun'));\n")
    h.create_load_and_unload_m(str(mhl), "chebfun", add_all_subdirs=True)
    lines = (mhl / "load_package.m").read_text().splitlines()
    assert [ln.split("'")[-2] if "'" in ln else ln for ln in lines] == [
        "chebfun", "chebfun/a", "chebfun/a/b", "chebfun/tools"]
    assert h.create_load_and_unload_m is h.create_load_m_and_unload_m
    with pytest.raises(m.SpecError):
        h.create_load_m_and_unload_m(str(mhl), "chebfun", subdirs=["x"], add_all_subdirs=True)


def test_generate_recursive_subdir_list(package_tree):
    mhl = package_tree.parent
    assert h.generate_recursive_subdir_list(str(mhl), base_dir=str(package_tree)) == [
        "pkg/skip", "pkg/sub", "pkg/sub/deeper"]
    assert h.generate_recursive_subdir_list(mhl, base_dir=package_tree,
                                            exclude_dirs=["skip", "deeper"]) == ["pkg/sub"]


# --- platform tag, stripping -------------------------------------------------------------------

def test_get_current_platform_tag(monkeypatch):
    monkeypatch.delenv("MIP_PLATFORM_TAG", raising=False)
    tag = h.get_current_platform_tag()
    assert tag in {"linux_x86_64", "linux_aarch64", "macos_arm64", "macos_x86_64", "windows_x86_64"}
    monkeypatch.setenv("MIP_PLATFORM_TAG", "linux_aarch64")
    assert h.get_current_platform_tag() == "linux_aarch64"
    monkeypatch.setenv("MIP_PLATFORM_TAG", "not a tag!")
    with pytest.raises(m.SpecError):
        h.get_current_platform_tag()


def test_strip_prebuilt_binaries(tmp_path):
    for rel in ["f.mexa64", "g.MEXW64", "lib/libx.so.1", "lib/x.o", "keep/y.mexa64", "src/f.c"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"\0")
    removed = h.strip_prebuilt_binaries(tmp_path, compiled=False, keep=["keep/y.mexa64"])
    assert removed == ["f.mexa64", "g.MEXW64"]
    assert h.strip_prebuilt_binaries(tmp_path, keep=("keep/y.mexa64",)) == [
        "lib/libx.so.1", "lib/x.o"]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "keep/y.mexa64", "src/f.c"]


def test_helper_errors_subclass_mip_error(tmp_path):
    with pytest.raises(m.MipError):
        h.collect_exposed_symbols(tmp_path / "missing")
    with pytest.raises(m.MipError):
        h.create_load_and_unload_scripts(tmp_path, dirs_to_add_to_path="single-string")
