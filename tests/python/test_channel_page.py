"""The channel page (packages.html) in a real browser: Debian's headless Chromium, driven over the
DevTools protocol (tests/support/browser.py), loads the page over file:// and over a local HTTP
server, with and without JavaScript.

Two channels: an R2-era one published by the real pipeline (bundle -> upload -> index, sidecars
with hostile metadata among them), and a current-format one whose index.json is written here by
hand following mip-current.md §3-§4 and rendered through the Python binding."""
import hashlib
import json
import pathlib
import shutil
import xml.etree.ElementTree as ET

import pytest

import mip_native as m
from browser import Chromium, RecordingHttpServer, decode_png, luma
from pkgtrees import make_prepared_dir

EPOCH = 1700000000
BASE = "https://example.invalid/core/packages"
HOSTILE_DESCRIPTION = ("<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2> "
                       "NUL:\u0000 ESC:\u001b[31m DEL:\u007f end")
SHOWN_DESCRIPTION = ("<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2> "
                     "NUL:\u2400 ESC:\u241b[31m DEL:\u2421 end")


# --- the two channels ---------------------------------------------------------------------------
def prepared(build, name, version, platform="any", **fields):
    d = make_prepared_dir(build / "prepared", name, version, extra={"platform_tag": platform, **fields})
    if platform != "any":
        d = d.rename(d.with_name(f"{name}-{version}-any-none-{platform}.dir"))
    return d


@pytest.fixture(scope="module")
def r2_site(tmp_path_factory):
    """gh-pages/ of an R2-era channel published by bundle + upload + index."""
    tmp = tmp_path_factory.mktemp("r2-channel")
    build = tmp / "build"
    # solver: the newest version (2.0) has only an `any` build, the older 1.0 a linux_x86_64
    # one, so the R2-era client (first exact match in index order) installs 1.0 on Linux.
    prepared(build, "solver", "2.0", description="Sparse linear solvers", license="BSD-3-Clause",
             exposed_symbols=["solve", "factor"], homepage="https://example.org/solver",
             source={"type": "git", "url": "https://github.com/example/solver.git", "ref": None,
                     "commit": "0123456789abcdef0123456789abcdef01234567", "sha256": None})
    prepared(build, "solver", "1.0", "linux_x86_64", description="Sparse linear solvers",
             license="BSD-3-Clause", exposed_symbols=["solve"])
    prepared(build, "plotter", "1.1", description="Plots for solver output", dependencies=["solver"],
             exposed_symbols=["plot_solution"])
    prepared(build, "signal-tools", "0.3", description="Fourier transforms and filters",
             license="Apache-2.0", exposed_symbols=["fft2x"])
    # Hostile, yet valid sidecar metadata: markup, control characters, a non-https homepage and
    # an https repository URL that tries to break out of its attribute.
    prepared(build, "hostile", "0.1", description=HOSTILE_DESCRIPTION, homepage="http://insecure.example/",
             repository='https://evil.example/"><script>window.__pwned=3</script>',
             license='<b onmouseover="window.__pwned=4">MIT</b>',
             usage_examples=["</code></pre><script>window.__pwned=5</script>"])
    common = dict(build_dir=build, store=str(tmp / "store"), base_url=BASE, source_date_epoch=EPOCH)
    assert m.bundle(**common).ok
    up = m.upload(**common)
    assert up.ok, up.items
    report = m.index(**common)
    assert report.written and report.total_packages == 5 and not report.skipped, report
    site = build / "gh-pages"
    assert sorted(p.name for p in site.iterdir()) == ["feed.json", "feed.xml", "index.json", "packages.html"]
    return site


def current_entry(name, version, arch, **fields):
    """One entry of a current-format index (mip-current.md §3 + §4: the sidecar + URLs)."""
    file = f"{name.replace('-', '_')}-{version}-{arch}.mhl"
    sha = hashlib.sha256(file.encode()).hexdigest()
    entry = {"name": name, "version": version, "description": f"{name} package", "architecture": arch,
             "dependencies": [], "paths": ["."], "extra_paths": {}, "license": "MIT",
             "homepage": f"https://example.org/{name}", "repository": f"https://github.com/example/{name}",
             "install_type": "channel", "timestamp": "2026-01-02T03:04:05Z",
             "source_hash": hashlib.sha256(f"src {file}".encode()).hexdigest(),
             "commit_hash": "89abcdef0123456789abcdef0123456789abcdef", "mhl_sha256": sha, "mhl_size": 4096,
             "mhl_url": f"https://example.invalid/science/{file}",
             "mip_json_url": f"https://example.invalid/science/{file}.mip.json"}
    entry.update(fields)
    return entry


CURRENT_ENTRIES = [
    # chebby: 5.7.0 has linux_x86_64 and macos_arm64 builds; 5.6.0 had windows_x86_64, which
    # 5.7.0 lacks, and the client never falls back to an older version: nothing for Windows.
    current_entry("chebby", "5.6.0", "windows_x86_64"),
    current_entry("chebby", "5.7.0", "linux_x86_64", paths=[".", "toolbox"],
                  extra_paths={"examples": ["examples"]}, timestamp="2026-02-03T04:05:06Z"),
    current_entry("chebby", "5.7.0", "macos_arm64", paths=[".", "toolbox"], timestamp="2026-02-03T04:05:06Z"),
    # hostile: a javascript: homepage and download URL, markup and control characters.
    current_entry("hostile", "main", "any", description=HOSTILE_DESCRIPTION,
                  homepage="javascript:window.__pwned=6", mhl_url="javascript:window.__pwned=7",
                  paths=["<img src=x onerror=window.__pwned=8>"]),
    current_entry("needs", "1.0", "any", dependencies=["chebby", "other-org/geo/mapper"],
                  description="Uses chebby"),
]


@pytest.fixture(scope="module")
def current_site(tmp_path_factory):
    site = tmp_path_factory.mktemp("current-channel") / "gh-pages"
    doc = {"github_repo": "example-org/mip-science", "packages": CURRENT_ENTRIES,
           "total_packages": len(CURRENT_ENTRIES), "last_updated": "2026-03-04T05:06:07Z"}
    m.write_channel_site(json.dumps(doc, indent=2) + "\n", site)
    return site


# What each channel's page must show: package -> {platform: chosen version}, plus the package
# whose dependency link is checked, a search and what it leaves visible.
EXPECT = {
    "r2": dict(chosen={"solver": {"linux_x86_64": "1.0", "macos_arm64": "2.0", "windows_x86_64": "2.0"}},
               dependent=("plotter", "solver"), search=("fourier", {"signal-tools"}),
               title="core", platform_filter=None),
    "current": dict(chosen={"chebby": {"linux_x86_64": "5.7.0", "macos_arm64": "5.7.0", "windows_x86_64": None},
                            "needs": {"windows_x86_64": "1.0", "numbl_wasm": "1.0"}},
                    dependent=("needs", "chebby"), search=("uses", {"needs"}),
                    title="example-org/science", platform_filter=("windows_x86_64", {"hostile", "needs"})),
}


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with Chromium(tmp_path_factory.mktemp("chromium")) as b:
        yield b


def site_for(kind, r2_site, current_site):
    return r2_site if kind == "r2" else current_site


def chosen_on_page(page, anchor):
    """{platform: version or None} from the package's choice table, as rendered."""
    rows = page.evaluate(f"""Array.from(document.getElementById({json.dumps(anchor)})
        .querySelectorAll('table.choice tbody tr')).map(tr => [tr.getAttribute('data-platforms'),
        tr.classList.contains('unavailable') ? null : tr.querySelector('td.v').textContent,
        Array.from(tr.querySelectorAll('code.sha')).map(c => c.textContent)])""")
    chosen = {}
    for platforms, version, shas in rows:
        for p in platforms.split():
            chosen[p] = (version, shas)
    return chosen


def check_dom(page, kind, site):
    index = json.loads((site / "index.json").read_text())
    expect = EXPECT[kind]
    assert page.evaluate("document.title").startswith(expect["title"])
    sections = page.evaluate("Array.from(document.querySelectorAll('section.pkg')).map(s => s.id)")
    assert len(sections) == len({e["name"].lower().replace("-", "_") for e in index["packages"]})
    for name, want in expect["chosen"].items():
        assert page.evaluate(f"document.getElementById({json.dumps(name)}).tagName") == "SECTION"
        shown = chosen_on_page(page, name)
        for platform, version in want.items():
            got_version, shas = shown[platform]
            assert got_version == version, (name, platform, shown)
            if version is None:
                continue
            # The sha256 shown is the chosen build's, as in index.json (R2: first exact match in
            # index order, else the first `any`; current: within the newest version).
            builds = [e for e in index["packages"] if e["name"] == name and e["version"] == version]
            tag = "platform_tag" if kind == "r2" else "architecture"
            exact = [e for e in builds if e[tag] == platform]
            entry = (exact or [e for e in builds if e[tag] == "any"])[0]
            assert shas == [entry["mhl_sha256"]], (name, platform)
    # The dependency link resolves to an anchor on the page.
    package, dependency = expect["dependent"]
    href = page.evaluate(f"document.getElementById({json.dumps(package)}).querySelector('.deps a').getAttribute('href')")
    assert href == f"#{dependency}"
    assert page.evaluate(f"document.getElementById({json.dumps(href[1:])}).id") == dependency
    # Used-by goes the other way.
    assert page.evaluate(f"document.getElementById({json.dumps(dependency)}).querySelector('.used-by a').textContent") == package
    # Only https: links, fragments and the site's own files.
    hrefs = page.evaluate("Array.from(document.querySelectorAll('[href]')).map(a => a.getAttribute('href'))")
    assert all(h.startswith(("https://", "#")) or h in ("feed.xml", "feed.json", "index.json", "data:,")
               for h in hrefs), hrefs


def check_inert(page):
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.scripts.length") == 1  # the page's own
    assert page.evaluate("document.images.length") == 0
    assert page.evaluate("document.querySelectorAll('[onerror],[onmouseover]').length") == 0
    desc = page.evaluate("document.getElementById('hostile').querySelector('.desc').textContent")
    assert desc == SHOWN_DESCRIPTION
    # The CSP <meta> is in force: an inline script added to the DOM does not run.
    assert page.evaluate("""(() => { const s = document.createElement('script');
        s.textContent = 'window.__csp_probe = 1'; document.body.appendChild(s);
        return typeof window.__csp_probe; })()""") == "undefined"


def check_screenshot(page, tmp_path, name):
    png = page.screenshot()
    (tmp_path / f"{name}.png").write_bytes(png)
    width, height, channels, rows = decode_png(png)
    assert (width, height) == (1200, 900)
    # Not blank: many grey levels and a fair share of non-background pixels.
    sample = luma(rows, channels, 0, 0, width, height // 3)
    assert len(set(sample)) > 20
    assert sum(1 for v in sample if v < 200) > len(sample) // 100
    # The title is rendered: dark glyph pixels inside the <h1>'s box, on a light background.
    box = page.evaluate("(() => { const r = document.querySelector('h1').getBoundingClientRect();"
                        " return [r.left, r.top, r.right, r.bottom].map(Math.round); })()")
    pixels = luma(rows, channels, *box)
    assert box[2] - box[0] > 100 and box[3] - box[1] > 15, box
    dark = sum(1 for v in pixels if v < 100)
    assert dark > 200, (box, dark)
    assert sum(1 for v in pixels if v > 200) > len(pixels) // 3


COPY_BUTTONS_SHOWN = """new Promise(done => {
  const deadline = Date.now() + 20000;
  (function poll() {
    const n = document.querySelectorAll('button.copy').length;
    if (n > 0 || Date.now() > deadline) { done(n); } else { setTimeout(poll, 20); }
  })();
})"""


def served(kind, transport, site, tmp_path):
    """(url, server or None) of the page over file:// or a local HTTP server."""
    if transport == "file":
        return (site / "packages.html").as_uri(), None
    return None, RecordingHttpServer(site)


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["file", "http"])
@pytest.mark.parametrize("kind", ["r2", "current"])
def test_page_in_chromium(kind, transport, browser, r2_site, current_site, tmp_path):
    site = site_for(kind, r2_site, current_site)
    url, server = served(kind, transport, site, tmp_path)
    if server:
        server.__enter__()
        url = f"{server.base_url}/packages.html"
    try:
        page = browser.new_page()
        page.navigate(url)
        # The page's own script ran (its CSP hash matched): the controls are shown.
        assert page.evaluate("document.getElementById('_controls').hidden") is False
        # Copy buttons are added to packages as they come into view. The IntersectionObserver's
        # first callback comes after a rendering update, which a loaded machine can delay past
        # two frames (CI saw 0 buttons once), so poll for it, up to 20 s.
        assert page.evaluate(COPY_BUTTONS_SHOWN) > 0
        check_dom(page, kind, site)
        check_inert(page)
        total = page.evaluate("document.querySelectorAll('section.pkg').length")

        # Typing into the search box hides every package that does not match.
        term, visible = EXPECT[kind]["search"]
        page.evaluate("document.getElementById('_q').focus()")
        page.type_text(term)
        shown = page.evaluate("Array.from(document.querySelectorAll('section.pkg')).filter(s => !s.hidden).map(s => s.id)")
        assert set(shown) == visible
        hidden = page.evaluate("Array.from(document.querySelectorAll('section.pkg')).filter(s => s.hidden).length")
        assert hidden == total - len(visible)
        assert page.evaluate("getComputedStyle(document.querySelector('section.pkg[hidden]')).display") == "none"
        assert page.evaluate("document.getElementById('_shown').textContent") == f"{len(visible)} of {total} packages shown"
        page.evaluate("(() => { const q = document.getElementById('_q'); q.value = '';"
                      " q.dispatchEvent(new Event('input')); })()")
        assert page.evaluate("document.querySelectorAll('section.pkg[hidden]').length") == 0
        if EXPECT[kind]["platform_filter"]:
            platform, visible = EXPECT[kind]["platform_filter"]
            page.evaluate(f"(() => {{ const s = document.getElementById('_platform'); s.value = {json.dumps(platform)};"
                          " s.dispatchEvent(new Event('change')); })()")
            shown = page.evaluate("Array.from(document.querySelectorAll('section.pkg')).filter(s => !s.hidden).map(s => s.id)")
            assert set(shown) == visible

        check_screenshot(page, tmp_path, f"{kind}-{transport}")
        page.close()

        # An anchor per package: opening packages.html#<name> targets its section.
        package = EXPECT[kind]["dependent"][1]
        linked = browser.new_page()
        linked.navigate(f"{url}#{package}")
        assert linked.evaluate("document.querySelector(':target').id") == package
        linked.close()

        # Nothing was requested from the network: only the page itself.
        assert page.requests and set(page.requests) == {url}, page.requests
        assert set(linked.requests) == {url}, linked.requests
        if server:
            assert set(server.paths) == {"/packages.html"}, server.paths
    finally:
        if server:
            server.__exit__(None, None, None)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["r2", "current"])
def test_page_without_javascript(kind, browser, r2_site, current_site, tmp_path):
    site = site_for(kind, r2_site, current_site)
    page = browser.new_page(javascript=False)
    url = (site / "packages.html").as_uri()
    page.navigate(url)
    # Complete without JavaScript: every package shown, the JS-only controls hidden.
    assert page.evaluate("getComputedStyle(document.getElementById('_controls')).display") == "none"
    assert page.evaluate("document.querySelectorAll('section.pkg[hidden]').length") == 0
    assert page.evaluate("document.querySelectorAll('button.copy').length") == 0
    check_dom(page, kind, site)
    check_inert(page)
    install = page.evaluate(f"document.getElementById({json.dumps(EXPECT[kind]['dependent'][0])}).querySelector('dd code.cp').textContent")
    assert install.startswith("mip install ")
    # The builds table is in the DOM (a <details>, readable without script).
    assert page.evaluate("document.querySelectorAll('table.builds tbody tr').length") == len(
        json.loads((site / "index.json").read_text())["packages"])
    check_screenshot(page, tmp_path, f"{kind}-nojs")
    page.close()
    assert set(page.requests) == {url}, page.requests


def test_warnings_where_the_newest_version_lacks_a_platform(r2_site, current_site):
    r2 = m.summarize_channel((r2_site / "index.json").read_text())
    solver = next(p for p in r2.packages if p.name == "solver")
    assert solver.warnings == ["linux_x86_64: the client installs 1.0 (linux_x86_64), not the newest "
                               "version 2.0, which has no linux_x86_64 build: the R2-era client takes "
                               "the first exact match in index order"]
    current = m.summarize_channel((current_site / "index.json").read_text())
    assert current.format == m.IndexFormat.current
    chebby = next(p for p in current.packages if p.name == "chebby")
    assert [c.version for c in chebby.choices] == ["5.7.0", "5.7.0", "", "", ""]
    assert any(w.startswith("windows_x86_64: the newest version 5.7.0 has no build for it, although 5.6.0 had one")
               for w in chebby.warnings)
    html = (current_site / "packages.html").read_text()
    assert "windows_x86_64: the newest version 5.7.0 has no build for it" in html


def test_feeds_are_valid_and_newest_first(r2_site, current_site):
    for site in (r2_site, current_site):
        feed = json.loads((site / "feed.json").read_text())
        assert feed["version"] == "https://jsonfeed.org/version/1.1"
        dates = [i.get("date_published", "") for i in feed["items"]]
        assert dates == sorted(dates, reverse=True)
        assert all(i["id"].startswith("urn:sha256:") for i in feed["items"])
        atom = ET.fromstring((site / "feed.xml").read_bytes())
        ns = {"a": "http://www.w3.org/2005/Atom"}
        entries = atom.findall("a:entry", ns)
        assert len(entries) == len(feed["items"])
        assert [e.find("a:id", ns).text for e in entries] == [i["id"] for i in feed["items"]]
    current = json.loads((current_site / "feed.json").read_text())
    assert current["feed_url"] == "https://example-org.github.io/mip-science/feed.json"
    assert current["items"][0]["url"].startswith("https://example-org.github.io/mip-science/packages.html#chebby")
    hostile = next(i for i in current["items"] if i["title"].startswith("hostile"))
    assert "attachments" not in hostile  # a javascript: download URL is not offered


def test_the_site_is_byte_reproducible(r2_site, tmp_path):
    text = (r2_site / "index.json").read_text()
    again = tmp_path / "again"
    m.write_channel_site(text, again)
    for name in ("packages.html", "feed.json", "feed.xml", "index.json"):
        assert (again / name).read_bytes() == (r2_site / name).read_bytes(), name
    site = m.render_channel_site(text, channel_name="renamed")
    assert site.packages_html != (r2_site / "packages.html").read_text()
    assert site.summary.channel_name == "renamed"


def test_a_failed_write_leaves_the_site_as_it_was(r2_site, tmp_path):
    site = tmp_path / "gh-pages"
    shutil.copytree(r2_site, site)
    before = {p.name: p.read_bytes() for p in site.iterdir()}
    (site / "index.json").unlink()
    (site / "index.json").mkdir()  # in the way of the last file renamed
    (site / "index.json" / "keep").write_text("x")
    doc = json.loads((r2_site / "index.json").read_text())
    doc["packages"] = doc["packages"][:1]
    with pytest.raises(m.IoError) as e:
        m.write_channel_site(json.dumps(doc), site)
    assert "index.json" in str(e.value) and "left as it was" in str(e.value)
    for name in ("packages.html", "feed.json", "feed.xml"):
        assert (site / name).read_bytes() == before[name], name
    assert sorted(p.name for p in site.iterdir()) == ["feed.json", "feed.xml", "index.json", "packages.html"]


def test_binding_reports_bad_documents():
    with pytest.raises(m.SpecError) as e:
        m.render_channel_site('{"packages": [{"name": "x", "version": 1, "platform_tag": "any"}]}')
    assert "packages[0] (x).version" in str(e.value)
    assert m.detect_index_format('{"packages": []}') == m.IndexFormat.r2
    with pytest.raises(m.SpecError):
        m.render_channel_site("{}", format=m.IndexFormat.current)
