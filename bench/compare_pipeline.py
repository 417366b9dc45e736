#!/usr/bin/env python3
"""Compares configurations of the tiled DGEMM across repeated run_pipeline.py runs (matplotlib).

usage: compare_pipeline.py OUT_DIR RESULT_DIR...
Each RESULT_DIR is one run_pipeline.py run (results.csv, netbench.jsonl, meta.json). Its
configuration is read from meta.json (--server-env / --client-env: the receive ring
RCPU_CUDA_RING, its slot size RCPU_CUDA_RING_KB, the tile size RCPU_TILE_BYTES; unset = default).
Every tiled row is divided by the plain-socket transfer of the same bytes measured in THAT run
(never another run's), then the ratios are grouped by configuration:
  compare.md        per configuration: runs, ratios, median, worst, how many within 1.10x
  compare.png/.svg  the ratios of every run, per configuration and size"""
import json, os, statistics, sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot_pipeline import bounds, load, save  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402  (plot_pipeline selected the Agg backend)

DEFAULTS = {"RCPU_CUDA_RING": "1", "RCPU_CUDA_RING_KB": "1024", "RCPU_TILE_BYTES": str(4 << 20)}


def config(meta):
    env = dict(DEFAULTS, **meta.get("server_env", {}), **meta.get("client_env", {}))
    if env["RCPU_CUDA_RING"] == "0":
        ring = "host buffers (ring off)"
    else:
        ring = f"ring, {int(env['RCPU_CUDA_RING_KB']) // 1024} MiB slots"
    return f"{ring}, {int(env['RCPU_TILE_BYTES']) >> 20} MiB tiles"


def ratios(d):
    rows, net = load([d])
    _, _, same = bounds(net)
    out = {}
    for r in rows:
        key = (int(r["n"]), str(r["beta"]))
        if r["experiment"] == "dgemm" and r["mode"] == "tiled" and key in same:
            out[key] = float(r["best_s"]) / same[key]
    return out


def main(out, dirs):
    os.makedirs(out, exist_ok=True)
    by_config = defaultdict(list)  # config -> [(dir, {(n, beta): ratio})]
    for d in dirs:
        meta = json.load(open(os.path.join(d, "meta.json")))
        by_config[config(meta)].append((d, ratios(d)))
    lines = ["| configuration | runs | tiled ÷ same bytes (n=8000 b0, b1, n=16000 b0, b1 per run) | median | worst | ≤ 1.10× |",
             "|---|---:|---|---:|---:|---:|"]
    fig, ax = plt.subplots(figsize=(9, 4))
    for i, (cfg, runs) in enumerate(sorted(by_config.items())):
        allr = [v for _, rs in runs for _, v in sorted(rs.items())]
        per_run = "; ".join(" ".join(f"{v:.2f}" for _, v in sorted(rs.items())) for _, rs in runs)
        lines.append(f"| {cfg} | {len(runs)} | {per_run} | {statistics.median(allr):.2f}× | {max(allr):.2f}× "
                     f"| {sum(v <= 1.10 for v in allr)} of {len(allr)} |")
        ax.scatter([i + (j % 4 - 1.5) * 0.08 for j in range(len(allr))], allr, s=14)
    ax.axhline(1.10, color="red", lw=0.8, ls="--", label="target 1.10×")
    ax.axhline(1.0, color="gray", lw=0.5)
    ax.set_xticks(range(len(by_config)))
    ax.set_xticklabels([c.replace(", ", "\n", 1) for c in sorted(by_config)], fontsize=7)
    ax.set_ylabel("tiled DGEMM ÷ plain sockets, same bytes")
    ax.set_title("tiled DGEMM n = 8000/16000, beta 0/1, 8 streams: every run's ratio")
    ax.legend(fontsize=8)
    save(fig, out, "compare")
    with open(os.path.join(out, "compare.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
