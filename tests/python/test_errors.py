"""The exception tree of mip_native: hierarchy, attributes, and C++ errors arriving as the right
Python class (a base translator registered last would swallow subclasses)."""
import socket

import pytest

import mip_native as m

SUBCLASSES = ["SpecError", "BuildError", "IoError", "ArchiveError", "NetworkError",
              "RemoteError", "AuthError", "LockMismatch", "Cancelled"]


def test_every_error_derives_from_mip_error():
    assert issubclass(m.MipError, Exception)
    for name in SUBCLASSES:
        cls = getattr(m, name)
        assert issubclass(cls, m.MipError), name
        assert cls.__module__ == "mip_native"
        assert cls.__name__ == name


def test_extra_python_bases():
    assert issubclass(m.SpecError, ValueError)
    assert issubclass(m.IoError, OSError)
    assert issubclass(m.AuthError, m.RemoteError)
    for name in ["BuildError", "ArchiveError", "NetworkError", "RemoteError", "LockMismatch",
                 "Cancelled"]:
        assert not issubclass(getattr(m, name), (ValueError, OSError)), name
    assert not issubclass(m.RemoteError, m.AuthError)


def test_codes_match_the_cpp_error_codes():
    expected = {"MipError": "internal", "SpecError": "invalid_spec", "BuildError": "build_failed",
                "IoError": "io", "ArchiveError": "archive", "NetworkError": "network",
                "RemoteError": "remote", "AuthError": "auth", "LockMismatch": "lock_mismatch",
                "Cancelled": "cancelled"}
    for name, code in expected.items():
        assert getattr(m, name).code == code
        assert m.ErrorCode.__members__[code].name == code


def test_spec_error_from_cpp_lists_every_issue():
    text = '{"name": "bad/name", "version": "1-2", "build_number": -1, "platform_tag": "x-y"}'
    with pytest.raises(m.SpecError) as info:
        m.PackageSpec.from_json(text, "sample.json")
    e = info.value
    assert type(e) is m.SpecError
    assert e.code == "invalid_spec"
    fields = [f for f, _ in e.issues]
    assert "name" in fields and "version" in fields and "platform_tag" in fields
    assert all(isinstance(msg, str) and msg for _, msg in e.issues)
    assert "sample.json" in str(e)
    assert e.subject.startswith("sample.json")


def test_spec_error_is_caught_as_value_error():
    with pytest.raises(ValueError):
        m.WheelName.parse("only-three-parts")


def test_io_error_carries_path_and_errno(tmp_path):
    missing = tmp_path / "nope" / "mip.json"
    with pytest.raises(m.IoError) as info:
        m.PackageSpec.load(missing)
    e = info.value
    assert type(e) is m.IoError
    assert isinstance(e, OSError)
    assert str(missing) in e.path
    assert e.code == "io"


def test_network_error_for_a_closed_port(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Nothing listens on `port` any more.
    with pytest.raises(m.NetworkError) as info:
        m.download_and_extract_zip(f"http://127.0.0.1:{port}/a.zip", tmp_path / "out",
                                   retries=0, timeout=20)
    assert type(info.value) is m.NetworkError
    assert str(port) in info.value.url


def test_remote_error_for_http_404(http_server, tmp_path):
    _, base = http_server
    with pytest.raises(m.RemoteError) as info:
        m.download_and_extract_zip(f"{base}/missing.zip", tmp_path / "out", retries=0)
    e = info.value
    assert type(e) is m.RemoteError
    assert e.http_status == 404
    assert isinstance(e.s3_code, str) and isinstance(e.request_id, str)


def test_auth_error_names_the_missing_variable_never_a_value():
    with pytest.raises(m.AuthError) as info:
        m.R2Config.from_environment({"AWS_SECRET_ACCESS_KEY": "s3cr3t-value",
                                     "AWS_ENDPOINT_URL": "https://example.invalid"})
    e = info.value
    assert type(e) is m.AuthError
    assert isinstance(e, m.RemoteError)
    assert "AWS_ACCESS_KEY_ID" in str(e)
    assert "s3cr3t-value" not in str(e)


def test_archive_error_for_a_corrupt_zip(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"this is not a zip archive at all")
    with pytest.raises(m.ArchiveError) as info:
        m.download_and_extract_zip(bad.as_uri(), tmp_path / "out")
    assert type(info.value) is m.ArchiveError


def test_build_error_for_a_failed_clone(tmp_path):
    with pytest.raises(m.BuildError) as info:
        m.clone_repository_and_remove_git(str(tmp_path / "no-such-repo"), tmp_path / "clone")
    assert type(info.value) is m.BuildError
    assert info.value.code == "build_failed"


def test_python_raised_errors_have_default_attributes():
    e = m.SpecError("made in Python")
    assert e.issues == () and e.subject == ""
    r = m.RemoteError("x")
    assert r.http_status == 0 and r.s3_code == ""
    with pytest.raises(m.MipError):
        raise m.LockMismatch("differs")
