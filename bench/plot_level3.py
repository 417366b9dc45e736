#!/usr/bin/env python3
"""Plots and tables from bench/run_level3.py's results (matplotlib; PNG and SVG).

usage: plot_level3.py RESULTS_DIR OUT_DIR   -> OUT_DIR/level3_<routine>.{png,svg},
       OUT_DIR/level3_split.{png,svg} (rcpu's time split, the paper's Figure 4), and a Markdown
       table on stdout for docs/performance.md."""
import csv, json, os, sys
from collections import defaultdict

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

MODES = ["local", "rcpu-cuda", "rcpu-cpu", "nvblas"]
LABEL = {"local": "local OpenBLAS (all cores)", "rcpu-cuda": "rcpu → CUDA backend", "rcpu-cpu": "rcpu → CPU backend",
         "nvblas": "NVBLAS (same binary)"}

def main(src, out):
    rows = list(csv.DictReader(open(os.path.join(src, "results.csv"))))
    meta = json.load(open(os.path.join(src, "meta.json")))
    os.makedirs(out, exist_ok=True)
    data = defaultdict(dict)  # (routine) -> {(mode, n): row}
    for r in rows:
        data[r["routine"]][(r["mode"], int(r["n"]))] = r
    title_suffix = f"\n{meta.get('gpu', '')}, {meta.get('date', '')[:10]}"
    for routine, d in data.items():
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for mode in MODES:
            pts = sorted((n, float(r["best_s"])) for (m, n), r in d.items() if m == mode)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=LABEL[mode])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n")
        ax.set_ylabel("time per call (s)")
        ax.set_title(f"{routine.upper()}, n×n, loopback TCP{title_suffix}", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        for ext in ("png", "svg"):
            fig.savefig(os.path.join(out, f"level3_{routine}.{ext}"), bbox_inches="tight", dpi=120)
        plt.close(fig)
    # The split of rcpu → CUDA time: to server / on server / from server.
    split = [r for r in rows if r["mode"] == "rcpu-cuda" and r.get("t_to_server_s")]
    if split:
        split.sort(key=lambda r: (r["routine"], int(r["n"])))
        labels = [f"{r['routine']}\n{r['n']}" for r in split]
        to = [float(r["t_to_server_s"]) for r in split]
        on = [float(r["t_on_server_s"]) for r in split]
        back = [float(r["t_from_server_s"]) for r in split]
        fig, ax = plt.subplots(figsize=(max(8, len(split) * 0.45), 4.5))
        x = range(len(split))
        ax.bar(x, to, label="to server")
        ax.bar(x, on, bottom=to, label="on server (GPU incl. host↔device)")
        ax.bar(x, back, bottom=[a + b for a, b in zip(to, on)], label="from server")
        ax.set_xticks(list(x))
        ax.set_xticklabels(labels, fontsize=6)
        ax.set_yscale("log")
        ax.set_ylabel("seconds")
        ax.set_title(f"rcpu → CUDA: where the time goes (stop-and-wait){title_suffix}", fontsize=9)
        ax.legend(fontsize=8)
        for ext in ("png", "svg"):
            fig.savefig(os.path.join(out, f"level3_split.{ext}"), bbox_inches="tight", dpi=120)
        plt.close(fig)
    # Markdown table.
    print("| routine | n | " + " | ".join(f"{LABEL[m]} (s)" for m in MODES) +
          " | rcpu-cuda to / on / from server (s) | local ÷ rcpu-cuda | nvblas ÷ rcpu-cuda |")
    print("|---|---:|" + "---:|" * len(MODES) + "---|---:|---:|")
    for routine, d in data.items():
        for n in sorted({n for (_, n) in d}):
            def t(mode):
                r = d.get((mode, n))
                return float(r["best_s"]) if r else None
            cells = [f"{t(m):.4f}" if t(m) is not None else "—" for m in MODES]
            r = d.get(("rcpu-cuda", n))
            split_cell = "—"
            if r and r.get("t_to_server_s"):
                split_cell = f"{float(r['t_to_server_s']):.3f} / {float(r['t_on_server_s']):.3f} / {float(r['t_from_server_s']):.3f}"
            ratio = lambda m: f"{t(m) / t('rcpu-cuda'):.2f}×" if t(m) and t("rcpu-cuda") else "—"
            print(f"| {routine} | {n} | " + " | ".join(cells) + f" | {split_cell} | {ratio('local')} | {ratio('nvblas')} |")

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
