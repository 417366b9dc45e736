#!/usr/bin/env python3
"""The pipelining benchmark, in ONE run on the machine it is started on (client and rcpud over
loopback), so every ratio compares numbers measured side by side:

  netbench     the plain-socket bound: build/bin/rcpu-netbench (rcpu's own transport), 1/2/4/8
               streams, one-way and duplex
  dgemm        DGEMM n = 1000..16000, beta = 0 and beta = 1, modes
                 local      the unmodified bench binary on the system OpenBLAS (all cores, best kernel)
                 nvblas     LD_PRELOAD=libnvblas.so (default configuration)
                 nvblas-pin the same with NVBLAS_AUTOPIN_MEM_ENABLED and 4096 tiles
                 saw        rcpu -> rcpud --backend cuda, RCPU_PIPELINE=0 (stop-and-wait)
                 tiled      rcpu -> rcpud --backend cuda, pipelined tiles, automatic panel width
  fig7         the paper's Figure 7: n = 8000, panels of 8000 (one block) vs 4000/2000/1000/500
               columns (RCPU_TILE) vs automatic
  streams      tiled DGEMM striped over RCPU_STREAMS = 1, 2, 4, 8 connections (n = 8000, 16000;
               beta = 1), to choose the default against the netbench bound of the same run
  emulated     RCPU_LINK_GBPS = 1, 10, 32 (IB QDR), 54.5 (FDR), 100 (EDR): netbench at that rate,
               saw vs tiled; every such row says emulated_link_gbps

Writes DIR/results.csv, DIR/netbench.jsonl, DIR/meta.json; prints one line per measurement.

usage: run_pipeline.py --build BUILD --out DIR [--experiments netbench,dgemm,fig7,streams,emulated]
                       [--sizes 1000,2000,4000,8000,16000] [--backend cuda] [--reps 3] [--server-env K=V ...]
                       [--client-env K=V ...] [--server-arg ARG ...]
"""
import argparse, csv, datetime, json, os, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_level3 import start_rcpud, stop, corename, find_nvblas, openblas_lib  # noqa: E402

# The credentials every rcpud and client of a run share (docs/security.md): kept when other
# RCPU_* settings are cleared.
KEEP_RCPU = ("RCPU_KEY_FILE", "RCPU_AUTH")

KEYS = ["experiment", "mode", "routine", "n", "beta", "tile", "streams", "emulated_link_gbps", "reps", "best_s", "median_s",
        "gflops", "transfer", "panel_cols", "t_to_server_s", "t_on_server_s", "t_from_server_s", "bytes_to_server",
        "bytes_from_server", "checksum"]


def bench(binary, routine, n, reps, beta, env, timeout=900):
    r = subprocess.run([binary, routine, str(n), str(reps), str(beta)], env=env, capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{routine} n={n}: exit {r.returncode}: {r.stderr[-2000:]}")
    row = r.stdout.strip().splitlines()[-1].split(",")
    return {"best_s": float(row[3]), "median_s": float(row[4]), "gflops": float(row[5]), "checksum": row[6]}


def from_trace(path, routine):
    """The fastest timed remote call of the trace (the first call is the untimed warm-up)."""
    rows = [json.loads(l) for l in open(path)] if os.path.exists(path) else []
    rows = [r for r in rows if r["routine"] == routine + "_" and r["where"] == "remote"][1:]
    if not rows:
        return {}
    m = min(rows, key=lambda r: r["t_total_s"])
    keys = ("t_to_server_s", "t_on_server_s", "t_from_server_s", "bytes_to_server", "bytes_from_server", "transfer",
            "panel_cols", "streams", "emulated_link_gbps")
    return {k: m[k] for k in keys if k in m}


# Plain-socket measurements are repeated (rcpu-netbench --reps) and the fastest kept: loopback
# throughput moves by a fifth between transfers, and a bound must be what the link can do.
BOUND_REPS = 3


def netbench(build, out, streams, mib, duplex, link=None):
    env = dict(os.environ)
    env.pop("RCPU_LINK_GBPS", None)
    if link:
        env["RCPU_LINK_GBPS"] = str(link)
    cmd = [os.path.join(build, "bin", "rcpu-netbench"), "--streams", streams, "--mib", str(mib), "--json",
           "--reps", str(BOUND_REPS)]
    if duplex:
        cmd.append("--duplex")
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    with open(os.path.join(out, "netbench.jsonl"), "a") as f:
        for l in lines:
            f.write(l + "\n")
            d = json.loads(l)
            print(f"netbench {'duplex ' if duplex else 'one-way'} streams={d['streams']} "
                  f"{d['gbytes_per_s_each_way']:.3f} GB/s each way"
                  + (f" (emulated link {link} Gbit/s)" if link else ""), flush=True)
    if r.returncode != 0:
        print("netbench failed:", r.stderr[-2000:], flush=True)


def same_bytes(build, out, streams, bytes_in, bytes_out, tags):
    """A plain-socket transfer of a call's bytes: bytes_in one way and bytes_out back at the same
    time, over `streams` connections, from and into buffers of the call's size (rcpu-netbench
    --operands): the bound of a pipelined call measured on the call's own bytes."""
    mib_in, mib_out = max(1, -(-int(bytes_in) // 2 ** 20)), -(-int(bytes_out) // 2 ** 20)
    cmd = [os.path.join(build, "bin", "rcpu-netbench"), "--streams", str(streams), "--mib", str(mib_in),
           "--operands", "--json", "--reps", str(BOUND_REPS)]
    if mib_out:
        cmd += ["--back-mib", str(mib_out)]
    env = {k: v for k, v in os.environ.items() if k != "RCPU_LINK_GBPS"}
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    if r.returncode != 0 or not lines:
        print("same-bytes netbench failed:", r.stderr[-2000:], flush=True)
        return None
    d = dict(json.loads(lines[-1]), **tags)
    with open(os.path.join(out, "netbench.jsonl"), "a") as f:
        f.write(json.dumps(d) + "\n")
    print(f"netbench same bytes as dgemm n={tags['same_bytes_n']} beta={tags['same_bytes_beta']}: "
          f"{mib_in} MiB in + {mib_out} MiB out over {streams} stream(s) in {d['seconds']:.4f}s", flush=True)
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--experiments", default="netbench,dgemm,fig7,streams,emulated")
    ap.add_argument("--streams", default="1,2,4,8", help="RCPU_STREAMS values of the streams experiment")
    ap.add_argument("--default-streams", default="1", help="RCPU_STREAMS of the other experiments")
    ap.add_argument("--sizes", default="1000,2000,4000,8000,16000")
    ap.add_argument("--modes", default="local,nvblas,saw,tiled")
    ap.add_argument("--backend", default="cuda")
    ap.add_argument("--cpu-max-n", type=int, default=8000)
    ap.add_argument("--links", default="1,10,32,54.5,100")
    ap.add_argument("--emulated-sizes", default="2000,4000,8000")
    ap.add_argument("--max-emulated-s", type=float, default=20.0, help="skip emulated runs whose bytes would take longer")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                    help="extra rcpud argument (repeat), e.g. --server-arg=--panel-timeline --server-arg=FILE")
    ap.add_argument("--client-env", action="append", default=[], metavar="K=V",
                    help="environment for the client in modes saw and tiled (repeat), e.g. RCPU_TILE_BYTES=1048576")
    ap.add_argument("--server-env", action="append", default=[], metavar="K=V",
                    help="environment for rcpud (repeat), e.g. RCPU_CUDA_RING=0 to compare its staging schemes")
    ap.add_argument("--bound-reps", type=int, default=3,
                    help="plain-socket transfers per bound measurement; the fastest is the bound")
    a = ap.parse_args()
    global BOUND_REPS
    BOUND_REPS = max(1, a.bound_reps)
    os.makedirs(a.out, exist_ok=True)
    open(os.path.join(a.out, "netbench.jsonl"), "w").close()
    build = os.path.abspath(a.build)
    binary = os.path.join(build, "bin", "level3_bench")
    base = {k: v for k, v in os.environ.items() if (not k.startswith("RCPU_") or k in KEEP_RCPU)}
    best = {k: v for k, v in base.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "cpus": os.cpu_count(),
            "openblas_kernel_bench": corename(best), "backend": a.backend, "argv": sys.argv,
            "server_env": dict(kv.split("=", 1) for kv in a.server_env), "server_args": a.server_arg,
            "client_env": dict(kv.split("=", 1) for kv in a.client_env)}
    try:
        meta["gpu"] = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                                      "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
    except FileNotFoundError:
        meta["gpu"] = "none"
    exps = a.experiments.split(",")
    rows = []
    tmp = tempfile.mkdtemp()
    nvblas = find_nvblas()
    if nvblas:
        with open(os.path.join(tmp, "nvblas.conf"), "w") as f:
            f.write(f"NVBLAS_CPU_BLAS_LIB {openblas_lib()}\nNVBLAS_GPU_LIST ALL\nNVBLAS_LOGFILE {tmp}/nvblas.log\n")
        # NVBLAS at its best: the application's arrays page-locked by NVBLAS itself (its documented
        # NVBLAS_AUTOPIN_MEM_ENABLED), larger tiles.
        with open(os.path.join(tmp, "nvblas-pin.conf"), "w") as f:
            f.write(f"NVBLAS_CPU_BLAS_LIB {openblas_lib()}\nNVBLAS_GPU_LIST ALL\nNVBLAS_LOGFILE {tmp}/nvblas-pin.log\n"
                    "NVBLAS_AUTOPIN_MEM_ENABLED\nNVBLAS_TILE_DIM 4096\n")

    def write():
        with open(os.path.join(a.out, "results.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=KEYS, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
        with open(os.path.join(a.out, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)

    srv, endpoint = start_rcpud(build, a.backend, dict(best, **meta["server_env"]), a.server_arg)

    def one(experiment, mode, n, beta, tile=None, link=None, routine="dgemm", streams=None):
        env = dict(best)
        trace = os.path.join(tmp, f"{experiment}-{mode}-{n}-{beta}-{tile}-{link}.jsonl")
        if mode in ("saw", "tiled"):
            env.update(LD_LIBRARY_PATH=os.path.join(build, "lib", "rcpu"), RCPU_POLICY="remote", RCPU_SERVER=endpoint,
                       RCPU_TRACE=trace, RCPU_FALLBACK="error", RCPU_PIPELINE="0" if mode == "saw" else "1")
            env["RCPU_STREAMS"] = str(streams or a.default_streams)
            env.update(meta["client_env"])
            if tile:
                env["RCPU_TILE"] = str(tile)
            if link:
                env["RCPU_LINK_GBPS"] = str(link)
        elif mode in ("nvblas", "nvblas-pin"):
            if not nvblas:
                return
            env.update(LD_PRELOAD=nvblas, NVBLAS_CONFIG_FILE=os.path.join(tmp, mode + ".conf"))
        reps = a.reps if n < 8000 else max(1, a.reps - 1)
        t0 = time.time()
        try:
            res = bench(binary, routine, n, reps, beta, env)
        except Exception as e:  # record and go on: one failure must not lose the run
            print(f"FAILED {experiment} {mode} n={n} beta={beta}: {e}", flush=True)
            return
        res.update(experiment=experiment, mode=mode, routine=routine, n=n, beta=beta, tile=tile or "",
                   emulated_link_gbps=link or "", reps=reps)
        if mode in ("saw", "tiled"):
            res.update(from_trace(trace, routine))
        rows.append(res)
        write()
        print(f"{experiment:9s} {mode:7s} n={n:6d} beta={beta} tile={tile or '-':>5} streams={res.get('streams', '-')} "
              f"{'emulated ' + str(link) + ' Gbit/s ' if link else ''}best {res['best_s']:.4f}s "
              f"{res['gflops']:9.1f} GFLOP/s panel_cols={res.get('panel_cols', '-')} (wall {time.time()-t0:.0f}s)",
              flush=True)

    try:
        if "netbench" in exps:
            netbench(build, a.out, "1,2,4,8,16", 4096, False)
            netbench(build, a.out, "1,2,4,8,16", 2048, True)
        if "dgemm" in exps:
            for n in [int(s) for s in a.sizes.split(",")]:
                for beta in (0, 1):
                    for mode in a.modes.split(","):
                        if mode == "local" and n > a.cpu_max_n:
                            continue
                        one("dgemm", mode, n, beta)
                    tiled = [r for r in rows if r["experiment"] == "dgemm" and r["mode"] == "tiled" and r["n"] == n
                             and r["beta"] == beta and r.get("bytes_to_server")]
                    if tiled:
                        same_bytes(build, a.out, tiled[-1].get("streams") or a.default_streams,
                                   tiled[-1]["bytes_to_server"], tiled[-1].get("bytes_from_server") or 0,
                                   {"same_bytes_n": n, "same_bytes_beta": beta})
        if "fig7" in exps:
            for beta in (1, 0):
                for tile in (8000, 4000, 2000, 1000, 500, None):
                    one("fig7", "tiled", 8000, beta, tile=tile)
                one("fig7", "saw", 8000, beta)
        if "streams" in exps:
            for n in (8000, 16000):
                for st in a.streams.split(","):
                    one("streams", "tiled", n, 1, streams=int(st))
        if "emulated" in exps:
            for link in [float(x) for x in a.links.split(",")]:
                link_s = ("%g" % link)
                netbench(build, a.out, "1", max(64, min(2048, int(link * 40))), True, link=link_s)
                for n in [int(s) for s in a.emulated_sizes.split(",")]:
                    if 4 * 8 * n * n / (link * 1e9 / 8) > a.max_emulated_s:
                        continue
                    for mode in ("saw", "tiled"):
                        one("emulated", mode, n, 1, link=link_s)
    finally:
        stop(srv)
        write()
        for log in ("nvblas.log", "nvblas-pin.log"):  # what NVBLAS said about its set-up
            if os.path.exists(os.path.join(tmp, log)):
                with open(os.path.join(tmp, log)) as src, open(os.path.join(a.out, log), "w") as dst:
                    dst.write(src.read()[-20000:])
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
