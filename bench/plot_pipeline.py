#!/usr/bin/env python3
"""Plots of bench/run_pipeline.py's results (matplotlib; PNG and SVG).

usage: plot_pipeline.py OUT_DIR RESULT_DIR...   every RESULT_DIR holds results.csv (+ netbench.jsonl)
  pipeline_streams.*  tiled DGEMM time (best and median) per connection count, with the bound
                      input bytes / one-way plain-socket bandwidth at that count (same run)
  pipeline_dgemm.*    DGEMM time vs n, beta = 0 and beta = 1: local, NVBLAS, stop-and-wait, tiled
  pipeline_fig7.*     the paper's Figure 7: n = 8000 by panel width"""
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


def plot_streams(rows, net, out):
    rs = [r for r in rows if r["experiment"] == "streams"]
    if not rs:
        return
    one_way = {int(n["streams"]): n["gbytes_per_s_each_way"] for n in net
               if not n.get("duplex") and not n.get("emulated_link_gbps")}
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for n in sorted({int(r["n"]) for r in rs}):
        pts = sorted((int(r["streams"]), float(r["best_s"]), float(r["median_s"]), float(r["bytes_to_server"] or 0))
                     for r in rs if int(r["n"]) == n)
        s = [p[0] for p in pts]
        line, = ax.plot(s, [p[1] for p in pts], marker="o", label=f"n = {n}, best")
        ax.plot(s, [p[2] for p in pts], marker="x", linestyle=":", color=line.get_color(), label=f"n = {n}, median")
        bound = [p[3] / 1e9 / one_way[p[0]] for p in pts if p[0] in one_way]
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
        for mode in ("local", "nvblas", "saw", "tiled"):
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
    ax.set_xlabel("panel width (columns), one connection")
    ax.set_ylabel("seconds per DGEMM, n = 8000")
    ax.set_title("The paper's Figure 7 experiment (rcpu → CUDA, loopback)", fontsize=9)
    ax.legend(fontsize=8)
    save(fig, out, "pipeline_fig7")


def main(out, dirs):
    rows, net = load(dirs)
    os.makedirs(out, exist_ok=True)
    plot_streams(rows, net, out)
    plot_dgemm(rows, out)
    plot_fig7(rows, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
