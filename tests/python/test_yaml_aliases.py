"""YAML alias amplification (issue 13, item 6): a small prepare.yaml or mip.lock.yaml whose aliases
repeat an anchored value ("billion laughs") is refused, naming the file, before anything expands
it; a normal recipe with a few aliases still builds, the aliased values in its mip.json."""
import json
import pathlib

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}


def write_recipe(recipes, text):
    d = recipes / "aliaspkg"
    (d / "src").mkdir(parents=True)
    (d / "src" / "fn.m").write_text("function fn\nend\n")
    (d / "prepare.yaml").write_text(text)
    return d


def half_written(build):
    return [str(p) for p in build.rglob("*")
            if p.name.endswith(".dir") or ".tmp-" in p.name or
            (p.name == "stage" and p.parent.name.endswith(".work"))]


def test_a_billion_laughs_recipe_is_refused(run_cli, tmp_path):
    # 0.6 MB of YAML: one 4 KiB string, then 150000 aliases of it (about 600 MB expanded).
    aliases = ", ".join(["*lol"] * 150000)
    text = ("name: aliaspkg\nversion: \"1.0.0\"\nlicense: MIT\n"
            "prepare:\n  path: {path: src, destination: aliaspkg}\n"
            f"usage_examples: [&lol \"{'lol' * 1365}\", {aliases}]\n")
    assert 500_000 < len(text) < 1_000_000
    write_recipe(tmp_path / "recipes", text)
    r = run_cli("prepare", "--recipes", tmp_path / "recipes", "--build-dir", tmp_path / "build",
                "--force", "-j", "1", env=EPOCH, cwd=tmp_path, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 3, out[-3000:]
    assert "aliaspkg/prepare.yaml: expands through its aliases (*name) to more than 16 MiB of " \
           "text" in out, out[-3000:]
    assert half_written(tmp_path / "build") == []


def test_a_billion_laughs_lock_is_refused(run_cli, tmp_path):
    recipe = write_recipe(tmp_path / "recipes",
                          "name: aliaspkg\nversion: \"1.0.0\"\nlicense: MIT\n"
                          "prepare:\n  path: {path: src, destination: aliaspkg}\n")
    # The classic form: nine levels of ten aliases each, 10^9 strings from 700 bytes.
    lines = ["package: aliaspkg", 'l0: &l0 ["lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    lock = tmp_path / "mip.lock.yaml"
    lock.write_text("\n".join(lines) + "\n")
    assert lock.stat().st_size < 1000
    r = run_cli("prepare", "--from-lock", lock, recipe, "--build-dir", tmp_path / "build",
                env=EPOCH, cwd=tmp_path, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 3, out[-3000:]
    assert f"{lock}: expands through its aliases (*name) to more than 1000000 nodes" in out, \
        out[-3000:]
    assert half_written(tmp_path / "build") == []


def test_a_recipe_with_a_few_aliases_still_builds(run_cli, tmp_path):
    write_recipe(tmp_path / "recipes",
                 "name: aliaspkg\nversion: &v \"1.0.0\"\nlicense: MIT\n"
                 "description: &d \"Aliased toolbox\"\n"
                 "prepare:\n  path: {path: src, destination: &dest aliaspkg}\n"
                 "usage_examples: [*d, \"fn()\", *v]\n"
                 "addpaths: [*dest]\n")
    r = run_cli("prepare", "--recipes", tmp_path / "recipes", "--build-dir", tmp_path / "build",
                "--force", "-j", "1", env=EPOCH, cwd=tmp_path, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    d = tmp_path / "build/prepared/aliaspkg-1.0.0-any-none-any.dir"
    spec = json.loads((d / "mip.json").read_text())
    assert spec["usage_examples"] == ["Aliased toolbox", "fn()", "1.0.0"]
    assert spec["exposed_symbols"] == ["fn"]
    assert (d / "aliaspkg" / "fn.m").is_file()
    lock = pathlib.Path(tmp_path / "build/prepared/aliaspkg-1.0.0-any-none-any.work/mip.lock.yaml")
    r = run_cli("prepare", "--from-lock", lock, tmp_path / "recipes" / "aliaspkg",
                "--build-dir", tmp_path / "build2", env=EPOCH, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]


def test_an_alias_inside_its_own_anchor_is_refused(run_cli, tmp_path):
    # `&a [x, *a]` is a list that contains itself: an infinite tree, refused at once (a walk that
    # followed it would only stop at the node cap).
    write_recipe(tmp_path / "recipes",
                 "name: aliaspkg\nversion: \"1.0.0\"\nlicense: MIT\n"
                 "prepare:\n  path: {path: src, destination: aliaspkg}\n"
                 "usage_examples: &u [\"fn()\", *u]\n")
    r = run_cli("prepare", "--recipes", tmp_path / "recipes", "--build-dir", tmp_path / "build",
                "--force", "-j", "1", env=EPOCH, cwd=tmp_path, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 3, out[-3000:]
    assert "aliaspkg/prepare.yaml: expands through its aliases (*name) to an infinite tree " \
           "(an alias inside its own anchor)" in out, out[-3000:]
    assert half_written(tmp_path / "build") == []
