"""mip-build end to end: publish the examples into a local store, rerun (everything skipped,
bytes unchanged), exit codes, --json, stream separation, dry runs, zip and git sources."""
import hashlib
import json
import os
import pathlib
import re
import shutil
import zipfile

import pytest

EXPECTED_EXAMPLES = {"mathutils", "geomkit", "plotkit", "gui-layout-lite", "fastdot"}


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


@pytest.fixture
def published(tmp_path, run_cli, source_dir):
    """The examples published once into tmp_path/build/store (each tested in Octave first)."""
    build = tmp_path / "build"
    r = run_cli("publish", "--recipes", source_dir / "examples" / "packages", "--build-dir", build, "-j", "2",
                env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert r.returncode == 0, r.stdout + r.stderr
    return build, r


def test_publish_examples_fills_store_and_index(published):
    build, r = published
    store = build / "store"
    index = json.loads((build / "gh-pages" / "index.json").read_text())
    names = {p["name"] for p in index["packages"]}
    assert EXPECTED_EXAMPLES <= names
    assert index["total_packages"] == len(index["packages"])
    assert index["last_updated"] == "2023-11-14T22:13:20Z"
    for entry in index["packages"]:
        wheel = f'{entry["name"]}-{entry["version"]}-{entry["matlab_tag"]}-{entry["abi_tag"]}-{entry["platform_tag"]}'
        # mhl_url is the content-addressed, write-once copy; a new store gets no flat copy.
        assert not (store / f"{wheel}.mhl").exists()
        assert entry["mhl_url"] == f"file://{store}/sha256/{entry['mhl_sha256']}/{wheel}.mhl"
        cas = pathlib.Path(entry["mhl_url"][len("file://"):])
        assert entry["mhl_sha256"] == sha256(cas)
        assert entry["mhl_size"] == cas.stat().st_size
        assert entry["mip_json_url"] == f"file://{store}/{wheel}.mhl.mip.json"
        with zipfile.ZipFile(cas) as z:
            members = z.namelist()
            assert {"mip.json", "load_package.m", "unload_package.m"} <= set(members)
            assert members == sorted(members)
            archived = json.loads(z.read("mip.json"))
            assert archived["name"] == entry["name"]
            assert "mhl_sha256" not in archived
    # Index order: name bytewise.
    ordered = [p["name"] for p in index["packages"]]
    assert ordered == sorted(ordered)
    html = (build / "gh-pages" / "packages.html").read_text()
    assert 'id="gui-layout-lite"' in html and "<table" in html
    # The dependency chain and the hyphenated name made it through.
    by_name = {p["name"]: p for p in index["packages"]}
    assert by_name["plotkit"]["dependencies"] == ["geomkit"]
    assert by_name["geomkit"]["dependencies"] == ["mathutils"]
    assert by_name["fastdot"]["platform_tag"] != "any"  # compiled: host platform
    assert "mathutils" in by_name["mathutils"]["exposed_symbols"]  # +mathutils namespace
    assert "Interval" in by_name["mathutils"]["exposed_symbols"]  # @Interval class
    assert by_name["mathutils"]["usage_examples"]
    # The prebuilt MEX binary of fastdot was stripped before packaging.
    with zipfile.ZipFile(by_name["fastdot"]["mhl_url"][len("file://"):]) as z:
        assert not [m for m in z.namelist() if m.endswith(".mexa64")]
    assert "wrote" in r.stdout and "index.json" in r.stdout
    # The test stage installed, loaded and tested every example before its upload.
    tested = set(re.findall(r"^test: done (\S+?)-\d", r.stdout, re.M))
    assert tested == names, r.stdout


def test_second_publish_skips_everything_and_keeps_bytes(published, run_cli, source_dir):
    build, _ = published
    store = build / "store"
    before = {p.name: sha256(p) for p in store.rglob("*.mhl")}
    mtimes = {p.name: p.stat().st_mtime_ns for p in store.rglob("*.mhl")}
    index_before = json.loads((build / "gh-pages" / "index.json").read_text())
    r = run_cli("--json", "publish", "--test", "skip", "--recipes", source_dir / "examples" / "packages", "--build-dir", build,
                env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    prepare = doc["stages"][0]
    assert prepare["stage"] == "prepare"
    assert prepare["items"], "no items"
    assert all(i["status"] == "skipped" for i in prepare["items"]), prepare
    # Python recipes know their pins only after running, so their hit is checked after building.
    assert all(i["detail"].startswith("published metadata matches") for i in prepare["items"])
    upload = [s for s in doc["stages"] if s["stage"] == "upload"][0]
    assert all(i["status"] == "skipped" for i in upload["items"])
    after = {p.name: sha256(p) for p in store.rglob("*.mhl")}
    assert after == before
    assert {p.name: p.stat().st_mtime_ns for p in store.rglob("*.mhl")} == mtimes  # not even rewritten
    assert json.loads((build / "gh-pages" / "index.json").read_text())["packages"] == index_before["packages"]


def test_json_goes_to_stdout_and_logs_to_stderr(tmp_path, run_cli, source_dir):
    r = run_cli("-v", "--json", "prepare", "--recipes", source_dir / "examples" / "packages", "--build-dir", tmp_path,
                "--package", "mathutils", "--dry-run")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)  # stdout is exactly one JSON document
    assert doc["dry_run"] is True
    assert [i["status"] for i in doc["items"]] == ["planned"]
    assert "mip-build: info:" in r.stderr
    assert not (tmp_path / "prepared" / "mathutils-1.2.0-any-none-any.dir").exists()


def test_dry_run_lines_are_labelled(tmp_path, run_cli, source_dir):
    r = run_cli("prepare", "--recipes", source_dir / "examples" / "packages", "--build-dir", tmp_path, "--dry-run",
                "--package", "geomkit")
    assert r.returncode == 0
    lines = [l for l in r.stdout.splitlines() if l]
    assert lines and all(l.startswith("[dry-run] ") for l in lines)


def write_recipe(root, name, text):
    d = root / name
    d.mkdir(parents=True)
    (d / "prepare.yaml").write_text(text)
    return d


@pytest.mark.parametrize("args,code,needle", [
    (["frobnicate"], 2, ""),
    (["prepare", "--no-such-flag"], 2, ""),
    (["prepare", "--shard", "3/2"], 3, "K/N"),
    (["prepare", "--package", "nope"], 3, "'nope' matches no recipe"),
    (["prepare", "--recipes", "/nonexistent/recipes"], 4, "recipes directory does not exist"),
    (["upload", "--store", "ftp://x/y"], 3, "not supported"),
    (["index", "--base-url", "http://insecure.example"], 3, "https"),
])
def test_exit_codes(tmp_path, run_cli, source_dir, args, code, needle):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "ok", "name: ok\nversion: '1'\n")
    full = list(args)
    if args and args[0] in ("prepare",) and "--recipes" not in args:
        full += ["--recipes", str(recipes)]
    if args[0] == "index":  # index reads an existing store (a missing one is its own error)
        (tmp_path / "b" / "store").mkdir(parents=True)
    r = run_cli(*full, "--build-dir", tmp_path / "b") if args[0] != "frobnicate" else run_cli(*full)
    assert r.returncode == code, (r.stdout, r.stderr)
    assert needle in r.stderr


def test_help_and_version(run_cli):
    for verb in ["prepare", "compile", "bundle", "upload", "index", "publish"]:
        r = run_cli(verb, "--help")
        assert r.returncode == 0 and "--" in r.stdout
    r = run_cli("--version")
    assert r.returncode == 0 and "libmip" in r.stdout


def test_invalid_recipe_names_package_file_and_field(tmp_path, run_cli):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "broken", "name: 'bad name'\nversion: 1-0\nbuild_number: x\nprepare:\n  path: {path: ../outside}\n")
    r = run_cli("prepare", "--recipes", recipes, "--build-dir", tmp_path / "b")
    assert r.returncode == 3
    out = r.stdout + r.stderr
    for needle in ["prepare.yaml", "field 'name'", "field 'version'", "field 'build_number'", "prepare.path.path"]:
        assert needle in out
    assert not list((tmp_path / "b" / "prepared").glob("*.dir")) if (tmp_path / "b" / "prepared").exists() else True


def test_keep_going_reports_every_failure(tmp_path, run_cli):
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "a_bad", "name: a_bad\nprepare:\n  path: {path: missing}\n")
    good = write_recipe(recipes, "b_good", "name: b_good\nversion: '1'\nprepare:\n  path: {path: src}\n")
    (good / "src").mkdir()
    (good / "src" / "f.m").write_text("function f\nend\n")
    write_recipe(recipes, "c_bad", "name: c_bad\nversion: [1]\n")
    r = run_cli("--json", "prepare", "--recipes", recipes, "--build-dir", tmp_path / "b", "--keep-going")
    assert r.returncode == 7
    doc = json.loads(r.stdout)
    status = {i["package"]: i["status"] for i in doc["items"]}
    assert status == {"a_bad": "failed", "b_good": "done", "c_bad": "failed"}
    # Stop at the first failure (-j 1: with parallel jobs, packages already running finish).
    r = run_cli("--json", "prepare", "--recipes", recipes, "--build-dir", tmp_path / "c", "-j", "1")
    assert r.returncode == 3
    doc = json.loads(r.stdout)
    assert [i["status"] for i in doc["items"]] == ["failed", "skipped", "skipped"]


def test_zip_source_from_local_http_server(tmp_path, run_cli, http_server):
    root, base = http_server
    with zipfile.ZipFile(root / "toolbox.zip", "w") as z:
        z.writestr("toolbox-main/tb_fn.m", "function tb_fn\nend\n")
        z.writestr("toolbox-main/sub/inner.m", "function inner\nend\n")
    digest = sha256(root / "toolbox.zip")
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "toolbox", f"""name: toolbox
version: "0.9"
prepare:
  download_zip:
    url: {base}/toolbox.zip
    destination: tb
    sha256: {digest}
addpaths:
  - path: tb/toolbox-main
    recursive: true
""")
    r = run_cli("-v", "publish", "--test", "skip", "--recipes", recipes, "--build-dir", tmp_path / "b")
    assert r.returncode == 0, r.stderr
    assert "plain http" in r.stderr  # http:// works, with a warning
    index = json.loads((tmp_path / "b" / "gh-pages" / "index.json").read_text())
    (entry,) = index["packages"]
    assert entry["source"] == {"type": "zip", "url": f"{base}/toolbox.zip", "ref": None, "commit": None, "sha256": digest}
    assert entry["exposed_symbols"] == ["inner", "tb_fn"]
    assert not list(pathlib.Path.cwd().glob("temp_download*"))


def test_git_source_from_test_repository(tmp_path, run_cli, git_factory):
    repo = git_factory.create("upstream", {"lib/gfn.m": "function gfn\nend\n"})
    recipes = tmp_path / "recipes"
    write_recipe(recipes, "gitpkg", f"name: gitpkg\nversion: '1'\nprepare:\n  clone_git:\n    url: {repo}\n    destination: g\naddpaths: [g/lib]\n")
    build = tmp_path / "b"
    r = run_cli("--json", "publish", "--test", "skip", "--recipes", recipes, "--build-dir", build)
    assert r.returncode == 0, r.stderr
    head = git_factory_head(repo)
    entry = json.loads((build / "gh-pages" / "index.json").read_text())["packages"][0]
    assert entry["source"]["commit"] == head
    # Upstream moves: the package is rebuilt without a build_number bump.
    git_factory.commit(repo, {"lib/new.m": "function new\nend\n"})
    r = run_cli("--json", "prepare", "--recipes", recipes, "--build-dir", build)
    doc = json.loads(r.stdout)
    assert doc["items"][0]["status"] == "done"
    assert "'source' differs" in doc["items"][0]["detail"]


def git_factory_head(repo):
    import subprocess
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def test_corrupt_sidecar_is_skipped_and_strict_fails(published, run_cli):
    build, _ = published
    store = build / "store"
    (store / "broken-1.0-any-none-any.mhl.mip.json").write_text('{"name": "broken", "version": ')
    r = run_cli("--json", "index", "--build-dir", build)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [s["key"] for s in doc["skipped"]] == ["broken-1.0-any-none-any.mhl.mip.json"]
    assert "not valid JSON" in doc["skipped"][0]["reason"]
    before = (build / "gh-pages" / "index.json").read_bytes()
    r = run_cli("index", "--build-dir", build, "--strict")
    assert r.returncode == 3
    assert "broken-1.0-any-none-any.mhl.mip.json" in r.stderr
    assert (build / "gh-pages" / "index.json").read_bytes() == before  # nothing half-written


def test_stages_one_by_one_match_publish(tmp_path, run_cli, source_dir):
    build = tmp_path / "b"
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    recipes = source_dir / "examples" / "packages"
    for verb in (["prepare", "--recipes", recipes], ["compile"], ["bundle"], ["upload"], ["index"]):
        r = run_cli(verb[0], *verb[1:], "--build-dir", build, "--package", "mathutils", env=env) if verb[0] != "index" \
            else run_cli("index", "--build-dir", build, env=env)
        assert r.returncode == 0, (verb, r.stdout, r.stderr)
    entry = json.loads((build / "gh-pages" / "index.json").read_text())["packages"][0]
    assert entry["name"] == "mathutils"
    assert [p.parent.parent.name for p in (build / "store").rglob("mathutils-1.2.0-any-none-any.mhl")] == ["sha256"]
