#!/usr/bin/env python3
"""Plots of run_fft_bench.py's results (Figure 8): time of 1-D c2c double vs N per mode, with the
transfer bound (input + output bytes / plain-socket bandwidth of the same run).

usage: plot_fft.py RESULTS OUTDIR   -> OUTDIR/fft_c2c_1d.{png,svg}
RESULTS is the fft_results.csv of a run, or the lines the script printed (its log), for a run cut
short before it wrote its CSV: "netbench N stream(s): G GB/s", then one line per measurement."""
import csv, os, re, sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_fft_bench import sizes  # noqa: E402

NETBENCH = re.compile(r"^netbench (\d+) stream\(s\): ([\d.]+) GB/s")
MEASURED = re.compile(r"^(\S+)\s+(c2c|r2c|c2r)\s+(\S+):\s+([\d.]+) ms")


def rows_of_log(path):
    """The rows of a run's printed log, with the bound computed as run_fft_bench.py does."""
    rows, gbps, streams = [], None, ""
    for line in open(path):
        if m := NETBENCH.match(line):
            streams, gbps = m.group(1), float(m.group(2))
        elif m := MEASURED.match(line):
            mode, kind, shape, ms = m.groups()
            pts, bytes_in, bytes_out = sizes(kind, shape)
            rows.append({"mode": mode, "kind": kind, "shape": shape, "points": pts, "best_s": float(ms) / 1e3,
                         "bound_s": (bytes_in + bytes_out) / (gbps * 1e9), "streams": streams})
    return rows


def main():
    src, out = sys.argv[1], sys.argv[2]
    rows = list(csv.DictReader(open(src))) if src.endswith(".csv") else rows_of_log(src)
    os.makedirs(out, exist_ok=True)
    one_d = [r for r in rows if r["kind"] == "c2c" and "x" not in r["shape"]]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for mode in ("fftw-1t-estimate", "fftw-1t-measure", "fftw-all-measure", "rcpu"):
        pts = sorted((int(r["points"]), float(r["best_s"])) for r in one_d if r["mode"] == mode)
        if pts:
            ax.plot([p for p, _ in pts], [1e3 * t for _, t in pts], marker="o", label=mode)
    remote = [r for r in one_d if r["mode"] == "rcpu"]
    bound = sorted({(int(r["points"]), float(r["bound_s"])) for r in remote})
    if bound:
        streams = max((str(r.get("streams") or "") for r in remote), default="")
        ax.plot([p for p, _ in bound], [1e3 * t for _, t in bound], "k--",
                label=f"transfer bound ({streams or '?'} streams)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("points (c2c, double)")
    ax.set_ylabel("time per transform [ms]")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    for ext in ("png", "svg"):
        path = os.path.join(out, f"fft_c2c_1d.{ext}")
        fig.savefig(path, dpi=120)
        print(path)


if __name__ == "__main__":
    main()
