"""Python recipes (package.py / packages.py) in the style of the real mip-core ones, run in the
worker interpreter: zip sources from a local HTTP server, git sources from repositories the test
creates, through Python and through the CLI with identical results; and recipes that raise, hang,
exit or crash — each reported clearly while the others are built."""
import json
import os
import pathlib
import sys
import textwrap

import pytest

import mip_native as m
from pkgtrees import make_zip, tree

HOST_TAG = m.host_platform_tag()


def write_recipe(recipes, dir_name, file_name, text):
    d = recipes / dir_name
    d.mkdir(parents=True, exist_ok=True)
    (d / file_name).write_text(textwrap.dedent(text))
    return d


def base_env(**extra):
    """The caller's environment without variables that would change the runs."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MIP_PLATFORM_TAG", "SOURCE_DATE_EPOCH", "MIP_STORE", "MIP_BASE_URL")}
    env["BUILD_TYPE"] = "standard"
    env.update(extra)
    return env


def prepare(tmp_path, recipes, env, **kwargs):
    kwargs.setdefault("build_dir", tmp_path / "build")
    return m.prepare(recipes=recipes, environment=env, **kwargs)


def items_by_package(report):
    return {i.package: i for i in report.items}


def read_mip_json(build, wheel):
    return json.loads((build / "prepared" / f"{wheel}.dir" / "mip.json").read_text())


# A packages.py modelled on mip-core's chebfun recipe: a zip of a GitHub branch extracted into the
# cwd (build/prepared), moved into the package, legacy helper names.
CHEB_LIKE = '''
#!/usr/bin/env python3
import os
import shutil
from mip_build_helpers import collect_exposed_symbols_top_level, download_and_extract_zip, create_load_m_and_unload_m

class ChebLikePackage:
    def __init__(self):
        self.name = "cheblike"
        self.description = "Numerical computing with functions (test copy)."
        self.version = "unspecified"
        self.build_number = 3
        self.dependencies = []
        self.homepage = "https://example.org/cheblike"
        self.repository = "https://example.org/cheblike.git"
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = "any"
        self.license = "BSD-3-Clause"
        self.script_env = ["MIP_TEST_SERVER"]

        # The following are filled in during prepare
        self.exposed_symbols = []
    def prepare(self, mhl_dir: str):
        url = os.environ["MIP_TEST_SERVER"] + "/cheblike-master.zip"
        download_and_extract_zip(url)

        cheb_dir = os.path.join(mhl_dir, "cheblike")
        print(f'Moving cheblike-master to cheblike...')
        shutil.move("cheblike-master", cheb_dir)

        create_load_m_and_unload_m(mhl_dir, "cheblike")
        self.exposed_symbols = collect_exposed_symbols_top_level(cheb_dir, "cheblike")

if os.environ.get('BUILD_TYPE') == 'standard':
    packages = [ChebLikePackage()]
else:
    packages = []
'''

# A packages.py modelled on mip-core's fmm2d recipe: platform-specific, gated on BUILD_TYPE,
# a git clone into the cwd, MEX sources counted as symbols.
FMM_LIKE = '''
#!/usr/bin/env python3
import os
import shutil
from mip_build_helpers import get_current_platform_tag, clone_repository_and_remove_git, collect_exposed_symbols_with_extensions, create_load_m_and_unload_m

class FmmLikePackage:
    def __init__(self, *, platform_tag: str):
        self.name = "fmmlike"
        self.description = "Fast multipole methods in 2D (test copy)"
        self.version = "unspecified"
        self.build_number = 1
        self.dependencies = []
        self.homepage = "https://example.org/fmmlike"
        self.repository = "https://example.org/fmmlike.git"
        self.license = "Apache-2.0"
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = platform_tag
        self.script_env = ["MIP_TEST_GIT"]
        self.exposed_symbols = []

    def prepare(self, mhl_dir: str):
        clone_dir = "fmmlike_clone"
        clone_repository_and_remove_git(os.environ["MIP_TEST_GIT"], clone_dir)
        shutil.copyfile(os.path.join(clone_dir, "LICENSE"), os.path.join(mhl_dir, "LICENSE"))
        shutil.copytree(os.path.join(clone_dir, "matlab"), os.path.join(mhl_dir, "fmmlike"))
        shutil.rmtree(clone_dir)
        create_load_m_and_unload_m(mhl_dir, "fmmlike")
        self.exposed_symbols = collect_exposed_symbols_with_extensions(
            os.path.join(mhl_dir, "fmmlike"), ['.m', '.c'])

platform_tag = get_current_platform_tag()

if os.environ.get('BUILD_TYPE') == 'linux_workstation':
    packages = [FmmLikePackage(platform_tag=platform_tag)]
else:
    packages = []
'''

# A package.py (class Package, prepare()) fetching a zip and a git repository.
BOTH_SOURCES = '''
import os
import shutil
from mip_build_helpers import (clone_repository_and_remove_git, collect_exposed_symbols,
                               create_load_and_unload_scripts, download_and_extract_zip)

class Package:
    def __init__(self):
        self.name = "twosource"
        self.description = "A zip and a git source"
        self.version = "2.0.1"
        self.build_number = 0
        self.dependencies = ["cheblike"]
        self.homepage = ""
        self.repository = ""
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = "any"
        self.usage_examples = ["twosource_demo()"]
        self.script_env = ["MIP_TEST_SERVER", "MIP_TEST_GIT"]
        self.exposed_symbols = []

    def prepare(self, mhl_dir):
        download_and_extract_zip(os.environ["MIP_TEST_SERVER"] + "/extras.zip",
                                 os.path.join(mhl_dir, "extras"), strip_top_level=True)
        clone_repository_and_remove_git(os.environ["MIP_TEST_GIT"], os.path.join(mhl_dir, "core"),
                                        ref="v1.0")
        create_load_and_unload_scripts(mhl_dir, dirs_to_add_to_path=[
            os.path.join(mhl_dir, "core", "matlab"), os.path.join(mhl_dir, "extras")])
        self.exposed_symbols = sorted(
            collect_exposed_symbols(os.path.join(mhl_dir, "core", "matlab"))
            + collect_exposed_symbols(os.path.join(mhl_dir, "extras")))
'''


@pytest.fixture
def sources(http_server, git_factory):
    """Serves the zips and creates the git repository the recipes above fetch."""
    import servers

    root, base = http_server
    make_zip(root / "cheblike-master.zip", {
        "cheblike-master/chebfun.m": "function chebfun\nend\n",
        "cheblike-master/chebop.m": "function chebop\nend\n",
        "cheblike-master/@chebtech/chebtech.m": "classdef chebtech\nend\n",
        "cheblike-master/private/helper.m": "function helper\nend\n",
        "cheblike-master/README.md": "cheblike\n"})
    make_zip(root / "extras.zip", {"extras-0.1/extra_plot.m": "function extra_plot\nend\n"})
    repo = git_factory.create("fmmlike", {
        "LICENSE": "Apache-2.0\n", "makefile": "matlab:\n",
        "matlab/fmm2d.m": "function fmm2d\nend\n", "matlab/fmm2d_mex.c": "/* mex */\n"})
    servers.git(repo, "tag", "v1.0")
    v1 = servers.git(repo, "rev-parse", "HEAD")
    head = git_factory.commit(repo, {"matlab/newer.m": "function newer\nend\n"})
    return {"MIP_TEST_SERVER": base, "MIP_TEST_GIT": str(repo), "v1": v1, "head": head}


@pytest.fixture
def real_style_recipes(tmp_path):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "cheblike", "packages.py", CHEB_LIKE)
    write_recipe(recipes, "fmmlike", "packages.py", FMM_LIKE)
    write_recipe(recipes, "twosource", "package.py", BOTH_SOURCES)
    return recipes


def test_real_style_recipes_build_with_sources_recorded(tmp_path, sources, real_style_recipes):
    env = base_env(MIP_TEST_SERVER=sources["MIP_TEST_SERVER"], MIP_TEST_GIT=sources["MIP_TEST_GIT"])
    report = prepare(tmp_path, real_style_recipes, env)
    assert report.ok, report.items
    by = items_by_package(report)
    assert set(by) == {"cheblike", "twosource"}  # fmmlike is gated on linux_workstation
    build = tmp_path / "build"

    cheb = read_mip_json(build, "cheblike-unspecified-any-none-any")
    assert cheb["exposed_symbols"] == ["chebfun", "chebop", "chebtech"]
    assert cheb["build_number"] == 3 and cheb["license"] == "BSD-3-Clause"
    zip_digest = cheb["source"]["sha256"]
    assert cheb["source"] == {"type": "zip",
                              "url": sources["MIP_TEST_SERVER"] + "/cheblike-master.zip",
                              "sha256": zip_digest}
    cheb_dir = build / "prepared" / "cheblike-unspecified-any-none-any.dir"
    assert (cheb_dir / "load_package.m").read_text() == (
        "addpath(fullfile(fileparts(mfilename('fullpath')), 'cheblike'));\n")
    assert (cheb_dir / "cheblike" / "@chebtech" / "chebtech.m").is_file()
    # The recipe moved what it extracted into the cwd (build/prepared): nothing left behind there.
    assert not (build / "prepared" / "cheblike-master").exists()

    two = read_mip_json(build, "twosource-2.0.1-any-none-any")
    assert two["exposed_symbols"] == ["extra_plot", "fmm2d"]
    assert two["dependencies"] == ["cheblike"]
    assert two["usage_examples"] == ["twosource_demo()"]
    assert two["source"]["type"] == "multiple"
    assert [i["type"] for i in two["source"]["items"]] == ["zip", "git"]
    assert two["source"]["items"][1] == {"type": "git", "url": sources["MIP_TEST_GIT"],
                                         "ref": "v1.0", "commit": sources["v1"]}
    # The git source's commit time becomes the epoch (SOURCE_DATE_EPOCH unset).
    assert two["build_info"]["source_date_epoch"] == 1700001000
    two_dir = build / "prepared" / "twosource-2.0.1-any-none-any.dir"
    assert not (two_dir / "core" / "matlab" / "newer.m").exists()  # v1.0, not HEAD
    assert not any(p.name == ".git" for p in two_dir.rglob("*"))
    # No bytecode written into the recipe directories.
    assert not list(real_style_recipes.rglob("__pycache__"))


def test_build_type_gates_packages_py(tmp_path, sources, real_style_recipes):
    env = base_env(BUILD_TYPE="linux_workstation", MIP_TEST_SERVER=sources["MIP_TEST_SERVER"],
                   MIP_TEST_GIT=sources["MIP_TEST_GIT"])
    report = prepare(tmp_path, real_style_recipes, env, build_type="linux_workstation")
    assert report.ok, report.items
    by = items_by_package(report)
    assert "cheblike" not in by or by["cheblike"].status != m.ItemStatus.done
    fmm = by["fmmlike"]
    assert fmm.status == m.ItemStatus.done and fmm.wheel == f"fmmlike-unspecified-any-none-{HOST_TAG}"
    data = read_mip_json(tmp_path / "build", fmm.wheel)
    assert data["exposed_symbols"] == ["fmm2d", "fmm2d_mex", "newer"]
    assert data["source"] == {"type": "git", "url": sources["MIP_TEST_GIT"], "ref": None,
                              "commit": sources["head"]}
    assert not (tmp_path / "build" / "prepared" / "fmmlike_clone").exists()


def comparable_tree(dir_path):
    files = tree(dir_path)
    spec = json.loads(files.pop("mip.json"))
    for volatile in ("timestamp", "prepare_duration"):
        spec.pop(volatile)
    return files, spec


def test_cli_and_python_prepare_identically(tmp_path, sources, real_style_recipes, run_cli):
    env = base_env(MIP_TEST_SERVER=sources["MIP_TEST_SERVER"], MIP_TEST_GIT=sources["MIP_TEST_GIT"])
    py_report = prepare(tmp_path, real_style_recipes, env, build_dir=tmp_path / "py")
    assert py_report.ok, py_report.items
    r = run_cli("prepare", "--recipes", real_style_recipes, "--build-dir", tmp_path / "cli",
                cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    py_dirs = sorted(p.name for p in (tmp_path / "py" / "prepared").glob("*.dir"))
    cli_dirs = sorted(p.name for p in (tmp_path / "cli" / "prepared").glob("*.dir"))
    assert py_dirs == cli_dirs == ["cheblike-unspecified-any-none-any.dir",
                                   "twosource-2.0.1-any-none-any.dir"]
    for name in py_dirs:
        assert comparable_tree(tmp_path / "py" / "prepared" / name) == \
            comparable_tree(tmp_path / "cli" / "prepared" / name), name


# --- failures ----------------------------------------------------------------------------------

def simple_recipe(name, body, extra_init=""):
    return f'''
import os, sys, time
from mip_build_helpers import create_load_and_unload_scripts

class Package:
    def __init__(self):
        self.name = "{name}"
        self.description = "test"
        self.version = "1.0"
        self.build_number = 0
        self.dependencies = []
        self.homepage = ""
        self.repository = ""
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = "any"
        self.exposed_symbols = []
{textwrap.indent(textwrap.dedent(extra_init), "        ")}
    def prepare(self, mhl_dir):
{textwrap.indent(textwrap.dedent(body), "        ")}
        os.makedirs(os.path.join(mhl_dir, "{name}"), exist_ok=True)
        create_load_and_unload_scripts(mhl_dir, dirs_to_add_to_path=[os.path.join(mhl_dir, "{name}")])
'''


FAILING = {
    "araises": ("def deep():\n    raise ValueError('boom from the recipe')\ndeep()\n",
                ["ValueError", "boom from the recipe", "Traceback", "deep()", "araises"]),
    "csysexit": ("sys.exit(3)\n", ["sys.exit(3)", "csysexit"]),
    "dosexit": ("os._exit(0)\n", ["without a result", "dosexit"]),
    "esegfault": ("import ctypes\nctypes.string_at(0)\n", ["signal", "esegfault"]),
}


@pytest.mark.slow
def test_failing_recipes_are_reported_and_spare_the_others(tmp_path):
    recipes = tmp_path / "recipes"
    for name, (body, _) in FAILING.items():
        write_recipe(recipes, name, "package.py", simple_recipe(name, body))
    write_recipe(recipes, "zgood", "package.py", simple_recipe("zgood", "pass\n"))
    report = prepare(tmp_path, recipes, base_env(), keep_going=True)
    by = items_by_package(report)
    assert by["zgood"].status == m.ItemStatus.done
    assert (tmp_path / "build" / "prepared" / "zgood-1.0-any-none-any.dir" / "mip.json").is_file()
    for name, (_, expected) in FAILING.items():
        item = by[name]
        assert item.status == m.ItemStatus.failed, (name, item)
        assert item.error_code == m.ErrorCode.build_failed, (name, item)
        for text in expected:
            assert text in item.detail, (name, text, item.detail)
        assert not (tmp_path / "build" / "prepared" / f"{name}-1.0-any-none-any.dir").exists()
        log = tmp_path / "build" / "prepared" / f"{name}-1.0-any-none-any.work" / "logs" / "recipe.log"
        assert log.is_file(), name


@pytest.mark.slow
def test_a_hanging_recipe_is_killed_at_the_timeout(tmp_path):
    """The recipe timeout counts from the worker's start (interpreter, imports), so on a loaded
    machine it may fire before the recipe ran at all: only the outcome is asserted, never what
    the recipe printed first. (A good recipe in the same run would race the same clock, so the
    one above runs without this short timeout.)"""
    recipes = tmp_path / "recipes"
    body = "import threading\nprint('about to hang', flush=True)\nthreading.Event().wait()\n"
    write_recipe(recipes, "bhangs", "package.py", simple_recipe("bhangs", body))
    report = prepare(tmp_path, recipes, base_env(), keep_going=True, recipe_timeout=5)
    item = items_by_package(report)["bhangs"]
    assert item.status == m.ItemStatus.failed, item
    assert item.error_code == m.ErrorCode.build_failed, item
    assert "timed out" in item.detail and "bhangs" in item.detail, item.detail
    prepared = tmp_path / "build" / "prepared"
    assert not (prepared / "bhangs-1.0-any-none-any.dir").exists()
    assert (prepared / "bhangs-1.0-any-none-any.work" / "logs" / "recipe.log").is_file()


def test_failure_stops_the_run_without_keep_going(tmp_path):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "afails", "package.py", simple_recipe("afails", "raise RuntimeError('x')\n"))
    write_recipe(recipes, "bnext", "package.py", simple_recipe("bnext", "pass\n"))
    report = prepare(tmp_path, recipes, base_env(), jobs=1)
    by = items_by_package(report)
    assert by["afails"].status == m.ItemStatus.failed
    assert "bnext" not in by or by["bnext"].status != m.ItemStatus.done
    assert not report.ok


def test_wrong_attribute_types_name_package_file_and_attribute(tmp_path):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "typed", "package.py", simple_recipe(
        "typed", "pass\n", extra_init="self.build_number = '3'\nself.dependencies = 'chebfun'\n"))
    report = prepare(tmp_path, recipes, base_env(), keep_going=True)
    (item,) = report.items
    assert item.status == m.ItemStatus.failed
    assert item.error_code == m.ErrorCode.invalid_spec
    for text in ["typed", "package.py", "build_number", "dependencies", "str"]:
        assert text in item.detail, (text, item.detail)


def test_missing_attribute_and_bad_tag(tmp_path):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "notag", "package.py", simple_recipe(
        "notag", "pass\n", extra_init="del self.homepage\nself.platform_tag = 'linux_i686'\n"))
    (item,) = prepare(tmp_path, recipes, base_env(), keep_going=True).items
    assert item.error_code == m.ErrorCode.invalid_spec
    assert "homepage" in item.detail and "platform_tag" in item.detail


def test_wheel_style_platform_tags_are_mapped(tmp_path):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "mac", "package.py", simple_recipe(
        "mac", "pass\n", extra_init="self.platform_tag = 'macosx_11_0_arm64'\n"))
    report = prepare(tmp_path, recipes, base_env())
    assert [i.wheel for i in report.items] == ["mac-1.0-any-none-macos_arm64"]


def test_packages_py_must_define_a_list(tmp_path):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "nolist", "packages.py", "packages = 'not a list'\n")
    write_recipe(recipes, "empty", "packages.py", "packages = []\n")
    report = prepare(tmp_path, recipes, base_env(), keep_going=True)
    by = items_by_package(report)
    assert by["nolist"].error_code == m.ErrorCode.invalid_spec
    assert "packages" in by["nolist"].detail
    assert "empty" not in by or by["empty"].status != m.ItemStatus.failed


def test_package_py_constructor_with_arguments_says_what_is_expected(tmp_path):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "needsargs", "package.py", simple_recipe("needsargs", "pass\n").replace(
        "def __init__(self):", "def __init__(self, *, platform_tag):"))
    (item,) = prepare(tmp_path, recipes, base_env(), keep_going=True).items
    assert item.error_code == m.ErrorCode.invalid_spec
    for text in ("needsargs/package.py", "Package", "without arguments", "platform_tag",
                 "packages.py"):
        assert text in item.detail, (text, item.detail)


def test_syntax_error_is_reported_with_the_recipe(tmp_path):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "broken", "package.py", "class Package(:\n    pass\n")
    (item,) = prepare(tmp_path, recipes, base_env(), keep_going=True).items
    assert item.status == m.ItemStatus.failed
    assert "broken" in item.detail and "SyntaxError" in item.detail


def test_recipe_must_leave_load_package_m(tmp_path):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "noload", "package.py", simple_recipe("noload", "pass\n").replace(
        "create_load_and_unload_scripts(mhl_dir", "(lambda *a, **k: None)(mhl_dir"))
    (item,) = prepare(tmp_path, recipes, base_env(), keep_going=True).items
    assert item.status == m.ItemStatus.failed
    assert "load_package.m" in item.detail


def test_changing_the_version_in_prepare_is_refused(tmp_path):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "moving", "package.py",
                 simple_recipe("moving", "self.version = '9.9'\nself.description = 'new'\n"))
    (item,) = prepare(tmp_path, recipes, base_env(), keep_going=True).items
    assert item.error_code == m.ErrorCode.invalid_spec
    assert "version" in item.detail and "9.9" in item.detail


def test_seed_style_build_method_and_environment(tmp_path):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "seed", "_shared.py", "GREETING = 'hello from a sibling module'\n")
    write_recipe(recipes, "seed", "package.py", '''
        import json, os
        from _shared import GREETING
        from mip_build_helpers import create_load_and_unload_scripts

        class Package:
            def __init__(self):
                self.name = "seed"
                self.description = "seed README style"
                self.version = "1.0.0"
                self.build_number = 10
                self.dependencies = []
                self.homepage = "https://example.com"
                self.repository = "https://github.com/user/repo"
                self.matlab_tag = "R2023b"
                self.abi_tag = "mip1"
                self.platform_tag = "any"
                self.script_env = ["DECLARED_VAR"]
                self.exposed_symbols = []

            def build(self, mhl_dir: str):
                import tempfile
                with open("left_in_cwd.txt", "w") as f:
                    f.write("scratch")
                with open(os.path.join(mhl_dir, "env.json"), "w") as f:
                    json.dump({"cwd": os.getcwd(), "cwd_entries": sorted(os.listdir(".")),
                               "tmp": tempfile.gettempdir(), "mhl_dir": mhl_dir,
                               "greeting": GREETING,
                               "build_type": os.environ.get("BUILD_TYPE"),
                               "recipe_dir": os.environ.get("MIP_RECIPE_DIR"),
                               "declared": os.environ.get("DECLARED_VAR"),
                               "passed": os.environ.get("PASSED_VAR"),
                               "git_global": os.environ.get("GIT_CONFIG_GLOBAL"),
                               "undeclared": os.environ.get("UNDECLARED_VAR")}, f)
                create_load_and_unload_scripts(mhl_dir, dirs_to_add_to_path=[mhl_dir])
                self.exposed_symbols = ["seed_b", "seed_a", "seed_a"]
    ''')
    env = base_env(DECLARED_VAR="a b=c\nd", UNDECLARED_VAR="secret-ish", PASSED_VAR="via --pass-env")
    report = prepare(tmp_path, recipes, env, pass_env=["PASSED_VAR"])
    (item,) = report.items
    assert item.status == m.ItemStatus.done, item
    assert item.wheel == "seed-1.0.0-R2023b-mip1-any"
    d = tmp_path / "build" / "prepared" / "seed-1.0.0-R2023b-mip1-any.dir"
    seen = json.loads((d / "env.json").read_text())
    # A private, empty working directory and TMPDIR, removed once the recipe succeeded.
    work = tmp_path / "build" / "prepared" / "seed-1.0.0-R2023b-mip1-any.work"
    assert seen["cwd"] == str((work / "cwd").resolve())
    assert seen["cwd_entries"] == ["left_in_cwd.txt"]
    assert seen["tmp"] == str((work / "tmp").resolve())
    assert not (work / "cwd").exists() and not (work / "tmp").exists()
    assert not (tmp_path / "build" / "prepared" / "left_in_cwd.txt").exists()
    assert seen["passed"] == "via --pass-env"
    assert seen["git_global"] == "/dev/null"
    assert pathlib.Path(seen["mhl_dir"]).is_absolute()
    assert seen["greeting"] == "hello from a sibling module"
    assert seen["build_type"] == "standard"
    # MIP_RECIPE_DIR holds the recipe (libmip may hand the worker its copy in <W>.work/recipe).
    assert (pathlib.Path(seen["recipe_dir"]) / "package.py").read_text() == \
        (recipes / "seed" / "package.py").read_text()
    assert (pathlib.Path(seen["recipe_dir"]) / "_shared.py").is_file()
    assert seen["declared"] == "a b=c\nd"
    assert seen["undeclared"] is None
    assert json.loads((d / "mip.json").read_text())["exposed_symbols"] == ["seed_a", "seed_b"]
    assert (d / "load_package.m").read_text() == "addpath(fileparts(mfilename('fullpath')));\n"
    assert not list((recipes / "seed").rglob("__pycache__"))


# Two recipes that use the same relative names in their cwd, as real ones do (`*_clone`,
# `temp_download.zip`), and meet while both are running: through a FIFO, whose open() blocks until
# the other side opens it (no sleeps). In a shared cwd the second one finds the first one's files.
SAME_NAMES = '''
import os
from mip_build_helpers import create_load_and_unload_scripts

class Package:
    def __init__(self):
        self.name = "{name}"
        self.description = "writes fixed names into its cwd"
        self.version = "1.0"
        self.build_number = 0
        self.dependencies = []
        self.homepage = ""
        self.repository = ""
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = "any"
        self.script_env = ["MIP_TEST_FIFO"]
        self.exposed_symbols = []

    def prepare(self, mhl_dir):
        assert os.listdir(".") == [], os.listdir(".")
        os.makedirs("shared_clone")
        with open(os.path.join("shared_clone", "owner.m"), "w") as f:
            f.write("function r = owner\\nr = '{name}';\\nend\\n")
        with open("temp_download.zip", "w") as f:
            f.write("{name}")
        with open(os.environ["MIP_TEST_FIFO"], "{mode}") as fifo:  # both recipes are running
            pass
        assert sorted(os.listdir(".")) == ["shared_clone", "temp_download.zip"]
        assert open("temp_download.zip").read() == "{name}"
        os.rename("shared_clone", os.path.join(mhl_dir, "{name}"))
        create_load_and_unload_scripts(mhl_dir, dirs_to_add_to_path=["{name}"])
        self.exposed_symbols = ["owner"]
'''


def test_parallel_recipes_get_private_working_directories(tmp_path):
    recipes = tmp_path / "recipes"
    fifo = tmp_path / "meet.fifo"
    os.mkfifo(fifo)
    write_recipe(recipes, "left", "package.py", SAME_NAMES.format(name="left", mode="w"))
    write_recipe(recipes, "right", "package.py", SAME_NAMES.format(name="right", mode="r"))
    report = prepare(tmp_path, recipes, base_env(MIP_TEST_FIFO=str(fifo)), jobs=2,
                     keep_going=True, recipe_timeout=120)
    by = items_by_package(report)
    for name in ("left", "right"):
        assert by[name].status == m.ItemStatus.done, by[name].detail
        d = tmp_path / "build" / "prepared" / f"{name}-1.0-any-none-any.dir"
        assert (d / name / "owner.m").read_text() == f"function r = owner\nr = '{name}';\nend\n"
    # Nothing else in build/prepared (libmip's hidden bookkeeping aside).
    assert sorted(p.name for p in (tmp_path / "build" / "prepared").iterdir()
                  if not p.name.startswith(".")) == [
        "left-1.0-any-none-any.dir", "left-1.0-any-none-any.work",
        "right-1.0-any-none-any.dir", "right-1.0-any-none-any.work"]


def test_a_write_outside_is_blamed_only_on_a_recipe_that_ran_alone(tmp_path, caplog):
    """With -j, a file that appears outside the package directories while two recipes run cannot
    be attributed: it is left in place and both recipes are named in a warning; run alone, the
    recipe that wrote it fails and the file is removed."""
    recipes = tmp_path / "recipes"
    fifo = tmp_path / "meet.fifo"
    os.mkfifo(fifo)
    escaping = SAME_NAMES.replace(
        "        assert os.listdir(\".\") == [], os.listdir(\".\")\n",
        "        open(os.path.join(mhl_dir, '..', '..', '..', 'escaped.txt'), 'w').close()\n")
    write_recipe(recipes, "left", "package.py", escaping.format(name="left", mode="w"))
    write_recipe(recipes, "right", "package.py", SAME_NAMES.format(name="right", mode="r"))
    caplog.set_level("WARNING", logger="mip_native")
    report = prepare(tmp_path, recipes, base_env(MIP_TEST_FIFO=str(fifo)), jobs=2,
                     keep_going=True, recipe_timeout=120)
    by = items_by_package(report)
    assert by["left"].status == m.ItemStatus.done, by["left"].detail
    assert by["right"].status == m.ItemStatus.done, by["right"].detail
    escaped = tmp_path / "build" / "escaped.txt"
    assert escaped.is_file()
    warnings = [r.getMessage() for r in caplog.records if "escaped.txt" in r.getMessage()]
    # (right may warn too, naming left, when it saw the file appear while it ran.)
    assert any(w.startswith("left: ") and "alongside right-1.0-any-none-any" in w
               for w in warnings), warnings
    # Alone, the same recipe is blamed: its build fails and the file is removed.
    escaped.unlink()
    lone = tmp_path / "lone"
    write_recipe(lone, "left", "package.py",
                 escaping.replace("        with open(os.environ[\"MIP_TEST_FIFO\"], \"{mode}\") as fifo:"
                                  "  # both recipes are running\n            pass\n", "")
                 .format(name="left"))
    (item,) = prepare(tmp_path, lone, base_env(), build_dir=tmp_path / "build", force=True,
                      keep_going=True).items
    assert item.status == m.ItemStatus.failed
    assert "wrote outside its package directory" in item.detail and "escaped.txt" in item.detail
    assert not escaped.exists()


def test_pass_env_refuses_credentials(tmp_path):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "any", "package.py", simple_recipe("any", "pass\n"))
    with pytest.raises(m.SpecError, match="AWS_SECRET_ACCESS_KEY.*credential"):
        prepare(tmp_path, recipes, base_env(AWS_SECRET_ACCESS_KEY="x"),
                pass_env=["AWS_SECRET_ACCESS_KEY"])


def test_the_example_recipes_prepare_offline(tmp_path, source_dir):
    examples = source_dir / "examples" / "packages"
    names = sorted(p.parent.name for p in examples.glob("*/package*.py"))
    assert names, "examples/packages has no Python recipe"
    report = prepare(tmp_path, examples, base_env(), package=names, keep_going=True)
    assert report.ok, report.items
    done = [i for i in report.items if i.status == m.ItemStatus.done]
    assert {i.package for i in done} >= {"statkit", "signalkit"}
    for item in done:
        d = pathlib.Path(item.path)
        assert (d / "load_package.m").is_file() and (d / "mip.json").is_file()
        assert json.loads((d / "mip.json").read_text())["exposed_symbols"]


def test_worker_runs_with_the_callers_interpreter():
    o = m.PipelineOptions()
    assert o.prepare.python == sys.executable
    paths = o.prepare.python_path.split(os.pathsep)
    assert str(pathlib.Path(m.__file__).resolve().parent) in [str(pathlib.Path(p).resolve()) for p in paths]
