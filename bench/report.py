#!/usr/bin/env python3
"""Turns bench/results/results.json into the table (stdout and results.md), the target verdicts
(results.json "targets"), the server-bound figures and the charts (chart.png, scaling.png,
scale.png). Needs matplotlib (Debian's python3-matplotlib); without it, the tables are still
written.

    python3 bench/report.py bench/results/results.json

Client CPU per object: user + system CPU of the client's whole process tree, median over the runs,
divided by what the scenario moves (sidecars, objects, packages, files; wrk: per request).

Server bound: how long the servers alone need for one competitor's requests (nginx counted them,
by kind and bytes), from the scenario-independent ceilings measured in the same run:
  moto     = Σ over requests moto serves of their cost when moto is saturated: a PUT costs
             1 ÷ moto's PUT rate at its size (linear between the 1.5 KB, 1 MiB and 8 MiB rates),
             multipart parts also their share of CompleteMultipartUpload (seconds per MiB), a
             CopyObject 1 ÷ the 1 MiB copy rate, a listing the 1,000-key page time × its bytes ÷
             the page's bytes, anything else 1 ÷ moto's GET rate; GET/HEAD from nginx's mirror
             cost moto nothing
  latency  = requests × the delay ÷ the competitor's requests in flight
  proxy    = requests ÷ the rate nginx + proxy sustain at 0 ms
The bound is the largest of the three; "wall ÷ bound" near 1 means the servers, not the client,
set the time (a bound, not a prediction: it ignores bodies' transfer time and connection set-up)."""
import json
import pathlib
import sys

MB = 1 << 20

# (scenario, libmip label, competitor label, minimum, description, kind)
#   kind "wall": competitor time ÷ libmip time ≥ minimum
#   kind "cpu":  competitor CPU per object ÷ libmip's ≥ minimum (libmip uses ≤ 1/minimum of it)
TARGETS = [
    # issue #18
    ("index2000", "libmip", "rclone copy --transfers 32", 1.5, "index 2,000: ≥ 1.5× rclone --transfers 32", "wall"),
    ("index2000", "libmip", "rclone copy --transfers 64", 1.5, "index 2,000: ≥ 1.5× rclone --transfers 64", "wall"),
    ("index2000", "libmip", "rclone copy --transfers 32", 2, "index 2,000: CPU/object ≤ 0.5× rclone's (32)", "cpu"),
    ("index2000", "libmip", "rclone copy --transfers 64", 2, "index 2,000: CPU/object ≤ 0.5× rclone's (64)", "cpu"),
    ("incremental", "libmip incremental", "libmip full", 10, "incremental index (1%): ≥ 10× a full assembly", "wall"),
    ("upload200", "libmip", "boto3 32 threads", 1.5, "upload 200 × 1 MB: ≥ 1.5× boto3 32 threads", "wall"),
    ("upload200", "libmip", "rclone copy", 1.2, "upload 200 × 1 MB: ≥ 1.2× rclone", "wall"),
    ("publish100", "libmip", "reference pipeline", 10, "publish 100: ≥ 10× the reference pipeline", "wall"),
    ("cache500", "libmip", "reference", 20, "cache check 500: ≥ 20× the reference", "wall"),
    # issue #7
    ("index2000", "libmip", "reference", 20, "index 2,000: ≥ 20× the reference", "wall"),
    ("index2000", "libmip", "boto3 32 threads", 2, "index 2,000: ≥ 2× boto3 32 threads", "wall"),
    ("index2000", "libmip", "wrk (GET rate)", 0.9, "index 2,000: ≥ 0.9× wrk's request rate", "wall"),
    ("upload200", "libmip", "reference", 5, "upload 200 × 1 MB: ≥ 5× the reference", "wall"),
    ("big", "libmip --flat-urls", "boto3 transfer manager", 1, "2 GiB multipart: ≥ boto3 transfer manager", "wall"),
    ("big", "libmip --flat-urls", "aws s3 cp", 1, "2 GiB multipart: ≥ aws CLI", "wall"),
    ("big", "libmip --flat-urls", "rclone copyto", 1, "2 GiB multipart: ≥ rclone", "wall"),
    ("bundle60", "libmip -j 1", "python zipfile (reference)", 1.5, "bundle: -j 1 ≥ 1.5× Python zipfile", "wall"),
    ("bundle60", "libmip -j 2", "python zipfile (reference)", 2.5, "bundle: -j 2 ≥ 2.5× Python zipfile", "wall"),
    ("bundle60", "libmip -j 1", "Info-ZIP zip -X", 1, "bundle: ≥ 1× Info-ZIP zip -X (one core)", "wall"),
    ("startup", "libmip", "reference", 20, "start-up: ≥ 20× the reference", "wall"),
]
# Requests each job issues (for comparing with wrk's rate).
REQUESTS = {"index2000": 2000 + 2, "upload200": 400}

CEILINGS = [  # (key, description, unit)
    ("nginx_get_per_s", "object GETs, nginx direct", "/s"),
    ("proxy0_get_per_s", "object GETs, nginx through the proxy at 0 ms", "/s"),
    ("proxy_get_per_s", "object GETs, nginx through the proxy at the bench's delay", "/s"),
    ("moto_get_per_s", "object GETs, moto direct", "/s"),
    ("moto_put_small_per_s", "PUTs of a sidecar (~1.5 KB), moto direct", "/s"),
    ("moto_put_1mib_per_s", "PUTs of 1 MiB, moto direct", "/s"),
    ("moto_put_8mib_per_s", "PUTs of 8 MiB (a multipart part), moto direct, 8 connections", "/s"),
    ("moto_complete_s_per_mib", "CompleteMultipartUpload, moto, per MiB of the object", "s"),
    ("moto_copy_1mib_per_s", "CopyObjects of 1 MiB, moto direct", "/s"),
    ("proxy_put_1mib_per_s", "PUTs of 1 MiB through proxy + nginx + moto", "/s"),
    ("moto_list_page_s", "one ListObjectsV2 page of 1,000 keys, moto direct", "s"),
    ("proxy_list_page_s", "the same page through the proxy", "s"),
]


def speedups(res):
    """Adds equivalent_seconds (wrk: its seconds per request × the job's requests)."""
    for name, sc in res["scenarios"].items():
        for label, c in sc["competitors"].items():
            if c.get("median") is None:
                continue
            t = c["median"]
            if label.startswith("wrk") and name in REQUESTS:
                t = REQUESTS[name] * c["median"]
            c["equivalent_seconds"] = t


def server_bound(mix, ceil, concurrency):
    """{moto, latency, proxy, bound_s, by} for one run's request mix; None without data."""
    need = ("moto_get_per_s", "moto_put_small_per_s", "moto_put_1mib_per_s", "moto_copy_1mib_per_s",
            "moto_list_page_s", "list_page_bytes", "proxy0_get_per_s", "put_small_bytes", "delay_ms")
    if not mix or not ceil or any(not ceil.get(k) for k in need):
        return None
    # a PUT of b bytes costs moto put_cost(b): linear between the measured sizes
    points = [(ceil["put_small_bytes"], 1 / ceil["moto_put_small_per_s"]), (MB, 1 / ceil["moto_put_1mib_per_s"])]
    if ceil.get("moto_put_8mib_per_s"):
        points.append((8 * MB, 1 / ceil["moto_put_8mib_per_s"]))

    def put_cost(b):
        lo, hi = (points[0], points[1]) if b <= MB or len(points) == 2 else (points[1], points[2])
        slope = max(0.0, (hi[1] - lo[1]) / (hi[0] - lo[0]))
        return max(0.0, lo[1] + slope * (b - lo[0]))
    moto = 0.0
    for kind, (n, bytes_in, bytes_out) in mix.items():
        if kind in ("GET", "HEAD"):
            continue  # nginx's mirror
        if kind == "LIST":
            moto += ceil["moto_list_page_s"] * bytes_out / ceil["list_page_bytes"]
        elif kind in ("PUT", "PUT part"):
            moto += n * put_cost(bytes_in / n)  # at the kind's average size
            if kind == "PUT part":  # completing the upload concatenates every part
                moto += ceil.get("moto_complete_s_per_mib", 0.0) * bytes_in / MB
        elif kind == "COPY":
            moto += n / ceil["moto_copy_1mib_per_s"]
        else:
            moto += n / ceil["moto_get_per_s"]
    total = sum(v[0] for v in mix.values())
    terms = {"moto": moto, "proxy": total / ceil["proxy0_get_per_s"],
             "latency": total * ceil["delay_ms"] / 1000 / concurrency if concurrency else 0.0}
    by = max(terms, key=terms.get)
    return {**terms, "bound_s": terms[by], "by": by}


def annotate(res):
    """CPU and server-bound figures per competitor, stored back into results.json."""
    ceil = res.get("ceilings") or {}
    for name, sc in res["scenarios"].items():
        comps = sc["competitors"]
        lib = next((l for l in comps if l.startswith("libmip") and comps[l].get("median") is not None), None)
        lib_cpu = comps[lib].get("cpu_ms_per_object") if lib else None
        for label, c in comps.items():
            if c.get("median") is None:
                continue
            if lib_cpu and c.get("cpu_ms_per_object") is not None and not label.startswith("libmip"):
                c["cpu_vs_libmip"] = c["cpu_ms_per_object"] / lib_cpu
            if not label.startswith("wrk"):
                sb = server_bound(c.get("request_mix"), ceil, c.get("concurrency"))
                if sb:
                    c["server_bound"] = sb
                    c["wall_over_bound"] = c["median"] / sb["bound_s"] if sb["bound_s"] > 0 else None
    for job in ("no-op publish", "index"):
        for n, e in (res.get("scale10k") or {}).get(job, {}).items():
            if e.get("median") is not None:
                sb = server_bound(e.get("request_mix"), ceil, 32)
                if sb:
                    e["server_bound"] = sb


def verdicts(res):
    out = []
    for sc_name, lib, comp, target, text, kind in TARGETS:
        sc = res["scenarios"].get(sc_name)
        comps = sc["competitors"] if sc else {}
        have = lib in comps and comp in comps and comps[lib].get("median") is not None \
            and comps[comp].get("median") is not None
        if kind == "cpu":
            have = have and comps[lib].get("cpu_ms_per_object") and comps[comp].get("cpu_ms_per_object")
        if not have:
            out.append({"target": text, "ratio": None, "met": None})
            continue
        if kind == "cpu":
            ratio = comps[comp]["cpu_ms_per_object"] / comps[lib]["cpu_ms_per_object"]
        else:
            ratio = comps[comp]["equivalent_seconds"] / comps[lib]["equivalent_seconds"]
        out.append({"target": text, "ratio": ratio, "minimum": target, "met": ratio >= target, "kind": kind})
    big = res["scenarios"].get("big")
    if big and big["competitors"].get("libmip --flat-urls", {}).get("median_rss_mib") is not None:
        rss = big["competitors"]["libmip --flat-urls"]["median_rss_mib"]
        out.append({"target": "2 GiB multipart: peak RSS ≤ 64 MiB", "ratio": rss, "maximum": 64,
                    "met": rss <= 64, "unit": "MiB"})
    scale = res.get("scale10k") or {}
    if scale.get("sizes"):
        hi = str(max(scale["sizes"]))
        lin = scale.get("linearity", {}).get("no-op publish")
        if lin is not None:
            out.append({"target": f"no-op publish {int(hi):,}: ≤ 2× linear from {min(scale['sizes']):,}",
                        "ratio": lin, "maximum": 2, "met": lin <= 2, "unit": "× linear"})
        e = scale.get("no-op publish", {}).get(hi, {})
        if e.get("median_rss_mib") is not None:
            out.append({"target": f"no-op publish {int(hi):,}: peak RSS ≤ 256 MiB", "ratio": e["median_rss_mib"],
                        "maximum": 256, "met": e["median_rss_mib"] <= 256, "unit": "MiB"})
    return out


def fmt_mix(mix):
    return ", ".join(f"{k} {v[0]}" for k, v in mix.items()) if mix else ""


def table(res):
    lines = ["| scenario | competitor | median (s) | runs | libmip's speed-up | client CPU per object (ms) "
             "| CPU ÷ libmip's | requests | server bound (s) | wall ÷ bound |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, sc in res["scenarios"].items():
        comps = sc["competitors"]
        lib = next((l for l in comps if l.startswith("libmip") and comps[l].get("median") is not None), None)
        for label, c in comps.items():
            if c.get("median") is None:
                lines.append(f"| {sc['title']} | {label} | failed | 0 | | | | | | |")
                continue
            shown = f"{c['equivalent_seconds']:.3f}"
            if label.startswith("wrk"):
                shown = f"{c['equivalent_seconds']:.3f} ({1 / c['median']:.0f} req/s)"
            extra = ""
            if name == "big" and res["settings"].get("big_bytes"):
                extra = (f", {res['settings']['big_bytes'] / MB / c['median']:.0f} MiB/s, "
                         f"RSS {c.get('median_rss_mib', 0):.0f} MiB")
            ratio = ""
            if lib and not label.startswith("libmip"):
                ratio = f"{c['equivalent_seconds'] / comps[lib]['equivalent_seconds']:.2f}×"
            cpu = f"{c['cpu_ms_per_object']:.3f}" if c.get("cpu_ms_per_object") is not None else ""
            if label.startswith("wrk") and cpu:
                cpu += " per request"
            cpu_ratio = f"{c['cpu_vs_libmip']:.1f}×" if c.get("cpu_vs_libmip") is not None else ""
            reqs = "" if label.startswith("wrk") else f"{c.get('median_requests', 0):.0f}"
            sb = c.get("server_bound")
            bound = f"{sb['bound_s']:.3f} ({sb['by']})" if sb else ""
            wob = f"{c['wall_over_bound']:.2f}" if c.get("wall_over_bound") else ""
            lines.append(f"| {sc['title']} | {label}{extra} | {shown} | {len(c['seconds'])} | {ratio} | {cpu} "
                         f"| {cpu_ratio} | {reqs} | {bound} | {wob} |")
    return "\n".join(lines)


def request_table(res):
    lines = ["| scenario | competitor | requests of the last run (nginx's log) |", "|---|---|---|"]
    for name, sc in res["scenarios"].items():
        for label, c in sc["competitors"].items():
            if c.get("request_mix"):
                lines.append(f"| {name} | {label} | {fmt_mix(c['request_mix'])} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def ceilings_table(res):
    ceil = res.get("ceilings") or {}
    if not ceil:
        return ""
    lines = ["| what the servers sustain alone (wrk, 32 connections; listing: median of 5) | measured |",
             "|---|---:|"]
    if not any(key in ceil for key, _, _ in CEILINGS):  # results.json of the issue #7 harness
        return "\n".join(lines + [f"| {k} | {v:.3f} |" if "seconds" in k else f"| {k} | {v:,.0f}/s |"
                                   for k, v in ceil.items()])
    for key, text, unit in CEILINGS:
        if ceil.get(key) is None:
            continue
        v = ceil[key]
        shown = (f"{v * 1000:.1f} ms" if v < 0.1 else f"{v * 1000:.0f} ms") if unit == "s" else f"{v:,.0f}/s"
        if key.startswith("proxy_"):
            text = text.replace("the bench's delay", f"{ceil.get('delay_ms', 0):.0f} ms")
        lines.append(f"| {text} | {shown} |")
    return "\n".join(lines)


def scale_table(res):
    scale = res.get("scale10k") or {}
    if not scale.get("sizes"):
        return ""
    lines = ["| packages | job | median (s) | runs | client CPU per package (ms) | peak RSS (MiB) | requests "
             "| server bound (s) |", "|---:|---|---:|---:|---:|---:|---|---:|"]
    for n in scale["sizes"]:
        for job in ("no-op publish", "index"):
            e = scale.get(job, {}).get(str(n), {})
            if e.get("median") is None:
                lines.append(f"| {n:,} | {job} | failed | 0 | | | | |")
                continue
            sb = e.get("server_bound")
            bound = f"{sb['bound_s']:.3f} ({sb['by']})" if sb else ""
            lines.append(f"| {n:,} | {job} | {e['median']:.3f} | {len(e['seconds'])} | {e['cpu_ms_per_object']:.3f} "
                         f"| {e['median_rss_mib']:.0f} | {e['median_requests']:.0f} ({fmt_mix(e.get('request_mix'))}) "
                         f"| {bound} |")
    lo, hi = min(scale["sizes"]), max(scale["sizes"])
    for job, v in scale.get("linearity", {}).items():
        lines.append(f"\nLinearity, {job}: time({hi:,}) = **{v:.2f}** × ({hi // lo} × time({lo:,})) (1 = linear)")
    return "\n".join(lines)


def cpu_rows(res):
    """(scenario title, competitor, CPU ms per object) for the chart, scenario by scenario."""
    rows = []
    for name, sc in res["scenarios"].items():
        if name == "startup":
            continue
        for label, c in sc["competitors"].items():
            if c.get("cpu_ms_per_object") and not label.startswith("wrk"):
                rows.append((name, sc.get("unit", "object").rstrip("s"), label, c["cpu_ms_per_object"]))
    return rows


def charts(res, outdir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: matplotlib missing (apt install python3-matplotlib); no charts", file=sys.stderr)
        return
    v = [x for x in res["targets"] if x.get("ratio") is not None and x.get("unit") is None]
    rows = cpu_rows(res)
    if v or rows:
        chart(res, outdir, v, rows, plt)
    scaling_charts(res, outdir, plt)


def chart(res, outdir, v, rows, plt):
    """chart.png: the target ratios (top) and client CPU per object (bottom)."""
    h1 = 0.42 * len(v) + 1.2
    h2 = 0.26 * len(rows) + 1.2
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(11, h1 + h2), gridspec_kw={"height_ratios": [h1, h2]})
    if v:
        y = list(range(len(v)))
        ratios = [x["ratio"] for x in v]
        ax.barh(y, ratios, color=["#2a9d8f" if x["met"] else "#e76f51" for x in v])
        ax.scatter([x["minimum"] for x in v], y, marker="|", s=300, color="black", zorder=3, label="target")
        ax.set_yticks(y)
        ax.set_yticklabels([x["target"] for x in v], fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("libmip's advantage (competitor ÷ libmip: wall time, or CPU per object; medians; log scale)")
        for i, r in enumerate(ratios):
            ax.text(r, i, f" {r:.2f}×", va="center", fontsize=8)
        ax.legend(loc="lower right")
        ax.set_title(f"libmip vs competitors — {res['settings']['delay_ms']:.0f} ms per request, "
                     f"{res['machine']['cpus']} CPUs, ≥ {res['settings']['runs']} runs (green: target met)")
    else:
        ax.axis("off")
        ax.text(0.5, 0.5, "no target ratios in this results.json", ha="center", va="center")
    if rows:
        palette = {}
        cycle = ["#264653", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51", "#8d99ae", "#6a4c93", "#1982c4"]
        cols = []
        for _, _, label, _ in rows:
            palette.setdefault(label.split(" ")[0], cycle[len(palette) % len(cycle)])
            cols.append(palette[label.split(" ")[0]])
        y2 = list(range(len(rows)))
        vals = [r[3] for r in rows]
        ax2.barh(y2, vals, color=cols)
        ax2.set_yticks(y2)
        ax2.set_yticklabels([f"{sc}: {label}" for sc, _, label, _ in rows], fontsize=7)
        ax2.invert_yaxis()
        ax2.set_xscale("log")
        for i, (val, (_, unit, _, _)) in enumerate(zip(vals, rows)):
            ax2.text(val, i, f" {val:.3g} ms/{unit}", va="center", fontsize=7)
        ax2.set_xlabel("client CPU (user + system, whole process tree) per object moved, ms (median; log scale)")
        ax2.set_title("Client CPU per object")
    else:
        ax2.axis("off")
        ax2.text(0.5, 0.5, "no client-CPU figures in this results.json", ha="center", va="center")
    fig.tight_layout()
    fig.savefig(outdir / "chart.png", dpi=110)
    plt.close(fig)


def scaling_charts(res, outdir, plt):
    """scaling.png (index time vs sidecars) and scale.png (time and peak RSS vs catalogue)."""
    sc = res.get("scaling", {}).get("libmip_median_seconds")
    if sc:
        ns = sorted(int(n) for n in sc)
        ts = [sc[str(n)] for n in ns]
        delay = res["settings"]["delay_ms"] / 1000
        fig, ax = plt.subplots(figsize=(7, 4.5))
        ax.plot(ns, ts, "o-", label="libmip index (median)")
        model = [-(-n // 1000) * delay * 3 + n / 32 * delay for n in ns]
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

    scale = res.get("scale10k") or {}
    if scale.get("sizes"):
        ns = scale["sizes"]
        lo = min(ns)
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.8))
        for job, color in (("no-op publish", "#264653"), ("index", "#e76f51")):
            pts = [(n, scale[job][str(n)]) for n in ns if scale.get(job, {}).get(str(n), {}).get("median")]
            if not pts:
                continue
            xs = [n for n, _ in pts]
            a1.plot(xs, [e["median"] for _, e in pts], "o-", color=color, label=f"{job} (median)")
            base = scale[job].get(str(lo), {}).get("median")
            if base:
                a1.plot(xs, [base * n / lo for n in xs], ":", color=color, alpha=0.7,
                        label=f"{job}: linear from {lo:,}")
            a2.plot(xs, [e["median_rss_mib"] for _, e in pts], "o-", color=color, label=f"{job}: peak RSS")
        a2.axhline(256, color="black", ls="--", lw=1, label="target: 256 MiB")
        a1.set_xlabel("packages in the catalogue")
        a1.set_ylabel("seconds")
        a1.set_title("Time vs catalogue size")
        a2.set_xlabel("packages in the catalogue")
        a2.set_ylabel("MiB")
        a2.set_title("Peak RSS of mip-build vs catalogue size")
        for a in (a1, a2):
            a.grid(alpha=0.3)
            a.legend(fontsize=8)
            a.set_xlim(left=0)
            a.set_ylim(bottom=0)
        fig.suptitle(f"Catalogue scale: no-op publish and index through the {res['settings']['delay_ms']:.0f} ms proxy")
        fig.tight_layout()
        fig.savefig(outdir / "scale.png", dpi=110)
        plt.close(fig)


def main():
    path = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent / "results" / "results.json")
    res = json.loads(path.read_text())
    for key in ("no-op publish", "index"):  # JSON object keys are strings
        if res.get("scale10k", {}).get(key):
            res["scale10k"][key] = {str(k): v for k, v in res["scale10k"][key].items()}
    speedups(res)
    annotate(res)
    res["targets"] = verdicts(res)
    lines = [table(res), "", "| target | measured | met |", "|---|---:|---|"]
    for v in res["targets"]:
        if v["ratio"] is None:
            lines.append(f"| {v['target']} | not run | |")
        else:
            unit = v.get("unit", "×")
            shown = f"{v['ratio']:.2f}×" if unit == "×" else f"{v['ratio']:.2f} {unit}"
            lines.append(f"| {v['target']} | {shown} | {'yes' if v['met'] else '**no**'} |")
    ct = ceilings_table(res)
    if ct:
        lines += ["", ct]
    st = scale_table(res)
    if st:
        lines += ["", st]
    if res.get("scaling"):
        lines += ["", "| sidecars | libmip index (median s) |", "|---:|---:|"]
        lines += [f"| {k} | {v:.3f} |" for k, v in res["scaling"]["libmip_median_seconds"].items()]
    rt = request_table(res)
    if rt:
        lines += ["", rt]
    for k, v in res.get("checks", {}).items():
        lines.append(f"\nCheck: {k}: {'yes' if v else '**NO**'}")
    if res.get("step_seconds"):
        lines.append("\nTime per step (s): " + ", ".join(f"{k} {v:.0f}" for k, v in res["step_seconds"].items())
                     + (f"; data {res['data_seconds']:.0f}" if res.get("data_seconds") else "")
                     + (f"; ceilings {res['ceilings']['seconds']:.0f}" if res.get("ceilings", {}).get("seconds") else ""))
    md = "\n".join(lines) + "\n"
    print(md)
    (path.parent / "results.md").write_text(md)
    path.write_text(json.dumps(res, indent=2) + "\n")
    charts(res, path.parent)


if __name__ == "__main__":
    main()
