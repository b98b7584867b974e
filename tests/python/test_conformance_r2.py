"""Conformance with the mip-core channel's R2 era (issue 12): recipes in the exact shape of every
real one publish unchanged, offline, through source mirrors.

`tests/data/conformance/` holds our own recipes written in the shapes of the real ones (the ten
`prepare.yaml`, the `packages.py` era and the `package.py` era, see
../shared/reference/r2-mip-core/SHAPES.md) and the trees of stand-in upstreams. The tests turn
those trees into git repositories and GitHub/File Exchange zips served on 127.0.0.1, and reach
them through `--source-mirror` (and `MIP_SOURCE_MIRRORS`), so the recipes keep their real
`https://github.com/...` and `https://www.mathworks.com/...` URLs. A dead proxy makes any fetch
that escaped the mirrors fail.

Each channel is published once per build type with `mip-build publish -j 2` into a local store
(one module-scoped run shared by the assertions); then the packages are installed as the R2-era
client does (each `.mhl` unzipped into `<root>/packages/<name>/`) and used from one GNU Octave
process per channel: load scripts run, functions (and the Octave-compiled kdtree-like MEX
functions) are called, unload scripts run.
"""
import json
import os
import pathlib
import shutil
import subprocess
import zipfile

import pytest
import yaml

import servers
import tools
from pkgtrees import make_zip

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "conformance"
HOST = "linux_x86_64"

# Server path -> (folder under upstreams/archives, whether the zip keeps it as its top folder).
ARCHIVES = {
    "github.com/chebfun/chebfun/archive/master.zip": ("chebfun-master", True),
    "github.com/altmany/export_fig/archive/refs/tags/v3.54.zip": ("export_fig-3.54", True),
    "www.mathworks.com/matlabcentral/mlc-downloads/downloads/e5af5a78-4a80-11e4-9553-"
    "005056977bd0/27611476-c814-450a-b0cb-76c2101f96ed/packages/zip":
        ("fex-gui-layout-toolbox", False),
    "www.mathworks.com/matlabcentral/mlc-downloads/downloads/submissions/53593/versions/10/"
    "download/zip": ("fex-hatchfill2", False),
    "www.mathworks.com/matlabcentral/mlc-downloads/downloads/submissions/20652/versions/5/"
    "download/zip": ("fex-hungarian", False),
}
PREBUILT = (".mexa64", ".mexw64", ".mexmaci64")


def make_upstreams(base):
    """Git repositories (github.com/<owner>/<repo>, untagged) and archive files under `base`."""
    git_root = base / "git"
    clock = 1700000000
    for owner in sorted((DATA / "upstreams" / "git" / "github.com").iterdir()):
        for repo in sorted(owner.iterdir()):
            dest = git_root / "github.com" / owner.name / repo.name
            shutil.copytree(repo, dest)
            servers.git(dest, "init", "-q", "-b", "master")
            servers.git(dest, "add", "-A")
            clock += 1000
            servers.git(dest, "commit", "-q", "-m", "upstream", date=clock)
    www = base / "www"
    for url_path, (folder, keep_top) in ARCHIVES.items():
        src = DATA / "upstreams" / "archives" / folder
        entries = {}
        for p in sorted(src.rglob("*")):
            if p.is_file():
                rel = p.relative_to(src).as_posix()
                entries[f"{folder}/{rel}" if keep_top else rel] = p.read_bytes()
        make_zip(www / url_path, entries)
    return git_root, www


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    base = tmp_path_factory.mktemp("upstream")
    git_root, www = make_upstreams(base)
    with servers.StaticHttpServer(www) as srv:
        yield {"git": git_root, "www": www, "base_url": srv.base_url, "dir": base}


def mirror_setup(upstream, git_root=None):
    """(--source-mirror arguments, MIP_SOURCE_MIRRORS value): git from file://, archives over
    HTTP. The archive prefixes are longer than https://github.com/, so they win for zips."""
    git_root = git_root or upstream["git"]
    base = upstream["base_url"]
    cli = [f"https://github.com/=file://{git_root}/github.com/",
           f"https://github.com/chebfun/chebfun/archive/={base}/github.com/chebfun/chebfun/archive/",
           f"https://github.com/altmany/export_fig/archive/={base}/github.com/altmany/export_fig/"
           "archive/"]
    env = f"https://www.mathworks.com/={base}/www.mathworks.com/"
    args = []
    for m in cli:
        args += ["--source-mirror", m]
    return args, env


def offline_env(upstream, home, mirrors_env):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MIP_STORE", "MIP_BASE_URL", "MIP_PLATFORM_TAG", "SOURCE_DATE_EPOCH",
                        "BUILD_TYPE", "MIP_SOURCE_MIRRORS")}
    # Anything that escapes the mirrors hits a closed port instead of the network.
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[name] = "http://127.0.0.1:9"
    env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost"
    env["HOME"] = str(home)
    env["MIP_SOURCE_MIRRORS"] = mirrors_env
    return env


def cli(*args, env, timeout=1800):
    exe = os.environ.get("MIP_BUILD_EXE")
    assert exe and pathlib.Path(exe).is_file(), "MIP_BUILD_EXE is not set (run through ctest)"
    return subprocess.run([exe, *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=timeout)


class Channel:
    """One channel published from `tests/data/conformance/<era>` into its own local store, one
    build directory per build type (as separate CI jobs would), the index of the last run."""

    def __init__(self, era, base, upstream):
        self.era = era
        self.recipes = DATA / era
        self.base = base
        self.store = base / "store"
        self.build = base / "build-standard"
        self.home = base / "home"
        self.home.mkdir()
        self.mirror_args, mirrors_env = mirror_setup(upstream)
        self.env = offline_env(upstream, self.home, mirrors_env)
        self.logs = {}
        self.last_build = self.build

    def publish(self, build_type):
        build = self.base / f"build-{build_type}"
        r = cli("-v", "--json", "publish", "--test", "skip", "--recipes", self.recipes, "--build-dir", build,
                "--store", self.store, "-j", "2", "--build-type", build_type, *self.mirror_args,
                env=self.env)
        assert r.returncode == 0, f"{self.era} {build_type}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        self.logs[build_type] = r.stderr
        self.last_build = build
        return json.loads(r.stdout)

    @property
    def index(self):
        return json.loads((self.last_build / "gh-pages" / "index.json").read_text())

    def entry(self, name):
        (found,) = [e for e in self.index["packages"] if e["name"] == name]
        return found

    def mhl(self, name):
        e = self.entry(name)
        assert e["mhl_url"].startswith("file://")
        return pathlib.Path(e["mhl_url"][len("file://"):])

    def names_in(self, name):
        with zipfile.ZipFile(self.mhl(name)) as z:
            return set(z.namelist())

    def read_in(self, name, member):
        with zipfile.ZipFile(self.mhl(name)) as z:
            return z.read(member).decode()

    def install(self, root):
        """As the R2-era client: each .mhl unzipped into <root>/packages/<name>/."""
        for e in self.index["packages"]:
            dest = root / "packages" / e["name"]
            assert not dest.exists(), f"two entries for {e['name']}"
            with zipfile.ZipFile(self.mhl(e["name"])) as z:
                z.extractall(dest)
        return root / "packages"


def published(request, tmp_path_factory, upstream, era, build_types):
    channel = Channel(era, tmp_path_factory.mktemp(era), upstream)
    channel.reports = {bt: channel.publish(bt) for bt in build_types}
    return channel


@pytest.fixture(scope="module")
def yaml_channel(request, tmp_path_factory, upstream):
    return published(request, tmp_path_factory, upstream, "prepare_yaml",
                     ["standard", "linux_workstation"])


@pytest.fixture(scope="module")
def packages_py_channel(request, tmp_path_factory, upstream):
    return published(request, tmp_path_factory, upstream, "packages_py",
                     ["standard", "linux_workstation"])


@pytest.fixture(scope="module")
def package_py_channel(request, tmp_path_factory, upstream):
    return published(request, tmp_path_factory, upstream, "package_py", ["standard"])


@pytest.fixture(scope="module")
def octave():
    return tools.require_tool("octave-cli")


def run_octave(octave, packages_root, lines, home):
    """Runs `lines` (MATLAB statements) in a fresh octave-cli; returns {key: value} from the
    `RESULT key=value` lines it prints, and the raw output."""
    script = packages_root.parent / "conformance_check.m"
    script.write_text("\n".join(lines) + "\n")
    r = subprocess.run([octave, "--norc", "--no-history", str(script)], cwd=packages_root.parent,
                       env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    results = {}
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            key, _, value = line[len("RESULT "):].partition("=")
            results[key] = value
    return results, r.stdout + r.stderr


def load(name):
    return f"run(fullfile(pwd, 'packages', '{name}', 'load_package.m'));"


def unload(name):
    return f"run(fullfile(pwd, 'packages', '{name}', 'unload_package.m'));"


def show(key, expr):
    return f"printf('RESULT {key}=%s\\n', mat2str({expr}));"


def show_text(key, expr):
    return f"printf('RESULT {key}=%s\\n', {expr});"


def stray_entries(channel):
    """What recipes left in build/ or build/prepared besides libmip's own entries (nothing, with
    private working directories)."""
    out = []
    for build in sorted(channel.base.glob("build-*")):
        out += [f"{build.name}/{p.name}" for p in (build / "prepared").iterdir()
                if not (p.name.endswith(".dir") or p.name.endswith(".work")
                        or p.name == ".mip-recipe-runs")]  # libmip's own bookkeeping
        out += [f"{build.name}/{p.name}" for p in build.iterdir()
                if p.name not in ("prepared", "bundled", "gh-pages", "cache",
                                  ".mip-build.lock")]  # the run's lock (kept: flock on its inode)
        out += [f"{w.name}/{s}" for w in (build / "prepared").glob("*.work")
                for s in ("cwd", "tmp") if (w / s).exists()]
    return out


# --- prepare.yaml -------------------------------------------------------------------------------

YAML_WHEELS = {
    "FLAM": "FLAM-unspecified-any-none-any",
    "chebfun": "chebfun-unspecified-any-none-any",
    "chunkie": "chunkie-unspecified-any-none-any",
    "export_fig": "export_fig-3.54-any-none-any",
    "fmm2d": f"fmm2d-unspecified-any-none-{HOST}",
    "gui-layout-toolbox": "gui-layout-toolbox-2.4.2-any-none-any",
    "hatchfill2": "hatchfill2-3.0.0.0-any-none-any",
    "hungarian-algorithm-for-linear-assignment-problems":
        "hungarian-algorithm-for-linear-assignment-problems-1.4.0.0-any-none-any",
    "kdtree": f"kdtree-unspecified-any-none-{HOST}",
    "surfacefun": "surfacefun-unspecified-any-none-any",
}

YAML_SYMBOLS = {
    "FLAM": ["Kfun", "hifie2", "hypoct", "id", "startup"],
    "chebfun": ["chebfun", "chebfun_version", "chebpts", "chebtech"],
    "chunkie": ["chunker", "chunkerfunc", "chunkerinterior"],
    "export_fig": [],  # the archive's top folder stays below the path entry (as upstream's runner)
    "fmm2d": ["rfmm2d"],
    "gui-layout-toolbox": ["layoutRoot", "uix"],
    "hatchfill2": ["hatchfill2"],
    "hungarian-algorithm-for-linear-assignment-problems": ["munkres"],
    "kdtree": ["kdtree_demo"],
    "surfacefun": ["sphere_area", "surfacefun", "surfacemesh"],
}


def test_every_prepare_yaml_recipe_publishes(yaml_channel):
    index = yaml_channel.index
    assert {e["name"]: e["mhl_url"].rsplit("/", 1)[1][:-len(".mhl")]
            for e in index["packages"]} == YAML_WHEELS
    assert index["total_packages"] == 10
    for name, symbols in YAML_SYMBOLS.items():
        entry = yaml_channel.entry(name)
        assert entry["exposed_symbols"] == symbols, name
        assert pathlib.Path(entry["mhl_url"][len("file://"):]).is_file(), name
    assert yaml_channel.entry("chunkie")["dependencies"] == ["fmm2d", "FLAM"]
    assert yaml_channel.entry("surfacefun")["dependencies"] == ["chebfun"]
    assert yaml_channel.entry("FLAM")["build_number"] == 40
    assert yaml_channel.entry("fmm2d")["platform_tag"] == HOST  # from the linux_workstation run
    (example,) = yaml_channel.entry(
        "hungarian-algorithm-for-linear-assignment-problems")["usage_examples"]
    assert example.startswith("mip load hungarian-algorithm-for-linear-assignment-problems\n")
    assert stray_entries(yaml_channel) == []


def test_version_unspecified_stays_and_git_sources_record_describe(yaml_channel):
    for name in ("FLAM", "chunkie", "kdtree", "surfacefun", "fmm2d"):
        entry = yaml_channel.entry(name)
        assert entry["version"] == "unspecified", name
        src = entry["source"]
        assert src["type"] == "git" and src["url"].startswith("https://github.com/"), name
        assert len(src["commit"]) == 40
        # Untagged upstream: the describe of the fallback tag, recorded but not the version.
        assert src["describe"].startswith("0.0-0-g"), (name, src)
    zip_src = yaml_channel.entry("chebfun")["source"]
    assert zip_src["type"] == "zip"
    assert zip_src["url"] == "https://github.com/chebfun/chebfun/archive/master.zip"


def test_mirrors_are_recorded_in_the_lock_and_build_info(yaml_channel, upstream):
    work = yaml_channel.build / "prepared" / f"{YAML_WHEELS['kdtree']}.work"
    lock = yaml.safe_load((work / "mip.lock.yaml").read_text())
    assert lock["source_mirrors"] == [
        {"url": "https://github.com/taiya/kdtree",
         "fetched_from": f"file://{upstream['git']}/github.com/taiya/kdtree"}]
    assert lock["sources"][0]["url"] == "https://github.com/taiya/kdtree"
    info = json.loads((work / "build_info.json").read_text())
    assert info["source_mirrors"] == [
        {"url": "https://github.com/taiya/kdtree",
         "fetched_from": f"file://{upstream['git']}/github.com/taiya/kdtree"}]
    fex = json.loads((yaml_channel.build / "prepared" /
                      f"{YAML_WHEELS['hatchfill2']}.work" / "build_info.json").read_text())
    (m,) = fex["source_mirrors"]
    assert m["url"].startswith("https://www.mathworks.com/matlabcentral/")
    assert m["fetched_from"].startswith(upstream["base_url"] + "/www.mathworks.com/")
    # The published metadata keeps the original URL only.
    assert "127.0.0.1" not in json.dumps(yaml_channel.index)
    assert "file://" + str(upstream["git"]) not in json.dumps(yaml_channel.entry("kdtree"))


def test_disabled_build_is_not_run_and_not_refused(yaml_channel):
    log = yaml_channel.logs["standard"]
    assert "builds[1] (build_type 'macosx--disable') is not selected" in log
    assert not [n for n in yaml_channel.index["packages"] if n["platform_tag"] == "macosx"]


def test_load_scripts_come_from_nested_addpaths(yaml_channel):
    flam = yaml_channel.read_in("FLAM", "load_package.m").splitlines()
    assert flam == [f"addpath(fullfile(fileparts(mfilename('fullpath')), '{d}'));" for d in
                    ["FLAM", "FLAM/core", "FLAM/hifie", "FLAM/hifie/kernels"]]
    unload = yaml_channel.read_in("FLAM", "unload_package.m").splitlines()
    assert unload == [line.replace("addpath", "rmpath") for line in reversed(flam)]
    surf = yaml_channel.read_in("surfacefun", "load_package.m").splitlines()
    assert surf == [f"addpath(fullfile(fileparts(mfilename('fullpath')), '{d}'));" for d in
                    ["surfacefun", "surfacefun/tools"]]


def test_export_fig_shape_is_published_faithfully_with_a_warning(yaml_channel):
    names = yaml_channel.names_in("export_fig")
    assert "export_fig-3.54/export_fig-3.54/export_fig.m" in names
    log = yaml_channel.logs["standard"]
    assert "prepare.addpaths puts 'export_fig-3.54' on the path, but it holds no MATLAB files" in log


def test_prebuilt_mex_is_stripped_and_kdtree_compiled_by_octave(yaml_channel):
    names = yaml_channel.names_in("kdtree")
    assert not [n for n in names if n.endswith(PREBUILT)], sorted(names)
    assert "kdtree/toolbox/kdtree_nearest_neighbor.mex" in names
    assert "kdtree/toolbox/kdtree_k_nearest_neighbors.mex" in names
    assert "compile.m" in names
    meta = json.loads(yaml_channel.read_in("kdtree", "mip.json"))
    assert meta["compile_script"] == "compile.m"
    entry = yaml_channel.entry("kdtree")
    assert entry["build_info"]["compile_engine"].startswith("octave")
    assert not [n for n in yaml_channel.names_in("fmm2d") if n.endswith(PREBUILT)]


def test_yaml_channel_works_installed_in_octave(yaml_channel, octave, tmp_path):
    root = yaml_channel.install(tmp_path / "client")
    results, output = run_octave(octave, root, [
        load("FLAM"), load("chebfun"), load("fmm2d"), load("chunkie"), load("surfacefun"),
        load("gui-layout-toolbox"), load("hatchfill2"),
        load("hungarian-algorithm-for-linear-assignment-problems"), load("kdtree"),
        load("export_fig"),
        show("flam", "[hifie2(3) Kfun(4) id([1 2 3])]"),
        show("flam_test_hidden", "exist('test_id')"),
        show("cheb", "chebfun_version()"),
        show("fmm2d", "rfmm2d([1 2 3])"),
        show("chunkie", "chunkerfunc(1)"),
        show("surf", "[surfacemesh() sphere_area(1)]"),
        show("layout", "exist('layoutRoot')"),
        show_text("hatch", "hatchfill2()"),
        "costMat = [4 2 8; 2 4 6; 8 6 4];",
        "[assignment, cost] = munkres(costMat);",
        show("munkres", "[assignment cost]"),
        show("nn", "kdtree_nearest_neighbor([0 0; 1 0; 0 1; 1 1], [0.9 0.9; 0.1 0.2])'"),
        show("knn", "kdtree_k_nearest_neighbors([0 0; 1 0; 0 1; 1 1; 0.5 0.5], [0.5 0.5], 3)'"),
        show("nn_kind", "exist('kdtree_nearest_neighbor')"),
        show_text("nn_file", "which('kdtree_nearest_neighbor')"),
        show("export_fig", "exist('export_fig')"),
        unload("surfacefun"),
        show("surf_after_unload", "exist('sphere_area')"),
    ], tmp_path)
    assert results["flam"] == "[6 16 3]"
    assert results["flam_test_hidden"] == "0"
    assert results["cheb"] == "5"
    assert results["fmm2d"] == "6"
    assert results["chunkie"] == "2"
    assert results["surf"] == "[6 12.5663706143592]"
    assert results["layout"] == "2"
    assert results["hatch"] == "hatched"
    assert results["munkres"] == "[2 1 3 8]"
    assert results["nn"] == "[4 1]"
    assert results["knn"][:3] == "[5 "
    assert results["nn_kind"] == "3", output  # a MEX file
    assert results["nn_file"].endswith("packages/kdtree/kdtree/toolbox/kdtree_nearest_neighbor.mex")
    assert results["export_fig"] == "0"  # as published by upstream's runner: see the warning
    assert results["surf_after_unload"] == "0"


def test_a_second_prepare_through_other_mirrors_skips_everything(yaml_channel, upstream,
                                                                tmp_path):
    """The cache check must not see a change just because a mirror was used (or moved)."""
    moved = tmp_path / "elsewhere"
    shutil.copytree(upstream["git"], moved)
    args, env_mirrors = mirror_setup(upstream, git_root=moved)
    env = offline_env(upstream, yaml_channel.home, env_mirrors)
    r = cli("--json", "prepare", "--recipes", yaml_channel.recipes, "--build-dir",
            yaml_channel.build, "--store", yaml_channel.store, "-j", "2", *args, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    items = json.loads(r.stdout)["items"]
    assert {i["package"] for i in items} == set(YAML_WHEELS) - {"fmm2d"}
    assert all(i["status"] == "skipped" for i in items), items


# --- packages.py era ----------------------------------------------------------------------------

PACKAGES_PY_WHEELS = {
    "FLAM": "FLAM-unspecified-any-none-any",
    "chebfun": "chebfun-unspecified-any-none-any",
    "chunkie": "chunkie-unspecified-any-none-any",
    "export_fig": "export_fig-3.54-any-none-any",
    "fmm2d": f"fmm2d-unspecified-any-none-{HOST}",
    "gui-layout-toolbox": "gui-layout-toolbox-2.4.2-any-none-any",
    "hatchfill2": "hatchfill2-3.0.0.0-any-none-any",
    "hungarian-algorithm-for-linear-assignment-problems":
        "hungarian-algorithm-for-linear-assignment-problems-1.4.0.0-any-none-any",
    "kdtree": "kdtree-unspecified-any-none-any",
    "surfacefun": "surfacefun-latest-any-none-any",
}


def test_every_packages_py_recipe_publishes(packages_py_channel):
    ch = packages_py_channel
    assert {e["name"]: e["mhl_url"].rsplit("/", 1)[1][:-len(".mhl")]
            for e in ch.index["packages"]} == PACKAGES_PY_WHEELS
    assert ch.entry("FLAM")["exposed_symbols"] == ["Kfun", "hifie2", "hypoct", "id"]
    assert ch.entry("chebfun")["exposed_symbols"] == ["chebfun", "chebfun_version", "chebpts",
                                                      "chebtech"]
    assert ch.entry("chebfun")["license"] == "unspecified"  # the recipe has no license
    assert ch.entry("export_fig")["exposed_symbols"] == ["export_fig", "print2array"]
    assert ch.entry("fmm2d")["exposed_symbols"] == ["fmm2d", "fmm2d_order", "rfmm2d"]
    assert ch.entry("kdtree")["exposed_symbols"] == [
        "kdtree_demo", "kdtree_k_nearest_neighbors", "kdtree_nearest_neighbor"]
    assert ch.entry("surfacefun")["exposed_symbols"] == ["sphere_area", "surfacefun",
                                                         "surfacemesh"]
    (example,) = ch.entry("hungarian-algorithm-for-linear-assignment-problems")["usage_examples"]
    assert "munkres(costMat)" in example
    assert ch.entry("gui-layout-toolbox")["exposed_symbols"] == ["layoutRoot", "uix"]
    # Helper fetches are recorded with the URLs the recipes wrote.
    assert ch.entry("FLAM")["source"]["url"] == "https://github.com/klho/FLAM"
    assert ch.entry("hatchfill2")["source"]["url"].startswith("https://www.mathworks.com/")
    assert stray_entries(ch) == []


def test_packages_py_gating_and_the_ungated_recipe(packages_py_channel):
    std = packages_py_channel.reports["standard"]["stages"][0]["items"]
    assert "fmm2d" not in {i["package"] for i in std if i["status"] == "done"}
    ws = packages_py_channel.reports["linux_workstation"]["stages"][0]["items"]
    by = {i["package"]: i["status"] for i in ws}
    assert by["fmm2d"] == "done"
    assert by["surfacefun"] == "skipped"  # ungated: rebuilt, identical, so not republished


def test_packages_py_channel_works_installed_in_octave(packages_py_channel, octave, tmp_path):
    ch = packages_py_channel
    names = ch.names_in("kdtree")
    assert "kdtree/kdtree_nearest_neighbor.mex" in names
    assert not [n for n in names if n.endswith(PREBUILT)]  # removed before compiling
    fmm_names = ch.names_in("fmm2d")
    assert "fmm2d/fmm2d_order.m" in fmm_names  # written by the stand-in's `make matlab`
    # setup.m recipes: load_package.m runs it; unload_package.m removes the package's entries.
    assert "run(fullfile(fileparts(mfilename('fullpath')), 'setup.m'));" in \
        ch.read_in("surfacefun", "load_package.m")
    root = ch.install(tmp_path / "client")
    results, output = run_octave(octave, root, [
        load("FLAM"), load("chebfun"), load("fmm2d"), load("chunkie"), load("surfacefun"),
        load("kdtree"), load("export_fig"),
        load("hungarian-algorithm-for-linear-assignment-problems"),
        show("flam", "hifie2(5)"),
        show("cheb", "chebfun_version()"),
        show("fmm2d", "[fmm2d_order(0.001) rfmm2d([1 1])]"),
        show("chunkie", "chunkerinterior(-1)"),
        show("surf", "sphere_area(2) / pi"),
        show_text("export_fig", "export_fig()"),
        show("nn", "kdtree_nearest_neighbor([0 0; 1 1], [0.2 0.1])"),
        show_text("nn_file", "which('kdtree_nearest_neighbor')"),
        show("munkres", "munkres([4 2 8; 2 4 6; 8 6 4])"),
        unload("surfacefun"),
        show("surf_after_unload", "[exist('sphere_area') exist('surfacemesh')]"),
        show("workspace_clean", "exist('mip_unload_dirs__', 'var')"),
    ], tmp_path)
    assert results["flam"] == "10"
    assert results["cheb"] == "5"
    assert results["fmm2d"] == "[10 2]"
    assert results["chunkie"] == "false"
    assert results["surf"] == "16"
    assert results["export_fig"] == "exported"
    assert results["nn"] == "1"
    assert results["nn_file"].endswith("packages/kdtree/kdtree/kdtree_nearest_neighbor.mex"), output
    assert results["munkres"] == "[2 1 3]"
    assert results["surf_after_unload"] == "[0 0]"
    assert results["workspace_clean"] == "0"


# --- package.py era -----------------------------------------------------------------------------

def test_every_package_py_recipe_publishes_and_works(package_py_channel, octave, tmp_path):
    ch = package_py_channel
    assert {e["name"]: e["version"] for e in ch.index["packages"]} == {
        "chebfun": "latest", "export_fig": "3.54", "kdtree": "latest", "surfacefun": "latest",
        "flam": "unspecified"}
    assert ch.entry("kdtree")["exposed_symbols"] == [
        "kdtree_demo", "kdtree_k_nearest_neighbors", "kdtree_nearest_neighbor"]
    # collect_exposed_symbols_recursive(flam_dir, "flam", ...) walks flam_dir itself.
    assert ch.entry("flam")["exposed_symbols"] == ["Kfun", "hifie2", "hypoct", "id", "startup"]
    assert "kdtree/kdtree_nearest_neighbor.mex" in ch.names_in("kdtree")
    assert stray_entries(ch) == []
    root = ch.install(tmp_path / "client")
    results, output = run_octave(octave, root, [
        load("chebfun"), load("surfacefun"), load("kdtree"), load("export_fig"), load("flam"),
        show("surf", "surfacemesh()"),
        show("export_fig", "print2array()"),
        show("knn", "kdtree_k_nearest_neighbors([0 0; 3 3; 1 1], [0 0], 2)'"),
        show("flam", "Kfun(3)"),
        unload("flam"),
        show("flam_after_unload", "[exist('Kfun') exist('hypoct')]"),
    ], tmp_path)
    assert results["surf"] == "6"
    assert results["export_fig"] == "[0 0;0 0]"
    assert results["knn"] == "[1 3]"
    assert results["flam"] == "9"
    assert results["flam_after_unload"] == "[0 0]"
