#!/usr/bin/env python3
"""Every offloaded LAPACK routine through the shim, remote, against the local library (issue #5).

Starts rcpud (--backend cpu, or cuda with --gpu) on 127.0.0.1 port 0, runs compare_solvers with the
shim as liblapack.so.3, RCPU_POLICY=remote and RCPU_FALLBACK=error, and asserts that the program's
comparisons pass and that the trace shows every routine of spec/offload/lapack.txt ran remotely
at least once (with the backend named). Then (CPU backend only) against an rcpud with three
virtual devices (placement layer), and once more against an rcpud whose
memory budget (--max-memory 24000) refuses the larger calls after their operands were sent: with
RCPU_FALLBACK=local every comparison must still pass, the refused calls running locally (trace:
why = fallback) on the same connections as the accepted ones (trace: remote).

usage: check_compare.py COMPARE_SOLVERS SHIM_DIR RCPUD RCPU_CLI [--gpu]
Exit 77 with --gpu when the CUDA backend cannot start (no GPU): CTest reports the test as skipped.
"""
import json, os, re, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "shim"))
import rcpud_process  # noqa: E402

prog, shim, rcpud, cli = sys.argv[1:5]
gpu = "--gpu" in sys.argv[5:]
spec = open(os.path.join(here, "..", "..", "spec", "offload", "lapack.txt")).read()
routines = {s for m in re.finditer(r"^lapack \w+ \| ([^|]+)\|", spec, re.M) for s in m.group(1).split()}

# The local library rcpu uses, as `rcpu config` reports it.
cfg = subprocess.run([cli, "config"], capture_output=True, text=True, timeout=60).stdout
m = re.search(r"local LAPACK opened\s*:?\s*(\S+)", cfg) or re.search(r"RCPU_LOCAL_LAPACK\s+(\S+)", cfg)
local = m.group(1) if m and os.path.exists(m.group(1)) else "libopenblas.so.0"

backend = "cuda" if gpu else "cpu"
try:
    # With --gpu the SVDs run on cuSOLVER too (opt-in, RCPU_CUDA_SVD=1: see cusolver_lapack.cpp),
    # so every call's result is checked against LAPACK's contract on the GPU.
    p = subprocess.Popen([rcpud, "--listen", "127.0.0.1:0", "--backend", backend], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=dict(os.environ, RCPU_CUDA_SVD="1"))
    line = p.stdout.readline()
    if "listening on" not in line:
        err = p.stderr.read()
        p.wait()
        if gpu:
            print(f"the CUDA backend did not start (no GPU?): {err.strip()[:300]}")
            sys.exit(77)
        raise SystemExit(f"rcpud did not start: {line!r} {err}")
    addr = line.strip().rsplit(" ", 1)[1]
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "trace.jsonl")
        env = dict(os.environ, LD_LIBRARY_PATH=shim, RCPU_SERVER=addr, RCPU_POLICY="remote", RCPU_TRACE=trace,
                   RCPU_FALLBACK="error", OPENBLAS_NUM_THREADS="1")
        r = subprocess.run([prog, local] + (["--gpu"] if gpu else []), env=env, capture_output=True, text=True,
                           timeout=1200)
        print(r.stdout[-6000:] + r.stderr[-3000:])
        assert r.returncode == 0, f"compare_solvers failed (exit {r.returncode})"
        rows = [json.loads(l) for l in open(trace)]
    remote = {}
    for x in rows:
        if x.get("where") == "remote" and x["routine"] in routines:
            remote.setdefault(x["routine"], set()).add(x.get("backend", "?"))
    missing = sorted(routines - set(remote))
    print(f"{len(remote)} of {len(routines)} offloaded routines ran remotely; backends: "
          f"{sorted({b for v in remote.values() for b in v})}")
    assert not missing, f"never ran remotely: {missing}"
finally:
    rcpud_process.stop(p)

def run_against(extra, fallback):
    """compare_solvers against `rcpud --backend cpu EXTRA`; returns the trace rows of offloaded routines."""
    p = subprocess.Popen([rcpud, "--listen", "127.0.0.1:0", "--backend", "cpu", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = p.stdout.readline()
        assert "listening on" in line, f"rcpud did not start: {line!r}"
        addr = line.strip().rsplit(" ", 1)[1]
        with tempfile.TemporaryDirectory() as tmp:
            trace = os.path.join(tmp, "trace.jsonl")
            env = dict(os.environ, LD_LIBRARY_PATH=shim, RCPU_SERVER=addr, RCPU_POLICY="remote", RCPU_TRACE=trace,
                       RCPU_FALLBACK=fallback, OPENBLAS_NUM_THREADS="1")
            r = subprocess.run([prog, local], env=env, capture_output=True, text=True, timeout=1200)
            print(r.stdout[-2000:] + r.stderr[-2000:])
            assert r.returncode == 0, f"compare_solvers against rcpud {extra} failed (exit {r.returncode})"
            rows = [json.loads(l) for l in open(trace)]
        assert p.poll() is None, "rcpud died"
        return [x for x in rows if x["routine"] in routines]
    finally:
        rcpud_process.stop(p)


if not gpu:
    # Three virtual devices behind rcpud's placement layer: LAPACK calls run whole on one of them.
    rows = run_against(["--virtual-devices", "3"], "error")
    missing = sorted(routines - {x["routine"] for x in rows if x.get("where") == "remote"})
    assert not missing, f"through 3 virtual devices, never ran remotely: {missing}"
    print("through 3 virtual devices: every offloaded routine ran remotely")
    p = subprocess.Popen([rcpud, "--listen", "127.0.0.1:0", "--backend", "cpu", "--max-memory", "24000"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = p.stdout.readline()
        assert "listening on" in line, f"rcpud did not start: {line!r}"
        addr = line.strip().rsplit(" ", 1)[1]
        with tempfile.TemporaryDirectory() as tmp:
            trace = os.path.join(tmp, "trace.jsonl")
            env = dict(os.environ, LD_LIBRARY_PATH=shim, RCPU_SERVER=addr, RCPU_POLICY="remote", RCPU_TRACE=trace,
                       RCPU_FALLBACK="local", OPENBLAS_NUM_THREADS="1")
            r = subprocess.run([prog, local], env=env, capture_output=True, text=True, timeout=1200)
            print(r.stdout[-2000:])
            assert r.returncode == 0, f"compare_solvers against a refusing server failed (exit {r.returncode})"
            rows = [json.loads(l) for l in open(trace) if json.loads(l)["routine"] in routines]
        where = {}
        for x in rows:
            key = "remote" if x.get("where") == "remote" else x.get("why", "")
            where[key] = where.get(key, 0) + 1
        print(f"against a server refusing large calls: {where}")
        assert where.get("remote") and where.get("fallback"), "expected both remote calls and refused ones run locally"
        assert p.poll() is None, "rcpud died"
    finally:
        rcpud_process.stop(p)
print("compare: every offloaded LAPACK routine ran remotely and matched the local library")
