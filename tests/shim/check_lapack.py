#!/usr/bin/env python3
"""LAPACK through the shim runs locally, inner BLAS calls included (DESIGN §3's interposition trap).

Runs lapack_main (linked with -llapack -lblas) with rcpu as liblapack.so.3 and libblas.so.3,
RCPU_POLICY=remote and a live `rcpud --backend cpu`, so that every Level-3 call that reaches rcpu's
routing would be sent remote. dgetrf_/dgeqrf_ of n=600 make inner dgemm_/dtrsm_ calls far above
any threshold. Asserts, in two configurations of the local libraries:
  openblas    the default: OpenBLAS is the local BLAS and, since it exports dgetrf_, the local LAPACK
              (its inner calls to exported symbols come back into rcpu and meet the re-entry guard);
  reference   RCPU_LOCAL_BLAS = Debian's reference libblas.so.3, so the local LAPACK is the reference
              liblapack.so.3, whose inner BLAS calls DO come back into rcpu (its libblas.so.3 is rcpu):
              the re-entry guard must keep them local and out of the trace;
that the program's checks pass, that the trace names only the LAPACK routines the program called,
none remote, and no inner BLAS routine; and that the program's own dgemm_ (positive control) ran
remotely.

usage: check_lapack.py LAPACK_MAIN SHIM_DIR RCPUD [REFERENCE_BLAS]
"""
import json, os, subprocess, sys, tempfile

import rcpud_process
from rcpud_process import stop

main, shim, rcpud = sys.argv[1:4]
reference_blas = sys.argv[4] if len(sys.argv) > 4 else "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"
CALLED = {"dgetrf_", "dgetrf", "dgetrs_", "dgeqrf_", "dlamch_", "slamch_", "zladiv_", "ilaenv_", "disnan_",
          "chla_transtype_"}


def start_server():
    return rcpud_process.start_server(rcpud)


def run(config, server, tmp):
    trace = os.path.join(tmp, f"trace-{config}.jsonl")
    env = dict(os.environ, LD_LIBRARY_PATH=shim, RCPU_SERVER=server, RCPU_POLICY="remote", RCPU_TRACE=trace,
               RCPU_FALLBACK="error", OPENBLAS_NUM_THREADS="1")
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
    assert not remote, f"{config}: LAPACK routines ran remotely: {remote}"
    # Exactly one dgemm_ line: the program's own, remote. Any other was an inner call of LAPACK.
    assert len(dgemm_rows) == 1, f"{config}: {len(dgemm_rows)} dgemm_ lines, expected only the program's own one"
    assert dgemm_rows[0].get("where") == "remote", f"{config}: the program's own dgemm_ did not run remotely"
    return len(rows)


with tempfile.TemporaryDirectory() as tmp:
    p, addr = start_server()
    try:
        for config in ("openblas", "reference"):
            if config == "reference" and not os.path.exists(reference_blas):
                print(f"note: {reference_blas} missing (package libblas3): configuration 'reference' skipped")
                continue
            run(config, addr, tmp)
    finally:
        stop(p)
print("lapack: only the LAPACK routines appear, inner BLAS calls stayed local; the program's own dgemm_ went remote")
