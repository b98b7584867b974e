"""Plain http:// sources (issue 13, the http:// rule): real recipes download over http://
(rktoolbox), so it stays allowed — with a warning, the bytes' sha256 in the lock, a changed body
refused by --from-lock naming the URL and both hashes — and --require-https refuses it, before
anything is fetched. A real HTTP server on 127.0.0.1 serves a real zip."""
import hashlib
import io
import pathlib
import sys
import zipfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import pkgtrees  # noqa: E402
import servers  # noqa: E402

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}


def zip_bytes(body):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("httppkg/fn.m", (2020, 1, 1, 0, 0, 0)), body)
    return buf.getvalue()


def write_recipe(recipes, url, name="httppkg"):
    d = recipes / name
    d.mkdir(parents=True)
    (d / "prepare.yaml").write_text(
        f"name: {name}\nversion: \"1.0.0\"\nlicense: MIT\n"
        f"prepare:\n  download_zip: {{url: \"{url}\"}}\n")
    return d


def prepare(run_cli, tmp_path, *args, build="build"):
    r = run_cli("prepare", "--build-dir", tmp_path / build, "-j", "1", *args, env=EPOCH,
                cwd=tmp_path, timeout=300)
    return r, r.stdout + r.stderr


class Upstream:
    """The served zip; `body` can change between runs (the upstream replaced its file)."""

    def __init__(self):
        self.body = zip_bytes("function fn\nend\n")
        self.srv = servers.GeneratedHttpServer({"/src.zip": lambda: (len(self.body), [self.body])})

    def __enter__(self):
        self.srv.__enter__()
        return self

    def __exit__(self, *exc):
        self.srv.__exit__(*exc)


def test_http_is_fetched_with_a_warning_and_pinned_by_the_lock(run_cli, tmp_path):
    with Upstream() as up:
        url = up.srv.base_url + "/src.zip"
        recipe = write_recipe(tmp_path / "recipes", url)
        r, out = prepare(run_cli, tmp_path, "--recipes", tmp_path / "recipes", "--force")
        assert r.returncode == 0, out
        assert f"warning: httppkg: downloading over plain http: {url}" in out, out
        first = hashlib.sha256(up.body).hexdigest()
        work = tmp_path / "build/prepared/httppkg-1.0.0-any-none-any.work"
        lock = work / "mip.lock.yaml"
        assert first in lock.read_text(), lock.read_text()
        dir_ = tmp_path / "build/prepared/httppkg-1.0.0-any-none-any.dir"
        assert (dir_ / "httppkg" / "fn.m").read_text() == "function fn\nend\n"

        # The same bytes: --from-lock prepares it again.
        r, out = prepare(run_cli, tmp_path, "--from-lock", lock, recipe, build="again")
        assert r.returncode == 0, out

        # Someone on the path (or upstream) changed the body: refused, naming URL and hashes.
        up.body = zip_bytes("function fn\ndisp('pwned')\nend\n")
        second = hashlib.sha256(up.body).hexdigest()
        r, out = prepare(run_cli, tmp_path, "--from-lock", lock, recipe, build="changed")
    assert r.returncode == 3, out
    assert f"sources[0].sha256: the bytes of {url} changed: lock {first}, downloaded {second}" \
        in out, out
    assert not list((tmp_path / "changed").rglob("*.dir")), "a changed body was prepared"


def test_require_https_refuses_before_fetching(run_cli, tmp_path):
    with Upstream() as up:
        url = up.srv.base_url + "/src.zip"
        write_recipe(tmp_path / "recipes", url)
        r, out = prepare(run_cli, tmp_path, "--recipes", tmp_path / "recipes", "--force",
                         "--require-https")
        assert up.srv.sent == {}, "the http:// URL was fetched"
    assert r.returncode == 3, out
    assert f"httppkg: prepare.yaml: field 'prepare.download_zip.url' '{url}' is plain http://, " \
           "refused under --require-https" in out, out
    assert not list((tmp_path / "build").rglob("*.dir"))


def test_require_https_refuses_an_http_mirror(run_cli, tmp_path):
    with Upstream() as up:
        write_recipe(tmp_path / "recipes", "https://upstream.invalid/src.zip")
        mirror = f"https://upstream.invalid/={up.srv.base_url}/"
        r, out = prepare(run_cli, tmp_path, "--recipes", tmp_path / "recipes", "--force",
                         "--source-mirror", mirror)
        assert r.returncode == 0, out
        assert "downloading over plain http" in out and "(from --source-mirror)" in out, out
        r, out = prepare(run_cli, tmp_path, "--recipes", tmp_path / "recipes", "--force",
                         "--source-mirror", mirror, "--require-https", build="strict")
    assert r.returncode == 3, out
    assert f"'{up.srv.base_url}/src.zip' (from --source-mirror) is plain http://, refused under " \
           "--require-https" in out, out


def test_require_https_reaches_the_python_helpers(run_cli, tmp_path):
    with Upstream() as up:
        url = up.srv.base_url + "/src.zip"
        pkgtrees.write_package_py(tmp_path / "recipes", "pyrec", f"""
download_and_extract_zip("{url}", mhl_dir)
create_load_and_unload_scripts(mhl_dir, dirs_to_add_to_path=["httppkg"])
self.exposed_symbols = ["fn"]
""", imports="from mip_build_helpers import download_and_extract_zip, create_load_and_unload_scripts")
        r, out = prepare(run_cli, tmp_path, "--recipes", tmp_path / "recipes", "--force")
        assert r.returncode == 0, out
        assert f"pyrec: package.py: downloaded over plain http: {url} (sha256 " in out, out
        r, out = prepare(run_cli, tmp_path, "--recipes", tmp_path / "recipes", "--force",
                         "--require-https", build="strict")
    assert r.returncode == 1, out
    assert f"{url}: plain http:// is refused under --require-https" in out, out
