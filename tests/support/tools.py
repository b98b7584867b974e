"""Locate external programs the tests use as real parts (moto_server, aws, octave-cli).

They are looked up on PATH, then in $HOME/.pyenv/shims, then in $HOME/.pyenv/versions/*/bin, so a
non-interactive CI shell without pyenv on its PATH still finds them. A missing tool is a hard
failure, never a silent skip."""
import glob
import os
import shutil


def find_tool(name):
    """Absolute path of `name`, or None."""
    found = shutil.which(name)
    if found:
        return found
    home = os.path.expanduser("~")
    candidates = [os.path.join(home, ".pyenv", "shims", name)]
    candidates += sorted(glob.glob(os.path.join(home, ".pyenv", "versions", "*", "bin", name)), reverse=True)
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            if "/shims/" in c:
                # a shim only works if the selected pyenv version has the tool
                import subprocess
                r = subprocess.run([c, "--help"], capture_output=True, timeout=60)
                if r.returncode != 0 and b"command not found" in (r.stderr + r.stdout):
                    continue
            return c
    return None


def require_tool(name):
    """Path of `name`; raises RuntimeError (a test failure, not a skip) when it is missing."""
    path = find_tool(name)
    if path is None:
        raise RuntimeError(
            f"required test tool '{name}' not found on PATH, in ~/.pyenv/shims or in "
            f"~/.pyenv/versions/*/bin; the test suite needs it (see README: test prerequisites)")
    return path
