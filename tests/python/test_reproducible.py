"""Reproducible preparation end to end (prepare-stages.md): the same git package prepared and
bundled twice, in different directories and environments, gives a byte-identical .mhl; an
upstream commit is rebuilt; --from-lock prepares the locked commit again; script_env values reach
the compile child intact; a hostile user git config changes nothing."""
import hashlib
import json
import os
import pathlib
import platform
import shutil
import textwrap

import pytest

import servers

HOST_TAG = {"x86_64": "linux_x86_64", "amd64": "linux_x86_64",
            "aarch64": "linux_aarch64", "arm64": "linux_aarch64"}.get(platform.machine().lower())


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def write_recipe(recipes, name, text, files=None):
    d = recipes / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "prepare.yaml").write_text(textwrap.dedent(text))
    for rel, content in (files or {}).items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
    return d


def git_recipe(recipes, url):
    return write_recipe(recipes, "gitpkg", f"""\
        name: gitpkg
        description: reproducible
        version: git
        prepare:
          clone_git:
            url: {url}
            destination: g
        addpaths: [g/lib]
        """)


@pytest.fixture
def upstream(git_factory):
    repo = git_factory.create("upstream", {"lib/gfn.m": "function gfn\nend\n"})
    servers.git(repo, "tag", "-a", "-m", "release", "release-2.4", date=1700500000)
    git_factory.commit(repo, {"lib/more.m": "function more\nend\n"})
    return repo


def only_item(stdout):
    doc = json.loads(stdout)
    assert len(doc["items"]) == 1, doc
    return doc["items"][0]


def prepare_and_bundle(run_cli, recipes, build, cwd, env=None, extra=()):
    r = run_cli("--json", "prepare", "--recipes", recipes, "--build-dir", build, *extra, cwd=cwd, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    item = only_item(r.stdout)
    r = run_cli("bundle", "--build-dir", build, cwd=cwd, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return item, build / "bundled" / f'{item["wheel"]}.mhl'


def test_two_preparations_give_byte_identical_bundles(tmp_path, run_cli, upstream, git_factory):
    first_recipes = git_recipe(tmp_path / "one" / "recipes", upstream).parent
    second_recipes = git_recipe(tmp_path / "two" / "deeper" / "recipes", upstream).parent
    os.utime(second_recipes / "gitpkg" / "prepare.yaml", (1000000000, 1000000000))
    (tmp_path / "cwd1").mkdir()
    (tmp_path / "cwd2").mkdir()
    assert "SOURCE_DATE_EPOCH" not in os.environ  # the commit time must drive the epoch
    base_env = {}
    item1, mhl1 = prepare_and_bundle(run_cli, first_recipes, tmp_path / "one" / "b", tmp_path / "cwd1",
                                     env={**base_env, "TZ": "UTC"})
    item2, mhl2 = prepare_and_bundle(run_cli, second_recipes, tmp_path / "two" / "b", tmp_path / "cwd2",
                                     env={**base_env, "TZ": "Asia/Kolkata", "LANG": "de_DE.UTF-8",
                                          "USER": "someone-else"})
    head = servers.git(upstream, "rev-parse", "HEAD")
    assert item1["wheel"] == item2["wheel"] == f"gitpkg-2.4_1_g{head[:12]}-any-none-any"
    assert mhl1.read_bytes() == mhl2.read_bytes()
    work1 = tmp_path / "one" / "b" / "prepared" / f'{item1["wheel"]}.work'
    work2 = tmp_path / "two" / "b" / "prepared" / f'{item2["wheel"]}.work'
    assert (work1 / "mip.lock.yaml").read_bytes() == (work2 / "mip.lock.yaml").read_bytes()
    meta = json.loads((tmp_path / "one" / "b" / "prepared" / f'{item1["wheel"]}.dir' / "mip.json").read_text())
    commit_time = int(servers.git(upstream, "show", "-s", "--format=%ct", "HEAD"))
    assert meta["build_info"]["source_date_epoch"] == commit_time
    assert meta["build_info"]["epoch_source"] == "source commit"

    # An upstream commit is rebuilt without a build_number bump (and gets a new version).
    git_factory.commit(upstream, {"lib/new.m": "function new\nend\n"})
    r = run_cli("--json", "prepare", "--recipes", first_recipes, "--build-dir", tmp_path / "one" / "b")
    assert r.returncode == 0, r.stderr
    item3 = only_item(r.stdout)
    assert item3["status"] == "done"
    assert item3["wheel"] != item1["wheel"]


def test_from_lock_prepares_the_locked_commit_again(tmp_path, run_cli, upstream, git_factory):
    recipes = git_recipe(tmp_path / "recipes", upstream).parent
    item, mhl = prepare_and_bundle(run_cli, recipes, tmp_path / "a", tmp_path)
    lock = tmp_path / "a" / "prepared" / f'{item["wheel"]}.work' / "mip.lock.yaml"
    text = lock.read_text()
    assert text.startswith("# Rendered by mip-build ")
    assert "# Re-prepare: mip-build prepare --from-lock mip.lock.yaml <recipe-dir>\n" in text
    git_factory.commit(upstream, {"lib/late.m": "function late\nend\n"})  # upstream main moves
    r = run_cli("--json", "prepare", "--from-lock", lock, recipes / "gitpkg", "--build-dir", tmp_path / "b")
    assert r.returncode == 0, r.stdout + r.stderr
    again = only_item(r.stdout)
    assert again["wheel"] == item["wheel"]
    r = run_cli("bundle", "--build-dir", tmp_path / "b")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "b" / "bundled" / mhl.name).read_bytes() == mhl.read_bytes()
    # An edited recipe: exit 3 listing the difference.
    with open(recipes / "gitpkg" / "prepare.yaml", "a") as f:
        f.write("# edited\n")
    r = run_cli("--json", "prepare", "--from-lock", lock, recipes / "gitpkg", "--build-dir", tmp_path / "c")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "recipe_input_files.prepare.yaml" in r.stdout + r.stderr
    assert not list((tmp_path / "c" / "prepared").glob("*.dir"))


def test_hostile_user_git_config_changes_nothing(tmp_path, run_cli, upstream, git_factory):
    other = git_factory.create("other", {"lib/evil.m": "function evil\nend\n"})
    recipes = git_recipe(tmp_path / "recipes", upstream).parent
    _, clean = prepare_and_bundle(run_cli, recipes, tmp_path / "clean", tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    config = (f'[core]\n\tautocrlf = true\n[url "{other}"]\n\tinsteadOf = {upstream}\n'
              "[tag]\n\tgpgSign = true\n#disabled: true\n")
    (home / ".gitconfig").write_text(config)
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home), "GIT_DIR": str(tmp_path / "nowhere")}
    _, hostile = prepare_and_bundle(run_cli, recipes, tmp_path / "hostile", tmp_path, env=env,
                                    extra=("--tag-prefix", "v"))
    assert hostile.name == clean.name
    assert hostile.read_bytes() == clean.read_bytes()
    assert (home / ".gitconfig").read_text() == config


def test_abbrev_is_checked(tmp_path, run_cli):
    r = run_cli("prepare", "--recipes", tmp_path, "--abbrev", "3", "--build-dir", tmp_path / "b")
    assert r.returncode == 2


@pytest.mark.skipif(shutil.which("octave-cli") is None or HOST_TAG is None, reason="needs GNU Octave")
def test_script_env_values_reach_the_compile_child_intact(tmp_path, run_cli):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "envpkg", """\
        name: envpkg
        version: "1.0"
        script_env: [MIP_VAL, MIP_UNSET_VAL]
        prepare:
          path: {path: src, destination: envpkg}
        addpaths: [envpkg]
        builds:
          - build_type: standard
            compile_script: compile.m
        """, {"src/envpkg_fn.m": "function envpkg_fn\nend\n",
              "compile.m": "fid = fopen('seen.txt', 'w'); fwrite(fid, [getenv('MIP_VAL') '|' "
                           "getenv('MIP_UNDECLARED') '|' getenv('MIP_UNSET_VAL')]); fclose(fid);\n"})
    value = 'a b=c\nd "quoted"'
    env = {"MIP_VAL": value, "MIP_UNDECLARED": "should-not-leak", "SOURCE_DATE_EPOCH": "1700000000"}
    r = run_cli("prepare", "--recipes", recipes, "--build-dir", tmp_path / "b", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    wheel_dir = tmp_path / "b" / "prepared" / f"envpkg-1.0-any-none-{HOST_TAG}.dir"
    work = wheel_dir.with_name(wheel_dir.name[:-4] + ".work")
    assert json.loads((work / "script_env.json").read_text()) == {"MIP_VAL": value}
    r = run_cli("compile", "--build-dir", tmp_path / "b", "--engine", "octave", "--compile-timeout", "300", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (wheel_dir / "seen.txt").read_text() == value + "||"
