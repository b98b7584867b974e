#!/usr/bin/env python3
"""The channel page at 2,000 packages: page size (raw and gzip), libmip's render time, and the
time headless Chromium takes to load it (navigation timing: DOMContentLoaded, which includes
the page's script, and the load event), median of several loads, each in a fresh tab.

    PYTHONPATH=build/bindings:bindings/python:tests/support \
        /usr/bin/python3 bench/channel_page.py [--packages 2000] [--runs 7]

Deterministic data (seeded): each package 1-3 versions, a quarter of them with a
platform-specific build, descriptions of 60-300 characters, 0-3 dependencies, 3-40 symbols.
Nothing here is part of the test suite; no test asserts on time (docs/channel-page.md)."""
import argparse
import gzip
import hashlib
import json
import pathlib
import random
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

import mip_native as m  # noqa: E402
from browser import Chromium  # noqa: E402

WORDS = ("sparse linear solver matrix fast fourier transform filter signal mesh geometry spectral "
         "method chebyshev interpolation quadrature optimisation toolbox plotting statistics "
         "regression kernel wavelet image boundary integral equation finite element").split()
PLATFORMS_R2 = ["linux_x86_64", "macos_arm64", "windows_x86_64"]
PLATFORMS_CURRENT = ["linux_x86_64", "macos_arm64", "macos_x86_64", "windows_x86_64"]


def make_index(n, fmt, seed=17):
    rng = random.Random(seed)
    names = [f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{i:04d}" for i in range(n)]
    entries = []
    for i, name in enumerate(names):
        description = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40)))[:300]
        deps = sorted(set(rng.sample(names[:i], min(i, rng.randint(0, 3))))) if i else []
        symbols = sorted({f"{rng.choice(WORDS)}_{k}" for k in range(rng.randint(3, 40))})
        versions = [f"{rng.randint(0, 5)}.{rng.randint(0, 20)}.{v}" for v in range(rng.randint(1, 3))]
        for v in sorted(set(versions), reverse=True):
            platforms = ["any"] if rng.random() > 0.25 else rng.sample(
                PLATFORMS_R2 if fmt == "r2" else PLATFORMS_CURRENT, rng.randint(1, 3))
            for p in platforms:
                wheel = f"{name}-{v}-any-none-{p}" if fmt == "r2" else f"{name}-{v}-{p}"
                sha = hashlib.sha256(wheel.encode()).hexdigest()
                e = {"name": name, "description": description, "version": v, "dependencies": deps,
                     "homepage": f"https://example.org/{name}", "repository": f"https://github.com/example/{name}",
                     "license": rng.choice(["MIT", "BSD-3-Clause", "GPL-3.0", "Apache-2.0", "unspecified"]),
                     "timestamp": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:00:00Z",
                     "mhl_sha256": sha, "mhl_size": rng.randint(2_000, 20_000_000)}
                if fmt == "r2":
                    e.update({"build_number": 0, "matlab_tag": "any", "abi_tag": "none", "platform_tag": p,
                              "exposed_symbols": symbols,
                              "source": {"type": "git", "url": f"https://github.com/example/{name}.git",
                                         "ref": None, "commit": hashlib.sha1(wheel.encode()).hexdigest()},
                              "mhl_url": f"https://example.org/core/packages/sha256/{sha}/{wheel}.mhl",
                              "mip_json_url": f"https://example.org/core/packages/{wheel}.mhl.mip.json"})
                else:
                    e.update({"architecture": p, "paths": [".", "src"], "extra_paths": {},
                              "install_type": "channel", "commit_hash": hashlib.sha1(wheel.encode()).hexdigest(),
                              "source_hash": sha, "mhl_url": f"https://example.org/science/{wheel}.mhl",
                              "mip_json_url": f"https://example.org/science/{wheel}.mhl.mip.json"})
                entries.append(e)
    doc = {"packages": entries, "total_packages": len(entries), "last_updated": "2025-12-31T00:00:00Z"}
    if fmt == "current":
        doc = {"github_repo": "example-org/mip-science", **doc}
    return json.dumps(doc, indent=2) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp, Chromium(pathlib.Path(tmp) / "browser") as browser:
        for fmt in ("r2", "current"):
            text = make_index(args.packages, fmt)
            renders, render_cpu = [], []
            for _ in range(args.runs):
                t0, c0 = time.perf_counter(), time.process_time()
                site = m.render_channel_site(text)
                renders.append(time.perf_counter() - t0)
                render_cpu.append(time.process_time() - c0)
            out = pathlib.Path(tmp) / fmt
            m.write_channel_site(text, out)
            html = (out / "packages.html").read_bytes()
            url = (out / "packages.html").as_uri()
            dcl, load, wall, busy = [], [], [], []
            for _ in range(args.runs):
                page = browser.new_page()
                page.send("Performance.enable")
                t0 = time.perf_counter()
                page.navigate(url)
                wall.append(time.perf_counter() - t0)
                # Busy time of the renderer's main thread (parse, style, layout, script): less
                # sensitive to other load on the machine than wall-clock times.
                metrics = {x["name"]: x["value"] for x in page.send("Performance.getMetrics")["metrics"]}
                busy.append(metrics["TaskDuration"] * 1000)
                nav = page.evaluate("(() => { const n = performance.getEntriesByType('navigation')[0];"
                                    " return [n.domContentLoadedEventEnd, n.loadEventEnd]; })()")
                dcl.append(nav[0])
                load.append(nav[1])
                page.close()
            # Typing a search term: time until the page has hidden the non-matching packages.
            page = browser.new_page()
            page.navigate(url)
            search_ms = page.evaluate("""(() => { const q = document.getElementById('_q');
                const t0 = performance.now(); q.value = 'fourier';
                q.dispatchEvent(new Event('input')); return performance.now() - t0; })()""")
            page.close()
            results[fmt] = {
                "packages": len(site.summary.packages), "builds": site.summary.builds,
                "index_json_bytes": len(text.encode()),
                "html_bytes": len(html), "html_gzip_bytes": len(gzip.compress(html, 9, mtime=0)),
                "render_ms_median": round(statistics.median(renders) * 1000, 1),
                "render_cpu_ms_median": round(statistics.median(render_cpu) * 1000, 1),
                "chromium_main_thread_busy_ms_median": round(statistics.median(busy), 1),
                "chromium_domcontentloaded_ms_median": round(statistics.median(dcl), 1),
                "chromium_load_ms_median": round(statistics.median(load), 1),
                "navigate_wall_ms_median": round(statistics.median(wall) * 1000, 1),
                "search_keystroke_ms": round(search_ms, 1),
                "runs": args.runs,
            }
    with open("/proc/loadavg") as f:
        results["load_average_1min"] = float(f.read().split()[0])
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
