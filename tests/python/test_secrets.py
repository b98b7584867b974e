"""Secrets never leak, TLS is verified.

* Every verb runs with `-vv` (debug logging) against an S3 store, with known fake credentials in
  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN and a password in a recipe URL's
  userinfo; failing runs too (rejected secret, unreachable endpoint, a 404 download). None of the
  secrets, nor an `Authorization`/signature header, may appear in stdout, stderr, any file under
  the build directory, or any object in the bucket.
* A local HTTPS server with a self-signed certificate (made with `openssl req -x509`) is refused
  by a `download_zip` recipe and by the S3 store, and accepted once `--ca-file` names it."""
import os
import pathlib
import ssl
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import faults  # noqa: E402
import pkgtrees  # noqa: E402
import s3  # noqa: E402
import servers  # noqa: E402
from sigv4_proxy import SigV4Proxy  # noqa: E402

pytestmark = pytest.mark.slow

FAKE_KEY_ID = "AKIAMIPFAKEKEY7Q3ZX9"
FAKE_SECRET = "mipFakeSecret/9t+Qz0wXhV2pLk7Rs4Ny8Ue1Ga6Jc3Bd5Fo"
FAKE_TOKEN = "mipFakeSessionToken//IQoJb3JpZ2luX2VjEKr+AAAAA==zz"
URL_USER = "ciuser"
URL_PASSWORD = "mipUrlPassw0rd-4Kq9"
SECRETS = [FAKE_KEY_ID, FAKE_SECRET, FAKE_TOKEN, URL_PASSWORD]
FORBIDDEN = SECRETS + ["Signature=", "Credential=", "x-amz-security-token:", "Authorization:"]
BASE = "https://example.invalid/sec/packages"


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        d / "key.pem", "-out", d / "cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / "cert.pem", d / "key.pem")
    return d / "cert.pem", ctx


@pytest.fixture(scope="module")
def fake_stack(tmp_path_factory):
    """moto + bucket + verifying proxy that knows the fake key (and a TLS twin of the proxy)."""
    work = tmp_path_factory.mktemp("secrets-s3")
    moto = s3.MotoServer(work).start()
    try:
        s3.run_aws(moto.endpoint, "s3", "mb", "s3://test")
        proxy = SigV4Proxy(moto.endpoint, {FAKE_KEY_ID: FAKE_SECRET}, str(work / "proxy.log")).start()
        yield moto, proxy
        proxy.stop()
    finally:
        moto.stop()


def run(exe, args, env_extra=None, cwd=None, timeout=300):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("MIP_STORE", "MIP_BASE_URL")}
    env.update({"AWS_ACCESS_KEY_ID": FAKE_KEY_ID, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
                "AWS_SESSION_TOKEN": FAKE_TOKEN, "SOURCE_DATE_EPOCH": "1700000000", "NO_PROXY": "*"})
    env.update(env_extra or {})
    return subprocess.run([exe, "-vv", *map(str, args)], capture_output=True, env=env, cwd=cwd,
                          timeout=timeout)


def leaks(blob, where):
    text = blob if isinstance(blob, bytes) else blob.encode()
    return [f"{where}: {s!r}" for s in FORBIDDEN if s.encode() in text]


def test_no_secret_in_any_output_file_or_object(tmp_path, mip_build_exe, fake_stack):
    moto, proxy = fake_stack
    www = tmp_path / "www"
    pkgtrees.make_zip(www / "zipped.zip", {"zipped-main/zipped_fn.m": "function zipped_fn\nend\n"})
    recipes = tmp_path / "recipes"
    faults.make_recipes(recipes, 2, prefix="sec")
    build = tmp_path / "build"
    outputs = []
    with servers.StaticHttpServer(www) as web:
        url = f"http://{URL_USER}:{URL_PASSWORD}@127.0.0.1:{web.port}/zipped.zip"
        d = recipes / "zipped"
        d.mkdir()
        (d / "prepare.yaml").write_text(
            f"name: zipped\nversion: \"1.0\"\nprepare:\n  download_zip: {{url: \"{url}\", destination: z}}\n")
        store = ["--store", "s3://test/sec/packages", "--endpoint", proxy.endpoint,
                 "--allow-insecure-loopback", "--base-url", BASE]
        runs = [
            ("prepare", ["prepare", "--recipes", recipes, "--build-dir", build, "-j", "1", *store]),
            ("compile", ["compile", "--build-dir", build]),
            ("bundle", ["bundle", "--build-dir", build, "--base-url", BASE]),
            ("upload dry-run", ["upload", "--build-dir", build, "--dry-run", *store]),
            ("upload", ["upload", "--build-dir", build, *store]),
            ("index", ["index", "--build-dir", build, "--verify", *store]),
            ("publish", ["publish", "--test", "skip", "--recipes", recipes, "--build-dir", build, "-j", "1", "--force", *store]),
            ("publish --json", ["--json", "publish", "--test", "skip", "--recipes", recipes, "--build-dir", build, "-j", "1", *store]),
        ]
        for label, args in runs:
            r = run(mip_build_exe, args)
            outputs.append((label, r))
            assert r.returncode == 0, (label, r.stdout.decode()[-2000:], r.stderr.decode()[-3000:])
        # Failing runs print errors: they must not carry secrets either.
        bad_url = f"http://{URL_USER}:{URL_PASSWORD}@127.0.0.1:{web.port}/missing.zip"
        (d / "prepare.yaml").write_text(
            f"name: zipped\nversion: \"1.1\"\nprepare:\n  download_zip: {{url: \"{bad_url}\", destination: z}}\n")
        failing = [
            ("download 404", ["prepare", "--recipes", recipes, "--build-dir", tmp_path / "b404", "--force",
                              "--package", "zipped"], {}),
            ("rejected secret", ["upload", "--build-dir", build, "--store", "s3://test/sec/other",
                                 "--endpoint", proxy.endpoint, "--allow-insecure-loopback", "--base-url",
                                 BASE], {"AWS_SECRET_ACCESS_KEY": FAKE_SECRET[::-1]}),
            ("unreachable endpoint", ["index", "--build-dir", build, "--store", "s3://test/sec/packages",
                                      "--endpoint", "http://127.0.0.1:1", "--allow-insecure-loopback",
                                      "--base-url", BASE], {}),
        ]
        for label, args, env in failing:
            r = run(mip_build_exe, args, env)
            outputs.append((label, r))
            assert r.returncode != 0, label
    assert "zipped" in outputs[0][1].stdout.decode()
    # The rejected secret really was sent and rejected (so its error path ran).
    assert b"SignatureDoesNotMatch" in outputs[-2][1].stdout + outputs[-2][1].stderr
    found = []
    for label, r in outputs:
        found += leaks(r.stdout, f"{label} stdout") + leaks(r.stderr, f"{label} stderr")
    for root in (build, tmp_path / "b404"):
        for p in root.rglob("*"):
            if not p.is_file():
                continue
            rel = p.relative_to(tmp_path)
            hits = leaks(p.read_bytes(), str(rel))
            if "recipe" in rel.parts[:-1] and rel.parts[-1] == "prepare.yaml":
                # The work area keeps a byte copy of the recipe (prepare-stages.md): a password
                # the recipe author wrote into it is theirs; AWS credentials never get there.
                hits = [h for h in hits if URL_PASSWORD not in h]
            if rel.parts[-1] == "mip.lock.yaml":
                # The lock's original_recipe.text is that same recipe, verbatim by the spec (its
                # sha256 must match); every other value in the lock is redacted.
                text = p.read_text()
                original = text[text.index("original_recipe:"):]
                rest = text[:text.index("original_recipe:")]
                assert URL_PASSWORD not in rest, f"{rel}: URL password outside original_recipe"
                hits = [h for h in hits if URL_PASSWORD not in h or URL_PASSWORD not in original]
            found += hits
    objects = faults.bucket_objects(moto.endpoint, "test", "sec/")
    assert len(objects) >= 6  # 3 packages: the sha256/ bundle and the sidecar each
    for key, data in objects.items():
        found += leaks(data, f"s3://test/{key}")
    assert found == [], "secrets leaked:\n" + "\n".join(found)
    # The userinfo was used (the download worked) but is not what the sidecar records.
    sidecar = next((build / "bundled").glob("zipped-*.mhl.mip.json")).read_text()
    assert f"127.0.0.1:{web.port}/zipped.zip" in sidecar and URL_USER not in sidecar


def test_download_over_tls_is_verified_and_ca_file_trusts_it(tmp_path, mip_build_exe, cert):
    cert_file, context = cert
    www = tmp_path / "www"
    pkgtrees.make_zip(www / "tls.zip", {"tls/tls_fn.m": "function tls_fn\nend\n"})
    with servers.StaticHttpServer(www, context) as web:
        d = tmp_path / "recipes" / "tlspkg"
        d.mkdir(parents=True)
        (d / "prepare.yaml").write_text(
            f"name: tlspkg\nversion: \"1.0\"\nprepare:\n  download_zip: "
            f"{{url: \"https://127.0.0.1:{web.port}/tls.zip\", destination: tls}}\n")
        common = ["prepare", "--recipes", tmp_path / "recipes", "--build-dir", tmp_path / "build", "--force"]
        refused = run(mip_build_exe, common)
        out = (refused.stdout + refused.stderr).decode()
        assert refused.returncode == 5, out
        assert "certificate" in out.lower() or "SSL" in out, out
        assert not list((tmp_path / "build" / "prepared").glob("*.dir"))
        trusted = run(mip_build_exe, [*common, "--ca-file", cert_file])
        out = (trusted.stdout + trusted.stderr).decode()
        assert trusted.returncode == 0, "--ca-file is not used for download_zip:\n" + out
        assert (tmp_path / "build" / "prepared" / "tlspkg-1.0-any-none-any.dir" / "tls" / "tls" / "tls_fn.m").is_file()


def test_s3_store_over_tls_is_verified_and_ca_file_trusts_it(tmp_path, mip_build_exe, cert, fake_stack):
    cert_file, context = cert
    moto, _ = fake_stack
    tls_proxy = SigV4Proxy(moto.endpoint, {FAKE_KEY_ID: FAKE_SECRET}, str(tmp_path / "tls-proxy.log"))
    tls_proxy.httpd.socket = context.wrap_socket(tls_proxy.httpd.socket, server_side=True)
    tls_proxy.start()
    try:
        pkgtrees.make_prepared_dir(tmp_path / "build" / "prepared", "tlsstore")
        assert run(mip_build_exe, ["bundle", "--build-dir", tmp_path / "build"]).returncode == 0
        store = ["upload", "--build-dir", tmp_path / "build", "--store", "s3://test/tls/packages",
                 "--endpoint", f"https://127.0.0.1:{tls_proxy.port}", "--base-url", BASE]
        refused = run(mip_build_exe, store)
        out = (refused.stdout + refused.stderr).decode()
        assert refused.returncode == 5, out
        assert "certificate" in out.lower() or "SSL" in out, out
        assert faults.bucket_objects(moto.endpoint, "test", "tls/") == {}
        trusted = run(mip_build_exe, [*store, "--ca-file", cert_file])
        out = (trusted.stdout + trusted.stderr).decode()
        assert trusted.returncode == 0, out
        # The sha256/ bundle and the sidecar (a new store gets no flat copy), + the index manifest.
        assert len(faults.bucket_objects(moto.endpoint, "test", "tls/")) == 3
    finally:
        tls_proxy.stop()
