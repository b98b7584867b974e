"""Deterministic benchmark data: sidecars, recipes, prepared packages, bundles, MATLAB-like sources.
Everything is derived from a fixed seed, so two runs of the bench measure the same bytes."""
import hashlib
import json
import os
import pathlib
import random

BASE = "https://example.org"


def wheel(name, version):
    return f"{name}-{version}-any-none-any"


def sidecar(prefix, i, description_suffix=""):
    """A valid, realistic (~1.5 KB) sidecar for package number i of a store prefix."""
    rng = random.Random(f"{prefix}/{i}")
    name = f"pkg_{i:05d}"
    version = f"{1 + i % 7}.{i % 13}.{i % 5}"
    sha = hashlib.sha256(f"{prefix}/{i}".encode()).hexdigest()
    w = wheel(name, version)
    symbols = sorted({f"{name}_{rng.choice(['solve', 'plot', 'fit', 'load', 'save', 'eval'])}{k}" for k in range(12)})
    meta = {
        "name": name,
        "description": f"Benchmark package {i}: numerical helpers for MATLAB{description_suffix}",
        "version": version,
        "build_number": i % 3,
        "dependencies": [f"pkg_{(i * 7 + 1) % max(i, 1):05d}"] if i > 10 else [],
        "homepage": f"https://example.org/{name}",
        "repository": f"https://github.com/example/{name}",
        "license": "BSD-3-Clause",
        "matlab_tag": "any", "abi_tag": "none", "platform_tag": "any",
        "usage_examples": [f"{symbols[0]}(rand(3))"],
        "exposed_symbols": symbols,
        "timestamp": "2026-01-01T00:00:00Z",
        "prepare_duration": round(rng.uniform(0.1, 9.0), 2),
        "compile_duration": 0.0,
        "mhl_url": f"{BASE}/{prefix}/sha256/{sha}/{w}.mhl",
        "mhl_sha256": sha,
        "mhl_size": rng.randint(20_000, 5_000_000),
        "source": {"type": "git", "url": f"https://github.com/example/{name}.git", "ref": f"v{version}",
                   "commit": hashlib.sha1(sha.encode()).hexdigest(), "sha256": None},
        "build_info": {"source_date_epoch": 1767225600, "epoch_source": "SOURCE_DATE_EPOCH",
                       "recipe_sha256": hashlib.sha256(name.encode()).hexdigest(),
                       "recipe_repository": "https://github.com/example/mip-core",
                       "recipe_commit": hashlib.sha1(name.encode()).hexdigest(),
                       "build_type": "standard", "builder": "libmip 0.1.0", "host_platform": "linux_x86_64",
                       "ci": "github_actions", "ci_run_url": None, "compile_engine": None},
    }
    # dependencies must name packages that exist in the same prefix
    if meta["dependencies"] and meta["dependencies"][0] == name:
        meta["dependencies"] = []
    return f"{prefix}/{w}.mhl.mip.json", (json.dumps(meta, indent=2) + "\n").encode()


def index_objects(prefix, n):
    out = [sidecar(prefix, i) for i in range(n)]
    # keep dependencies inside the set
    fixed = []
    for key, data in out:
        meta = json.loads(data)
        meta["dependencies"] = [d for d in meta["dependencies"] if int(d[4:]) < n]
        fixed.append((key, (json.dumps(meta, indent=2) + "\n").encode()))
    return fixed


def mutate(key, data, generation):
    meta = json.loads(data)
    meta["description"] = meta["description"].split(" [rev")[0] + f" [rev {generation}]"
    return key, (json.dumps(meta, indent=2) + "\n").encode()


# ---- MATLAB-like sources -------------------------------------------------------------------

_WORDS = ("value index result matrix vector tol maxit alpha beta gamma data grid mesh coeffs nodes "
          "weights points edges faces order degree domain range signal kernel window scale offset "
          "count total error residual norm step state input output options params cache buffer").split()
_OPS = ["+", "-", ".*", "./", "*", "^"]
_FUNCS = ["zeros", "ones", "sum", "max", "min", "abs", "sqrt", "exp", "log", "norm", "numel", "size",
          "reshape", "linspace", "cumsum", "mod", "floor", "isempty", "any", "all", "find", "sort"]


def _line(rng, depth):
    k = rng.random()
    w = rng.choice(_WORDS) + (str(rng.randint(1, 9)) if rng.random() < 0.3 else "")
    v = rng.choice(_WORDS)
    ind = "    " * depth
    if k < 0.18:
        return f"{ind}% {' '.join(rng.choice(_WORDS) for _ in range(rng.randint(3, 10)))}"
    if k < 0.55:
        return f"{ind}{w} = {rng.choice(_FUNCS)}({v}) {rng.choice(_OPS)} {rng.uniform(0, 100):.4g};"
    if k < 0.75:
        return f"{ind}{w}({rng.randint(1, 64)}:end) = {v}(1:end-{rng.randint(1, 4)}) {rng.choice(_OPS)} {rng.choice(_WORDS)};"
    if k < 0.85:
        return f"{ind}if {v} > {rng.randint(0, 1000)} && ~isempty({w})"
    if k < 0.93:
        return f"{ind}for k = 1:{rng.choice(['numel', 'size'])}({v})"
    return f"{ind}end"


def matlab_file(rng, fname, target_bytes):
    lines = [f"function out = {fname}(varargin)",
             f"%{fname.upper()} {' '.join(rng.choice(_WORDS) for _ in range(8))}",
             f"%   out = {fname}(x) {' '.join(rng.choice(_WORDS) for _ in range(12))}",
             "%", "%   Copyright (c) 2026 The benchmark authors. BSD-3-Clause.", ""]
    size = sum(len(x) + 1 for x in lines)
    depth = 1
    while size < target_bytes:
        s = _line(rng, depth)
        if s.strip().startswith(("if ", "for ")):
            depth = min(depth + 1, 4)
        elif s.strip() == "end":
            depth = max(depth - 1, 1)
        lines.append(s)
        size += len(s) + 1
    lines += ["out = varargin;", "end", ""]
    return "\n".join(lines)


def write_sources(root, name, total_bytes, rng, file_bytes=(8_000, 60_000), binary_bytes=0):
    """A package's source tree under root: +namespace, private/ and plain folders."""
    root = pathlib.Path(root)
    written = 0
    n = 0
    while written < total_bytes:
        sub = rng.choice(["", "private", f"+{name}", "utils", "examples", "tests"])
        d = root / sub
        d.mkdir(parents=True, exist_ok=True)
        fname = f"{name}_{rng.choice(_WORDS)}_{n}"
        text = matlab_file(rng, fname, rng.randint(*file_bytes))
        (d / f"{fname}.m").write_text(text)
        written += len(text)
        n += 1
    if binary_bytes:
        (root / "data").mkdir(exist_ok=True)
        (root / "data" / f"{name}_tables.mat").write_bytes(rng.randbytes(binary_bytes))
        written += binary_bytes
    return written


def make_recipes(root, count, bytes_per_package, seed, reference_root=None, binary_bytes=0):
    """`count` prepare.yaml recipes under root/<name>/ (sources in src/). With reference_root,
    the same packages as the seed's package.py recipes (sources shared by absolute path)."""
    root = pathlib.Path(root)
    rng = random.Random(seed)
    total = 0
    for i in range(count):
        name = f"pkg_{i:04d}"
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        total += write_sources(d / "src", name, bytes_per_package, rng, binary_bytes=binary_bytes)
        version = f"1.{i % 10}.{i}"
        (d / "prepare.yaml").write_text(
            f"name: {name}\n"
            f"description: Benchmark package {i} with MATLAB-like sources\n"
            f'version: "{version}"\n'
            f"build_number: 0\n"
            f"license: BSD-3-Clause\n"
            f"homepage: https://example.org/{name}\n"
            f"repository: https://github.com/example/{name}\n"
            f"prepare:\n  path: {{path: src, destination: {name}}}\n"
            f"addpaths:\n  - path: {name}\n    recursive: true\n")
        if reference_root is not None:
            rd = pathlib.Path(reference_root) / name
            rd.mkdir(parents=True, exist_ok=True)
            (rd / "package.py").write_text(REFERENCE_PACKAGE_PY.format(
                name=name, version=version, i=i, src=str((d / "src").resolve())))
    return total


def make_tiny_recipes(root, count, first=0):
    """`count` prepare.yaml recipes of one small MATLAB function each, root/pkg_NNNNN/ numbered
    from `first`: the catalogue-size scenario measures the number of packages, not their bytes."""
    root = pathlib.Path(root)
    for i in range(first, first + count):
        name = f"pkg_{i:05d}"
        d = root / name
        (d / "src").mkdir(parents=True, exist_ok=True)
        (d / "src" / f"{name}_run.m").write_text(
            f"function out = {name}_run(x)\n%{name.upper()}_RUN benchmark package {i}\nout = x + {i};\nend\n")
        (d / "prepare.yaml").write_text(
            f"name: {name}\n"
            f"description: Catalogue-scale benchmark package {i}\n"
            f'version: "1.{i % 10}.{i}"\n'
            f"build_number: 0\n"
            f"license: BSD-3-Clause\n"
            f"homepage: https://example.org/{name}\n"
            f"repository: https://github.com/example/{name}\n"
            f"prepare:\n  path: {{path: src, destination: {name}}}\n"
            f"addpaths:\n  - path: {name}\n")


REFERENCE_PACKAGE_PY = '''import os
import shutil


class Package:
    def __init__(self):
        self.name = "{name}"
        self.description = "Benchmark package {i} with MATLAB-like sources"
        self.version = "{version}"
        self.build_number = 0
        self.dependencies = []
        self.homepage = "https://example.org/{name}"
        self.repository = "https://github.com/example/{name}"
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = "any"
        self.exposed_symbols = []

    def build(self, mhl_dir):
        dest = os.path.join(mhl_dir, "{name}")
        shutil.copytree("{src}", dest)
        paths = sorted({{os.path.relpath(r, mhl_dir) for r, _d, f in os.walk(dest)
                        if any(x.endswith(".m") for x in f) and "private" not in r}})
        with open(os.path.join(mhl_dir, "load_package.m"), "w") as f:
            f.write("function load_package()\\n" + "".join(
                f"    addpath(fullfile(fileparts(mfilename('fullpath')), '{{p}}'));\\n" for p in paths) + "end\\n")
        with open(os.path.join(mhl_dir, "unload_package.m"), "w") as f:
            f.write("function unload_package()\\nend\\n")
        for r, _d, files in os.walk(dest):
            if "private" in r:
                continue
            self.exposed_symbols += [x[:-2] for x in files if x.endswith(".m")]
'''


def random_blocks(size, seed=1):
    """`size` incompressible bytes in blocks of 64 MiB (bounded memory)."""
    rng = random.Random(seed)
    block = 64 << 20
    left = size
    while left > 0:
        n = min(block, left)
        yield rng.randbytes(n)
        left -= n


def random_zip(path, size, seed=1):
    """A zip of about `size` bytes: one stored entry of incompressible bytes (kept below 2 GiB -
    1, so no ZIP64), fixed date, as upload's checks read a bundle's entries."""
    import zipfile
    info = zipfile.ZipInfo("bigpkg/blob.bin", date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w") as z, z.open(info, "w") as f:
        for b in random_blocks(min(size, (1 << 31) - 1) - 4096, seed):
            f.write(b)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def big_bundle(bundled_dir, size):
    """One `<wheel>.mhl` of about `size` bytes (a zip of one stored entry of random bytes) plus a
    valid sidecar. It is a real zip: upload looks into bundles (the Octave MEX gate)."""
    bundled_dir = pathlib.Path(bundled_dir)
    bundled_dir.mkdir(parents=True, exist_ok=True)
    w = wheel("bigpkg", "1.0.0")
    mhl = bundled_dir / f"{w}.mhl"
    import zipfile
    if not mhl.exists() or abs(mhl.stat().st_size - size) > 8192 or not zipfile.is_zipfile(mhl):
        random_zip(mhl, size)
    sha = sha256_file(mhl)
    size = mhl.stat().st_size
    meta = json.loads(sidecar("big", 0)[1])
    meta.update({"name": "bigpkg", "version": "1.0.0", "dependencies": [], "mhl_sha256": sha,
                 "mhl_size": size, "mhl_url": f"{BASE}/big/sha256/{sha}/{w}.mhl"})
    (bundled_dir / f"{w}.mhl.mip.json").write_text(json.dumps(meta, indent=2) + "\n")
    return mhl


def tree_bytes(root):
    return sum(p.stat().st_size for p in pathlib.Path(root).rglob("*") if p.is_file())


def tree_files(root):
    return sum(1 for p in pathlib.Path(root).rglob("*") if p.is_file())


if __name__ == "__main__":
    import sys
    k, d = sidecar("idx", int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(k, len(d))
    os.write(1, d)
