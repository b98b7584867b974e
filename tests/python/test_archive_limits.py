"""Zip bombs and endless downloads (issue 13, item 4): a source archive or download over the
limits (--max-download-mib, --max-extract-mib, --max-archive-entries, --max-compression-ratio) is
refused before anything is extracted, with an error naming the archive and the limit, and nothing
half-written is left. The archives are real and built here, served by a real local HTTP server:
the 1 GiB bomb is made of 1024 identical deflate blocks, so it never exists uncompressed."""
import os
import pathlib
import struct
import subprocess
import sys
import zipfile
import zlib

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import pkgtrees  # noqa: E402
import servers  # noqa: E402

import mip_native as m  # noqa: E402

MIB = 1 << 20


def zeros_zip(name, mib):
    """A real zip holding `name`: `mib` MiB of zeros, deflated (about 1 KB per MiB). Built from
    one compressed MiB repeated (each ends in a full flush, so the blocks are independent)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(MIB)
    block = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    data = block * mib + c.flush()
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    raw = name.encode()
    size = mib * MIB
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), size,
                        len(raw), 0) + raw
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x031E, 20, 0, 8, 0, 0x21, crc,
                          len(data), size, len(raw), 0, 0, 0, 0, 0o100644 << 16, 0) + raw
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    return local + data + central + end


def many_entries_zip(path, count):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(count):
            zf.writestr(f"goodpkg/f{i}.m", b"")
    return path


def recipe(recipes, url):
    d = recipes / "goodpkg"
    d.mkdir(parents=True)
    (d / "prepare.yaml").write_text(
        "name: goodpkg\nversion: \"1.0.0\"\nlicense: MIT\n"
        f"prepare:\n  download_zip: {{url: \"{url}\", destination: goodpkg}}\n")


def half_written(build):
    """`.dir` of a failed prepare, `stage/` work areas, temporary files, extracted entries."""
    found = []
    for p in build.rglob("*"):
        n = p.name
        if n.endswith(".dir") or (n == "stage" and p.parent.name.endswith(".work")) or \
                ".tmp-" in n or n.endswith(".m") or n == "zeros.bin":
            found.append(str(p.relative_to(build)))
    return found


def prepare(run_cli, tmp_path, *args):
    r = run_cli("prepare", "--recipes", tmp_path / "recipes", "--build-dir", tmp_path / "build",
                "--force", "-j", "1", *args, env={"SOURCE_DATE_EPOCH": "1700000000"},
                cwd=tmp_path, timeout=300)
    return r, r.stdout + r.stderr


def test_a_1_gib_zip_bomb_is_refused_before_extraction(run_cli, tmp_path):
    bomb = zeros_zip("goodpkg/zeros.bin", 1024)
    assert len(bomb) < 2 * MIB
    with servers.GeneratedHttpServer({"/bomb.zip": lambda: (len(bomb), [bomb])}) as srv:
        recipe(tmp_path / "recipes", srv.base_url + "/bomb.zip")
        r, out = prepare(run_cli, tmp_path)
    assert r.returncode == 4, out
    assert f"refusing the archive {srv.base_url}/bomb.zip" in out, out
    assert "'goodpkg/zeros.bin' expands" in out and "1073741824" in out, out
    assert "--max-compression-ratio" in out, out
    assert half_written(tmp_path / "build") == []


def test_the_ratio_limit_can_be_raised(run_cli, tmp_path):
    bomb = zeros_zip("goodpkg/zeros.bin", 20)
    with servers.GeneratedHttpServer({"/z.zip": lambda: (len(bomb), [bomb])}) as srv:
        recipe(tmp_path / "recipes", srv.base_url + "/z.zip")
        r, out = prepare(run_cli, tmp_path)
        assert r.returncode == 4 and "--max-compression-ratio" in out, out
        r, out = prepare(run_cli, tmp_path, "--max-compression-ratio", "2000")
    assert r.returncode == 0, out
    zeros = tmp_path / "build/prepared/goodpkg-1.0.0-any-none-any.dir/goodpkg/goodpkg/zeros.bin"
    assert zeros.stat().st_size == 20 * MIB
    with open(zeros, "rb") as f:
        assert f.read(MIB) == bytes(MIB)


def test_the_total_size_limit(run_cli, tmp_path):
    bomb = zeros_zip("goodpkg/zeros.bin", 8)
    with servers.GeneratedHttpServer({"/z.zip": lambda: (len(bomb), [bomb])}) as srv:
        recipe(tmp_path / "recipes", srv.base_url + "/z.zip")
        r, out = prepare(run_cli, tmp_path, "--max-compression-ratio", "5000",
                         "--max-extract-mib", "4")
    assert r.returncode == 4, out
    assert f"refusing the archive {srv.base_url}/z.zip: its entries expand to 8 MiB, more than " \
           "the limit of 4 MiB" in out, out
    assert "--max-extract-mib" in out, out
    assert half_written(tmp_path / "build") == []


def test_an_archive_of_too_many_entries_is_refused(run_cli, tmp_path):
    z = many_entries_zip(tmp_path / "many.zip", 100001)
    body = z.read_bytes()
    with servers.GeneratedHttpServer({"/many.zip": lambda: (len(body), [body])}) as srv:
        recipe(tmp_path / "recipes", srv.base_url + "/many.zip")
        r, out = prepare(run_cli, tmp_path)
    assert r.returncode == 4, out
    assert f"refusing the archive {srv.base_url}/many.zip: 100001 entries, more than the limit " \
           "of 100000" in out, out
    assert "--max-archive-entries" in out, out
    assert half_written(tmp_path / "build") == []


def endless(chunk_mib=1, total_mib=64):
    chunk = os.urandom(MIB) * chunk_mib
    return (chunk for _ in range(total_mib // chunk_mib))


@pytest.mark.parametrize("with_length", [True, False], ids=["content-length", "no-length"])
def test_a_large_download_stops_at_the_limit(run_cli, tmp_path, with_length):
    routes = {"/big.zip": lambda: (64 * MIB if with_length else None, endless())}
    with servers.GeneratedHttpServer(routes) as srv:
        recipe(tmp_path / "recipes", srv.base_url + "/big.zip")
        r, out = prepare(run_cli, tmp_path, "--max-download-mib", "4")
    assert r.returncode == 4, out
    assert f"download of {srv.base_url}/big.zip refused: it is larger than the limit of 4 MiB " \
           "(raise it with --max-download-mib)" in out, out
    assert half_written(tmp_path / "build") == []
    downloads = list((tmp_path / "build").rglob("downloads/*"))
    assert downloads == [], downloads


def test_the_python_helper_applies_the_limits(tmp_path):
    bomb = zeros_zip("pkg/zeros.bin", 1024)
    dest = tmp_path / "out"
    with servers.GeneratedHttpServer({"/bomb.zip": lambda: (len(bomb), [bomb])}) as srv:
        with pytest.raises(m.ArchiveError, match="--max-compression-ratio"):
            m.download_and_extract_zip(srv.base_url + "/bomb.zip", dest)
        assert not dest.exists() or list(dest.iterdir()) == []
        with pytest.raises(m.ArchiveError, match="--max-download-mib"):
            m.download_and_extract_zip(srv.base_url + "/bomb.zip", dest, max_download_mib=1,
                                       max_compression_ratio=5000)


def test_a_python_recipe_gets_the_runs_limits(run_cli, tmp_path):
    bomb = zeros_zip("pkg/zeros.bin", 20)
    with servers.GeneratedHttpServer({"/z.zip": lambda: (len(bomb), [bomb])}) as srv:
        pkgtrees.write_package_py(tmp_path / "recipes", "pyrec", f"""
download_and_extract_zip("{srv.base_url}/z.zip", mhl_dir)
create_load_and_unload_scripts(mhl_dir, dirs_to_add_to_path=["pkg"])
self.exposed_symbols = []
""", imports="from mip_build_helpers import download_and_extract_zip, create_load_and_unload_scripts")
        r, out = prepare(run_cli, tmp_path)
        assert r.returncode == 1 and "--max-compression-ratio" in out, out
        r, out = prepare(run_cli, tmp_path, "--max-compression-ratio", "2000")
    assert r.returncode == 0, out
    zeros = tmp_path / "build/prepared/pyrec-1.0.0-any-none-any.dir/pkg/zeros.bin"
    assert zeros.stat().st_size == 20 * MIB
