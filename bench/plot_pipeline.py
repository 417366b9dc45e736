#!/usr/bin/env python3
"""Plots of bench/run_pipeline.py's results (matplotlib; PNG and SVG).

usage: plot_pipeline.py OUT_DIR RESULT_DIR...   every RESULT_DIR holds results.csv (+ netbench.jsonl)
  pipeline_streams.*  tiled DGEMM time (best and median) per connection count, with the bound
                      input bytes / one-way plain-socket bandwidth at that count (same run)
  pipeline_dgemm.*    DGEMM time vs n, beta = 0 and beta = 1: local, NVBLAS, stop-and-wait, tiled
  pipeline_fig7.*     the paper's Figure 7: n = 8000 by panel width
  pipeline_emulated.* time vs emulated link rate, stop-and-wait and tiled, with the link bound
  summary.md          the tables of docs/performance.md: every ratio computed from the same run"""
import csv, json, os, sys
from collections import defaultdict

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt


def load(dirs):
    rows, net = [], []
    for d in dirs:
        rows += list(csv.DictReader(open(os.path.join(d, "results.csv"))))
        p = os.path.join(d, "netbench.jsonl")
        if os.path.exists(p):
            net += [json.loads(l) for l in open(p) if l.strip()]
    return rows, net


def save(fig, out, name):
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(out, f"{name}.{ext}"), bbox_inches="tight", dpi=120)
    plt.close(fig)


def bounds(net):
    """The plain-socket bounds in netbench records: one-way and duplex GB/s per stream count, and
    the seconds of each "same bytes" transfer per (n, beta). A bound measured several times
    (repeated runs, several result dirs) counts at its fastest: it is what the link can do."""
    one_way, duplex, same = {}, {}, {}
    for n in net:
        if "same_bytes_n" in n:
            key = (int(n["same_bytes_n"]), str(n["same_bytes_beta"]))
            same[key] = min(same.get(key, float("inf")), float(n["seconds"]))
        elif not n.get("emulated_link_gbps"):
            d = duplex if n.get("duplex") else one_way
            d[int(n["streams"])] = max(d.get(int(n["streams"]), 0.0), float(n["gbytes_per_s_each_way"]))
    return one_way, duplex, same


def plot_streams(rows, net, out):
    rs = [r for r in rows if r["experiment"] == "streams"]
    if not rs:
        return
    one_way = bounds(net)[0]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for n in sorted({int(r["n"]) for r in rs}):
        pts = sorted((int(r["streams"]), float(r["best_s"]), float(r["median_s"]), float(r["bytes_to_server"] or 0))
                     for r in rs if int(r["n"]) == n)
        s = [p[0] for p in pts]
        line, = ax.plot(s, [p[1] for p in pts], marker="o", label=f"n = {n}, best")
        ax.plot(s, [p[2] for p in pts], marker="x", linestyle=":", color=line.get_color(), label=f"n = {n}, median")
        bound = [p[3] / 1e9 / one_way[p[0]] for p in pts if p[0] in one_way]  # input bytes only
        if len(bound) == len(pts):
            ax.plot(s, bound, linestyle="--", color=line.get_color(), label=f"n = {n}, input bytes ÷ plain-socket bandwidth")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("TCP connections per call (RCPU_STREAMS)")
    ax.set_ylabel("seconds per DGEMM (beta = 1)")
    ax.set_title("rcpu → CUDA, tiled DGEMM over several connections (loopback)", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    save(fig, out, "pipeline_streams")


def plot_dgemm(rows, out):
    rs = [r for r in rows if r["experiment"] == "dgemm"]
    if not rs:
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for ax, beta in zip(axes, ("0", "1")):
        by = defaultdict(list)
        for r in rs:
            if r["beta"] == beta:
                by[r["mode"]].append((int(r["n"]), float(r["best_s"])))
        for mode in ("local", "nvblas", "nvblas-pin", "saw", "tiled"):
            pts = sorted(by.get(mode, []))
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=mode)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n")
        ax.set_title(f"DGEMM, beta = {beta}", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("seconds per call (best)")
    save(fig, out, "pipeline_dgemm")


def plot_fig7(rows, out):
    rs = [r for r in rows if r["experiment"] == "fig7"]
    if not rs:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, beta in enumerate(("0", "1")):
        sel = [r for r in rs if r["beta"] == beta]
        labels = [("auto" if not r["tile"] else r["tile"]) if r["mode"] == "tiled" else "stop-and-wait" for r in sel]
        xs = [j + 0.4 * i for j in range(len(sel))]
        ax.bar(xs, [float(r["best_s"]) for r in sel], width=0.4, label=f"beta = {beta}")
        if i == 0:
            ax.set_xticks([j + 0.2 for j in range(len(sel))])
            ax.set_xticklabels(labels, fontsize=8)
    ax.set_xlabel("panel width (columns); RCPU_STREAMS as in the run")
    ax.set_ylabel("seconds per DGEMM, n = 8000")
    ax.set_title("The paper's Figure 7 experiment (rcpu → CUDA, loopback)", fontsize=9)
    ax.legend(fontsize=8)
    save(fig, out, "pipeline_fig7")


def plot_emulated(rows, out):
    rs = [r for r in rows if r["experiment"] == "emulated"]
    if not rs:
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for n in sorted({int(r["n"]) for r in rs}):
        for mode, style in (("saw", ":"), ("tiled", "-")):
            pts = sorted((float(r["emulated_link_gbps"]), float(r["best_s"])) for r in rs
                         if int(r["n"]) == n and r["mode"] == mode)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", linestyle=style,
                        label=f"n = {n}, {'stop-and-wait' if mode == 'saw' else 'tiled'}")
        pts = sorted((float(r["emulated_link_gbps"]), float(r["bytes_to_server"]) * 8 / 1e9 / float(r["emulated_link_gbps"]))
                     for r in rs if int(r["n"]) == n and r["mode"] == "tiled" and r["bytes_to_server"])
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], linestyle="--", color="gray", alpha=0.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("emulated link, Gbit/s each way (RCPU_LINK_GBPS)")
    ax.set_ylabel("seconds per DGEMM (beta = 1)")
    ax.set_title("Emulated links (dashed: input bytes ÷ link rate)", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    save(fig, out, "pipeline_emulated")


def ratio(a, b, digits):
    return f"{a / b:.{digits}f}×" if a else "–"


def summary(rows, net, out):
    """Markdown tables with the ratios of docs/performance.md, all from the rows given."""
    one_way, duplex, same = bounds(net)
    lines = ["| streams | " + " | ".join(str(s) for s in sorted(one_way)) + " |",
             "|---|" + "---:|" * len(one_way),
             "| one way, GB/s | " + " | ".join(f"{one_way[s]:.2f}" for s in sorted(one_way)) + " |",
             "| both ways at once, GB/s each way | " + " | ".join(f"{duplex.get(s, 0):.2f}" for s in sorted(one_way)) + " |",
             ""]
    dg = [r for r in rows if r["experiment"] == "dgemm"]
    best = {(r["mode"], int(r["n"]), r["beta"]): float(r["best_s"]) for r in dg}
    lines += ["| n | beta | local | NVBLAS | NVBLAS autopin | stop-and-wait | tiled | bytes in + out | bound | tiled ÷ bound | same bytes, plain sockets | tiled ÷ that | local ÷ tiled | best NVBLAS ÷ tiled |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (mode, n, beta) in sorted(k for k in best if k[0] == "tiled"):
        r = next(x for x in dg if x["mode"] == "tiled" and int(x["n"]) == n and x["beta"] == beta)
        streams = int(r["streams"] or 1)
        moved = float(r["bytes_to_server"] or 0) + float(r["bytes_from_server"] or 0)
        bound = moved / 1e9 / one_way[streams] if streams in one_way else float("nan")
        t = best[("tiled", n, beta)]
        nv = [best[k] for k in (("nvblas", n, beta), ("nvblas-pin", n, beta)) if k in best]
        fmt = lambda k: f"{best[k]:.4f}" if k in best else "–"
        lines.append(f"| {n} | {beta} | {fmt(('local', n, beta))} | {fmt(('nvblas', n, beta))} | {fmt(('nvblas-pin', n, beta))} "
                     f"| {fmt(('saw', n, beta))} | **{t:.4f}** | {moved / 1e9:.2f} GB | {bound:.4f} | {t / bound:.2f}× "
                     + (f"| {same[(n, str(beta))]:.4f} | {t / same[(n, str(beta))]:.2f}× " if (n, str(beta)) in same else "| – | – ")
                     + f"| {ratio(best.get(('local', n, beta)), t, 1)} | {ratio(min(nv) if nv else None, t, 2)} |")
    em = [r for r in rows if r["experiment"] == "emulated" and r["mode"] == "tiled"]
    if em:
        lines += ["", "| emulated link | n | stop-and-wait | tiled | input bytes ÷ link rate | tiled ÷ bound |",
                  "|---:|---:|---:|---:|---:|---:|"]
        saw = {(r["emulated_link_gbps"], r["n"]): float(r["best_s"]) for r in rows
               if r["experiment"] == "emulated" and r["mode"] == "saw"}
        for r in sorted(em, key=lambda r: (float(r["emulated_link_gbps"]), int(r["n"]))):
            bound = float(r["bytes_to_server"]) * 8 / 1e9 / float(r["emulated_link_gbps"])
            t = float(r["best_s"])
            s_ = saw.get((r["emulated_link_gbps"], r["n"]))
            lines.append(f"| {r['emulated_link_gbps']} Gbit/s (emulated) | {r['n']} | {s_ if s_ else float('nan'):.4f} "
                         f"| {t:.4f} | {bound:.4f} | {t / bound:.2f}× |")
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main(out, dirs):
    rows, net = load(dirs)
    os.makedirs(out, exist_ok=True)
    plot_streams(rows, net, out)
    plot_dgemm(rows, out)
    plot_fig7(rows, out)
    plot_emulated(rows, out)
    summary(rows, net, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
