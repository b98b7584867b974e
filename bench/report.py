#!/usr/bin/env python3
"""Turns bench/results/results.json into the table (stdout and results.md), the target verdicts
(results.json "targets") and the charts (chart.png, scaling.png). Needs matplotlib (Debian's
python3-matplotlib); without it, the table is still written.

    python3 bench/report.py bench/results/results.json"""
import json
import math
import pathlib
import sys

# (scenario, libmip label, competitor label, minimum speed-up, description)
TARGETS = [
    ("index2000", "libmip", "reference", 20, "index 2,000: ≥ 20× the reference"),
    ("index2000", "libmip", "boto3 32 threads", 2, "index 2,000: ≥ 2× boto3 32 threads"),
    ("index2000", "libmip", "wrk (GET rate)", 0.9, "index 2,000: ≥ 0.9× wrk's request rate"),
    ("cache500", "libmip", "reference", 20, "cache check 500: ≥ 20× the reference"),
    ("upload200", "libmip", "reference", 5, "upload 200 × 1 MB: ≥ 5× the reference"),
    ("upload200", "libmip", "boto3 32 threads", 1.5, "upload 200 × 1 MB: ≥ 1.5× boto3 32 threads"),
    ("big", "libmip --flat-urls", "boto3 transfer manager", 1, "2 GiB multipart: ≥ boto3 transfer manager"),
    ("big", "libmip --flat-urls", "aws s3 cp", 1, "2 GiB multipart: ≥ aws CLI"),
    ("bundle60", "libmip -j 1", "python zipfile (reference)", 1.5, "bundle: -j 1 ≥ 1.5× Python zipfile"),
    ("bundle60", "libmip -j 2", "python zipfile (reference)", 2.5, "bundle: -j 2 ≥ 2.5× Python zipfile"),
    ("bundle60", "libmip -j 1", "Info-ZIP zip -X", 1, "bundle: ≥ 1× Info-ZIP zip -X (one core)"),
    ("publish100", "libmip", "reference pipeline", 10, "publish 100: ≥ 10× the reference pipeline"),
    ("incremental", "libmip incremental", "libmip full", 10, "incremental index (1%): ≥ 10× a full assembly"),
    ("startup", "libmip", "reference", 20, "start-up: ≥ 20× the reference"),
]
# Requests each job issues (for comparing with wrk's rate).
REQUESTS = {"index2000": 2000 + 2, "upload200": 400}


def median(c):
    return c.get("median")


def speedups(res):
    """Per scenario: libmip-variant → {competitor: competitor_time / libmip_time}."""
    out = {}
    for name, sc in res["scenarios"].items():
        comps = sc["competitors"]
        for label, c in comps.items():
            if c.get("median") is None:
                continue
            t = c["median"]
            if label.startswith("wrk") and name in REQUESTS:
                t = REQUESTS[name] * c["median"]  # seconds per request × requests of the job
            c["equivalent_seconds"] = t
    return out


def verdicts(res):
    out = []
    for sc_name, lib, comp, target, text in TARGETS:
        sc = res["scenarios"].get(sc_name)
        if not sc or lib not in sc["competitors"] or comp not in sc["competitors"]:
            out.append({"target": text, "ratio": None, "met": None})
            continue
        tl = sc["competitors"][lib]["equivalent_seconds"]
        tc = sc["competitors"][comp]["equivalent_seconds"]
        ratio = tc / tl
        out.append({"target": text, "ratio": ratio, "minimum": target, "met": ratio >= target})
    big = res["scenarios"].get("big")
    if big and "libmip --flat-urls" in big["competitors"]:
        rss = big["competitors"]["libmip --flat-urls"].get("median_rss_mib")
        out.append({"target": "2 GiB multipart: peak RSS ≤ 64 MiB", "ratio": rss, "minimum": 64,
                    "met": rss is not None and rss <= 64, "unit": "MiB"})
    return out


def table(res):
    lines = ["| scenario | competitor | median (s) | runs | libmip's speed-up |", "|---|---|---:|---:|---:|"]
    for name, sc in res["scenarios"].items():
        comps = sc["competitors"]
        lib = next((l for l in comps if l.startswith("libmip")), None)
        for label, c in comps.items():
            if c.get("median") is None:
                continue
            shown = f"{c['equivalent_seconds']:.3f}"
            if label.startswith("wrk"):
                shown = f"{c['equivalent_seconds']:.3f} ({1 / c['median']:.0f} req/s)"
            extra = ""
            if name == "big":
                gib = res["settings"]["big_bytes"] / (1 << 30)
                extra = f", {res['settings']['big_bytes'] / (1 << 20) / c['median']:.0f} MiB/s, RSS {c.get('median_rss_mib', 0):.0f} MiB"
                del gib
            ratio = ""
            if lib and not label.startswith("libmip"):
                ratio = f"{c['equivalent_seconds'] / comps[lib]['equivalent_seconds']:.1f}×"
            lines.append(f"| {sc['title']} | {label}{extra} | {shown} | {len(c['seconds'])} | {ratio} |")
    return "\n".join(lines)


def charts(res, outdir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: matplotlib missing (apt install python3-matplotlib); no charts", file=sys.stderr)
        return
    v = [x for x in res["targets"] if x.get("ratio") is not None and x.get("unit") is None]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(v) + 1.5))
    names = [x["target"] for x in v]
    ratios = [x["ratio"] for x in v]
    colors = ["#2a9d8f" if x["met"] else "#e76f51" for x in v]
    y = range(len(v))
    ax.barh(list(y), ratios, color=colors)
    ax.scatter([x["minimum"] for x in v], list(y), marker="|", s=300, color="black", zorder=3, label="target")
    ax.set_yticks(list(y))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("libmip's speed-up (competitor time ÷ libmip time, medians; log scale)")
    for i, r in enumerate(ratios):
        ax.text(r, i, f" {r:.1f}×", va="center", fontsize=8)
    ax.legend(loc="lower right")
    ax.set_title(f"libmip vs competitors — {res['settings']['delay_ms']:.0f} ms per request, "
                 f"{res['machine']['cpus']} CPUs, ≥ {res['settings']['runs']} runs (green: target met)")
    fig.tight_layout()
    fig.savefig(outdir / "chart.png", dpi=110)
    plt.close(fig)

    sc = res.get("scaling", {}).get("libmip_median_seconds")
    if sc:
        ns = sorted(int(n) for n in sc)
        ts = [sc[str(n)] if str(n) in sc else sc[n] for n in ns]
        delay = res["settings"]["delay_ms"] / 1000
        fig, ax = plt.subplots(figsize=(7, 4.5))
        ax.plot(ns, ts, "o-", label="libmip index (median)")
        model = [math.ceil(n / 1000) * delay * 3 + n / 32 * delay for n in ns]
        ax.plot(ns, model, "--", color="gray", label="round trips ÷ 32 connections × 20 ms")
        wrk = res["scenarios"].get("index2000", {}).get("competitors", {}).get("wrk (GET rate)")
        if wrk and wrk.get("median"):
            ax.plot(ns, [n * wrk["median"] for n in ns], ":", color="black", label="n ÷ wrk's GET rate")
        ax.set_xlabel("sidecars")
        ax.set_ylabel("seconds")
        ax.set_title("Index assembly time vs store size")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(outdir / "scaling.png", dpi=110)
        plt.close(fig)


def main():
    path = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent / "results" / "results.json")
    res = json.loads(path.read_text())
    speedups(res)
    res["targets"] = verdicts(res)
    t = table(res)
    lines = [t, "", "| target | measured | met |", "|---|---:|---|"]
    for v in res["targets"]:
        if v["ratio"] is None:
            lines.append(f"| {v['target']} | not run | |")
        else:
            unit = v.get("unit", "×")
            lines.append(f"| {v['target']} | {v['ratio']:.2f}{' ' + unit if unit != '×' else '×'} | {'yes' if v['met'] else '**no**'} |")
    if res.get("ceilings"):
        lines += ["", "| server ceiling (wrk, 32 connections) | requests/s |", "|---|---:|"]
        lines += [f"| {k} | {v:.3f} |" if "seconds" in k else f"| {k} | {v:.0f} |" for k, v in res["ceilings"].items()]
    if res.get("scaling"):
        lines += ["", "| sidecars | libmip index (median s) |", "|---:|---:|"]
        lines += [f"| {k} | {v:.3f} |" for k, v in res["scaling"]["libmip_median_seconds"].items()]
    for k, v in res.get("checks", {}).items():
        lines.append(f"\nCheck: {k}: {'yes' if v else '**NO**'}")
    md = "\n".join(lines) + "\n"
    print(md)
    (path.parent / "results.md").write_text(md)
    path.write_text(json.dumps(res, indent=2) + "\n")
    charts(res, path.parent)


if __name__ == "__main__":
    main()
