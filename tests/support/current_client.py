"""What today's mip client (mip-org/mip) does with a current-format channel, written from the
spec (mip-current §2, §4, §6) for the tests: the archive checks it makes before extracting, the
index rules, its choice of version and architecture, and installing + loading in GNU Octave.
The library's own view of the same layout is libmip/src/detail/current_format.hpp."""
import json
import pathlib
import re
import stat
import struct
import zipfile

NUMERIC = re.compile(r"^[0-9]+(\.[0-9]+)*$")
ARCHITECTURES = {"any", "linux_x86_64", "macos_arm64", "macos_x86_64", "windows_x86_64",
                 "numbl_wasm"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MIP_JSON_KEYS = ["name", "version", "description", "architecture", "dependencies", "paths",
                 "extra_paths", "license", "homepage", "repository", "install_type", "timestamp"]


def normalized(name):
    return name.lower().replace("-", "_")


def _unsafe(name):
    if not name or "\0" in name or name.startswith("/") or name.startswith("\\"):
        return "absolute, empty or NUL"
    if re.match(r"^[A-Za-z]:", name):
        return "drive letter"
    depth = 0
    for part in name.replace("\\", "/").split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return "'..' leaves the root"
        elif part not in ("", "."):
            depth += 1
    return None


def _local_names(data):
    """{offset: name} of every local file header, read by hand (the client compares them)."""
    out = {}
    eocd = data.rfind(b"PK\x05\x06")
    assert eocd >= 0, "no end of central directory"
    assert data.rfind(b"PK\x06\x06") < 0 and data.rfind(b"PK\x06\x07") < 0, "ZIP64 record present"
    count, cd_size, cd_offset = struct.unpack("<HII", data[eocd + 10:eocd + 20])
    assert 0xFFFF not in (count,) and 0xFFFFFFFF not in (cd_size, cd_offset), "ZIP64 markers"
    pos = cd_offset
    for _ in range(count):
        assert data[pos:pos + 4] == b"PK\x01\x02", "broken central directory"
        (nlen, xlen, clen) = struct.unpack("<HHH", data[pos + 28:pos + 34])
        (local,) = struct.unpack("<I", data[pos + 42:pos + 46])
        central = data[pos + 46:pos + 46 + nlen]
        assert data[local:local + 4] == b"PK\x03\x04", "broken local header"
        (lnlen,) = struct.unpack("<H", data[local + 26:local + 28])
        out[central] = data[local + 30:local + 30 + lnlen]
        pos += 46 + nlen + xlen + clen
    return out


def check_archive(path):
    """The client's checks of an .mhl (spec §2) plus the layout; returns its mip.json."""
    path = pathlib.Path(path)
    data = path.read_bytes()
    for central, local in _local_names(data).items():
        assert central == local, f"{path.name}: central name {central!r} != local {local!r}"
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert "mip.json" in names, f"{path.name}: no mip.json"
        meta = json.loads(zf.read("mip.json"))
        for info in zf.infolist():
            why = _unsafe(info.filename)
            assert why is None, f"{path.name}: unsafe entry {info.filename!r}: {why}"
            if info.filename != "mip.json":
                assert info.filename.startswith(meta["name"] + "/"), \
                    f"{path.name}: {info.filename} is not under {meta['name']}/"
            assert info.filename not in ("load_package.m", "unload_package.m")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                assert info.compress_type == zipfile.ZIP_STORED, f"{info.filename}: compressed symlink"
                target = zf.read(info).decode()
                joined = pathlib.PurePosixPath(info.filename).parent / target
                assert _unsafe(str(joined)) is None and not target.startswith("/"), \
                    f"{info.filename}: symlink escapes"
    check_mip_json(meta)
    stem = f"{meta['name'].replace('-', '_')}-{meta['version']}-{meta['architecture']}.mhl"
    assert path.name == stem, f"{path.name} should be named {stem}"
    return meta


def check_mip_json(meta):
    for key in MIP_JSON_KEYS:
        assert key in meta, f"mip.json lacks {key}: {meta}"
    assert meta["version"], meta
    assert meta["architecture"] in ARCHITECTURES, meta
    assert TIMESTAMP.match(meta["timestamp"]), meta
    assert isinstance(meta["paths"], list) and meta["paths"], meta
    for p in meta["paths"] + [p for g in meta["extra_paths"].values() for p in g]:
        assert _unsafe(p) is None and ".." not in p.split("/"), f"unsafe path {p!r}"


def version_key(version):
    return (0, [int(x) for x in version.split(".")]) if NUMERIC.match(version) else (1, version)


def choose(entries, name, architecture):
    """The client's pick (spec §4): the highest numeric version (else main, else master, else
    the first alphabetically), then in that version the exact architecture, else numbl_wasm
    (for numbl_*), else any; never an older version. None when that version lacks both."""
    mine = [e for e in entries if normalized(e["name"]) == normalized(name)]
    if not mine:
        return None
    versions = {e["version"] for e in mine}
    numeric = [v for v in versions if NUMERIC.match(v)]
    if numeric:
        version = max(numeric, key=lambda v: [int(x) for x in v.split(".")])
    elif "main" in versions:
        version = "main"
    elif "master" in versions:
        version = "master"
    else:
        version = sorted(versions)[0]
    builds = {e["architecture"]: e for e in mine if e["version"] == version}
    for arch in (architecture, "numbl_wasm" if architecture.startswith("numbl_") else None, "any"):
        if arch in builds:
            return builds[arch]
    return None


def install(archive, root, owner, channel):
    """Extracts as the client does: <root>/packages/gh/<owner>/<channel>/<name>/."""
    meta = check_archive(archive)
    dest = pathlib.Path(root) / "packages" / "gh" / owner / channel / meta["name"]
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)
    for info in zipfile.ZipFile(archive).infolist():  # exec bits, as unzip keeps them
        mode = (info.external_attr >> 16) & 0o777
        if mode:
            (dest / info.filename).chmod(mode)
    return dest, meta


def addpath_lines(dest, meta):
    """The Octave commands the client runs on `mip load` (spec §6)."""
    lines = []
    for p in meta["paths"]:
        d = dest / meta["name"] if p == "." else dest / meta["name"] / p
        lines.append(f"addpath('{d}');")
    return lines
