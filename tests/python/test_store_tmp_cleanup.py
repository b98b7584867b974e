"""A local store cleans the temporary objects of runs that died mid-put (issue 13, item 13):
`store/.mip-tmp/put-<host>-<pid>-*` of this host whose pid is gone are removed when the store is
next opened; those of live runs, of other hosts and of the old unnamed form are left alone."""
import os
import socket
import subprocess

import pytest

pytestmark = pytest.mark.slow


def test_puts_of_dead_runs_are_removed_and_the_rest_kept(tmp_path, mip_build_exe):
    store = tmp_path / "store"
    tmp = store / ".mip-tmp"
    tmp.mkdir(parents=True)
    host = socket.gethostname().replace("-", "_").replace("/", "_").replace(".", "_")
    gone = subprocess.Popen(["true"])
    gone.wait()  # reaped: its pid names no process any more
    dead = tmp / f"put-{host}-{gone.pid}-0123abcd"
    live = tmp / f"put-{host}-{os.getpid()}-0123abcd"
    other_host = tmp / f"put-otherhost-{gone.pid}-0123abcd"
    legacy = tmp / "put-0123abcd"
    for p in (dead, live, other_host, legacy):
        p.write_bytes(b"half an upload")
    env = {k: v for k, v in os.environ.items() if k not in ("MIP_STORE", "MIP_BASE_URL")}
    r = subprocess.run([mip_build_exe, "-v", "index", "--store", store, "--build-dir",
                        tmp_path / "build", "--base-url", "https://example.invalid/p"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert not dead.exists()
    assert live.exists() and other_host.exists() and legacy.exists()
    assert "removed 1 temporary object(s)" in r.stderr
