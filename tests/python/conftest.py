"""Shared pytest fixtures: the built CLI, a static HTTP server, git repositories made by the
tests, and robust lookup of external tools (moto_server, aws) that must fail loudly if missing."""
import os
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import servers  # noqa: E402  (tests/support/servers.py)
import tools  # noqa: E402  (tests/support/tools.py)

SOURCE_DIR = pathlib.Path(os.environ.get("MIP_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))


@pytest.fixture(scope="session")
def source_dir():
    return SOURCE_DIR


@pytest.fixture(scope="session")
def mip_build_exe():
    exe = os.environ.get("MIP_BUILD_EXE")
    if not exe or not pathlib.Path(exe).is_file():
        pytest.fail("MIP_BUILD_EXE is not set to the built mip-build binary (run the tests through ctest)")
    return exe


@pytest.fixture
def run_cli(mip_build_exe):
    """run_cli(*args, cwd=..., env=..., check=None) -> CompletedProcess (text)."""

    def run(*args, cwd=None, env=None, timeout=600, input=None):
        full_env = dict(os.environ)
        full_env.pop("MIP_STORE", None)
        full_env.pop("MIP_BASE_URL", None)
        if env:
            full_env.update(env)
        return subprocess.run([mip_build_exe, *map(str, args)], cwd=cwd, env=full_env,
                              capture_output=True, text=True, timeout=timeout, input=input)

    return run


@pytest.fixture
def http_server(tmp_path):
    """A static HTTP server on 127.0.0.1 serving a fresh directory: (root_dir, base_url)."""
    root = tmp_path / "www"
    root.mkdir()
    with servers.StaticHttpServer(root) as srv:
        yield root, srv.base_url


@pytest.fixture
def git_factory(tmp_path):
    """Creates git repositories with fixed dates: git_factory(name, files={...}) -> path."""
    return servers.GitFactory(tmp_path / "git")
