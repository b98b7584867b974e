"""pip installs the project from a copy of the source tree, offline, into a fresh virtual
environment (`--system-site-packages` for Debian's setuptools/wheel, `--no-build-isolation
--no-index`), and both packages import from there."""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest

IGNORED = shutil.ignore_patterns(".git", "build", "build-*", "_build", "__pycache__", "*.egg-info",
                                 ".venv", "*.so")


@pytest.mark.slow
def test_pip_install_offline_into_a_venv(tmp_path, source_dir):
    src = tmp_path / "src"
    shutil.copytree(source_dir, src, ignore=IGNORED, symlinks=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_INDEX_URL")}
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", "2")
    env["PIP_NO_INPUT"] = "1"
    r = subprocess.run([str(python), "-m", "pip", "install", "--no-build-isolation", "--no-index",
                        "--no-deps", str(src)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=3000)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]

    check = textwrap.dedent('''
        import json, pathlib, sys
        import mip_native, mip_build_helpers
        from mip_build_helpers import _worker
        print(json.dumps({
            "native": mip_native.__file__,
            "helpers": mip_build_helpers.__file__,
            "version": mip_native.version(),
            "stub": (pathlib.Path(mip_native.__file__).parent / "mip_native.pyi").is_file(),
            "python": mip_native.PipelineOptions().prepare.python,
            "error": issubclass(mip_native.SpecError, ValueError),
            "tag": mip_build_helpers.get_current_platform_tag(),
        }))
    ''')
    r = subprocess.run([str(python), "-c", check], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    site = str(venv / "lib")
    assert info["native"].startswith(site) and info["helpers"].startswith(site)
    assert info["stub"] and info["error"]
    assert pathlib.Path(info["python"]) == python
    assert info["version"]
