"""Deadlines (issue 13, item 11): an operation gets one deadline across all its retries. A source
download from a server that accepts and never answers ends at --recipe-timeout (it took four
attempts, 20 s for --recipe-timeout 5), and the error names the deadline. The server is real
(tests/support/servers.py HangingServer); no sleeps, no timing assertions: the message says how
many attempts fitted in the deadline."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import servers  # noqa: E402

import mip_native as m  # noqa: E402


def test_a_hanging_download_ends_at_the_recipe_timeout(run_cli, tmp_path):
    with servers.HangingServer() as hang:
        d = tmp_path / "recipes" / "hangpkg"
        d.mkdir(parents=True)
        (d / "prepare.yaml").write_text(
            "name: hangpkg\nversion: \"1.0.0\"\nlicense: MIT\n"
            f"prepare:\n  download_zip: {{url: \"{hang.url}/src.zip\"}}\n")
        r = run_cli("prepare", "--recipes", tmp_path / "recipes", "--build-dir",
                    tmp_path / "build", "--force", "-j", "1", "--recipe-timeout", "5",
                    env={"SOURCE_DATE_EPOCH": "1700000000"}, cwd=tmp_path, timeout=120)
        accepted = hang.accepted
    out = r.stdout + r.stderr
    assert r.returncode == 5, out
    assert f"download of {hang.url}/src.zip failed: " in out, out
    assert "(the deadline of 5 s for the whole request, retries included, passed after 1 " \
           "attempt)" in out, out
    assert accepted == 1, f"{accepted} connections: the download was retried past its deadline"
    assert not list((tmp_path / "build").rglob("*.dir"))


def test_the_python_helper_has_one_deadline(tmp_path):
    with servers.HangingServer() as hang:
        try:
            m.download_and_extract_zip(hang.url + "/x.zip", tmp_path / "out", timeout=2,
                                       retries=5)
        except m.NetworkError as e:
            message = str(e)
        else:
            raise AssertionError("a server that never answers gave a download")
        accepted = hang.accepted
    assert "the deadline of 2 s for the whole request, retries included, passed after 1 " \
           "attempt" in message, message
    assert accepted == 1


def test_a_hanging_s3_server_fails_within_the_request_deadline(run_cli, tmp_path):
    """An S3 endpoint that accepts and never answers: 60 s stall × 6 attempts took 6 minutes per
    request. With --request-deadline 3 the listing fails after the one attempt that fits."""
    with servers.HangingServer() as hang:
        env = {"AWS_ACCESS_KEY_ID": "testkey", "AWS_SECRET_ACCESS_KEY": "testsecret",
               "AWS_ENDPOINT_URL": hang.url}
        r = run_cli("index", "--build-dir", tmp_path / "build", "--store", "s3://bucket/prefix",
                    "--endpoint", hang.url, "--allow-insecure-loopback",
                    "--base-url", "https://example.invalid/prefix",
                    "--request-deadline", "3", env=env, cwd=tmp_path, timeout=120)
        accepted = hang.accepted
    out = r.stdout + r.stderr
    assert r.returncode == 5, out
    assert "s3://bucket" in out, out
    assert "[after 1 attempt; the deadline of 3 s for the whole request, retries included " \
           "(--request-deadline), passed]" in out, out
    assert accepted == 1, f"{accepted} connections: the request was retried past its deadline"
    assert not (tmp_path / "build" / "gh-pages" / "index.json").exists()
    assert "testsecret" not in out
