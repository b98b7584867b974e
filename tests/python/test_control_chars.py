"""Issue 13, item 15: NUL, ESC and the other control characters in sidecar text or store keys never
reach packages.html, the feeds or the terminal raw. The page shows them as Unicode control
pictures (U+2400 + c); the CLI's text output writes them as \\xNN, so a key such as
"ev\\x1b[31mil…" cannot recolour or rewrite the user's terminal."""
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "support"))

import pkgtrees  # noqa: E402

EPOCH = "1700000000"
# Every C0 control but the line breaks (a description is one line), DEL and two C1 controls
# (NEL, CSI).
CONTROLS = "".join(chr(c) for c in range(0x20) if c not in (0x0A, 0x0D)) + "\x7f\x85\x9b"
HOSTILE = "start" + CONTROLS + "[31mred end"
ESC_KEY = "ev\x1b[31mil-1.0.0-any-none-any.mhl.mip.json"


def raw_controls(data: bytes):
    """The control bytes in data other than tab, newline, and the C1 controls as UTF-8."""
    bad = sorted({hex(b) for b in data if (b < 0x20 and b not in (0x09, 0x0A)) or b == 0x7F})
    for c1 in (b"\xc2\x85", b"\xc2\x9b"):
        if c1 in data:
            bad.append(c1.hex())
    return bad


def published_store(tmp_path, run_cli):
    build = tmp_path / "build"
    pkgtrees.make_prepared_dir(build / "prepared", "ctl", extra={
        "description": HOSTILE, "license": HOSTILE, "usage_examples": [HOSTILE]})
    for verb in ("bundle", "upload"):
        r = run_cli(verb, "--build-dir", build, env={"SOURCE_DATE_EPOCH": EPOCH})
        assert r.returncode == 0, r.stdout + r.stderr
    store = build / "store"
    # A key of the store holding ESC (any S3 key may), with a broken sidecar behind it.
    (store / ESC_KEY).write_bytes(b'{"name": "ev\\u001b[31mil", "description": "x\x00y"}')
    return build, store


def test_page_and_feeds_hold_no_raw_control_characters(tmp_path, run_cli):
    build, store = published_store(tmp_path, run_cli)
    r = run_cli("index", "--build-dir", build, "--store", store)
    assert r.returncode == 0, r.stdout + r.stderr
    site = build / "gh-pages"
    index = json.loads((site / "index.json").read_text())
    assert [p["name"] for p in index["packages"]] == ["ctl"]
    assert index["packages"][0]["description"] == HOSTILE  # the document keeps the data
    for name in ("packages.html", "feed.json", "feed.xml"):
        data = (site / name).read_bytes()
        assert raw_controls(data) == [], name
    html = (site / "packages.html").read_text()
    # NUL and ESC shown as control pictures, C1 controls replaced.
    assert "start\u2400\u2401" in html and "\u241a\u241b\u241c" in html
    assert "\u241f\u2421\ufffd\ufffd[31mred end" in html


def test_terminal_output_holds_no_raw_control_characters(tmp_path, run_cli):
    build, store = published_store(tmp_path, run_cli)
    for args in (["index", "-v"], ["index", "--strict"], ["--json", "index"]):
        r = run_cli(*args, "--build-dir", build, "--store", store)
        out = (r.stdout + r.stderr).encode()
        assert r.returncode == (3 if "--strict" in args else 0), out
        assert raw_controls(out) == [], (args, out)
        if args[0] == "--json":
            assert ESC_KEY in [s["key"] for s in json.loads(r.stdout)["skipped"]]
        else:
            assert "ev\\x1b[31mil-1.0.0-any-none-any.mhl.mip.json" in r.stdout + r.stderr, out
