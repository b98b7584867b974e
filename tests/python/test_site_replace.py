"""Issue 13, item 7: a failed or killed `index` never leaves gh-pages/ with a new packages.html
next to an old index.json. An error between the renames is rolled back at once
(test_channel_page.py::test_a_failed_write_leaves_the_site_as_it_was); here the run is killed
with SIGKILL exactly at its rename of index.json (strace's syscall fault injection: a real kill at
a real point, no hook in the code), and the next `index` puts the old set back from the journal
before anything else — even when that run then fails itself."""
import os
import pathlib
import re
import shutil
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import pkgtrees  # noqa: E402
import tools  # noqa: E402

EPOCH = "1700000000"
SITE_FILES = ["feed.json", "feed.xml", "index.json", "packages.html"]
JOURNAL = ".mip-replace.journal"


def cli(exe, *args):
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True,
                          env=dict(os.environ, SOURCE_DATE_EPOCH=EPOCH), timeout=300)


def publish(exe, build, name):
    pkgtrees.make_prepared_dir(build / "prepared", name)
    for verb in ("bundle", "upload"):
        r = cli(exe, verb, "--build-dir", build)
        assert r.returncode == 0, r.stdout + r.stderr


def site(build):
    d = build / "gh-pages"
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def ordinal_of_index_json_rename(strace, exe, build, tmp_path):
    """Which rename(2) of an `index` run is the one onto gh-pages/index.json (traced on a copy,
    which makes the same calls)."""
    copy = tmp_path / "copy"
    shutil.copytree(build, copy)
    log = tmp_path / "trace.txt"
    r = subprocess.run([strace, "-f", "-qq", "-o", log, "-e", "trace=rename", exe, "index",
                        "--build-dir", copy], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    renames = [line for line in log.read_text().splitlines() if "rename(" in line]
    hits = [i for i, line in enumerate(renames, 1)
            if re.search(r', "[^"]*/gh-pages/index\.json"\)', line)]
    assert len(hits) == 1, renames
    return hits[0]


def test_a_run_killed_between_the_renames_is_rolled_back_by_the_next(tmp_path, mip_build_exe):
    strace = tools.require_tool("strace")
    build = tmp_path / "build"
    publish(mip_build_exe, build, "alpha")
    r = cli(mip_build_exe, "index", "--build-dir", build)
    assert r.returncode == 0, r.stdout + r.stderr
    old = site(build)
    assert sorted(old) == SITE_FILES
    publish(mip_build_exe, build, "beta")

    n = ordinal_of_index_json_rename(strace, mip_build_exe, build, tmp_path)
    killed = subprocess.run(
        [strace, "-f", "-qq", "-o", os.devnull, "-e", "trace=rename",
         "-e", f"inject=rename:error=EIO:signal=SIGKILL:when={n}",
         mip_build_exe, "index", "--build-dir", build], capture_output=True, text=True, timeout=300)
    assert killed.returncode != 0, killed.stdout + killed.stderr
    torn = site(build)
    # The crash window itself: the page is new, index.json still the old one, the journal there.
    assert b"beta" in torn["packages.html"] and torn["index.json"] == old["index.json"]
    assert JOURNAL in torn

    # The next index fails (its store is missing) but first puts the old set back.
    r = cli(mip_build_exe, "index", "--build-dir", build, "--store", tmp_path / "no-such-store")
    assert r.returncode == 4, r.stdout + r.stderr
    assert "restored" in r.stderr and "killed" in r.stderr, r.stderr
    assert site(build) == old  # byte for byte, no journal, no backup or temp left

    r = cli(mip_build_exe, "index", "--build-dir", build)
    assert r.returncode == 0, r.stdout + r.stderr
    new = site(build)
    assert sorted(new) == SITE_FILES
    assert b'"beta"' in new["index.json"] and b"beta" in new["packages.html"]


def test_a_live_writers_journal_is_not_touched(tmp_path, mip_build_exe):
    """Two writers of one output directory: the second refuses, naming the first's pid, and
    changes nothing."""
    build = tmp_path / "build"
    publish(mip_build_exe, build, "alpha")
    r = cli(mip_build_exe, "index", "--build-dir", build)
    assert r.returncode == 0, r.stdout + r.stderr
    before = site(build)
    host = "".join("_" if c in "-/." else c for c in os.uname().nodename)
    journal = build / "gh-pages" / JOURNAL
    journal.write_text(f"mip-replace 1\nowner {host}-{os.getpid()}\nindex.json\t-\nend\n")
    r = cli(mip_build_exe, "index", "--build-dir", build)
    assert r.returncode == 4, r.stdout + r.stderr
    assert f"in use by pid {os.getpid()}" in r.stderr, r.stderr
    assert site(build) == dict(before, **{JOURNAL: journal.read_bytes()})
