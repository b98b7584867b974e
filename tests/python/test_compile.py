"""Compile stage end to end through the CLI, with real GNU Octave: prepare -> compile -> bundle ->
unzip -> load in a fresh Octave. Also failures, timeouts, mip.json preservation, -j 2."""
import json
import os
import pathlib
import platform
import shutil
import subprocess
import textwrap
import zipfile

import pytest

import tools

HOST_TAG = {"x86_64": "linux_x86_64", "amd64": "linux_x86_64",
            "aarch64": "linux_aarch64", "arm64": "linux_aarch64"}.get(platform.machine().lower())

# Keep the caller's BUILD_TYPE / MIP_PLATFORM_TAG / SOURCE_DATE_EPOCH out of these runs.
BASE_ENV = {"BUILD_TYPE": "standard", "MIP_PLATFORM_TAG": ""}


@pytest.fixture(scope="module")
def octave_cli():
    return tools.require_tool("octave-cli")


@pytest.fixture
def project(tmp_path, run_cli):
    """A recipes dir + build dir, and `mip(verb, *args, env=None)` running the CLI on them."""
    recipes = tmp_path / "recipes"
    build = tmp_path / "build"
    recipes.mkdir()

    class Project:
        def __init__(self):
            self.recipes = recipes
            self.build = build
            self.prepared = build / "prepared"
            self.bundled = build / "bundled"

        def mip(self, verb, *args, env=None, timeout=600):
            full_env = dict(BASE_ENV)
            full_env.update(env or {})
            where = ["--build-dir", build] + (["--recipes", recipes] if verb == "prepare" else [])
            return run_cli(verb, *where, *args, cwd=tmp_path, env=full_env, timeout=timeout)

        def ok(self, verb, *args, **kwargs):
            r = self.mip(verb, *args, **kwargs)
            assert r.returncode == 0, f"{verb} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
            return r

        def add_recipe(self, name, yaml_text, files):
            d = recipes / name
            d.mkdir(parents=True)
            (d / "prepare.yaml").write_text(textwrap.dedent(yaml_text))
            for rel, text in files.items():
                (d / rel).parent.mkdir(parents=True, exist_ok=True)
                (d / rel).write_text(text)
            return d

        def add_simple(self, name, compile_m, extra_yaml=""):
            """A package with one .m file and a compile.m, compiled on this host."""
            return self.add_recipe(name, f"""\
                name: {name}
                version: "1.0"
                prepare:
                  path: {{path: src, destination: {name}}}
                addpaths: [{name}]
                {extra_yaml}
                builds:
                  - build_type: standard
                    compile_script: compile.m
                """, {f"src/{name}_hello.m": f"function {name}_hello\ndisp('hi')\nend\n",
                      "compile.m": compile_m})

        def dir_of(self, name, version="1.0", tag=HOST_TAG):
            return self.prepared / f"{name}-{version}-any-none-{tag}.dir"

    return Project()


def work_of(dot_dir):
    return dot_dir.with_name(dot_dir.name[:-len(".dir")] + ".work")


def pairs(text):
    """mip.json as nested lists of (key, value) pairs: compares values *and* key order."""
    return json.loads(text, object_pairs_hook=lambda items: [list(i) for i in items])


def run_octave(octave_cli, cwd, code, home):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    return subprocess.run([octave_cli, "--norc", "--no-history", "--eval", code], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_fastdot_compiles_bundles_and_runs_from_the_mhl(project, source_dir, octave_cli, tmp_path):
    assert HOST_TAG, f"unsupported test host {platform.machine()}"
    shutil.copytree(source_dir / "examples" / "packages" / "fastdot", project.recipes / "fastdot")
    project.ok("prepare")

    d = project.dir_of("fastdot", "1.0.0")
    assert d.is_dir(), sorted(p.name for p in project.prepared.iterdir())
    meta = json.loads((d / "mip.json").read_text())
    assert meta["platform_tag"] == HOST_TAG  # a compile script makes the build host-specific
    assert meta["compile_script"] == "compile.m"
    assert (d / "compile.m").is_file()
    assert (d / "fastdot" / "fastdot.c").is_file()
    assert not (d / "fastdot" / "fastdot.mexa64").exists()  # prebuilt binary stripped

    project.ok("compile", "--engine", "octave")
    assert (d / "fastdot" / "fastdot.mex").is_file()
    meta = json.loads((d / "mip.json").read_text())
    assert meta["build_info"]["compile_engine"].startswith("octave ")
    assert meta["compile_duration"] > 0
    assert not (work_of(d) / "compile.failed").exists()
    assert "octave-cli --norc --no-history --eval" in (work_of(d) / "compile.log").read_text()

    project.ok("bundle")
    mhl = project.bundled / f"{d.name[:-4]}.mhl"
    with zipfile.ZipFile(mhl) as z:
        names = z.namelist()
        assert "fastdot/fastdot.mex" in names
        assert "fastdot/fastdot.mexa64" not in names
        assert "load_package.m" in names
        install = tmp_path / "install" / "fastdot"
        z.extractall(install)

    r = run_octave(octave_cli, install,
                   "load_package; r = fastdot([1 2 3], [4 5 6]); printf('result=%d\\n', r);",
                   tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "result=32" in r.stdout


def test_a_pure_matlab_package_keeps_any_and_needs_no_engine(project, tmp_path):
    project.add_recipe("puremat", """\
        name: puremat
        version: "2.0"
        prepare:
          path: {path: src, destination: puremat}
        addpaths: [puremat]
        """, {"src/puremat_hello.m": "function puremat_hello\ndisp('hi')\nend\n"})
    project.ok("prepare")
    d = project.dir_of("puremat", "2.0", "any")
    assert d.is_dir(), sorted(p.name for p in project.prepared.iterdir())
    assert json.loads((d / "mip.json").read_text())["platform_tag"] == "any"
    before = (d / "mip.json").read_bytes()

    empty = tmp_path / "no-engines"
    empty.mkdir()
    project.ok("compile", env={"PATH": str(empty)})  # nothing to compile: no engine needed
    assert (d / "mip.json").read_bytes() == before
    assert not (work_of(d) / "compile.log").exists()


def test_a_missing_engine_is_a_clear_error(project, tmp_path):
    project.add_simple("needsengine", "x = 1;\n")
    project.ok("prepare")
    empty = tmp_path / "no-engines"
    empty.mkdir()
    r = project.mip("compile", env={"PATH": str(empty)})
    assert r.returncode == 3, r.stdout + r.stderr
    assert "matlab" in r.stderr and "octave-cli" in r.stderr and str(empty) in r.stderr


def test_a_failing_compile_script_fails_and_bundle_refuses_it(project):
    project.add_simple("failing", "disp('about to fail');\n"
                                  "error('failing:oops', 'the compiler exploded');\n")
    project.ok("prepare")
    d = project.dir_of("failing")

    r = project.mip("compile", "--engine", "octave")
    out = r.stdout + r.stderr
    assert r.returncode == 1, out  # a build failure
    assert "failing" in out
    assert "the compiler exploded" in out  # the engine's own output is shown
    assert d.is_dir()  # kept for inspection
    failed = work_of(d) / "compile.failed"
    assert failed.is_file()
    assert "the compiler exploded" in failed.read_text()
    assert "about to fail" in (work_of(d) / "compile.log").read_text()

    b = project.mip("bundle")
    assert b.returncode != 0, b.stdout + b.stderr
    assert "compile.failed" in (b.stdout + b.stderr)
    assert not list(project.bundled.glob("failing-*.mhl*"))


def test_a_hanging_compile_script_is_killed_at_the_timeout(project):
    project.add_simple("hanging", "disp('spinning');\nwhile true\nend\n")
    project.ok("prepare")
    d = project.dir_of("hanging")
    r = project.mip("compile", "--engine", "octave", "--compile-timeout", "5", timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "timed out" in out
    assert "hanging" in out
    assert "timed out" in (work_of(d) / "compile.failed").read_text()


def test_mip_json_strings_survive_a_compile(project):
    project.add_simple("tricky", "x = {1, [2, 3]};\n", extra_yaml=textwrap.dedent("""\
        description: 'Tricky ,{}[]" text: a, b {c} [d]'
        license: MIT
        dependencies: [only_one]
        usage_examples:
          - |
            a = {1, [2, 3]};
            b = "x,{}[]\\"";
          - single
        """).replace("\n", "\n                "))
    project.ok("prepare")
    d = project.dir_of("tricky")
    before_text = (d / "mip.json").read_text()
    before = json.loads(before_text)
    assert before["description"] == 'Tricky ,{}[]" text: a, b {c} [d]'
    assert before["dependencies"] == ["only_one"]
    assert "\n" in before["usage_examples"][0]

    project.ok("compile", "--engine", "octave")
    after_text = (d / "mip.json").read_text()
    after = json.loads(after_text)
    assert after["build_info"]["compile_engine"].startswith("octave ")
    assert isinstance(after["compile_duration"], (int, float))
    assert round(after["compile_duration"], 2) == after["compile_duration"]

    # Everything else is identical, in the same order, and in the same bytes.
    expected = pairs(before_text)
    got = pairs(after_text)
    for pair in got:
        if pair[0] == "compile_duration":
            pair[1] = before["compile_duration"]
        if pair[0] == "build_info":
            for inner in pair[1]:
                if inner[0] == "compile_engine":
                    inner[1] = before["build_info"].get("compile_engine")
    assert got == expected
    changed = [(a, b) for a, b in zip(before_text.splitlines(), after_text.splitlines()) if a != b]
    assert len(before_text.splitlines()) == len(after_text.splitlines())
    assert all("compile_duration" in b or "compile_engine" in b for _, b in changed), changed


def test_two_packages_compile_in_parallel(project, tmp_path):
    # Each script announces itself and waits for the other: both finish only if they run at once.
    meet = tmp_path / "meet"
    meet.mkdir()
    for me, other in (("lefty", "righty"), ("righty", "lefty")):
        project.add_simple(me, textwrap.dedent(f"""\
            d = getenv('MEET_DIR');
            fclose(fopen(fullfile(d, '{me}'), 'w'));
            while ~exist(fullfile(d, '{other}'), 'file')
              pause(0.05);
            end
            """), extra_yaml="script_env: [MEET_DIR]")
    project.ok("prepare", env={"MEET_DIR": str(meet)})
    for name in ("lefty", "righty"):
        assert json.loads((work_of(project.dir_of(name)) / "script_env.json").read_text()) == \
            {"MEET_DIR": str(meet)}

    project.ok("compile", "--engine", "octave", "-j", "2", "--compile-timeout", "120")
    for name in ("lefty", "righty"):
        meta = json.loads((project.dir_of(name) / "mip.json").read_text())
        assert meta["build_info"]["compile_engine"].startswith("octave ")


def test_dry_run_runs_nothing(project):
    project.add_simple("planned", "fclose(fopen('ran.txt', 'w'));\n")
    project.ok("prepare")
    d = project.dir_of("planned")
    before = (d / "mip.json").read_bytes()
    r = project.ok("compile", "--engine", "octave", "--dry-run")
    assert "planned" in r.stdout + r.stderr
    assert not (d / "ran.txt").exists()
    assert (d / "mip.json").read_bytes() == before
    assert not (work_of(d) / "compile.log").exists()
