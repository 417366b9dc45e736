#!/usr/bin/env python3
"""Plots of run_fft_bench.py's results (Figure 8): time of 1-D c2c double vs N per mode, with the
transfer bound, and the speed-up of rcpu over each local mode. usage: plot_fft.py RESULTS.csv OUTDIR"""
import csv, os, sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    rows = list(csv.DictReader(open(sys.argv[1])))
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    one_d = [r for r in rows if r["kind"] == "c2c" and "x" not in r["shape"]]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for mode in ("fftw-1t-estimate", "fftw-1t-measure", "fftw-all-measure", "rcpu"):
        pts = sorted((int(r["points"]), float(r["best_s"])) for r in one_d if r["mode"] == mode)
        if pts:
            ax.plot([p for p, _ in pts], [1e3 * t for _, t in pts], marker="o", label=mode)
    bound = sorted({(int(r["points"]), float(r["bound_s"])) for r in one_d if r["mode"] == "rcpu"})
    if bound:
        ax.plot([p for p, _ in bound], [1e3 * t for _, t in bound], "k--", label="transfer bound (1 stream)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("points (c2c, double)")
    ax.set_ylabel("time per transform [ms]")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "fft_c2c_1d.png"), dpi=120)
    print(os.path.join(out, "fft_c2c_1d.png"))


if __name__ == "__main__":
    main()
