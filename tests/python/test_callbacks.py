"""Callbacks, the GIL, Ctrl-C and the logging bridge.

* An exception raised in a progress callback comes out of the long call unchanged (same object).
* Long calls release the GIL: a Python thread (an HTTP server's handler) runs while the call is
  blocked inside C++. Asserted by ordering (the call is still running when the handler runs), not
  by timing.
* Ctrl-C (SIGINT) during a long call raises KeyboardInterrupt from inside it and leaves no partial
  output; run in a subprocess so the signal cannot hit pytest.
* libmip's log lines reach logging.getLogger("mip_native").
"""
import hashlib
import json
import logging
import os
import pathlib
import subprocess
import sys
import textwrap
import threading

import pytest

import mip_native as m
from blocking_server import BlockingHttpServer
from pkgtrees import make_prepared_dir, make_zip

SUPPORT_DIR = pathlib.Path(__file__).resolve().parent.parent / "support"


def make_build(tmp_path, count):
    build = tmp_path / "build"
    for i in range(count):
        make_prepared_dir(build / "prepared", f"p{i:03d}")
    return build


def assert_bundled_dir_is_clean(build):
    bundled = build / "bundled"
    names = sorted(p.name for p in bundled.iterdir()) if bundled.exists() else []
    mhl = [n for n in names if n.endswith(".mhl")]
    sidecars = [n for n in names if n.endswith(".mhl.mip.json")]
    assert len(mhl) + len(sidecars) == len(names), f"unexpected files: {names}"
    assert [n + ".mip.json" for n in mhl] == sidecars
    return len(mhl)


# --- exceptions from callbacks -----------------------------------------------------------------

def test_exception_from_callback_propagates_unchanged(tmp_path):
    build = make_build(tmp_path, 5)
    error = ValueError("stop right there")
    seen = []

    def callback(event):
        seen.append(event.phase)
        raise error

    with pytest.raises(ValueError) as info:
        m.bundle(build_dir=build, progress=callback, progress_interval=0)
    assert info.value is error
    assert seen == [m.ProgressPhase.started]
    assert assert_bundled_dir_is_clean(build) == 0


def test_cancelled_from_callback_is_the_same_object(tmp_path):
    build = make_build(tmp_path, 40)
    cancel = m.Cancelled("user asked")

    def callback(event):
        if event.phase == m.ProgressPhase.advanced:
            raise cancel

    with pytest.raises(m.Cancelled) as info:
        m.bundle(build_dir=build, jobs=2, progress=callback, progress_interval=0)
    assert info.value is cancel
    assert assert_bundled_dir_is_clean(build) <= 40


def test_progress_callable_round_trips_on_options():
    def cb(event):
        pass

    o = m.PipelineOptions(progress=cb, progress_interval=0.25)
    assert o.run.progress is cb
    assert o.run.progress_interval == 0.25
    assert m.PipelineOptions().run.progress is None
    with pytest.raises(TypeError):
        m.PipelineOptions(progress=42)


# --- GIL ---------------------------------------------------------------------------------------

def zip_bytes(tmp_path):
    path = make_zip(tmp_path / "src.zip", {"pkg/f.m": "function f\nend\n"})
    return path.read_bytes()


def test_download_releases_the_gil(tmp_path):
    body = zip_bytes(tmp_path)
    result = {}
    with BlockingHttpServer(body) as server:
        def call():
            try:
                result["sha256"] = m.download_and_extract_zip(
                    f"{server.base_url}/a.zip", tmp_path / "out", retries=0, timeout=60)
            except BaseException as e:  # noqa: B036 - reported below
                result["error"] = e
            finally:
                server.received.set()  # wakes the test at once if the call ended first

        worker = threading.Thread(target=call)
        worker.start()
        # The handler (Python, in the server's thread) runs only if the download released the
        # GIL; the call is still blocked in C++ when it does.
        assert server.received.wait(120), "the server never saw the request"
        assert worker.is_alive() and result == {}, result
        total = sum(range(10_000))  # and this thread runs Python meanwhile
        server.release.set()
        worker.join(120)
    assert total == 49_995_000
    assert result == {"sha256": hashlib.sha256(body).hexdigest()}, result
    assert (tmp_path / "out" / "pkg" / "f.m").is_file()


RECIPE_FETCHING = '''
import os
from mip_build_helpers import download_and_extract_zip, create_load_and_unload_scripts

class Package:
    def __init__(self):
        self.name = "fetching"
        self.description = "downloads from the test's blocking server"
        self.version = "1.0"
        self.build_number = 0
        self.dependencies = []
        self.homepage = ""
        self.repository = ""
        self.matlab_tag = "any"
        self.abi_tag = "none"
        self.platform_tag = "any"
        self.script_env = ["FETCH_URL"]
        self.exposed_symbols = []

    def prepare(self, mhl_dir):
        download_and_extract_zip(os.environ["FETCH_URL"], mhl_dir)
        create_load_and_unload_scripts(mhl_dir, dirs_to_add_to_path=[os.path.join(mhl_dir, "pkg")])
        self.exposed_symbols = ["f"]
'''


def test_prepare_releases_the_gil_while_a_recipe_runs(tmp_path):
    recipes = tmp_path / "recipes" / "fetching"
    recipes.mkdir(parents=True)
    (recipes / "package.py").write_text(RECIPE_FETCHING)
    body = zip_bytes(tmp_path)
    result = {}
    with BlockingHttpServer(body) as server:
        env = dict(os.environ, FETCH_URL=f"{server.base_url}/a.zip", BUILD_TYPE="standard")
        env.pop("MIP_PLATFORM_TAG", None)

        def call():
            try:
                result["report"] = m.prepare(recipes=tmp_path / "recipes",
                                             build_dir=tmp_path / "build", environment=env,
                                             recipe_timeout=300)
            except BaseException as e:  # noqa: B036
                result["error"] = e
            finally:
                server.received.set()  # wakes the test at once if the call ended first

        worker = threading.Thread(target=call)
        worker.start()
        assert server.received.wait(300), "the recipe never reached the server"
        assert worker.is_alive() and result == {}, result
        server.release.set()
        worker.join(300)
    report = result["report"]
    assert report.ok, report.items
    assert (tmp_path / "build" / "prepared" / "fetching-1.0-any-none-any.dir" / "pkg" / "f.m").is_file()


# --- Ctrl-C ------------------------------------------------------------------------------------

CTRL_C_SCRIPT = textwrap.dedent('''
    import json, logging, os, pathlib, queue, signal, sys, threading
    sys.path.insert(0, sys.argv[3])
    import mip_native as m
    from pkgtrees import make_prepared_dir

    build = pathlib.Path(sys.argv[1])
    mode = sys.argv[2]
    count = 150
    for i in range(count):
        make_prepared_dir(build / "prepared", f"p{i:03d}",
                          files={f"p{i:03d}/data.bin": os.urandom(150_000)})
    started = queue.SimpleQueue()

    def interrupter():
        started.get()
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupter, daemon=True).start()
    kwargs = dict(build_dir=build, jobs=1, progress_interval=0)
    if mode == "callback":
        # A C-implemented callable: no Python bytecode runs inside it, so only the signal check
        # made after each progress call can raise KeyboardInterrupt.
        kwargs["progress"] = started.put
    else:
        # No progress callback at all: the first log record starts the interrupter.
        class Once(logging.Handler):
            def emit(self, record):
                started.put(1)
        logging.getLogger("mip_native").addHandler(Once())
        logging.getLogger("mip_native").setLevel(logging.DEBUG)
    try:
        report = m.bundle(**kwargs)
        outcome = "finished"
    except KeyboardInterrupt:
        outcome = "interrupted"
    print(json.dumps({"outcome": outcome, "count": count}))
''')


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["callback", "no_callback"])
def test_ctrl_c_interrupts_a_long_bundle(tmp_path, mode):
    script = tmp_path / "ctrl_c.py"
    script.write_text(CTRL_C_SCRIPT)
    build = tmp_path / "build"
    r = subprocess.run([sys.executable, str(script), str(build), mode, str(SUPPORT_DIR)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["outcome"] == "interrupted", r.stderr
    bundled = assert_bundled_dir_is_clean(build)
    assert bundled < out["count"]


# --- logging -----------------------------------------------------------------------------------

def test_library_logs_reach_the_python_logger(tmp_path, caplog):
    recipes = tmp_path / "recipes" / "quiet"
    recipes.mkdir(parents=True)
    (recipes / "package.py").write_text(RECIPE_FETCHING.replace(
        'download_and_extract_zip(os.environ["FETCH_URL"], mhl_dir)',
        'os.makedirs(os.path.join(mhl_dir, "pkg"))'))
    with caplog.at_level(logging.DEBUG, logger="mip_native"):
        report = m.prepare(recipes=tmp_path / "recipes", build_dir=tmp_path / "build")
    assert report.ok, report.items
    records = [r for r in caplog.records if r.name == "mip_native"]
    assert any("fetching" in r.getMessage() for r in records)
    assert {r.levelno for r in records} <= {logging.DEBUG, logging.INFO, logging.WARNING,
                                            logging.ERROR}


def test_logger_threshold_is_the_python_level(tmp_path, caplog):
    build = make_build(tmp_path, 1)
    with caplog.at_level(logging.ERROR, logger="mip_native"):
        assert m.bundle(build_dir=build).ok
    assert [r for r in caplog.records if r.name == "mip_native" and r.levelno < logging.ERROR] == []
