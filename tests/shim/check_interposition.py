#!/usr/bin/env python3
"""The interposition trap: once the shim exports dgemm_, ddot_ ..., a local library's own internal
calls to those symbols bind to the shim. They must go straight back to the local library, never
through rcpu's routing (where they would be traced, or even sent remote).

Runs interposition_main through the shim with the nested library as RCPU_LOCAL_BLAS and asserts:
the result is right, the nested library's own ddot_ received all M inner calls, and rcpu's trace
holds exactly one call (dgemv_) and no ddot_."""
import json, os, subprocess, sys, tempfile

main, shim_dir, nested = sys.argv[1:4]
M = 7
with tempfile.TemporaryDirectory() as tmp:
    trace = os.path.join(tmp, "trace.jsonl")
    env = dict(os.environ, LD_LIBRARY_PATH=shim_dir, RCPU_LOCAL_BLAS=nested, RCPU_TRACE=trace,
               RCPU_POLICY="local")
    env.pop("RCPU_SERVER", None)
    p = subprocess.run([main, nested], env=env, capture_output=True, text=True, timeout=60)
    print(p.stdout, p.stderr)
    assert p.returncode == 0, f"program failed with {p.returncode}"
    assert f"nested ddot_ calls: {M}" in p.stdout, "inner ddot_ calls did not reach the nested library"
    lines = [json.loads(l) for l in open(trace)] if os.path.exists(trace) else []
    routines = [l["routine"] for l in lines]
    assert routines == ["dgemv_"], f"rcpu saw {routines}, expected exactly ['dgemv_']"
print("interposition: inner calls stayed in the local library")
