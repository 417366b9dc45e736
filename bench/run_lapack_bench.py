#!/usr/bin/env python3
"""LAPACK solver benchmark in ONE run: dgetrf, dpotrf, dgesv, dgeqrf, dsyevd (jobz=V),
dgesvd (jobu=jobvt=S) at n = 1000 ... 16000, side by side:
  local      lapack_bench on the system OpenBLAS, all cores, OPENBLAS_CORETYPE unset (its best
             kernel; reported in meta.json)
  rcpu-cuda  the same program on rcpu's liblapack.so.3, RCPU_POLICY=remote, to
             `rcpud --backend cuda` on 127.0.0.1 (the trace says which backend ran each call:
             routines the CUDA backend does not support run on the server's CPU backend)
Each point is the best of REPEATS calls when a call takes under --repeat-below-s (else one call;
the slower one is kept in results.csv too); once a routine's call took more than --max-point-s / 8,
its larger sizes are skipped (recorded as such), so one run stays within minutes. Writes
results.csv, meta.json, table.md (the markdown table for docs/performance.md) and, when matplotlib
is there, lapack_<routine>.png/.svg (time and GFLOP/s vs n).

usage: run_lapack_bench.py --build BUILD --out DIR [--sizes 1000,2000,4000,8000,16000]
                           [--routines dgetrf,...] [--modes local,rcpu-cuda] [--max-point-s 120]
"""
import argparse, csv, datetime, json, os, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_level3 import openblas_lib, start_rcpud, stop  # noqa: E402

# The credentials every rcpud and client of a run share (docs/security.md): kept when other
# RCPU_* settings are cleared.
KEEP_RCPU = ("RCPU_KEY_FILE", "RCPU_AUTH")

FLOPS = {  # LAPACK Working Note 41 counts (square, real)
    "dgetrf": lambda n: 2 * n ** 3 / 3, "dpotrf": lambda n: n ** 3 / 3, "dgesv": lambda n: 2 * n ** 3 / 3 + 2 * n ** 2,
    "dgeqrf": lambda n: 4 * n ** 3 / 3, "dsyevd": lambda n: 9 * n ** 3, "dgesvd": lambda n: 22 * n ** 3}
ROUTINES = list(FLOPS)


def run_point(bench, lib, routine, n, repeats, env, timeout):
    try:
        r = subprocess.run([bench, lib, routine, str(n), str(repeats)], env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "timeout"
    times = [float(l.split()[2]) for l in r.stdout.splitlines() if l.startswith(routine)]
    infos = {l.split()[3] for l in r.stdout.splitlines() if l.startswith(routine)}
    if r.returncode != 0 or not times:
        return None, f"exit {r.returncode}: {r.stderr.strip()[-200:]}"
    return times, ",".join(sorted(infos))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sizes", default="1000,2000,4000,8000,16000")
    ap.add_argument("--routines", default=",".join(ROUTINES))
    ap.add_argument("--modes", default="local,rcpu-cuda")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=600, help="seconds one point may take")
    ap.add_argument("--max-point-s", type=float, default=120,
                    help="skip larger n of a routine once 8x its last time exceeds this")
    ap.add_argument("--repeat-below-s", type=float, default=10, help="repeat a point only when it took less")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    build = os.path.abspath(a.build)
    bench = os.path.join(build, "bin", "lapack_bench")
    sizes = [int(s) for s in a.sizes.split(",")]
    routines = a.routines.split(",")
    modes = a.modes.split(",")
    base_env = {k: v for k, v in os.environ.items() if (not k.startswith("RCPU_") or k in KEEP_RCPU)}
    # OpenBLAS at its best: a machine may force a slower kernel (the GPU machine sets
    # OPENBLAS_CORETYPE=Haswell); unset, OpenBLAS picks the one for this CPU.
    base_env.pop("OPENBLAS_CORETYPE", None)
    base_env.pop("OPENBLAS_NUM_THREADS", None)  # all cores
    rows = []
    server = None
    try:
        for mode in modes:
            env = dict(base_env)
            lib = openblas_lib()
            if mode.startswith("rcpu-"):
                # RCPU_CUDA_SVD=1: dgesvd on cuSOLVER (opt-in on the server; by default the SVD
                # runs on the server's CPU backend, see src/backends/cuda/cusolver_lapack.cpp).
                server, addr = start_rcpud(build, mode.split("-", 1)[1], dict(os.environ, RCPU_CUDA_SVD="1"))
                lib = os.path.join(build, "lib", "rcpu", "liblapack.so.3")
                env.update(RCPU_SERVER=addr, RCPU_POLICY="remote", RCPU_FALLBACK="error")
            for routine in routines:
                too_long = None
                for n in sizes:
                    if too_long:
                        row = {"mode": mode, "routine": routine, "n": n, "best_s": None, "slowest_s": None,
                               "gflops": None, "info": too_long, "backend": ""}
                        rows.append(row)
                        print(json.dumps(row), flush=True)
                        continue
                    trace = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False).name
                    env["RCPU_TRACE"] = trace if mode.startswith("rcpu-") else ""
                    # One call, a second only when the first was short (the big ones take minutes).
                    times, info = run_point(bench, lib, routine, n, 1, env, a.timeout)
                    if times and a.repeats > 1 and min(times) < a.repeat_below_s:
                        more, _ = run_point(bench, lib, routine, n, a.repeats - 1, env, a.timeout)
                        times += more or []
                    backend = ""
                    if mode.startswith("rcpu-") and os.path.exists(trace):
                        for line in open(trace):
                            x = json.loads(line)
                            if x.get("routine") == routine + "_" and x.get("where") == "remote":
                                backend = x.get("backend", "")
                    os.unlink(trace)
                    best = min(times) if times else None
                    # O(n^3): the next size (2x) takes about 8x as long; skip it beyond the cap.
                    if best is None or best * 8 > a.max_point_s:
                        too_long = f"skipped: {n}'s call took {best:.0f} s" if best else f"skipped after {info}"
                    row = {"mode": mode, "routine": routine, "n": n, "best_s": best,
                           "slowest_s": max(times) if times else None,
                           "gflops": FLOPS[routine](n) / best / 1e9 if best else None,
                           "info": info, "backend": backend}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            stop(server)
            server = None
    finally:
        stop(server)
    with open(os.path.join(a.out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                         text=True).stdout.strip() if os.path.exists("/usr/bin/nvidia-smi") else ""
    json.dump({"date": datetime.datetime.utcnow().isoformat() + "Z", "cpus": os.cpu_count(), "gpu": gpu,
               "openblas": openblas_lib(), "sizes": sizes, "repeats": a.repeats},
              open(os.path.join(a.out, "meta.json"), "w"), indent=1)
    # The table for docs/performance.md: seconds (best of the repeats) and the speed-up over local.
    by = {(r["mode"], r["routine"], r["n"]): r for r in rows}
    lines = ["| routine | n | " + " | ".join(f"{m} s" for m in modes) +
             "".join(f" | {m} speed-up | {m} backend" for m in modes if m != "local") + " |",
             "|---|---:|" + "---:|" * len(modes) + "---:|---|" * len([m for m in modes if m != "local"])]
    for routine in routines:
        for n in sizes:
            cells = []
            for m in modes:
                r = by.get((m, routine, n))
                cells.append(f"{r['best_s']:.3f}" if r and r["best_s"] else (r["info"] if r else "-"))
            for m in modes:
                if m == "local":
                    continue
                r, l = by.get((m, routine, n)), by.get(("local", routine, n))
                sp = (f"{l['best_s'] / r['best_s']:.2f}x" if r and l and r["best_s"] and l["best_s"] else "-")
                cells += [sp, r["backend"] if r else "-"]
            lines.append(f"| {routine} | {n} | " + " | ".join(cells) + " |")
    open(os.path.join(a.out, "table.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        for routine in routines:
            fig, ax = plt.subplots(figsize=(6, 4))
            for m in modes:
                pts = [(n, by[(m, routine, n)]["gflops"]) for n in sizes
                       if (m, routine, n) in by and by[(m, routine, n)]["gflops"]]
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=m)
            ax.set_xscale("log", base=2)
            ax.set_xlabel("n")
            ax.set_ylabel("GFLOP/s (LAWN 41 count)")
            ax.set_title(f"{routine}: local OpenBLAS vs rcpu (loopback)")
            ax.legend()
            fig.tight_layout()
            for ext in ("png", "svg"):
                fig.savefig(os.path.join(a.out, f"lapack_{routine}.{ext}"))
            plt.close(fig)
    except ImportError:
        print("matplotlib missing: no plots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
