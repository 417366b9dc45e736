#!/usr/bin/env python3
"""Plots of several-GPU measurements (matplotlib; PNG and SVG).

usage: plot_multigpu.py OUT_DIR FILE...
  FILE.csv  results.csv of bench/run_multigpu.py (later files replace earlier rows of the same mode,
            GPU count and n)  -> OUT_DIR/multigpu_end_to_end.*: best time per mode, 1 vs 2.. GPUs
  FILE.txt  placement_bench sweep lines "CONFIG GPUS N BEST_S [MEDIAN_S]" ('#' starts a comment),
            all from one machine  -> OUT_DIR/multigpu_schedules.*: best time per configuration and
            GPU count, with the scaling efficiency E(p) = T(1) / (p * T(p))"""
import csv, os, sys
from collections import defaultdict

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABEL = {"gpu-side": "GPU side (in-process)", "tiled": "rcpu tiled, 8 connections", "saw": "rcpu stop-and-wait",
         "nvblas": "NVBLAS, same GPUs"}


def save(fig, out, name):
    fig.tight_layout()
    for ext in ("png", "svg"):
        path = os.path.join(out, f"{name}.{ext}")
        fig.savefig(path, dpi=120)
        print(path)


def bars(ax, groups, series, value, annotate=None):
    """One group of bars per entry of `groups`, one bar per entry of `series` (skipped when absent)."""
    width = 0.8 / len(series)
    for j, s in enumerate(series):
        xs, ys = [], []
        for i, g in enumerate(groups):
            v = value(g, s)
            if v is not None:
                xs.append(i + (j - (len(series) - 1) / 2) * width)
                ys.append(v)
        ax.bar(xs, ys, width, label=f"{s} GPU" + ("s" if s != 1 else ""))
        for x, y in zip(xs, ys):
            ax.annotate(f"{y:.3g}", (x, y), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(groups)))
    ax.set_ylabel("best time per call [s]")
    ax.legend(fontsize=8)


def end_to_end(out, paths):
    best = {}
    for p in paths:
        for r in csv.DictReader(open(p)):
            best[(r["mode"], int(r["n"]), int(r["gpus"]))] = float(r["best_s"])
    gpus = sorted({g for _, _, g in best})
    sizes = sorted({n for _, n, _ in best})
    fig, axes = plt.subplots(1, len(sizes), figsize=(5.5 * len(sizes), 4.2), squeeze=False)
    for ax, n in zip(axes[0], sizes):
        modes = [m for m in LABEL if any(k[0] == m and k[1] == n for k in best)]
        bars(ax, modes, gpus, lambda m, g: best.get((m, n, g)))
        ax.set_xticklabels([LABEL[m] for m in modes], fontsize=8)
        ax.set_title(f"dgemm n = {n}, beta = 1")
    save(fig, out, "multigpu_end_to_end")


def schedules(out, paths):
    best = defaultdict(dict)  # config -> {gpus: seconds}
    n = None
    for p in paths:
        for line in open(p):
            line = line.split("#", 1)[0].split()
            if len(line) >= 4:
                best[line[0]][int(line[1])] = float(line[3])
                n = line[2]
    configs = list(best)
    gpus = sorted({g for v in best.values() for g in v})
    fig, ax = plt.subplots(figsize=(1.6 * len(configs) + 2, 4.2))
    bars(ax, configs, gpus, lambda c, g: best[c].get(g))
    ax.set_xticklabels([c + "".join(f"\nE({g}) = {best[c][1] / (g * best[c][g]):.2f}" for g in gpus
                                    if g > 1 and 1 in best[c] and g in best[c]) for c in configs], fontsize=8)
    ax.set_title(f"GPU side, dgemm n = {n}, beta = 1, one machine")
    save(fig, out, "multigpu_schedules")


def main(out, files):
    os.makedirs(out, exist_ok=True)
    csvs = [f for f in files if f.endswith(".csv")]
    sweeps = [f for f in files if not f.endswith(".csv")]
    if csvs:
        end_to_end(out, csvs)
    if sweeps:
        schedules(out, sweeps)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
