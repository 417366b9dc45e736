#!/usr/bin/env python3
"""Runs the Level-3 benchmark in ONE run, side by side, on the machine it is started on:
  local   the unmodified bench binary on the system OpenBLAS, all cores, OPENBLAS_CORETYPE unset
          (so OpenBLAS picks its best kernel; the kernel is reported)
  rcpu-cuda  the same binary through the rcpu shim, every call remote to rcpud --backend cuda
  rcpu-cpu   the same, to rcpud --backend cpu (OpenBLAS on the server)
  nvblas  the same binary with LD_PRELOAD=libnvblas.so (OpenBLAS as its CPU library)
Writes results.csv (one row per mode/routine/n, with rcpu's to/on/from-server split from the
trace) and meta.json (machine, GPU, OpenBLAS kernel, date).

usage: run_level3.py --build BUILD --out DIR [--sizes 1000,2000,...] [--routines dgemm,...]
"""
import argparse, csv, datetime, json, os, secrets, shutil, signal, subprocess, sys, tempfile, time

def ensure_key():
    """rcpud and its clients share a key (docs/security.md): without RCPU_KEY_FILE, a throw-away key
    for this run, in the environment every server and client of the benchmark inherits."""
    if os.environ.get("RCPU_KEY_FILE"):
        return
    path = os.path.join(tempfile.mkdtemp(prefix="rcpu-bench-"), "key")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("bench %s\n" % secrets.token_hex(32))
    os.environ["RCPU_KEY_FILE"] = path

ensure_key()  # on import: every benchmark script imports this module

def start_rcpud(build, backend, env, extra=()):
    p = subprocess.Popen([os.path.join(build, "bin", "rcpud"), "--listen", "127.0.0.1:0", "--backend", backend, *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = p.stdout.readline()
    if "listening on" not in line:
        p.kill()
        raise RuntimeError(f"rcpud --backend {backend} did not start: {line!r} {p.stderr.read()}")
    return p, line.strip().rsplit(" ", 1)[1]

def stop(p):
    if p and p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()

def openblas_lib():
    for c in ["/usr/lib/x86_64-linux-gnu/libopenblas.so.0", "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"]:
        if os.path.exists(c):
            return c
    return "libopenblas.so.0"

def corename(env):
    code = ("import ctypes; l=ctypes.CDLL('%s'); l.openblas_get_corename.restype=ctypes.c_char_p;"
            "l.openblas_get_config.restype=ctypes.c_char_p;"
            "print(l.openblas_get_corename().decode(), '|', l.openblas_get_config().decode())") % openblas_lib()
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return r.stdout.strip() or r.stderr.strip()

def find_nvblas():
    for d in ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/x86_64-linux-gnu"]:
        p = os.path.join(d, "libnvblas.so")
        if os.path.exists(p):
            return p
    return None

def run_bench(binary, routine, n, reps, env, timeout):
    r = subprocess.run([binary, routine, str(n), str(reps)], env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{routine} n={n}: exit {r.returncode}: {r.stderr[-2000:]}")
    row = r.stdout.strip().splitlines()[-1].split(",")
    return {"best_s": float(row[3]), "median_s": float(row[4]), "gflops": float(row[5]), "checksum": row[6]}

def split_from_trace(path, routine):
    """Median to/on/from-server times of the timed (non-warm-up) remote calls."""
    rows = [json.loads(l) for l in open(path)] if os.path.exists(path) else []
    rows = [r for r in rows if r["routine"] == routine + "_" and r["where"] == "remote"][1:]
    if not rows:
        return {}
    rows.sort(key=lambda r: r["t_total_s"])
    m = rows[0]  # the fastest timed call, matching best_s
    return {k: m[k] for k in ("t_to_server_s", "t_on_server_s", "t_from_server_s", "bytes_to_server", "bytes_from_server")}

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sizes", default="1000,2000,4000,8000,16000")
    ap.add_argument("--routines", default="dgemm,sgemm,zgemm,dtrsm,dsyrk")
    ap.add_argument("--modes", default="local,rcpu-cuda,rcpu-cpu,nvblas")
    # Slow modes are capped so one run fits the device lease: CPU compute above these sizes takes minutes.
    ap.add_argument("--cpu-max-n", type=int, default=8000)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    build = os.path.abspath(a.build)
    binary = os.path.join(build, "bin", "level3_bench")
    base = dict(os.environ)
    best = {k: v for k, v in base.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
            "openblas_kernel_bench": corename(best), "openblas_kernel_machine_default": corename(base),
            "cpus": os.cpu_count(), "emulated_link": False}
    try:
        meta["gpu"] = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                                     capture_output=True, text=True).stdout.strip()
    except FileNotFoundError:
        meta["gpu"] = "none"
    modes = a.modes.split(",")
    servers = {}
    tmp = tempfile.mkdtemp()
    rows = []
    try:
        for backend in ("cuda", "cpu"):
            if f"rcpu-{backend}" in modes:
                servers[backend] = start_rcpud(build, backend, best)
        nvblas = find_nvblas()
        if "nvblas" in modes and nvblas:
            conf = os.path.join(tmp, "nvblas.conf")
            with open(conf, "w") as f:
                f.write(f"NVBLAS_CPU_BLAS_LIB {openblas_lib()}\nNVBLAS_GPU_LIST ALL\nNVBLAS_LOGFILE {tmp}/nvblas.log\n")
        for routine in a.routines.split(","):
            for n in [int(s) for s in a.sizes.split(",")]:
                for mode in modes:
                    cpu_bound = mode in ("local", "rcpu-cpu")
                    if cpu_bound and n > a.cpu_max_n:
                        continue
                    if cpu_bound and routine == "zgemm" and n > a.cpu_max_n // 2:
                        continue
                    env = dict(best)
                    trace = os.path.join(tmp, f"{mode}-{routine}-{n}.jsonl")
                    if mode.startswith("rcpu-"):
                        env.update(LD_LIBRARY_PATH=os.path.join(build, "lib", "rcpu"), RCPU_POLICY="remote",
                                   RCPU_SERVER=servers[mode[5:]][1], RCPU_TRACE=trace)
                    elif mode == "nvblas":
                        if not nvblas:
                            continue
                        env.update(LD_PRELOAD=nvblas, NVBLAS_CONFIG_FILE=os.path.join(tmp, "nvblas.conf"))
                    reps = a.reps if n < 8000 else max(1, a.reps - 1)
                    t0 = time.time()
                    try:
                        res = run_bench(binary, routine, n, reps, env, timeout=900)
                    except Exception as e:  # record and go on: one failure must not lose the run
                        print(f"FAILED {mode} {routine} {n}: {e}", flush=True)
                        continue
                    res.update(mode=mode, routine=routine, n=n, reps=reps)
                    if mode.startswith("rcpu-"):
                        res.update(split_from_trace(trace, routine))
                    rows.append(res)
                    write_results(a.out, rows, meta)  # after every row: a run cut short keeps what it measured
                    print(f"{mode:10s} {routine} n={n:6d} best {res['best_s']:.4f}s {res['gflops']:9.1f} GFLOP/s"
                          f"  (wall {time.time()-t0:.0f}s)", flush=True)
    finally:
        for p, _ in servers.values():
            stop(p)
    write_results(a.out, rows, meta)
    print(json.dumps(meta, indent=1))

def write_results(out, rows, meta):
    keys = ["mode", "routine", "n", "reps", "best_s", "median_s", "gflops", "t_to_server_s", "t_on_server_s",
            "t_from_server_s", "bytes_to_server", "bytes_from_server", "checksum"]
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)

if __name__ == "__main__":
    main()
