"""Builders for the package trees and archives the Python tests use: zip files with chosen entry
names, modes and symlinks, and prepared `<wheel>.dir` directories."""
import json
import pathlib
import stat
import zipfile


def make_zip(path, entries):
    """Writes a zip. `entries`: {name: bytes | str | (bytes, mode)}; a mode with S_IFLNK makes
    a symlink entry (content = target). Names are written verbatim (no sanitising)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, value in entries.items():
            mode = None
            if isinstance(value, tuple):
                value, mode = value
            if isinstance(value, str):
                value = value.encode()
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.create_system = 3
            if mode is None:
                mode = 0o40755 if name.endswith("/") else 0o100644
            info.external_attr = (mode & 0xFFFF) << 16
            if name.endswith("/"):
                info.external_attr |= 0x10
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, value)
    return path


SYMLINK_MODE = stat.S_IFLNK | 0o777


def make_prepared_dir(root, name, version="1.0.0", files=None, extra=None):
    """A `<wheel>.dir` as prepare leaves it: mip.json, load/unload scripts and `files`."""
    wheel = f"{name}-{version}-any-none-any"
    d = pathlib.Path(root) / f"{wheel}.dir"
    d.mkdir(parents=True)
    spec = {"name": name, "description": f"{name} test package", "version": version,
            "build_number": 0, "dependencies": [], "homepage": "", "repository": "",
            "license": "MIT", "matlab_tag": "any", "abi_tag": "none", "platform_tag": "any",
            "usage_examples": [], "exposed_symbols": [], "timestamp": "2024-01-01T00:00:00Z",
            "prepare_duration": 0, "compile_duration": 0, "source": None}
    spec.update(extra or {})
    (d / "mip.json").write_text(json.dumps(spec, indent=2) + "\n")
    (d / "load_package.m").write_text(f"addpath(fullfile(fileparts(mfilename('fullpath')), '{name}'));\n")
    (d / "unload_package.m").write_text(f"rmpath(fullfile(fileparts(mfilename('fullpath')), '{name}'));\n")
    for rel, content in (files or {f"{name}/{name}_main.m": f"function {name}_main\nend\n"}).items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return d


def write_package_py(recipes, name, prepare_body, imports="", version="1.0.0"):
    """`<recipes>/<name>/package.py`: an R2-era Package class (pure MATLAB, platform `any`)
    whose prepare(self, mhl_dir) runs `prepare_body` (Python lines, indented by this function);
    `imports`: lines put above the class. Returns the recipe directory."""
    d = pathlib.Path(recipes) / name
    d.mkdir(parents=True)
    body = "".join(f"        {line}\n" for line in prepare_body.strip("\n").splitlines())
    (d / "package.py").write_text(f"""{imports}
class Package:
    name = "{name}"
    description = ""
    version = "{version}"
    build_number = 0
    dependencies = []
    homepage = ""
    repository = ""
    license = "MIT"
    matlab_tag = "any"
    abi_tag = "none"
    platform_tag = "any"
    def prepare(self, mhl_dir):
{body}""")
    return d


def tree(root):
    """{relative path: bytes} of every file under root (symlinks followed)."""
    root = pathlib.Path(root)
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}
