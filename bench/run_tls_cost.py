#!/usr/bin/env python3
"""What TLS costs, in ONE run on the machine it is started on (client and rcpud over loopback):
the same calls through the shim to two rcpud of the same backend, one in the clear and one under
TLS 1.3 (--tls-cert; the client trusting its authority), side by side, RCPU_STREAMS connections
(default 8) per large call:
  DGEMM n = 8000 and 16000 (bench/level3_bench.c)
  FFT c2c 1-D 2^24, FFTW_ESTIMATE (bench/fft_bench.c)
Modes alternate call by call size, so a drift of the machine hits both alike. Writes DIR/results.csv,
DIR/meta.json and DIR/tls_table.md (time with TLS / time without, per call).

usage: run_tls_cost.py --build BUILD --out DIR [--backend cuda] [--streams 8] [--reps 3]
"""
import argparse, csv, datetime, json, os, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_level3 import run_bench as run_level3, split_from_trace, start_rcpud, stop  # noqa: E402
from run_fft_bench import fastest_remote, run_bench as run_fft  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYS = ["mode", "call", "best_s", "median_s", "t_to_server_s", "t_on_server_s", "t_from_server_s", "streams",
        "checksum"]


def make_certs(tmp):
    d = os.path.join(tmp, "tls")
    subprocess.run(["bash", os.path.join(REPO, "tests", "tls", "make_test_certs.sh"), d], check=True)
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--backend", default="cuda")
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sizes", default="8000,16000")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    build = os.path.abspath(a.build)
    tmp = tempfile.mkdtemp(prefix="rcpu-tls-bench-")
    certs = make_certs(tmp)
    env = dict(os.environ)
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "backend": a.backend,
            "streams": a.streams, "cpus": os.cpu_count(), "emulated_link": False}
    try:
        meta["gpu"] = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                                     capture_output=True, text=True).stdout.strip()
    except FileNotFoundError:
        meta["gpu"] = "none"
    try:
        meta["openssl"] = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    except FileNotFoundError:
        pass
    try:  # kernel TLS offload would need the "tls" upper-layer protocol; rcpu does not use it
        meta["tcp_available_ulp"] = open("/proc/sys/net/ipv4/tcp_available_ulp").read().strip()
    except OSError:
        pass
    servers = {}
    rows = []
    try:
        servers["clear"] = start_rcpud(build, a.backend, env)
        servers["tls"] = start_rcpud(build, a.backend, env, ("--tls-cert", os.path.join(certs, "server.pem"),
                                                             "--tls-key", os.path.join(certs, "server.key")))
        calls = [("dgemm", int(n)) for n in a.sizes.split(",")] + [("fft-c2c", 2 ** 24)]
        for call, n in calls:
            for mode in ("clear", "tls"):
                trace = os.path.join(tmp, f"{mode}-{call}-{n}.jsonl")
                e = dict(env, LD_LIBRARY_PATH=os.path.join(build, "lib", "rcpu"), RCPU_POLICY="remote",
                         RCPU_FALLBACK="error", RCPU_SERVER=servers[mode][1], RCPU_TRACE=trace,
                         RCPU_STREAMS=str(a.streams))
                if mode == "tls":
                    e["RCPU_TLS_CA"] = os.path.join(certs, "ca.pem")
                if call == "dgemm":
                    res = run_level3(os.path.join(build, "bin", "level3_bench"), "dgemm", n, a.reps, e, 900)
                    res.update(split_from_trace(trace, "dgemm"))
                    name = f"dgemm n={n}"
                else:
                    res = run_fft(os.path.join(build, "bin", "fft_bench"), "c2c", str(n), a.reps, 1, "estimate", e)
                    res.update(fastest_remote(trace))
                    name = "fft c2c 2^24"
                res.update(mode=mode, call=name)
                rows.append(res)
                write(a.out, rows, meta)
                print(f"{mode:5s} {name:14s} best {res['best_s']:.4f} s", flush=True)
    finally:
        for p, _ in servers.values():
            stop(p)
    write(a.out, rows, meta)
    print(open(os.path.join(a.out, "tls_table.md")).read())


def write(out, rows, meta):
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=KEYS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    by = {(r["mode"], r["call"]): r for r in rows}
    lines = ["| call | in the clear (s) | TLS 1.3 (s) | TLS / clear |", "|---|---:|---:|---:|"]
    for call in dict.fromkeys(r["call"] for r in rows):
        c, t = by.get(("clear", call)), by.get(("tls", call))
        if c and t:
            lines.append(f"| {call} | {c['best_s']:.4f} | {t['best_s']:.4f} | {t['best_s'] / c['best_s']:.2f}x |")
    with open(os.path.join(out, "tls_table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
