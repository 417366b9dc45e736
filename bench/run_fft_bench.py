#!/usr/bin/env python3
"""The FFT benchmark (the paper's Figure 8), in ONE run on the machine it is started on (client and
rcpud over loopback), so every ratio compares numbers measured side by side.

Transforms (double precision, out of place, bench/fft_bench.c, an ordinary FFTW program):
  c2c 1-D 2^16 .. 2^26;  c2c 2-D 2048^2, 4096^2, 8192^2;  c2c 3-D 128^3, 256^3, 512^3;
  r2c 1-D 2^20, 2^24;  r2c 2-D 4096^2, 8192^2
Modes:
  fftw-1t-estimate   local FFTW, 1 thread, FFTW_ESTIMATE plan
  fftw-1t-measure    local FFTW, 1 thread, FFTW_MEASURE plan (up to 2^24 points: planning is slow)
  fftw-all-measure   local FFTW, all cores (fftw_plan_with_nthreads), FFTW_MEASURE
  rcpu               the same program through the shim, RCPU_POLICY=remote, rcpud --backend BACKEND
plus the plain-socket bound: rcpu-netbench over --streams connections (default half the cores, at
most 8: what RCPU_STREAMS is set to for rcpu, whose transforms of 16 MiB or more travel striped over
that many connections, docs/protocol.md "Striped FFTs");
a single transform cannot return output before all its input has arrived, so its bound is
(input + output bytes) / that bandwidth; and, per transform, "same bytes": rcpu-netbench moving the
transform's own input one way and then its output back, from and into buffers of those sizes.

Writes DIR/fft_results.csv, DIR/netbench.jsonl, DIR/fft_table.md (the markdown table) and, with
--docs FILE.md, replaces the block between the markers <!-- fft-bench:begin --> and
<!-- fft-bench:end --> of that file with the table (or appends it); plots with bench/plot_fft.py.
usage:
  run_fft_bench.py --build BUILD --out DIR [--backend cuda] [--quick] [--shapes KIND:SHAPE,...]
                   [--max-1t-measure POINTS] [--docs FILE.md]
"""
import argparse, csv, datetime, json, os, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_level3 import start_rcpud, stop  # noqa: E402

KEYS = ["mode", "kind", "shape", "points", "threads", "rigor", "plan_s", "best_s", "median_s", "bytes_in",
        "bytes_out", "bound_s", "same_bytes_s", "t_to_server_s", "t_on_server_s", "t_from_server_s", "backend", "streams", "transfer",
        "checksum"]


def shapes(quick):
    c1 = [2 ** k for k in (range(16, 27, 2) if not quick else (16, 20))]
    out = [("c2c", str(n)) for n in c1]
    if not quick:
        out += [("c2c", f"{n}x{n}") for n in (2048, 4096, 8192)]
        out += [("c2c", f"{n}x{n}x{n}") for n in (128, 256, 512)]
        out += [("r2c", str(2 ** 20)), ("r2c", str(2 ** 24)), ("r2c", "4096x4096"), ("r2c", "8192x8192")]
    else:
        out += [("c2c", "512x512"), ("r2c", str(2 ** 18))]
    return out


def sizes(kind, shape):
    dims = [int(x) for x in shape.split("x")]
    pts = 1
    for d in dims:
        pts *= d
    half = pts // dims[-1] * (dims[-1] // 2 + 1)
    if kind == "c2c":
        return pts, 16 * pts, 16 * pts
    return pts, 8 * pts, 16 * half


def run_bench(binary, kind, shape, reps, threads, rigor, env):
    r = subprocess.run([binary, kind, shape, str(reps), str(threads), rigor], env=env, capture_output=True, text=True,
                       timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"{kind} {shape}: exit {r.returncode}: {r.stderr[-2000:]}")
    f = r.stdout.strip().splitlines()[-1].split(",")
    return {"plan_s": float(f[4]), "best_s": float(f[5]), "median_s": float(f[6]), "checksum": f[7]}


def fastest_remote(trace):
    rows = [json.loads(l) for l in open(trace)] if os.path.exists(trace) else []
    rows = [r for r in rows if r.get("where") == "remote"][1:]  # the first is the warm-up
    if not rows:
        return {}
    m = min(rows, key=lambda r: r["t_total_s"])
    return {k: m.get(k, "") for k in ("t_to_server_s", "t_on_server_s", "t_from_server_s", "backend", "streams",
                                      "transfer")}


def netbench(build, out, streams):
    """One-way plain-socket bandwidth over `streams` connections (rcpu's own transport), GB/s."""
    cmd = [os.path.join(build, "bin", "rcpu-netbench"), "--streams", str(streams), "--mib", "2048", "--json",
           "--reps", "3"]  # the fastest of 3: loopback throughput moves by a fifth between transfers
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    with open(os.path.join(out, "netbench.jsonl"), "a") as f:
        for l in lines:
            f.write(l + "\n")
    if not lines:
        raise RuntimeError("rcpu-netbench failed: " + r.stderr[-2000:])
    return json.loads(lines[0])["gbytes_per_s_each_way"]


def same_bytes(build, out, streams, bytes_in, bytes_out):
    """Seconds a plain-socket transfer of the transform's own bytes takes: its input one way, then
    its output the other way (a single transform returns nothing before its input is in), over
    `streams` connections, from and into buffers of those sizes (rcpu-netbench --operands)."""
    total = 0.0
    for nbytes in (bytes_in, bytes_out):
        cmd = [os.path.join(build, "bin", "rcpu-netbench"), "--streams", str(streams), "--mib",
               str(max(1, -(-int(nbytes) // 2 ** 20))), "--operands", "--json", "--reps", "3"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
        if not lines:
            return None
        d = json.loads(lines[-1])
        with open(os.path.join(out, "netbench.jsonl"), "a") as f:
            f.write(json.dumps(dict(d, same_bytes_for=int(nbytes))) + "\n")
        total += d["seconds"]
    return total


def write_rows(out, rows):
    with open(os.path.join(out, "fft_results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=KEYS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def table(rows, gbps, streams):
    by = {}
    for r in rows:
        by.setdefault((r["kind"], r["shape"]), {})[r["mode"]] = r
    lines = [f"Plain-socket bound: rcpu-netbench, {streams} stream(s) (as RCPU_STREAMS for rcpu), {gbps:.2f} GB/s "
             "(same run).", "",
             "| transform | points | FFTW 1 thr ESTIMATE | FFTW 1 thr MEASURE | FFTW all cores MEASURE | rcpu remote | "
             "transfer bound | rcpu vs 1 thr EST | rcpu vs all MEAS | rcpu / bound | same bytes, plain sockets | "
             "rcpu / that |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    ms = lambda r: f"{1e3 * r['best_s']:.1f} ms" if r else "–"
    for (kind, shape), m in by.items():
        rc = m.get("rcpu")
        e1, m1, ma = m.get("fftw-1t-estimate"), m.get("fftw-1t-measure"), m.get("fftw-all-measure")
        bound = float(rc["bound_s"]) if rc else None
        ratio = lambda a: f"{a['best_s'] / rc['best_s']:.1f}x" if a and rc else "–"
        lines.append(f"| {kind} {shape} | {m[next(iter(m))]['points']} | {ms(e1)} | {ms(m1)} | {ms(ma)} | {ms(rc)} | "
                     f"{1e3 * bound:.1f} ms | {ratio(e1)} | {ratio(ma)} | "
                     f"{(rc['best_s'] / bound) if rc else 0:.2f} | "
                     + (f"{1e3 * float(rc['same_bytes_s']):.1f} ms | {rc['best_s'] / float(rc['same_bytes_s']):.2f} |"
                        if rc.get("same_bytes_s") else "– | – |") if rc else
                     f"| {kind} {shape} | {m[next(iter(m))]['points']} | {ms(e1)} | {ms(m1)} | {ms(ma)} | – | – | – | – | – "
                     "| – | – |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--backend", default="cuda")
    ap.add_argument("--quick", action="store_true", help="a few small sizes (to try the script)")
    ap.add_argument("--shapes", help="only these, e.g. c2c:16777216,c2c:4096x4096,r2c:16777216")
    ap.add_argument("--max-1t-measure", type=int, default=2 ** 24,
                    help="largest transform planned with FFTW_MEASURE on one thread (planning is slow)")
    ap.add_argument("--docs", help="a Markdown file: replace its FFT block (between the fft-bench markers) with the table")
    ap.add_argument("--streams", type=int, default=max(1, min(8, (os.cpu_count() or 2) // 2)),
                    help="RCPU_STREAMS for rcpu (large transforms are striped) and the bound's stream count")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    open(os.path.join(a.out, "netbench.jsonl"), "w").close()
    binary = os.path.join(a.build, "bin", "fft_bench")
    shim = os.path.join(a.build, "lib", "rcpu")
    cores = os.cpu_count() or 1
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(), "host": os.uname().nodename, "cores": cores,
            "backend": a.backend}
    gbps = netbench(a.build, a.out, a.streams)
    print(f"netbench {a.streams} stream(s): {gbps:.3f} GB/s", flush=True)
    rows = []
    base = dict(os.environ)
    for k in list(base):
        if k.startswith("RCPU_") and k != "RCPU_KEY_FILE":  # the key stays (docs/security.md)
            base.pop(k)
    server, endpoint = start_rcpud(a.build, a.backend, base)
    try:
        todo = shapes(a.quick) if not a.shapes else [tuple(x.split(":")) for x in a.shapes.split(",")]
        for kind, shape in todo:
            pts, bin_, bout = sizes(kind, shape)
            reps = 5 if pts <= 2 ** 22 else 3
            modes = [("fftw-1t-estimate", 1, "estimate"), ("fftw-all-measure", cores, "measure"), ("rcpu", 1, "estimate")]
            if pts <= a.max_1t_measure:
                modes.insert(1, ("fftw-1t-measure", 1, "measure"))
            for mode, threads, rigor in modes:
                env = dict(base)
                trace = os.path.join(a.out, "trace.jsonl")
                if mode == "rcpu":
                    if os.path.exists(trace):
                        os.remove(trace)
                    env.update(LD_LIBRARY_PATH=shim + ":" + env.get("LD_LIBRARY_PATH", ""), RCPU_SERVER=endpoint,
                               RCPU_POLICY="remote", RCPU_TRACE=trace, RCPU_FALLBACK="error",
                               RCPU_STREAMS=str(a.streams))
                try:
                    res = run_bench(binary, kind, shape, reps, threads, rigor, env)
                except Exception as e:  # one failed measurement must not lose the rest
                    print(f"{mode} {kind} {shape}: {e}", flush=True)
                    continue
                row = {"mode": mode, "kind": kind, "shape": shape, "points": pts, "threads": threads, "rigor": rigor,
                       "bytes_in": bin_, "bytes_out": bout, "bound_s": (bin_ + bout) / (gbps * 1e9), **res}
                if mode == "rcpu":
                    row.update(fastest_remote(trace))
                    row["same_bytes_s"] = same_bytes(a.build, a.out, a.streams, bin_, bout)
                rows.append(row)
                write_rows(a.out, rows)  # after every row: a run cut short by a time-out keeps what it measured
                print(f"{mode:18s} {kind} {shape:>14s}: {1e3 * res['best_s']:9.2f} ms (plan {res['plan_s']:.2f} s)",
                      flush=True)
    finally:
        stop(server)
    write_rows(a.out, rows)
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump({**meta, "streams": a.streams, "netbench_gbytes_per_s": gbps}, f, indent=1)
    md = table(rows, gbps, a.streams)
    with open(os.path.join(a.out, "fft_table.md"), "w") as f:
        f.write(md)
    print(md)
    if a.docs:
        text = open(a.docs).read()
        begin, end = "<!-- fft-bench:begin -->", "<!-- fft-bench:end -->"
        block = f"{begin}\n{md}{end}"
        if begin in text and end in text:
            text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
        else:
            text += "\n" + block + "\n"
        open(a.docs, "w").write(text)


if __name__ == "__main__":
    main()
