"""The current mip format (issue 15, spec mip-current): a channel tree in every shape of the
reference channel — git with branch/subdirectory/remove_dirs, a git default branch, a zip over
plain http:// extracted as is, a tarball with its top folder stripped, extra_paths, dependencies,
a MEX package whose compile.m runs at the source root — prepared, compiled with GNU Octave and
bundled with `--format mip`. Every archive passes the client's checks (tests/support/
current_client.py); Octave installs and loads the packages as the client does; the bytes are
reproducible; bad release folders are refused naming the file and field. Offline: the upstreams
are git repositories, a zip and a tarball the tests create, served from 127.0.0.1."""
import hashlib
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import current_client  # noqa: E402
import s3  # noqa: E402
import servers  # noqa: E402
import tools  # noqa: E402

ENV = {"BUILD_TYPE": "standard", "MIP_PLATFORM_TAG": "", "SOURCE_DATE_EPOCH": ""}


def write(path, text):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))


def zip_bytes(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in entries.items():
            zf.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), body)
    return buf.getvalue()


def tarball_bytes(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, body in entries.items():
            data = body.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1600000000, 0o644
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


MEX_SOURCE = """
    #include "mex.h"
    void mexFunction(int nlhs, mxArray *plhs[], int nrhs, const mxArray *prhs[]) {
        plhs[0] = mxCreateDoubleScalar(2.0 * mxGetScalar(prhs[0]));
    }
"""


class Channel:
    """The upstreams (git repositories, a served zip and tarball) and the channel tree."""

    def __init__(self, tmp, http_root, base_url):
        self.git = servers.GitFactory(tmp / "git")
        self.recipes = tmp / "channel" / "packages"
        alpha = self.git.create("alpha", {
            "src/alpha_add.m": "function r = alpha_add(a, b)\n  r = a + b;\nend\n",
            "src/dev/alpha_dev_only.m": "function alpha_dev_only\nend\n",
            "README.md": "alpha upstream\n"})
        servers.git(alpha, "tag", "v1.0.0")
        self.git.commit(alpha, {"src/more/alpha_mul.m": "function r = alpha_mul(a, b)\n  r = a * b;\nend\n"})
        servers.git(alpha, "tag", "v2.0.0")
        self.alpha = alpha
        self.mexy = self.git.create("mexy", {
            "toolbox/mexy_twice.c": textwrap.dedent(MEX_SOURCE),
            "toolbox/stale.mexa64": "prebuilt upstream binary\n"}, branch="master")
        (http_root / "beta.zip").write_bytes(zip_bytes({
            "beta/beta_twice.m": "function r = beta_twice(x)\n  r = alpha_add(x, x);\nend\n",
            "beta/private/helper.m": "function helper\nend\n"}))
        (http_root / "gamma-1.4.4.tar.gz").write_bytes(tarball_bytes({
            "gamma-1.4.4/inst/gamma_sq.m": "function r = gamma_sq(x)\n  r = x .^ 2;\nend\n",
            "gamma-1.4.4/demos/gamma_demo.m": "function gamma_demo\nend\n"}))
        self.base_url = base_url
        self.write_tree()

    def write_tree(self):
        r = self.recipes
        write(r / "alpha/1.0.0/mip.yaml", """
            name: alpha
            version: "1.0.0"
            license: MIT
            paths:
              - path: "."
            builds:
              - architectures: [any]
                test_script: test_alpha.m
        """)
        write(r / "alpha/1.0.0/source.yaml", f"""
            source:
              git: "{self.alpha}"
              branch: "v1.0.0"
              subdirectory: "src"
              remove_dirs: [dev]
        """)
        write(r / "alpha/1.0.0/test_alpha.m", "assert(alpha_add(1, 2) == 3);\n")
        write(r / "alpha/2.0.0/mip.yaml", """
            name: alpha
            version:
            paths:
              - path: "."
                recursive: true
            builds:
              - architectures: [any]
        """)
        write(r / "alpha/2.0.0/source.yaml", f"""
            source:
              git: "file://{self.alpha}"
              branch: "v2.0.0"
              subdirectory: "src"
              remove_dirs: [dev]
        """)
        write(r / "beta/master/mip.yaml", """
            name: beta
            description: "zip over plain http, extracted as is"
            version:
            dependencies: [alpha]
            paths:
              - path: "beta"
            builds:
              - architectures: [any]
        """)
        write(r / "beta/master/source.yaml", f"""
            source:
              zip: "{self.base_url}/beta.zip"
        """)
        write(r / "gamma/1.4.4/mip.yaml", """
            name: gamma
            version: "1.4.4"
            paths:
              - path: inst
            extra_paths:
              demos:
                - path: demos
            builds:
              - architectures: [any]
        """)
        write(r / "gamma/1.4.4/source.yaml", f"""
            source:
              tarball: "{self.base_url}/gamma-1.4.4.tar.gz"
        """)
        write(r / "mexy/master/mip.yaml", """
            name: mexy
            version:
            paths:
              - path: toolbox
            builds:
              - architectures: [linux_x86_64, macos_arm64]
                compile_script: compile.m
        """)
        write(r / "mexy/master/source.yaml", f"""
            source:
              git: "{self.mexy}"
        """)
        write(r / "mexy/master/compile.m", """
            % runs with the current directory at the source root
            assert(exist(fullfile(pwd, 'toolbox', 'mexy_twice.c'), 'file') == 2);
            cd toolbox;
            mex('mexy_twice.c');
            cd ..;
        """)


def cli(run_cli, tmp_path, *args):
    r = run_cli(*args, cwd=tmp_path, env=ENV, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


@pytest.fixture(scope="module")
def built(tmp_path_factory, mip_build_exe):
    """The channel prepared, compiled with Octave and bundled in both formats (once)."""
    tools.require_tool("octave-cli")
    tmp = tmp_path_factory.mktemp("current")
    www = tmp / "www"
    www.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("MIP_STORE", "MIP_BASE_URL")}
    env.update(ENV)

    def run(*args):
        r = subprocess.run([mip_build_exe, *map(str, args)], cwd=tmp, env=env,
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout + r.stderr
        return r

    with servers.StaticHttpServer(www) as srv:
        channel = Channel(tmp, www, srv.base_url)
        build = tmp / "build"
        prepared = run("prepare", "--recipes", channel.recipes, "--build-dir", build, "-j", "2")
        run("compile", "--build-dir", build, "--engine", "octave")
        run("bundle", "--build-dir", build, "--format", "mip")
        run("bundle", "--build-dir", build, "--format", "mip", "--output-dir", tmp / "again")
        run("bundle", "--build-dir", build, "--output-dir", tmp / "r2")
    return {"tmp": tmp, "build": build, "bundled": build / "bundled", "again": tmp / "again",
            "r2": tmp / "r2", "channel": channel, "prepare_log": prepared.stdout + prepared.stderr}


EXPECTED = {"alpha-1.0.0-any.mhl", "alpha-2.0.0-any.mhl", "beta-master-any.mhl",
            "gamma-1.4.4-any.mhl", "mexy-master-linux_x86_64.mhl"}


def test_every_shape_bundles_into_archives_the_client_accepts(built):
    archives = {p.name: p for p in built["bundled"].glob("*.mhl")}
    assert set(archives) == EXPECTED, sorted(archives)
    metas = {name: current_client.check_archive(p) for name, p in archives.items()}
    for name, p in archives.items():
        sidecar = json.loads(pathlib.Path(str(p) + ".mip.json").read_text())
        meta = metas[name]
        # One timestamp (the source date) in archive and sidecar; the sidecar adds the digest.
        assert sidecar["timestamp"] == meta["timestamp"], name
        assert sidecar["mhl_sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
        assert sidecar["mhl_size"] == p.stat().st_size
        # The sidecar adds the release's declared architectures (for holding it in the index).
        assert sidecar.pop("declared_architectures") == (
            ["linux_x86_64", "macos_arm64"] if name.startswith("mexy") else ["any"])
        assert {k: v for k, v in sidecar.items() if not k.startswith("mhl_")} == meta
    a1 = metas["alpha-1.0.0-any.mhl"]
    assert a1["version"] == "1.0.0" and a1["paths"] == ["."] and a1["test_script"] == "test_alpha.m"
    assert len(a1["commit_hash"]) == 40 and len(a1["source_hash"]) == 64
    assert a1["timestamp"] == "2023-11-14T22:30:00Z"  # the tagged commit's date, not the clock
    assert metas["alpha-2.0.0-any.mhl"]["paths"] == [".", "more"]  # recursive
    beta = metas["beta-master-any.mhl"]
    assert beta["version"] == "master" and beta["dependencies"] == ["alpha"]
    assert beta["paths"] == ["beta"] and "commit_hash" not in beta
    gamma = metas["gamma-1.4.4-any.mhl"]
    assert gamma["paths"] == ["inst"] and gamma["extra_paths"] == {"demos": ["demos"]}
    mexy = metas["mexy-master-linux_x86_64.mhl"]
    assert mexy["architecture"] == "linux_x86_64" and mexy["compile_script"] == "compile.m"
    with zipfile.ZipFile(archives["alpha-1.0.0-any.mhl"]) as zf:
        names = zf.namelist()
    # subdirectory kept only src/, remove_dirs dropped dev/, the release folder overlaid.
    assert sorted(names) == ["alpha/alpha_add.m", "alpha/test_alpha.m", "mip.json"], names
    with zipfile.ZipFile(archives["mexy-master-linux_x86_64.mhl"]) as zf:
        names = set(zf.namelist())
    assert "mexy/toolbox/mexy_twice.mex" in names and "mexy/toolbox/stale.mexa64" not in names
    with zipfile.ZipFile(archives["gamma-1.4.4-any.mhl"]) as zf:
        assert "gamma/inst/gamma_sq.m" in zf.namelist()  # the tarball's top folder stripped
    assert "prepare: 5/5 items" in built["prepare_log"]  # macos_arm64 is built on a Mac


def test_current_archives_are_byte_reproducible(built):
    for name in EXPECTED:
        assert (built["bundled"] / name).read_bytes() == (built["again"] / name).read_bytes(), name


def test_the_same_prepared_packages_also_bundle_in_the_r2_format(built):
    wheels = sorted(p.name for p in built["r2"].glob("*.mhl"))
    assert "alpha-2.0.0-any-none-any.mhl" in wheels and "mexy-master-any-none-linux_x86_64.mhl" in wheels
    with zipfile.ZipFile(built["r2"] / "alpha-2.0.0-any-none-any.mhl") as zf:
        load = zf.read("load_package.m").decode()
    assert "addpath(fullfile(fileparts(mfilename('fullpath')), 'more'));" in load


def test_the_test_stage_installs_current_archives_as_the_client_does(built, tmp_path, run_cli):
    # The Tester's current-format install (<root>/packages/gh/…/<name>/, addpath of `paths`),
    # over the channel's bundles: alpha 1.0.0 runs its test_script, beta loads with alpha (its
    # dependency) installed first, and mexy ships a MEX file that no test loads: refused by name.
    build = tmp_path / "b"
    shutil.copytree(built["bundled"], build / "bundled")
    r = run_cli("test", "--build-dir", build, "--test-engine", "octave", "--keep-going", "--json",
                cwd=tmp_path, env=ENV, timeout=900)
    report = json.loads(r.stdout)
    status = {i["wheel"]: (i["status"], i.get("detail", "")) for i in report["items"]}
    assert r.returncode != 0, r.stdout + r.stderr
    for stem in ("alpha-1.0.0-any", "alpha-2.0.0-any", "beta-master-any", "gamma-1.4.4-any"):
        assert status[stem][0] == "done", (stem, status)
    assert "test_alpha.m" in status["alpha-1.0.0-any"][1], status
    mexy = status["mexy-master-linux_x86_64"]
    assert mexy[0] == "failed" and "mexy/toolbox/mexy_twice.mex" in mexy[1] and \
        "never loaded" in mexy[1], mexy
    assert (build / "bundled" / "mexy-master-linux_x86_64.mhl.test-failed").is_file()
    assert not list((build / "bundled").glob("alpha-*.test-failed"))


def test_the_clients_choice_over_the_produced_builds(built):
    entries = [json.loads(p.read_text()) for p in built["bundled"].glob("*.mhl.mip.json")]
    assert current_client.choose(entries, "alpha", "linux_x86_64")["version"] == "2.0.0"
    assert current_client.choose(entries, "ALPHA", "windows_x86_64")["architecture"] == "any"
    assert current_client.choose(entries, "mexy", "linux_x86_64")["architecture"] == "linux_x86_64"
    # Declared for macos_arm64 but not built here: a Mac user would get nothing from this index.
    assert current_client.choose(entries, "mexy", "macos_arm64") is None


def test_octave_installs_and_loads_every_package_as_the_client_does(built):
    octave = tools.require_tool("octave-cli")
    root = built["tmp"] / "mip-root"
    entries = [json.loads(p.read_text()) for p in built["bundled"].glob("*.mhl.mip.json")]
    installed = {}
    for name in ("alpha", "beta", "gamma", "mexy"):
        entry = current_client.choose(entries, name, "linux_x86_64")
        archive = built["bundled"] / f"{name}-{entry['version']}-{entry['architecture']}.mhl"
        installed[name] = current_client.install(archive, root, "owner", "chan")
    lines = []
    for name in ("alpha", "beta", "gamma", "mexy"):  # dependencies first (beta needs alpha)
        dest, meta = installed[name]
        for dep in meta["dependencies"]:
            assert dep in installed and list(installed).index(dep) < list(installed).index(name)
        lines += current_client.addpath_lines(dest, meta)
    lines += [
        "assert(alpha_add(2, 3) == 5); assert(alpha_mul(2, 3) == 6);",
        "assert(beta_twice(4) == 8);",
        "assert(isequal(gamma_sq([1 2 3]), [1 4 9]));",
        "assert(exist('gamma_demo') == 0);",  # extra_paths stay off the path
        "assert(mexy_twice(21) == 42); assert(exist('mexy_twice') == 3);",
        "disp('LOADED-ALL');",
    ]
    r = subprocess.run([octave, "--no-gui", "--norc", "--eval", "\n".join(lines)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "LOADED-ALL" in r.stdout, r.stdout + r.stderr
    assert (root / "packages/gh/owner/chan/mexy/mexy/toolbox/mexy_twice.mex").is_file()


BAD = {
    "version-differs-from-release": (
        "badpkg/1.0.0", {"mip.yaml": "name: badpkg\nversion: \"1.0.1\"\nbuilds:\n  - architectures: [any]\n"},
        "badpkg: badpkg/1.0.0/mip.yaml: field 'version' '1.0.1' differs from its release folder '1.0.0'"),
    "unknown-architecture": (
        "badpkg/master", {"mip.yaml": "name: badpkg\nbuilds:\n  - architectures: [solaris]\n"},
        "field 'builds[0].architectures[0]' 'solaris' is not an architecture"),
    "name-differs-from-folder": (
        "badpkg/master", {"mip.yaml": "name: other\nbuilds:\n  - architectures: [any]\n"},
        "field 'name' 'other' differs from its package folder 'badpkg'"),
    "two-source-kinds": (
        "badpkg/master", {"source.yaml": "source:\n  git: file:///x\n  zip: https://example.org/x.zip\n"},
        "badpkg: badpkg/master/source.yaml: field 'source' must name exactly one of git, zip or tarball"),
    "remove-dirs-escape": (
        "badpkg/master", {"source.yaml": "source:\n  git: file:///x\n  remove_dirs: [../../etc]\n"},
        "field 'source.remove_dirs[0]' '../../etc' must be a relative path inside the source"),
    "path-escapes": (
        "badpkg/master", {"mip.yaml": "name: badpkg\npaths:\n  - path: /etc\nbuilds:\n  - architectures: [any]\n"},
        "field 'paths[0].path' '/etc' must be a relative path inside the package"),
    "branch-option-injection": (
        "badpkg/master", {"source.yaml": "source:\n  git: file:///x\n  branch: --upload-pack=touch\n"},
        "field 'source.branch' '--upload-pack=touch' is not a branch or tag name"),
    "branch-on-zip": (
        "badpkg/master", {"source.yaml": "source:\n  zip: https://example.org/x.zip\n  branch: main\n"},
        "field 'source.branch' applies to git sources only"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_release_folders_are_refused_naming_file_and_field(run_cli, tmp_path, case):
    folder, files, expected = BAD[case]
    d = tmp_path / "packages" / folder
    write(d / "mip.yaml", "name: badpkg\nbuilds:\n  - architectures: [any]\n")
    write(d / "source.yaml", "source:\n  git: file:///nonexistent\n")
    for rel, text in files.items():
        (d / rel).write_text(text)
    r = run_cli("prepare", "--recipes", tmp_path / "packages", "--build-dir", tmp_path / "b",
                cwd=tmp_path, env=ENV)
    out = r.stdout + r.stderr
    assert r.returncode in (3, 7), out
    assert expected in out, out
    assert not list((tmp_path / "b").rglob("*.dir")), "a refused recipe left a .dir"


def test_a_git_subdirectory_that_is_missing_is_refused(run_cli, tmp_path, git_factory):
    repo = git_factory.create("up", {"a.m": "function a\nend\n"})
    d = tmp_path / "packages" / "sub" / "master"
    write(d / "mip.yaml", "name: sub\nbuilds:\n  - architectures: [any]\n")
    write(d / "source.yaml", f"source:\n  git: \"{repo}\"\n  subdirectory: src\n")
    r = run_cli("prepare", "--recipes", tmp_path / "packages", "--build-dir", tmp_path / "b",
                cwd=tmp_path, env=ENV)
    out = r.stdout + r.stderr
    assert r.returncode == 3, out
    assert "sub/master/source.yaml: field 'source.subdirectory' 'src' is not a directory" in out, out
    assert not list((tmp_path / "b").rglob("*.dir"))


def test_unchanged_releases_are_skipped_and_a_moved_upstream_rebuilt(run_cli, tmp_path, git_factory):
    repo = git_factory.create("up", {"pkgfn.m": "function pkgfn\nend\n"})
    d = tmp_path / "packages" / "pkg" / "main"
    write(d / "mip.yaml", "name: pkg\nbuilds:\n  - architectures: [any]\n")
    write(d / "source.yaml", f"source:\n  git: \"{repo}\"\n")  # no branch: the remote's HEAD
    args = ("--recipes", tmp_path / "packages", "--build-dir", tmp_path / "b", "--json")
    cli(run_cli, tmp_path, "publish", *args)
    r = cli(run_cli, tmp_path, "prepare", *args)
    (item,) = json.loads(r.stdout)["items"]
    assert item["status"] == "skipped", item
    git_factory.commit(repo, {"pkgfn.m": "function pkgfn\n  disp(1);\nend\n"})
    r = cli(run_cli, tmp_path, "prepare", *args)
    (item,) = json.loads(r.stdout)["items"]
    assert item["status"] == "done" and "'source' differs" in item["detail"], item


def hostile_tarball(kind):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        def add(name, data=b"x\n", type_=tarfile.REGTYPE, link=""):
            info = tarfile.TarInfo(name)
            info.size, info.type, info.linkname, info.mtime = len(data), type_, link, 1600000000
            tf.addfile(info, io.BytesIO(data) if type_ == tarfile.REGTYPE else None)
        add("pkg-1.0/ok.m")
        if kind == "dotdot":
            add("pkg-1.0/../../escaped.m")
        elif kind == "absolute":
            add("/tmp/mip-h15-absolute.m")
        elif kind == "symlink-out":
            add("pkg-1.0/link", type_=tarfile.SYMTYPE, link="../../../etc")
        elif kind == "fifo":
            info = tarfile.TarInfo("pkg-1.0/fifo")
            info.type = tarfile.FIFOTYPE
            tf.addfile(info)
    return buf.getvalue()


@pytest.mark.parametrize("kind,why", [
    ("dotdot", "'..' path component"), ("absolute", "absolute path"),
    ("symlink-out", "it points outside the source"), ("fifo", "only files, directories and symlinks")])
def test_hostile_tarballs_are_refused_before_anything_escapes(run_cli, tmp_path, http_server, kind, why):
    root, base_url = http_server
    (root / "pkg.tar.gz").write_bytes(hostile_tarball(kind))
    d = tmp_path / "packages" / "pkg" / "1.0"
    write(d / "mip.yaml", "name: pkg\nbuilds:\n  - architectures: [any]\n")
    write(d / "source.yaml", f"source:\n  tarball: \"{base_url}/pkg.tar.gz\"\n")
    r = run_cli("prepare", "--recipes", tmp_path / "packages", "--build-dir", tmp_path / "b",
                cwd=tmp_path, env=ENV)
    out = r.stdout + r.stderr
    assert r.returncode == 4, out
    assert why in out and "pkg tarball" in out, out
    assert not list((tmp_path / "b").rglob("*.dir"))
    assert not (tmp_path / "escaped.m").exists() and not list(tmp_path.rglob("escaped.m"))


def test_python_bundles_the_current_format_with_format_mip(built, tmp_path):
    import mip_native

    report = mip_native.bundle(build_dir=built["build"], output_dir=tmp_path / "py",
                               format="mip", package=["gamma"])
    assert [i.status.name for i in report.items] == ["done"], report.to_json()
    out = tmp_path / "py" / "gamma-1.4.4-any.mhl"
    assert out.read_bytes() == (built["bundled"] / "gamma-1.4.4-any.mhl").read_bytes()
    assert mip_native.RunOptions(format="mip").format == "mip"
    with pytest.raises(mip_native.SpecError, match="'conda' is not a format"):
        mip_native.bundle(build_dir=built["build"], output_dir=tmp_path / "x", format="conda")
    (tmp_path / "s").mkdir()
    with pytest.raises(mip_native.SpecError, match="'no-slash' must be OWNER/NAME"):
        mip_native.index(build_dir=built["build"], store=str(tmp_path / "s"), format="mip",
                         channel="no-slash", base_url="https://x.example.org/c")


def test_upload_publishes_current_archives_into_a_store_of_their_own(built, tmp_path, run_cli):
    store = tmp_path / "store"
    base = "https://owner.example.org/chan"
    args = ("--build-dir", built["build"], "--store", store, "--base-url", base, "--json")
    r = cli(run_cli, tmp_path, "upload", "--format", "mip", *args)
    items = json.loads(r.stdout)["items"]
    assert sorted(i["wheel"] for i in items if i["status"] == "done") == sorted(
        n[:-4] for n in EXPECTED), items
    digest = hashlib.sha256((built["bundled"] / "gamma-1.4.4-any.mhl").read_bytes()).hexdigest()
    cas = store / "sha256" / digest / "gamma-1.4.4-any.mhl"
    assert cas.read_bytes() == (built["bundled"] / "gamma-1.4.4-any.mhl").read_bytes()
    sidecar = json.loads((store / "gamma-1.4.4-any.mhl.mip.json").read_text())
    assert sidecar["mhl_url"] == f"{base}/sha256/{digest}/gamma-1.4.4-any.mhl"
    current_client.check_mip_json(sidecar)
    assert json.loads((store / "mip-store-format.json").read_text()) == {"format": "mip"}
    # The channel index, ready for https://owner.github.io/mip-chan/.
    gh = tmp_path / "gh-pages"
    r = cli(run_cli, tmp_path, "index", "--format", "mip", "--channel", "owner/chan", "--store",
            store, "--base-url", base, "--output-dir", gh, "--source-date-epoch", "1700000000",
            "--build-dir", built["build"], "--json")
    index = json.loads((gh / "index.json").read_text())
    # mexy declares macos_arm64 too, which only a Mac builds: held, so Mac users keep nothing
    # rather than a Linux-only release (the client never falls back to an older version).
    assert index["github_repo"] == "owner/mip-chan" and index["total_packages"] == 4, index
    assert "mexy master: held: waiting for macos_arm64" in json.loads(r.stdout)["warnings"]
    assert not any("declared_architectures" in e for e in index["packages"])
    r = cli(run_cli, tmp_path, "index", "--format", "mip", "--channel", "owner/chan", "--store",
            store, "--base-url", base, "--output-dir", gh, "--source-date-epoch", "1700000000",
            "--build-dir", built["build"], "--json", "--allow-partial")
    index = json.loads((gh / "index.json").read_text())
    assert index["total_packages"] == 5, index
    assert index["last_updated"] == "2023-11-14T22:13:20Z"
    order = [(e["name"].lower(), current_client.version_key(e["version"]), e["architecture"])
             for e in index["packages"]]
    assert order == sorted(order), order
    for e in index["packages"]:
        current_client.check_mip_json(e)
        assert e["mhl_url"].startswith("https://") and e["mip_json_url"] == \
            f"{base}/{e['name']}-{e['version']}-{e['architecture']}.mhl.mip.json"
    assert current_client.choose(index["packages"], "alpha", "macos_arm64")["version"] == "2.0.0"
    assert (gh / "packages.html").is_file()
    r = run_cli("index", "--format", "mip", "--store", store, "--base-url", base,
                "--output-dir", tmp_path / "nochan", "--build-dir", built["build"],
                cwd=tmp_path, env=ENV)
    assert r.returncode == 3 and "needs --channel OWNER/NAME" in r.stderr, r.stderr
    # Unchanged: every package skipped.
    r = cli(run_cli, tmp_path, "upload", "--format", "mip", *args)
    assert {i["status"] for i in json.loads(r.stdout)["items"]} == {"skipped"}
    # The store holds the current format: an R2 upload is refused, naming the store and format.
    r = run_cli("upload", "--input-dir", built["r2"], *args, cwd=tmp_path, env=ENV)
    assert r.returncode == 3 and "holds the mip format" in r.stderr, r.stdout + r.stderr
    assert not list(store.glob("*-none-*")), "an R2 bundle reached the current store"
    # And an R2 store refuses current archives.
    r2store = tmp_path / "r2store"
    r = run_cli("upload", "--build-dir", built["build"], "--input-dir", built["r2"], "--store",
                r2store, "--base-url", base, cwd=tmp_path, env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run_cli("upload", "--format", "mip", "--build-dir", built["build"], "--store", r2store,
                "--base-url", base, cwd=tmp_path, env=ENV)
    assert r.returncode == 3 and "holds R2-era packages" in r.stderr, r.stdout + r.stderr
    assert not list(r2store.glob("*-any.mhl.mip.json")) or all(
        "-none-" in p.name for p in r2store.glob("*.mhl.mip.json"))


def test_an_upload_whose_every_bundle_fails_its_check_leaves_the_store_untouched(built, tmp_path, run_cli):
    """Bundles are checked while the first PUTs go out; a store is only marked as holding the
    current format (`mip-store-format.json`) once some bundle will go into it."""
    bundled = tmp_path / "bundled"
    shutil.copytree(built["bundled"], bundled)
    for mhl in bundled.glob("*.mhl"):
        data = bytearray(mhl.read_bytes())
        data[len(data) // 2] ^= 0xFF
        mhl.write_bytes(bytes(data))
    store = tmp_path / "store"
    store.mkdir()
    r = run_cli("upload", "--format", "mip", "--input-dir", bundled, "--store", store, "--base-url",
                "https://owner.example.org/chan", "--keep-going", cwd=tmp_path, env=ENV)
    assert r.returncode != 0 and "mhl_sha256" in r.stdout + r.stderr, r.stdout + r.stderr
    assert [p for p in store.rglob("*") if ".mip-tmp" not in p.parts] == []


def test_current_publish_skips_unchanged_releases_and_rebuilds_a_moved_upstream(
        run_cli, tmp_path, git_factory):
    repo = git_factory.create("up", {"pkgfn.m": "function pkgfn\nend\n"})
    d = tmp_path / "packages" / "pkg" / "main"
    write(d / "mip.yaml", "name: pkg\nbuilds:\n  - architectures: [any]\n")
    write(d / "source.yaml", f"source:\n  git: \"{repo}\"\n")
    args = ("--recipes", tmp_path / "packages", "--build-dir", tmp_path / "b", "--format", "mip",
            "--channel", "o/c", "--base-url", "https://o.example.org/c", "--json")
    r = cli(run_cli, tmp_path, "publish", *args)
    first = json.loads(r.stdout)
    assert first["stages"][0]["items"][0]["status"] == "done", first
    tested = [s for s in first["stages"] if s["stage"] == "test"][0]["items"]
    assert [(i["package"], i["status"]) for i in tested] == [("pkg", "done")], tested
    store_sidecar = tmp_path / "b" / "store" / "pkg-main-any.mhl.mip.json"
    before = json.loads(store_sidecar.read_text())
    r = cli(run_cli, tmp_path, "publish", *args)
    (item,) = json.loads(r.stdout)["stages"][0]["items"]
    assert item["status"] == "skipped", item
    assert json.loads(store_sidecar.read_text()) == before
    git_factory.commit(repo, {"pkgfn.m": "function pkgfn\n  disp(1);\nend\n"})
    r = cli(run_cli, tmp_path, "publish", *args)
    (item,) = json.loads(r.stdout)["stages"][0]["items"]
    assert item["status"] == "done" and "'source_hash' differs" in item["detail"], item
    after = json.loads(store_sidecar.read_text())
    assert after["commit_hash"] != before["commit_hash"] and after["timestamp"] > before["timestamp"]
    index = json.loads((tmp_path / "b" / "gh-pages" / "index.json").read_text())
    assert [e["commit_hash"] for e in index["packages"]] == [after["commit_hash"]]


def test_a_channel_tree_publishes_into_moto_and_octave_loads_it_from_the_index(
        tmp_path, mip_build_exe):
    # Every shape of the channel fixture, published in one `publish --format mip` into moto
    # (through the signature-checking proxy), with channel.yaml beside packages/ as mip-core keeps
    # it. Then the client's way: read index.json, choose each package's build, download it from
    # the store by its mhl_url, check the digest, install, addpath dependencies first, call.
    tools.require_tool("octave-cli")
    www = tmp_path / "www"
    www.mkdir()
    base = "https://owner.example.org/chan"
    with servers.StaticHttpServer(www) as srv, s3.S3Stack(tmp_path / "s3") as stack:
        channel = Channel(tmp_path, www, srv.base_url)
        r = channel.recipes
        # here every package is called by its test_script, so publish tests and uploads all five
        write(r / "mexy/master/mip.yaml", """
            name: mexy
            version:
            paths:
              - path: toolbox
            builds:
              - architectures: [linux_x86_64]
                compile_script: compile.m
                test_script: test_mexy.m
        """)
        write(r / "mexy/master/test_mexy.m", "assert(mexy_twice(21) == 42);\n")
        write(r.parent / "channel.yaml", 'description: "a test channel"\nmip_compatibility_floor: 1.10\n')
        env = s3.clean_env(dict(ENV, AWS_ACCESS_KEY_ID=s3.ACCESS_KEY, AWS_SECRET_ACCESS_KEY=s3.SECRET_KEY))
        publish = [mip_build_exe, "publish", "--format", "mip", "--channel", "owner/chan", "--recipes", r,
                   "--build-dir", tmp_path / "build", "--store", "s3://test/chan", "--endpoint",
                   stack.endpoint, "--allow-insecure-loopback", "--base-url", base, "--engine", "octave",
                   "-j", "2", "--json"]
        # mexy's MEX file was built by Octave: S3 (what MATLAB users install from) refuses it by
        # name unless asked; the sidecar of a current archive has no build_info, the archive tells
        pub = subprocess.run(publish, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert pub.returncode != 0, pub.stdout + pub.stderr
        upload = [s for s in json.loads(pub.stdout)["stages"] if s["stage"] == "upload"][0]["items"]
        refused = [i for i in upload if i["status"] == "failed"]
        assert [i["package"] for i in refused] == ["mexy"], upload
        assert "holds mexy/toolbox/mexy_twice.mex, a MEX file of GNU Octave" in refused[0]["detail"] and \
            "--allow-octave-builds" in refused[0]["detail"], refused
        assert not (tmp_path / "build" / "gh-pages" / "index.json").exists()
        pub = subprocess.run(publish + ["--allow-octave-builds"], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=900)
        assert pub.returncode == 0, pub.stdout + pub.stderr
        # the same packages in the R2 format: there the sidecar's build_info names Octave
        r2 = [mip_build_exe, "--build-dir", tmp_path / "build", "--json"]
        bundled = subprocess.run([*r2, "bundle", "--output-dir", tmp_path / "r2"], env=env, capture_output=True,
                                 text=True, timeout=300)
        assert bundled.returncode == 0, bundled.stdout + bundled.stderr
        up = subprocess.run([*r2, "upload", "--input-dir", tmp_path / "r2", "--store", "s3://test/r2", "--endpoint",
                             stack.endpoint, "--allow-insecure-loopback", "--base-url", base],
                            env=env, capture_output=True, text=True, timeout=300)
        refused = [i for i in json.loads(up.stdout)["items"] if i["status"] == "failed"]
        assert up.returncode != 0 and [i["package"] for i in refused] == ["mexy"], up.stdout + up.stderr
        assert "was compiled with GNU Octave, whose MEX files do not load in MATLAB" in refused[0]["detail"]
        assert s3.SECRET_KEY not in pub.stdout + pub.stderr
        report = json.loads(pub.stdout)
        tested = [s for s in report["stages"] if s["stage"] == "test"][0]["items"]
        assert sorted(i["status"] for i in tested) == ["done"] * 5, tested
        index = json.loads((tmp_path / "build" / "gh-pages" / "index.json").read_text())
        assert index["github_repo"] == "owner/mip-chan" and index["total_packages"] == 5, index
        # unquoted, YAML would make 1.10 the float 1.1 in Python; libmip keeps the text
        assert index["mip_compatibility_floor"] == "1.10"
        order = [(e["name"].lower(), current_client.version_key(e["version"]), e["architecture"])
                 for e in index["packages"]]
        assert order == sorted(order), order
        # the store as the client's web server would serve it, fetched by an independent client
        mirror = tmp_path / "mirror"
        stack.aws("s3", "cp", "--recursive", "--quiet", f"s3://{stack.bucket}/chan", mirror)
        root = tmp_path / "mip-root"
        installed = {}
        for name in ("alpha", "beta", "gamma", "mexy"):
            entry = current_client.choose(index["packages"], name, "linux_x86_64")
            current_client.check_mip_json(entry)
            assert entry["mhl_url"].startswith(base + "/sha256/"), entry
            data = (mirror / entry["mhl_url"][len(base) + 1:]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["mhl_sha256"] and len(data) == entry["mhl_size"]
            sidecar = json.loads((mirror / entry["mip_json_url"][len(base) + 1:]).read_text())
            assert sidecar.pop("declared_architectures") and \
                sidecar == {k: v for k, v in entry.items() if k != "mip_json_url"}, (sidecar, entry)
            archive = tmp_path / "dl" / entry["mhl_url"].rsplit("/", 1)[1]
            archive.parent.mkdir(exist_ok=True)
            archive.write_bytes(data)
            installed[name] = current_client.install(archive, root, "owner", "chan")
    assert current_client.choose(index["packages"], "alpha", "linux_x86_64")["version"] == "2.0.0"
    lines = []
    for name, (dest, meta) in installed.items():  # dependencies first (beta needs alpha)
        assert all(list(installed).index(d) < list(installed).index(name) for d in meta["dependencies"])
        lines += current_client.addpath_lines(dest, meta)
    lines += ["assert(alpha_add(2, 3) == 5); assert(alpha_mul(2, 3) == 6);",
              "assert(beta_twice(4) == 8);",
              "assert(isequal(gamma_sq([1 2 3]), [1 4 9]));",
              "assert(mexy_twice(21) == 42); assert(exist('mexy_twice') == 3);",
              "disp('LOADED-ALL');"]
    octave = tools.require_tool("octave-cli")
    run = subprocess.run([octave, "--no-gui", "--norc", "--eval", "\n".join(lines)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "LOADED-ALL" in run.stdout, run.stdout + run.stderr


@pytest.mark.parametrize("text,problem", [
    ("mip_compatibility_floor: main\n", "field 'mip_compatibility_floor' 'main' is not a numeric version"),
    ("mip_compatibility_floor: [1, 2]\n", "field 'mip_compatibility_floor' must be a string"),
    ("mip_compatibility_floor: [unclosed\n", "is not valid YAML"),
    ("- a list\n", "must be a mapping"),
])
def test_a_bad_channel_yaml_stops_publish_before_anything_is_written(run_cli, tmp_path, git_factory,
                                                                     text, problem):
    repo = git_factory.create("up", {"pkgfn.m": "function pkgfn\nend\n"})
    d = tmp_path / "packages" / "pkg" / "main"
    write(d / "mip.yaml", "name: pkg\nbuilds:\n  - architectures: [any]\n")
    write(d / "source.yaml", f"source:\n  git: \"{repo}\"\n")
    (tmp_path / "channel.yaml").write_text(text)
    r = run_cli("publish", "--recipes", tmp_path / "packages", "--build-dir", tmp_path / "b", "--format", "mip",
                "--channel", "o/c", "--base-url", "https://o.example.org/c", cwd=tmp_path, env=ENV)
    assert r.returncode == 3, r.stdout + r.stderr
    assert str(tmp_path / "channel.yaml") in r.stderr and problem in r.stderr, r.stderr
    assert not (tmp_path / "b" / "prepared").exists() and not (tmp_path / "b" / "store").exists()


def test_the_compatibility_floor_option_of_index(run_cli, tmp_path, git_factory):
    repo = git_factory.create("up", {"pkgfn.m": "function pkgfn\nend\n"})
    d = tmp_path / "packages" / "pkg" / "main"
    write(d / "mip.yaml", "name: pkg\nbuilds:\n  - architectures: [any]\n")
    write(d / "source.yaml", f"source:\n  git: \"{repo}\"\n")
    (tmp_path / "packages" / "channel.yaml").write_text("mip_compatibility_floor: '2.0'\n")
    common = ("--build-dir", tmp_path / "b", "--base-url", "https://o.example.org/c")
    cli(run_cli, tmp_path, "publish", "--recipes", tmp_path / "packages", "--format", "mip", "--channel",
        "o/c", "--test", "skip", *common)
    gh = tmp_path / "b" / "gh-pages" / "index.json"
    assert json.loads(gh.read_text())["mip_compatibility_floor"] == "2.0"  # <recipes>/channel.yaml
    # --compatibility-floor wins over channel.yaml, and `index` takes it alone
    cli(run_cli, tmp_path, "index", "--format", "mip", "--channel", "o/c", "--compatibility-floor", "3.1.4",
        *common)
    assert json.loads(gh.read_text())["mip_compatibility_floor"] == "3.1.4"
    cli(run_cli, tmp_path, "index", "--format", "mip", "--channel", "o/c", *common)
    assert "mip_compatibility_floor" not in json.loads(gh.read_text())
    before = gh.read_bytes()
    r = run_cli("index", "--format", "mip", "--channel", "o/c", "--compatibility-floor", "1.0-rc1", *common,
                cwd=tmp_path, env=ENV)
    assert r.returncode == 3 and "'1.0-rc1' is not a numeric version" in r.stderr, r.stderr
    assert gh.read_bytes() == before  # the index written before stays
    r = run_cli("index", "--compatibility-floor", "1.0", *common, cwd=tmp_path, env=ENV)
    assert r.returncode == 3 and "the R2 index has none" in r.stderr, r.stderr
    import mip_native  # the same through the bindings

    mip_native.index(build_dir=tmp_path / "b", format="mip", channel="o/c",
                     base_url="https://o.example.org/c", compatibility_floor="4.2")
    assert json.loads(gh.read_text())["mip_compatibility_floor"] == "4.2"
    assert mip_native.IndexOptions(compatibility_floor="1.0").compatibility_floor == "1.0"
    with pytest.raises(mip_native.SpecError, match="'v1' is not a numeric version"):
        mip_native.index(build_dir=tmp_path / "b", format="mip", channel="o/c",
                         base_url="https://o.example.org/c", compatibility_floor="v1")


def test_a_git_source_with_submodules_true_brings_them_in(run_cli, tmp_path, git_factory):
    # `submodules: true` (a source kind of spec §1 no mip-core recipe uses yet): the submodule's
    # files land in the archive at the pinned submodule commit; without it the folder stays empty.
    lib = git_factory.create("lib", {"libfn.m": "function r = libfn\n  r = 7;\nend\n"})
    sup = git_factory.create("super", {"supfn.m": "function r = supfn\n  r = libfn() + 1;\nend\n"})
    servers.git(sup, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "ext/lib")
    servers.git(sup, "commit", "-q", "-m", "add lib", date=git_factory.tick())
    for release, flag in (("main", "  submodules: true\n"), ("plain", "")):
        d = tmp_path / "packages" / "sup" / release
        write(d / "mip.yaml", "name: sup\npaths:\n  - path: \".\"\n  - path: ext/lib\n"
                              "builds:\n  - architectures: [any]\n")
        write(d / "source.yaml", f"source:\n  git: \"{sup}\"\n{flag}")
    cli(run_cli, tmp_path, "prepare", "--recipes", tmp_path / "packages", "--build-dir", tmp_path / "b")
    cli(run_cli, tmp_path, "bundle", "--build-dir", tmp_path / "b", "--format", "mip")
    with zipfile.ZipFile(tmp_path / "b" / "bundled" / "sup-main-any.mhl") as zf:
        names = set(zf.namelist())
    assert {"sup/supfn.m", "sup/ext/lib/libfn.m"} <= names, names
    assert not any(".git" in n.split("/") for n in names), names
    with zipfile.ZipFile(tmp_path / "b" / "bundled" / "sup-plain-any.mhl") as zf:
        assert "sup/ext/lib/libfn.m" not in zf.namelist()


def test_names_that_give_one_archive_name_are_refused_before_bundling(run_cli, tmp_path, git_factory):
    # `foo-bar` and `foo_bar` are both `foo_bar-1.0-any.mhl` in the current format: bundling both
    # left only the last one's archive (bundle said "3 done"). Now neither is bundled, by name;
    # `Foo_Bar` differs on disk and is refused by upload's name rule (names compare lower-cased
    # with '-' as '_') before anything is uploaded.
    repo = git_factory.create("up", {"f.m": "function f\nend\n"})
    for name in ("foo-bar", "foo_bar", "Foo_Bar"):
        d = tmp_path / "packages" / name / "1.0"
        write(d / "mip.yaml", f"name: {name}\nversion: \"1.0\"\nbuilds:\n  - architectures: [any]\n")
        write(d / "source.yaml", f"source:\n  git: \"{repo}\"\n")
    common = ("--build-dir", tmp_path / "b", "--format", "mip", "--json")
    cli(run_cli, tmp_path, "prepare", "--recipes", tmp_path / "packages", *common)
    r = run_cli("bundle", "--keep-going", *common, cwd=tmp_path, env=ENV)
    assert r.returncode != 0, r.stdout + r.stderr
    bundled = {i["package"]: i for i in json.loads(r.stdout)["items"]}
    assert bundled["Foo_Bar"]["status"] == "done"
    for name, other in (("foo-bar", "foo_bar"), ("foo_bar", "foo-bar")):
        assert bundled[name]["status"] == "failed", bundled
        assert f"{name}: its archive file name would equal that of '{other}'" in bundled[name]["detail"]
    assert sorted(p.name for p in (tmp_path / "b" / "bundled").glob("*.mhl")) == ["Foo_Bar-1.0-any.mhl"]
    # publish stops at the bundle stage: nothing reaches the store
    r = run_cli("publish", "--recipes", tmp_path / "packages", "--channel", "o/c", "--base-url",
                "https://o.example.org/c", "--test", "skip", *common, cwd=tmp_path, env=ENV)
    assert r.returncode != 0 and "would equal that of" in r.stdout + r.stderr, r.stdout + r.stderr
    assert not list((tmp_path / "b").glob("store/**/*.mhl"))
