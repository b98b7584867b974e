"""The Python example of the README (examples/ci_publish.py) runs against the current API: it
publishes one of our example recipes into a local store, the package installs and works in GNU
Octave, and a second run skips it. (It rotted once when the options were renamed; this keeps it
honest.)"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import tools

SOURCE_DIR = pathlib.Path(os.environ.get("MIP_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))


def run_example(recipes, build, store):
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    env.pop("MIP_STORE", None)
    env.pop("MIP_BASE_URL", None)
    return subprocess.run([sys.executable, str(SOURCE_DIR / "examples" / "ci_publish.py"),
                           "--recipes", str(recipes), "--build-dir", str(build),
                           "--store", str(store), "-j", "2"],
                          env=env, capture_output=True, text=True, timeout=600)


def test_ci_publish_example_publishes_a_package_that_works(tmp_path):
    recipes = tmp_path / "recipes"
    shutil.copytree(SOURCE_DIR / "examples" / "packages" / "mathutils", recipes / "mathutils")
    build, store = tmp_path / "build", tmp_path / "store"

    first = run_example(recipes, build, store)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "prepare  done     mathutils-1.2.0-any-none-any" in first.stdout
    index = json.loads((build / "gh-pages" / "index.json").read_text())
    assert [p["name"] for p in index["packages"]] == ["mathutils"]
    mhls = sorted(store.rglob("mathutils-1.2.0-any-none-any.mhl"))
    assert mhls, sorted(str(p.relative_to(store)) for p in store.rglob("*"))

    # What a client sees: unzip into packages/<name>, run load_package.m, call the functions.
    client = tmp_path / "client" / "packages" / "mathutils"
    with zipfile.ZipFile(mhls[0]) as z:
        z.extractall(client)
    script = tmp_path / "client" / "check.m"
    script.write_text("run(fullfile(pwd, 'packages', 'mathutils', 'load_package.m'));\n"
                      "printf('clamp=%d\\n', mathutils.clamp(5, 0, 3));\n"
                      "printf('width=%d\\n', width(Interval(1, 4)));\n")
    octave = tools.require_tool("octave-cli")
    r = subprocess.run([octave, "--norc", "--no-history", str(script)], cwd=script.parent,
                       env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "clamp=3" in r.stdout and "width=3" in r.stdout, r.stdout

    index_bytes = (build / "gh-pages" / "index.json").read_bytes()
    second = run_example(recipes, build, store)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "prepare  skipped  mathutils" in second.stdout, second.stdout
    assert (build / "gh-pages" / "index.json").read_bytes() == index_bytes
