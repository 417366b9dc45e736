#!/usr/bin/env python3
"""LAPACK through the shim runs locally, inner BLAS calls included (the interposition trap: the local
LAPACK's own calls to exported BLAS symbols bind to the shim and must go straight back to the local
library).

Runs lapack_main (linked with -llapack -lblas) with rcpu as liblapack.so.3 and libblas.so.3,
RCPU_POLICY=auto with RCPU_AUTO_MIN_FLOPS = 3e8 and a live `rcpud --backend cpu`: the program's
dgemm_ of n=600 (4.3e8 flops) goes remote, its dgetrf_/dgeqrf_ (1.4e8, 2.9e8 flops) stay local, and
their inner dgemm_/dtrsm_ calls would be sent remote if they reached rcpu's routing as the
application's own calls. Asserts, in two configurations of the local libraries:
  openblas    the default: OpenBLAS is the local BLAS and, since it exports dgetrf_, the local LAPACK
              (its inner calls to exported symbols come back into rcpu and meet the re-entry guard);
  reference   RCPU_LOCAL_BLAS = Debian's reference libblas.so.3, so the local LAPACK is the reference
              liblapack.so.3, whose inner BLAS calls DO come back into rcpu (its libblas.so.3 is rcpu):
              the re-entry guard must keep them local and out of the trace;
that the program's checks pass, that the trace names only the LAPACK routines the program called,
none remote, and no inner BLAS routine; and that the program's own dgemm_ (positive control) ran
remotely. A third configuration, remote-lapack (RCPU_POLICY=remote), asserts that the offloadable
LAPACK calls (dgetrf_ and its bare name, dgetrs_, dgeqrf_: spec/offload/lapack.txt) then ran remotely, with
the same checks passing, while the rest (dlamch_, ilaenv_, the workspace query of dgeqrf_) stayed
local.

usage: check_lapack.py LAPACK_MAIN SHIM_DIR RCPUD [REFERENCE_BLAS]
"""
import json, os, subprocess, sys, tempfile

import rcpud_process
from rcpud_process import stop

main, shim, rcpud = sys.argv[1:4]
reference_blas = sys.argv[4] if len(sys.argv) > 4 else "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"
CALLED = {"dgetrf_", "dgetrf", "dgetrs_", "dgeqrf_", "dlamch_", "slamch_", "zladiv_", "ilaenv_", "disnan_",
          "chla_transtype_"}
OFFLOADED = {"dgetrf_", "dgetrs_", "dgeqrf_"}


def start_server():
    return rcpud_process.start_server(rcpud)


def run(config, server, tmp):
    trace = os.path.join(tmp, f"trace-{config}.jsonl")
    env = dict(os.environ, LD_LIBRARY_PATH=shim, RCPU_SERVER=server, RCPU_POLICY="auto", RCPU_TRACE=trace,
               RCPU_AUTO_MIN_FLOPS="3e8", RCPU_FALLBACK="error", OPENBLAS_NUM_THREADS="1")
    if config == "remote-lapack":
        env["RCPU_POLICY"] = "remote"
    env.pop("RCPU_LOCAL_LAPACK", None)
    env.pop("RCPU_LOCAL_BLAS", None)
    if config == "reference":
        env["RCPU_LOCAL_BLAS"] = reference_blas
    r = subprocess.run([main, "600"], env=env, capture_output=True, text=True, timeout=300)
    print(f"--- {config}\n{r.stdout}{r.stderr}")
    assert r.returncode == 0 and "PASS" in r.stdout, f"{config}: lapack_main failed ({r.returncode})"
    rows = [json.loads(l) for l in open(trace)] if os.path.exists(trace) else []
    routines = [x["routine"] for x in rows]
    print(f"{config}: trace {sorted(set(routines))}")
    lapack_rows = [x for x in rows if x["routine"] != "dgemm_"]
    dgemm_rows = [x for x in rows if x["routine"] == "dgemm_"]
    unexpected = sorted({x["routine"] for x in lapack_rows} - CALLED)
    assert not unexpected, f"{config}: rcpu saw calls the program did not make (inner calls leaked): {unexpected}"
    assert {"dgetrf_", "dgeqrf_"} <= set(routines), f"{config}: the LAPACK calls are missing from the trace"
    remote = [x["routine"] for x in lapack_rows if x.get("where") == "remote"]
    if config == "remote-lapack":
        assert set(remote) == OFFLOADED, f"{config}: remote LAPACK routines {sorted(set(remote))}, expected {OFFLOADED}"
        queries = [x for x in lapack_rows if x["routine"] == "dgeqrf_" and x.get("where") != "remote"]
        assert len(queries) == 1, f"{config}: the workspace query of dgeqrf_ should have stayed local"
    else:
        assert not remote, f"{config}: LAPACK routines ran remotely: {remote}"
    # Exactly one dgemm_ line: the program's own, remote. Any other was an inner call of LAPACK.
    assert len(dgemm_rows) == 1, f"{config}: {len(dgemm_rows)} dgemm_ lines, expected only the program's own one"
    assert dgemm_rows[0].get("where") == "remote", f"{config}: the program's own dgemm_ did not run remotely"
    return len(rows)


with tempfile.TemporaryDirectory() as tmp:
    p, addr = start_server()
    try:
        for config in ("openblas", "reference", "remote-lapack"):
            if config == "reference" and not os.path.exists(reference_blas):
                print(f"note: {reference_blas} missing (package libblas3): configuration 'reference' skipped")
                continue
            run(config, addr, tmp)
    finally:
        stop(p)
print("lapack: only the LAPACK routines appear, inner BLAS calls stayed local; the program's own dgemm_ went remote")
