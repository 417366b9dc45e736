#!/usr/bin/env python3
"""Multi-GPU benchmark: DGEMM n = 16000 and 32000 on 1, 2 and 4 GPUs, in ONE run on the
machine it is started on, so every ratio compares numbers measured side by side.

Modes, for each GPU count p (GPUs 0..p-1):
  gpu-side  build/bin/placement_bench: rcpud's backends + placement in-process, level3() on
            page-locked host buffers (what rcpud spends once the inputs are in: host -> GPUs, cuBLAS,
            GPUs -> host). Scaling efficiency E(p) = T(1) / (p * T(p)).
  saw       the unmodified level3_bench through the shim -> rcpud --backend cuda --devices 0..p-1,
            stop-and-wait (RCPU_PIPELINE=0): end-to-end time and the trace's t_on_server_s, the
            GPU side of the call as the server saw it (efficiency computed on it too)
  tiled     the same, pipelined tiles over RCPU_STREAMS (default 8) connections
  nvblas    the same binary with LD_PRELOAD=libnvblas.so and NVBLAS_GPU_LIST = the same p GPUs
            (a generated nvblas.conf, with NVBLAS_AUTOPIN_MEM_ENABLED and 4096 tiles: its best)
rcpud's start-up log (each device's measured rate) and shutdown log (each device's share of the
work) are kept in DIR/rcpud-<p>gpu.log.

Writes DIR/results.csv, DIR/summary.md (the table for docs/performance.md) and DIR/meta.json;
prints one line per measurement. Without GPUs, --cpu-virtual runs the same plan over CPU virtual
devices (rcpud --backend cpu --virtual-devices p; no nvblas) to check the script itself.

usage: run_multigpu.py --build BUILD --out DIR [--gpus 1,2,4] [--sizes 16000,32000]
                       [--modes gpu-side,saw,tiled,nvblas] [--reps 3] [--beta 1] [--streams 8]
"""
import argparse, csv, datetime, json, os, re, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_level3 import stop, corename, find_nvblas, openblas_lib  # noqa: E402

# The credentials every rcpud and client of a run share (docs/security.md): kept when other
# RCPU_* settings are cleared.
KEEP_RCPU = ("RCPU_KEY_FILE", "RCPU_AUTH")

KEYS = ["mode", "gpus", "n", "beta", "reps", "best_s", "median_s", "gflops", "t_on_server_s", "t_to_server_s",
        "t_from_server_s", "efficiency", "efficiency_on_server", "checksum"]


ORDER = ["gpu-side", "saw", "tiled", "nvblas"]


def gpu_count():
    try:
        r = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
        return len([l for l in r.stdout.splitlines() if l.startswith("GPU ")])
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return 0


def device_args(p, cpu_virtual):
    if cpu_virtual:
        return ["--backend", "cpu", "--virtual-devices", str(p)]
    return ["--backend", "cuda", "--devices", ",".join(str(i) for i in range(p))]


def start_rcpud(build, args, env, log_path):
    log = open(log_path, "w")
    p = subprocess.Popen([os.path.join(build, "bin", "rcpud"), "--listen", "127.0.0.1:0", *args],
                         stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    line = p.stdout.readline()
    if "listening on" not in line:
        p.kill()
        raise RuntimeError(f"rcpud {' '.join(args)} did not start: {line!r}; see {log_path}")
    return p, line.strip().rsplit(" ", 1)[1]


def level3_bench(binary, n, reps, beta, env, timeout=1800):
    r = subprocess.run([binary, "dgemm", str(n), str(reps), str(beta)], env=env, capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"dgemm n={n}: exit {r.returncode}: {r.stderr[-2000:]}")
    row = r.stdout.strip().splitlines()[-1].split(",")
    return {"best_s": float(row[3]), "median_s": float(row[4]), "gflops": float(row[5]), "checksum": row[6]}


def from_trace(path):
    """The fastest timed remote dgemm of the trace (the first call is the untimed warm-up)."""
    rows = [json.loads(l) for l in open(path)] if os.path.exists(path) else []
    rows = [r for r in rows if r["routine"] == "dgemm_" and r["where"] == "remote"][1:]
    if not rows:
        return {}
    m = min(rows, key=lambda r: r["t_total_s"])
    return {k: m[k] for k in ("t_to_server_s", "t_on_server_s", "t_from_server_s") if k in m}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--gpus", default="1,2,4", help="GPU counts (those beyond the machine's are skipped)")
    ap.add_argument("--sizes", default="16000,32000")
    ap.add_argument("--modes", default="gpu-side,saw,tiled,nvblas")
    ap.add_argument("--reps", type=int, default=3, help="timed calls (one fewer from n = 32000); plus one warm-up")
    ap.add_argument("--beta", default="1")
    ap.add_argument("--streams", default="8", help="RCPU_STREAMS of the tiled mode")
    ap.add_argument("--cpu-virtual", action="store_true", help="no GPUs: CPU virtual devices (checks the script)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    build = os.path.abspath(a.build)
    bench_bin = os.path.join(build, "bin", "level3_bench")
    placement_bin = os.path.join(build, "bin", "placement_bench")
    base = {k: v for k, v in os.environ.items() if (not k.startswith("RCPU_") or k in KEEP_RCPU)}
    available = 64 if a.cpu_virtual else gpu_count()
    counts = [p for p in (int(x) for x in a.gpus.split(",")) if p <= available]
    skipped = [p for p in (int(x) for x in a.gpus.split(",")) if p > available]
    modes = a.modes.split(",")
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "cpus": os.cpu_count(),
            "gpus_available": available, "gpu_counts": counts, "skipped_gpu_counts": skipped,
            "openblas_kernel": corename(base), "argv": sys.argv, "cpu_virtual": a.cpu_virtual}
    try:
        meta["gpu"] = subprocess.run(["nvidia-smi", "--query-gpu=index,name,memory.total,driver_version",
                                      "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
    except FileNotFoundError:
        meta["gpu"] = "none"
    if skipped:
        print(f"note: {available} GPU(s) here; GPU counts {skipped} skipped", flush=True)
    tmp = tempfile.mkdtemp()
    nvblas = None if a.cpu_virtual else find_nvblas()
    rows = []

    def write():
        with open(os.path.join(a.out, "results.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=KEYS, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
        with open(os.path.join(a.out, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)

    def record(res, what):
        rows.append(res)
        write()
        extra = f" on-server {res['t_on_server_s']:.4f}s" if res.get("t_on_server_s") else ""
        print(f"{res['mode']:8s} gpus={res['gpus']} n={res['n']:6d} best {res['best_s']:.4f}s "
              f"{res['gflops']:9.1f} GFLOP/s{extra} ({what})", flush=True)

    for n in (int(s) for s in a.sizes.split(",")):
        reps = a.reps if n < 32000 else max(1, a.reps - 1)
        for p in counts:
            if "gpu-side" in modes:
                cmd = [placement_bin, *device_args(p, a.cpu_virtual), "--n", str(n), "--reps", str(reps), "--beta", a.beta]
                t0 = time.time()
                r = subprocess.run(cmd, env=base, capture_output=True, text=True, timeout=3600)
                line = [l for l in r.stdout.splitlines() if l.startswith("{")]
                if r.returncode != 0 or not line:
                    print(f"FAILED gpu-side gpus={p} n={n}: {r.stderr[-2000:]}", flush=True)
                else:
                    d = json.loads(line[-1])
                    with open(os.path.join(a.out, f"placement_bench-{p}gpu-{n}.log"), "w") as f:
                        f.write(r.stderr + r.stdout)
                    record({"mode": "gpu-side", "gpus": p, "n": n, "beta": a.beta, "reps": reps, "best_s": d["best_s"],
                            "median_s": d["median_s"], "gflops": d["gflops"], "checksum": d["checksum"]},
                           f"wall {time.time() - t0:.0f}s")
            if "saw" in modes or "tiled" in modes:
                log_path = os.path.join(a.out, f"rcpud-{p}gpu-{n}.log")
                srv, endpoint = start_rcpud(build, device_args(p, a.cpu_virtual), base, log_path)
                try:
                    for mode in ("saw", "tiled"):
                        if mode not in modes:
                            continue
                        trace = os.path.join(tmp, f"{mode}-{p}-{n}.jsonl")
                        env = dict(base, LD_LIBRARY_PATH=os.path.join(build, "lib", "rcpu"), RCPU_POLICY="remote",
                                   RCPU_SERVER=endpoint, RCPU_TRACE=trace, RCPU_FALLBACK="error",
                                   RCPU_PIPELINE="0" if mode == "saw" else "1",
                                   RCPU_STREAMS="1" if mode == "saw" else a.streams)
                        t0 = time.time()
                        try:
                            res = level3_bench(bench_bin, n, reps, a.beta, env)
                        except Exception as e:  # record and go on
                            print(f"FAILED {mode} gpus={p} n={n}: {e}", flush=True)
                            continue
                        res.update(mode=mode, gpus=p, n=n, beta=a.beta, reps=reps, **from_trace(trace))
                        record(res, f"wall {time.time() - t0:.0f}s")
                finally:
                    stop(srv)
            if "nvblas" in modes and nvblas:
                conf = os.path.join(tmp, f"nvblas-{p}.conf")
                with open(conf, "w") as f:
                    f.write(f"NVBLAS_CPU_BLAS_LIB {openblas_lib()}\n"
                            f"NVBLAS_GPU_LIST {' '.join(str(i) for i in range(p))}\n"
                            f"NVBLAS_LOGFILE {tmp}/nvblas-{p}.log\n"
                            # NVBLAS at its best (bench/run_pipeline.py's nvblas-pin): without
                            # autopin it stages every tile through pageable memory, 5-10x slower.
                            "NVBLAS_AUTOPIN_MEM_ENABLED\nNVBLAS_TILE_DIM 4096\n")
                env = dict(base, LD_PRELOAD=nvblas, NVBLAS_CONFIG_FILE=conf)
                t0 = time.time()
                try:
                    res = level3_bench(bench_bin, n, reps, a.beta, env)
                    res.update(mode="nvblas", gpus=p, n=n, beta=a.beta, reps=reps)
                    record(res, f"NVBLAS_GPU_LIST {' '.join(str(i) for i in range(p))}, wall {time.time() - t0:.0f}s")
                except Exception as e:
                    print(f"FAILED nvblas gpus={p} n={n}: {e}", flush=True)

    # Scaling efficiency against the 1-GPU row of the same mode and size.
    for r in rows:
        one = [x for x in rows if x["mode"] == r["mode"] and x["n"] == r["n"] and x["gpus"] == 1]
        if one:
            r["efficiency"] = round(one[0]["best_s"] / (r["gpus"] * r["best_s"]), 3)
            if r.get("t_on_server_s") and one[0].get("t_on_server_s"):
                r["efficiency_on_server"] = round(one[0]["t_on_server_s"] / (r["gpus"] * r["t_on_server_s"]), 3)
    write()
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write("| mode | n | GPUs | best s | GFLOP/s | on server s | scaling efficiency | efficiency on server |\n")
        f.write("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
        for r in sorted(rows, key=lambda r: (r["n"], ORDER.index(r["mode"]), r["gpus"])):
            f.write(f"| {r['mode']} | {r['n']} | {r['gpus']} | {r['best_s']:.4f} | {r['gflops']:.0f} | "
                    f"{r.get('t_on_server_s', '') and '%.4f' % r['t_on_server_s']} | {r.get('efficiency', '')} | "
                    f"{r.get('efficiency_on_server', '')} |\n")
    print(open(os.path.join(a.out, "summary.md")).read())
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
