#!/usr/bin/env python3
"""Plots rcpud --panel-timeline lines (matplotlib; PNG and SVG): one chart per call, side by side.

usage: plot_timeline.py OUT_NAME LABEL=TIMELINE.jsonl[:N] ...
For each argument, the fastest call of size n = N (any size when left out) in that file. Per panel
(one row each, panel 0 at the top): a grey dot when its inputs were all in, a blue bar while the
backend computed it, an orange bar until the last stripe had sent its results; the dashed line is
the last input byte, the end of the call closes the axis. Writes OUT_NAME.png and OUT_NAME.svg."""
import json, os, sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt


def pick(path, n):
    calls = [json.loads(l) for l in open(path) if l.strip()]
    calls = [c for c in calls if c.get("ok") and (n is None or c["n"] == n)]
    if not calls:
        raise SystemExit(f"{path}: no finished call" + (f" with n = {n}" if n else ""))
    return min(calls, key=lambda c: c["end_ms"])


def main(out, specs):
    fig, axes = plt.subplots(1, len(specs), figsize=(5.5 * len(specs), 4.5), sharey=False, squeeze=False)
    for ax, spec in zip(axes[0], specs):
        label, rest = spec.split("=", 1)
        path, _, n = rest.partition(":")
        c = pick(path, int(n) if n else None)
        for j, (r, d, s) in enumerate(zip(c["ready_ms"], c["done_ms"], c["sent_ms"])):
            ax.plot([r], [j], "o", color="grey", ms=2)
            ax.barh(j, d - r, left=r, height=0.8, color="tab:blue")
            ax.barh(j, s - d, left=d, height=0.8, color="tab:orange")
        ax.axvline(c["last_input_ms"], color="black", ls="--", lw=0.8)
        ax.set_xlim(0, c["end_ms"])
        ax.invert_yaxis()
        ax.set_xlabel("ms since the REQUEST")
        ax.set_ylabel("panel")
        ax.set_title(f"{label}\n{c['routine']} n={c['n']}, {c['panels']} panels of {c['panel_cols']}, "
                     f"{c['stripes']} streams: tail {c['end_ms'] - c['last_input_ms']:.1f} of {c['end_ms']:.1f} ms",
                     fontsize=9)
    axes[0][0].legend(handles=[plt.Rectangle((0, 0), 1, 1, color="tab:blue"), plt.Rectangle((0, 0), 1, 1, color="tab:orange")],
                      labels=["inputs in → computed", "computed → results sent"], fontsize=8, loc="lower left")
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(f"{out}.{ext}", dpi=120)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2:])
