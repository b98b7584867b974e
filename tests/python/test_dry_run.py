"""Issue 13, item 12: `--dry-run` changes nothing and fetches nothing but metadata. A local HTTP
server counts every request: it serves a download_zip archive and a git repository over git's
"dumb" HTTP protocol (so a clone shows up as requests for objects). A dry run of prepare and of
publish makes no request to it, creates no build directory, store or temporary file left over,
and still skips what is published; the real run then fetches both (so the test can fail)."""
import functools
import hashlib
import http.server
import io
import os
import pathlib
import sys
import zipfile

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import servers  # noqa: E402

EPOCH = "1700000000"
RECIPE = """name: {name}
version: "1.0"
description: dry-run test package
license: MIT
homepage: ""
repository: ""
dependencies: []
builds:
  - build_type: standard
prepare:
{source}
"""


class CountingServer(servers.BackgroundHttpServer):
    """A static HTTP server on 127.0.0.1 that records the path of every request."""

    def __init__(self, root):
        self.requests = []
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.requests.append(self.path)
                super().do_GET()

            def do_HEAD(self):
                outer.requests.append("HEAD " + self.path)
                super().do_HEAD()

        self._serve(http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(root))))


@pytest.fixture
def upstream(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("zpkg/zpkg_main.m", "function zpkg_main\nend\n")
    (www / "zpkg.zip").write_bytes(buf.getvalue())
    repo = servers.GitFactory(tmp_path / "git").create(
        "gpkg", {"gpkg/gpkg_main.m": "function gpkg_main\nend\n"})
    servers.git(tmp_path, "clone", "-q", "--bare", str(repo), str(www / "gpkg.git"))
    servers.git(www / "gpkg.git", "update-server-info")
    with CountingServer(www) as srv:
        recipes = tmp_path / "recipes"
        sources = {
            "zpkg": f'  download_zip:\n    url: "{srv.base_url}/zpkg.zip"\n'
                    f'    sha256: "{hashlib.sha256(buf.getvalue()).hexdigest()}"\n'
                    f'    destination: zpkg',
            "gpkg": f'  clone_git:\n    url: "{srv.base_url}/gpkg.git"\n    destination: gpkg',
            "ppkg": "  path:\n    path: src\n    destination: ppkg",
        }
        for name, source in sources.items():
            (recipes / name).mkdir(parents=True)
            (recipes / name / "prepare.yaml").write_text(RECIPE.format(name=name, source=source))
        (recipes / "ppkg" / "src").mkdir()
        (recipes / "ppkg" / "src" / "ppkg_main.m").write_text("function ppkg_main\nend\n")
        yield recipes, srv


def snapshot(root):
    root = pathlib.Path(root)
    if not root.exists():
        return None
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


def test_a_dry_run_fetches_and_writes_nothing(tmp_path, run_cli, upstream):
    recipes, srv = upstream
    build, store, tmp = tmp_path / "build", tmp_path / "store", tmp_path / "tmpdir"
    tmp.mkdir()
    env = {"SOURCE_DATE_EPOCH": EPOCH, "TMPDIR": str(tmp)}
    common = ["--recipes", recipes, "--build-dir", build, "--store", store]

    for verb in ("prepare", "publish"):
        r = run_cli(verb, "--dry-run", *common, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert srv.requests == [], (verb, srv.requests)
        out = r.stdout
        assert "planned zpkg" in out and "planned gpkg" in out and "planned ppkg" in out, out
        assert "not fetched in a dry run" in out, out
        assert not build.exists() and not store.exists(), verb
        assert list(tmp.iterdir()) == [], verb  # its private work area is gone too

    # The real run fetches the archive and clones the repository: the counter sees them.
    r = run_cli("publish", "--test", "skip", *common, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "/zpkg.zip" in srv.requests
    assert any("/gpkg.git/objects/" in p for p in srv.requests), srv.requests

    # Against a published store: still nothing fetched or written, and the path-source package
    # (pinned without fetching) is known to be up to date.
    srv.requests.clear()
    before_build, before_store = snapshot(build), snapshot(store)
    for verb in ("prepare", "publish"):
        r = run_cli(verb, "--dry-run", *common, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "skipped ppkg-1.0-any-none-any — published metadata matches" in r.stdout, r.stdout
        assert "planned zpkg" in r.stdout and "planned gpkg" in r.stdout, r.stdout
        assert srv.requests == [], (verb, srv.requests)
        assert snapshot(build) == before_build and snapshot(store) == before_store, verb
        assert list(tmp.iterdir()) == [], verb
