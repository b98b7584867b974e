"""The test stage (docs/testing.md, "The test stage"), with real GNU Octave: every bundle is
installed into a temporary root as a client does, loaded, tested, its MEX coverage and binaries
checked, before publish uploads it. One publish run over several tiny packages (one fixture);
single-package cases (timeout, a compiler call) run `mip-build test` on the same build dir."""
import json
import os
import pathlib
import subprocess
import textwrap

import pytest

import tools

BASE_ENV = {"BUILD_TYPE": "standard", "MIP_PLATFORM_TAG": ""}

MEX_ONE = """
#include "mex.h"
void mexFunction(int nlhs, mxArray *plhs[], int nrhs, const mxArray *prhs[]) {
    plhs[0] = mxCreateDoubleScalar(%s * mxGetScalar(prhs[0]));
}
"""

# Each recipe: prepare.yaml text and the files beside it ("src/..." are the package's sources).
RECIPES = {
    # A dependency of tpass, resolved from the same run's bundles.
    "tdep": ("""
        name: tdep
        version: "1.0.0"
        prepare:
          path: {path: src}
        """, {"src/tdep_add.m": "function c = tdep_add(a, b)\n  c = a + b;\nend\n"}),
    # A test_script (shipped in the archive) that uses the package and its dependency.
    "tpass": ("""
        name: tpass
        version: "1.0.0"
        dependencies: [tdep]
        prepare:
          path: {path: src}
        builds:
          - build_type: standard
            test_script: test_tpass.m
        """, {"src/tpass_twice.m": "function y = tpass_twice(x)\n  y = tdep_add(x, x);\nend\n",
              "test_tpass.m": "assert(tpass_twice(21) == 42);\ndisp('tpass ok');\n"}),
    # No test_script: its usage_examples are the smoke test (the `mip load` line is the
    # harness's).
    "tsmoke": ("""
        name: tsmoke
        version: "1.0.0"
        usage_examples:
          - |
            mip load tsmoke
            y = tsmoke_sq(3)
          - "assert(tsmoke_sq(4) == 16)"
        prepare:
          path: {path: src}
        """, {"src/tsmoke_sq.m": "function y = tsmoke_sq(x)\n  y = x .^ 2;\nend\n"}),
    # A usage example that errors: not uploaded, the others are (--keep-going).
    "tfail": ("""
        name: tfail
        version: "1.0.0"
        usage_examples:
          - "tfail_boom(1)"
        prepare:
          path: {path: src}
        """, {"src/tfail_boom.m":
              "function tfail_boom(x)\n  error('tfail:boom', 'boom number %d', x);\nend\n"}),
    # A MEX package whose example calls its MEX file.
    "tmex": ("""
        name: tmex
        version: "1.0.0"
        prepare:
          path: {path: src}
        builds:
          - build_type: standard
            compile_script: compile.m
            test_script: test_tmex.m
        """, {"src/tmex_twice.c": MEX_ONE % "2.0",
              "compile.m": "mex tmex_twice.c\n",
              "test_tmex.m": "assert(tmex_twice(4) == 8);\n"}),
    # Ships two MEX files; the example calls only one.
    "tmex2": ("""
        name: tmex2
        version: "1.0.0"
        usage_examples:
          - "assert(tmex2_used(1) == 3)"
        prepare:
          path: {path: src}
        builds:
          - build_type: standard
            compile_script: compile.m
        """, {"src/tmex2_used.c": MEX_ONE % "3.0", "src/tmex2_unused.c": MEX_ONE % "5.0",
              "compile.m": "mex tmex2_used.c\nmex tmex2_unused.c\n"}),
    # Binaries made by the fixture (prebuilt, kept): a newer glibc symbol; a missing library.
    "tglibc": ("""
        name: tglibc
        version: "1.0.0"
        keep_prebuilt: [lib/libnewglibc.so]
        prepare:
          path: {path: src}
        """, {"src/tglibc_hello.m": "function tglibc_hello()\nend\n"}),
    "tneeded": ("""
        name: tneeded
        version: "1.0.0"
        keep_prebuilt: [lib/libneedsmissing.so]
        prepare:
          path: {path: src}
        """, {"src/tneeded_hello.m": "function tneeded_hello()\nend\n"}),
    # The sandbox: no compiler, no write outside the temporary root, no process left behind.
    "tcc": ("""
        name: tcc
        version: "1.0.0"
        prepare:
          path: {path: src}
        builds:
          - build_type: standard
            test_script: test_tcc.m
        """, {"src/tcc_x.m": "function tcc_x()\nend\n",
              "test_tcc.m": "[s, out] = system('gcc --version');\nprintf('gcc: %d\\n', s);\n"
                            "mkoctfile('--version');\n"}),
    "twrite": ("""
        name: twrite
        version: "1.0.0"
        prepare:
          path: {path: src}
        builds:
          - build_type: standard
            test_script: test_twrite.m
        """, {"src/twrite_x.m": "function twrite_x()\nend\n",
              "test_twrite.m": "fid = fopen('@OUTSIDE@', 'w');\n"
                               "if fid < 0\n  error('twrite:ro', 'no write to %s', '@OUTSIDE@');\n"
                               "end\nfprintf(fid, 'escaped');\nfclose(fid);\n"}),
    "tleft": ("""
        name: tleft
        version: "1.0.0"
        prepare:
          path: {path: src}
        builds:
          - build_type: standard
            test_script: test_tleft.m
        """, {"src/tleft_x.m": "function tleft_x()\nend\n",
              "test_tleft.m": "system('sleep 317.25 &');\ndisp('left a sleep behind');\n"}),
}

# Bundled after the publish, tested one at a time with `mip-build test`.
LATER = {
    "thang": ("""
        name: thang
        version: "1.0.0"
        prepare:
          path: {path: src}
        builds:
          - build_type: standard
            test_script: test_thang.m
        """, {"src/thang_x.m": "function thang_x()\nend\n",
              "test_thang.m": "disp('hanging');\nwhile true\n  pause(0.05);\nend\n"}),
    # Its test_script is removed from the .dir before bundling: declared, not shipped.
    "tnoscript": ("""
        name: tnoscript
        version: "1.0.0"
        prepare:
          path: {path: src}
        builds:
          - build_type: standard
            test_script: test_tnoscript.m
        """, {"src/tnoscript_x.m": "function tnoscript_x()\nend\n",
              "test_tnoscript.m": "disp('never shipped');\n"}),
}

# Published later from another build directory: its dependency is only in the store.
ELSEWHERE = {
    "tuses": ("""
        name: tuses
        version: "1.0.0"
        dependencies: [tdep]
        usage_examples:
          - "assert(tuses_sum3(1, 2, 3) == 6)"
        prepare:
          path: {path: src}
        """, {"src/tuses_sum3.m": "function s = tuses_sum3(a, b, c)\n  s = tdep_add(tdep_add(a, b), c);\nend\n"}),
}


def write_recipes(root, recipes, outside=""):
    for name, (yaml_text, files) in recipes.items():
        d = root / name
        d.mkdir(parents=True)
        (d / "prepare.yaml").write_text(textwrap.dedent(yaml_text))
        for rel, content in files.items():
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).write_text(content.replace("@OUTSIDE@", str(outside)))


def build_elf_fixtures(recipes, tmp):
    """libnewglibc.so binds dlopen@GLIBC_2.34 (.symver); libneedsmissing.so needs a library
    that is not shipped and no MATLAB/Octave install provides."""
    gcc = tools.require_tool("gcc")
    (tmp / "new.c").write_text(textwrap.dedent("""
        #include <stddef.h>
        extern void *dlopen(const char *, int);
        __asm__(".symver dlopen, dlopen@GLIBC_2.34");
        void *mip_open_newer(void) { return dlopen(NULL, 0); }
    """))
    out = recipes / "tglibc" / "src" / "lib"
    out.mkdir(parents=True)
    subprocess.run([gcc, "-shared", "-fPIC", "-o", out / "libnewglibc.so", tmp / "new.c"],
                   check=True)
    (tmp / "dep.c").write_text("int mip_absent_dep(void) { return 1; }\n")
    subprocess.run([gcc, "-shared", "-fPIC", "-o", tmp / "libmipabsentdep.so", tmp / "dep.c"],
                   check=True)
    (tmp / "needs.c").write_text(
        "int mip_absent_dep(void);\nint mip_needs(void) { return mip_absent_dep(); }\n")
    out = recipes / "tneeded" / "src" / "lib"
    out.mkdir(parents=True)
    subprocess.run([gcc, "-shared", "-fPIC", "-o", out / "libneedsmissing.so", tmp / "needs.c",
                    f"-L{tmp}", "-Wl,--no-as-needed", "-lmipabsentdep"], check=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory, mip_build_exe):
    tools.require_tool("octave-cli")
    tmp = tmp_path_factory.mktemp("tester")
    recipes = tmp / "recipes"
    write_recipes(recipes, RECIPES, outside=tmp / "escaped.txt")
    build_elf_fixtures(recipes, tmp)
    build = tmp / "build"

    def mip(verb, *args, timeout=600, extra_env=None):
        env = dict(os.environ)
        env.update(BASE_ENV)
        env.update(extra_env or {})
        return subprocess.run([mip_build_exe, verb, "--build-dir", build, *args], cwd=tmp,
                              env=env, capture_output=True, text=True, timeout=timeout)

    published = mip("publish", "--recipes", recipes, "--keep-going", "-j", "2", "--json",
                    "--engine", "octave", "--test-engine", "octave")

    class Run:
        pass

    r = Run()
    r.tmp, r.build, r.mip, r.published = tmp, build, mip, published
    r.report = json.loads(published.stdout) if published.stdout.strip() else None
    r.later = tmp / "later"
    write_recipes(r.later, LATER)
    return r


def stage(report, name):
    return next(s for s in report["stages"] if s["stage"] == name)


def items(report, name):
    return {i["package"]: i for i in stage(report, name)["items"]}


def store_wheels(r):
    # By their sidecars: a new store gets no flat `<wheel>.mhl` copy.
    return sorted(p.name[:-len(".mip.json")] for p in (r.build / "store").glob("*.mhl.mip.json"))


def test_publish_runs_the_test_stage_between_bundle_and_upload(run):
    assert run.report is not None, run.published.stderr
    names = [s["stage"] for s in run.report["stages"]]
    assert names == ["prepare", "compile", "bundle", "test", "upload"], names
    assert run.published.returncode == 7, run.published.stderr  # some items failed
    tested = items(run.report, "test")
    assert set(tested) == set(RECIPES)
    for name in ("tdep", "tpass", "tsmoke", "tmex"):
        assert tested[name]["status"] == "done", tested[name]["detail"]
        assert tested[name]["seconds"] > 0
    assert "test_script test_tpass.m" in tested["tpass"]["detail"]
    assert "2 usage examples" in tested["tsmoke"]["detail"]


def test_each_package_has_its_test_log(run):
    for name in RECIPES:
        logs = list((run.build / "prepared").glob(f"{name}-*.work/test.log"))
        assert len(logs) == 1, name
    log = next((run.build / "prepared").glob("tpass-*.work/test.log")).read_text()
    assert "tpass ok" in log  # the engine's own output
    assert "mip-test: passed" in log


def test_failed_packages_are_not_uploaded_and_the_others_are(run):
    wheels = store_wheels(run)
    uploaded = {w.split("-")[0] for w in wheels}
    assert uploaded == {"tdep", "tpass", "tsmoke", "tmex"}, wheels
    refused = items(run.report, "upload")
    for name in ("tfail", "tmex2", "tglibc", "tneeded", "tcc", "twrite", "tleft"):
        assert refused[name]["status"] == "failed"
        assert "its test failed" in refused[name]["detail"]
    assert run.report["index"] is None  # a failed stage: the old index stays


def test_an_erroring_usage_example_names_the_example_and_the_first_error(run):
    item = items(run.report, "test")["tfail"]
    assert item["status"] == "failed" and item["error"] == "build_failed"
    first = item["detail"].splitlines()[0]
    assert "usage_examples[0] (tfail_boom(1))" in first
    assert "boom number 1" in first
    assert "test.log" in first


def test_a_shipped_mex_file_no_test_loaded_fails_naming_it(run):
    detail = items(run.report, "test")["tmex2"]["detail"]
    assert "tmex2_unused.mex" in detail
    assert "tmex2_used.mex" not in detail
    assert "never loaded" in detail


def test_a_binary_needing_a_newer_glibc_is_refused_naming_the_symbol(run):
    detail = items(run.report, "test")["tglibc"]["detail"]
    assert "lib/libnewglibc.so" in detail
    assert "GLIBC_2.34" in detail and "dlopen" in detail
    assert "2.28" in detail


def test_a_needed_library_that_is_not_shipped_is_refused(run):
    detail = items(run.report, "test")["tneeded"]["detail"]
    assert "libmipabsentdep.so" in detail and "lib/libneedsmissing.so" in detail


def test_a_higher_glibc_floor_accepts_the_binary(run):
    r = run.mip("test", "--package", "tglibc", "--glibc-floor", "2.34", "--test-engine",
                "octave", "--json")
    report = json.loads(r.stdout)
    assert report["items"][0]["status"] == "done", report
    assert r.returncode == 0
    assert not list((run.build / "bundled").glob("tglibc-*.mhl.test-failed"))


def test_a_hanging_test_times_out_and_leaves_no_temporary_root(run):
    r = run.mip("prepare", "--recipes", run.later)
    assert r.returncode == 0, r.stderr
    r = run.mip("bundle", "--package", "thang")
    assert r.returncode == 0, r.stderr
    private_tmp = run.tmp / "private-tmp"
    private_tmp.mkdir()
    r = run.mip("test", "--package", "thang", "--test-timeout", "3", "--test-engine", "octave",
                "--json", extra_env={"TMPDIR": str(private_tmp)})
    assert r.returncode == 1, r.stderr
    item = json.loads(r.stdout)["items"][0]
    assert item["status"] == "failed"
    assert "timed out after 3 s (--test-timeout)" in item["detail"]
    assert list(private_tmp.iterdir()) == []  # the killed test's root is gone too


def test_a_test_cannot_run_a_compiler(run):
    item = items(run.report, "test")["tcc"]
    assert item["status"] == "failed"
    assert "test_tcc.m: mkoctfile" in item["detail"].splitlines()[0]
    log = next((run.build / "prepared").glob("tcc-*.work/test.log")).read_text()
    assert "gcc: Permission denied" in log and "gcc: 127" in log


def test_a_test_cannot_write_outside_its_root(run):
    item = items(run.report, "test")["twrite"]
    assert item["status"] == "failed"
    assert "no write to" in item["detail"].splitlines()[0]
    assert not (run.tmp / "escaped.txt").exists()


def test_a_test_that_leaves_a_process_behind_fails_and_the_process_is_gone(run):
    item = items(run.report, "test")["tleft"]
    assert item["status"] == "failed"
    assert "left processes behind" in item["detail"]
    assert "left a sleep behind" in next(
        (run.build / "prepared").glob("tleft-*.work/test.log")).read_text()
    # The orphan was killed with the namespace (a unique duration names it).
    left = subprocess.run(["pgrep", "-f", "sleep 317.25"], capture_output=True, text=True)
    assert left.stdout.strip() == ""


def test_the_python_binding_runs_the_same_stage(run):
    import mip_native
    report = mip_native.test(build_dir=run.build, package=["tpass", "tfail"], test_engine="octave",
                             keep_going=True, jobs=2)
    by_name = {i.package: i for i in report.items}
    assert report.stage == "test"
    assert by_name["tpass"].status == mip_native.ItemStatus.done
    assert by_name["tfail"].status == mip_native.ItemStatus.failed
    assert "boom number 1" in by_name["tfail"].detail
    marker = mip_native.Tester.failure_marker(run.build / "bundled" / "x.mhl")
    assert marker.name == "x.mhl.test-failed"


def test_a_dependency_published_earlier_is_fetched_from_the_store(run, mip_build_exe):
    recipes = run.tmp / "elsewhere"
    write_recipes(recipes, ELSEWHERE)
    other = run.tmp / "other-build"
    env = dict(os.environ)
    env.update(BASE_ENV)
    r = subprocess.run([mip_build_exe, "-v", "publish", "--recipes", recipes, "--build-dir", other,
                        "--store", run.build / "store", "--test-engine", "octave", "--json"],
                       cwd=run.tmp, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    tested = items(json.loads(r.stdout), "test")["tuses"]
    assert tested["status"] == "done", tested["detail"]
    assert not list((other / "bundled").glob("tdep-*"))  # not bundled here: from the store
    assert "fetched from" in r.stderr


def test_a_declared_test_script_missing_from_the_archive_fails_naming_it(run):
    r = run.mip("prepare", "--recipes", run.later, "--package", "tnoscript")
    assert r.returncode == 0, r.stderr
    (script,) = (run.build / "prepared").glob("tnoscript-*.dir/test_tnoscript.m")
    script.unlink()
    assert run.mip("bundle", "--package", "tnoscript").returncode == 0
    r = run.mip("test", "--package", "tnoscript", "--test-engine", "octave", "--json")
    assert r.returncode == 3, r.stderr  # a spec error
    item = json.loads(r.stdout)["items"][0]
    assert item["status"] == "failed" and item["error"] == "invalid_spec"
    assert "test_script" in item["detail"] and "test_tnoscript.m" in item["detail"]
    assert "missing from the archive" in item["detail"]


def test_the_same_packages_in_the_current_format_get_the_same_verdicts(run, tmp_path):
    # Both formats: the packages the publish above tested as R2 archives, bundled again from the
    # same prepared dirs with --format mip and tested as today's client installs them. The
    # verdicts match, except tfail: its failing check is a usage example, and the current
    # format's mip.json has no usage_examples (its client never sees them): loaded only. tmex
    # (its test_script calls its MEX) passes in both; tmex2's unused MEX fails in both.
    current = tmp_path / "current"
    only = [arg for name in RECIPES for arg in ("--package", name)]  # not LATER's hang
    r = run.mip("bundle", "--format", "mip", "--output-dir", current, *only)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run.mip("test", "--input-dir", current, "--keep-going", "-j", "2", "--test-engine",
                "octave", "--test-timeout", "120", "--json", *only)
    report = json.loads(r.stdout)
    verdicts = {i["package"]: i for i in report["items"]}
    r2 = items(run.report, "test")
    assert set(verdicts) == set(RECIPES), verdicts
    for name in RECIPES:
        want = "done" if name == "tfail" else r2[name]["status"]
        assert verdicts[name]["status"] == want, (name, verdicts[name])
    assert "load only" in verdicts["tfail"]["detail"], verdicts["tfail"]
    assert "tmex2/" in verdicts["tmex2"]["detail"] and "tmex2_unused.mex" in verdicts["tmex2"]["detail"]
    assert "GLIBC_2.34" in verdicts["tglibc"]["detail"]
    assert "libmipabsentdep.so" in verdicts["tneeded"]["detail"]
    assert sorted(p.name for p in current.glob("*.test-failed")) == sorted(
        f"{p.name}.test-failed" for p in current.glob("*.mhl")
        if verdicts[p.name.split("-")[0]]["status"] == "failed")
