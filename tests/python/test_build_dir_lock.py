"""One run per build directory (issue 13, item 3): two runs sharing one could report success
with packages missing. Two real concurrent CLI runs: while the first is inside a recipe (held on
a FIFO), the second fails at once naming the first's pid, and leaves the first's work alone;
the first then finishes. A lock left by a dead run is taken over."""
import os
import select
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

WAITER = textwrap.dedent('''
    import os
    from mip_build_helpers import create_load_and_unload_scripts

    class Package:
        name = "waiter"
        description = "waits for the test"
        version = "1.0"
        build_number = 0
        dependencies = []
        homepage = ""
        repository = ""
        matlab_tag = "any"
        abi_tag = "none"
        platform_tag = "any"

        def prepare(self, mhl_dir):
            with open({ready!r}, "w") as f:
                f.write("running")
            with open({go!r}) as f:
                f.read()
            self.exposed_symbols = []
            create_load_and_unload_scripts(mhl_dir, dirs_to_add_to_path=[])
    ''')


def env():
    e = {k: v for k, v in os.environ.items() if k not in ("MIP_STORE", "MIP_BASE_URL")}
    e["SOURCE_DATE_EPOCH"] = "1700000000"
    return e


def test_a_second_run_fails_at_once_and_spares_the_first(tmp_path, mip_build_exe):
    ready, go = tmp_path / "ready", tmp_path / "go"
    os.mkfifo(ready)
    os.mkfifo(go)
    recipes = tmp_path / "recipes"
    (recipes / "waiter").mkdir(parents=True)
    (recipes / "waiter" / "package.py").write_text(WAITER.format(ready=str(ready), go=str(go)))
    build = tmp_path / "build"
    first = subprocess.Popen([mip_build_exe, "prepare", "--recipes", recipes, "--build-dir", build],
                             env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    fd = os.open(ready, os.O_RDONLY | os.O_NONBLOCK)
    try:
        got = b""
        while not got:  # the first run is inside the recipe once it writes to the FIFO
            readable, _, _ = select.select([fd], [], [], 5)
            if readable:
                got = os.read(fd, 100)
            assert first.poll() is None, first.communicate()
        for verb in (["prepare", "--recipes", recipes], ["bundle"], ["index"]):
            second = subprocess.run([mip_build_exe, *verb, "--build-dir", build], env=env(),
                                    capture_output=True, text=True, timeout=60)
            assert second.returncode == 4, (verb, second.stderr)
            assert f"is in use by pid {first.pid}" in second.stderr, second.stderr
            assert str(build) in second.stderr
    finally:
        os.close(fd)
        with open(go, "w") as f:
            f.write("go")
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err.decode()[-3000:]
    assert (build / "prepared" / "waiter-1.0-any-none-any.dir" / "load_package.m").is_file()
    # Free again: a later run goes ahead.
    r = subprocess.run([mip_build_exe, "bundle", "--build-dir", build], env=env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (build / "bundled" / "waiter-1.0-any-none-any.mhl").is_file()


def test_the_lock_of_a_dead_run_is_taken_over(tmp_path, mip_build_exe):
    """A holder killed with SIGKILL leaves the file (naming its pid) but not the lock."""
    build = tmp_path / "build"
    build.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys\n"
         "f = open(sys.argv[1], 'w')\nfcntl.flock(f, fcntl.LOCK_EX)\n"
         "f.write('%d\\n' % os.getpid()); f.flush()\nprint('locked', flush=True)\nsys.stdin.read()\n",
         str(build / ".mip-build.lock")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        held = subprocess.run([mip_build_exe, "bundle", "--build-dir", build], env=env(),
                              capture_output=True, text=True, timeout=60)
        assert held.returncode == 4 and f"in use by pid {holder.pid}" in held.stderr, held.stderr
    finally:
        holder.kill()
        holder.wait()
        holder.stdin.close()
        holder.stdout.close()
    assert (build / ".mip-build.lock").read_text() == f"{holder.pid}\n"  # stale, names the dead
    r = subprocess.run([mip_build_exe, "bundle", "--build-dir", build], env=env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "in use" not in r.stderr


def test_temporary_names_are_per_process_and_only_dead_ones_are_cleaned(tmp_path, mip_build_exe):
    """Temporary files carry "<host>-<pid>": a run cleans the temps of dead writers (and the
    untagged form of older versions) but never those of a live process writing the same
    directory, e.g. another build directory's `index --output-dir` into one gh-pages/."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
    import pkgtrees

    build = tmp_path / "build"
    pkgtrees.make_prepared_dir(build / "prepared", "alpha")
    for verb in ("bundle", "upload"):
        r = subprocess.run([mip_build_exe, verb, "--build-dir", build], capture_output=True,
                           text=True, env=dict(env(), SOURCE_DATE_EPOCH="1700000000"))
        assert r.returncode == 0, r.stdout + r.stderr
    host = "".join("_" if c in "-/." else c for c in os.uname().nodename)
    dead = subprocess.Popen(["true"])
    dead.wait()  # reaped: its pid runs no more
    site = build / "gh-pages"
    site.mkdir()
    live = site / f".index.json.tmp-{host}-{os.getpid()}-aaaaaaaaaaaa"      # this test: alive
    other_host = site / ".index.json.tmp-elsewhere-1-bbbbbbbbbbbb"            # cannot tell
    gone = site / f".index.json.tmp-{host}-{dead.pid}-cccccccccccc"          # dead writer
    old_form = site / ".packages.html.tmp-0123456789ab"                     # older version
    for p in (live, other_host, gone, old_form):
        p.write_text("partial")
    r = subprocess.run([mip_build_exe, "index", "--build-dir", build], capture_output=True,
                       text=True, env=env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert live.exists() and other_host.exists()
    assert not gone.exists() and not old_form.exists()
    assert sorted(p.name for p in site.iterdir() if not p.name.startswith(".")) == \
        ["feed.json", "feed.xml", "index.json", "packages.html"]


def test_a_dead_runs_last_child_holding_the_lock_is_waited_for(tmp_path, mip_build_exe):
    """A run SIGKILLed just after one of its threads forked a child leaves that child holding the
    lock (close-on-exec lets go only at exec); a rerun at once failed with "in use by pid N", N
    dead (seen in the crash tests on a loaded machine). Now the rerun waits for such a child
    (the recorded pid has exited) up to 5 s; one that keeps the lock is named as what it is."""
    build = tmp_path / "build"
    build.mkdir()
    gone = subprocess.Popen(["true"])
    gone.wait()  # its pid names no process now: the "killed run"
    script = ("import fcntl, sys, time\nf = open(sys.argv[1], 'w')\nfcntl.flock(f, fcntl.LOCK_EX)\n"
              "f.write(sys.argv[2] + '\\n'); f.flush()\nprint('locked', flush=True)\n"
              "time.sleep(float(sys.argv[3]))\n")
    lock = str(build / ".mip-build.lock")
    for hold, ok in ((1.0, True), (30.0, False)):
        child = subprocess.Popen([sys.executable, "-c", script, lock, str(gone.pid), str(hold)],
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline() == "locked\n"
            r = subprocess.run([mip_build_exe, "bundle", "--build-dir", build], env=env(),
                               capture_output=True, text=True, timeout=120)
        finally:
            child.kill()
            child.wait()
            child.stdout.close()
        if ok:
            assert r.returncode == 0, r.stderr  # waited for the child to let go
        else:
            assert r.returncode == 4, r.stderr
            assert f"in use by a leftover child process of pid {gone.pid}, which has exited" in r.stderr
