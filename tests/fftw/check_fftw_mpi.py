#!/usr/bin/env python3
"""A real FFTW MPI program (fftw_mpi_program.c: Debian's libfftw3-mpi, Open MPI, 2 ranks) gives the
same results through rcpu as without it.

  check_fftw_mpi.py SHIM_DIR RCPUD MPIEXEC -- PROGRAM
Runs PROGRAM under MPIEXEC three times: on the real FFTW alone (the reference), through the shim
with RCPU_POLICY=local, and through the shim against a local rcpud (--backend cpu) with
RCPU_POLICY=remote. libfftw3_mpi builds its plans with FFTW internals (fftw_mkapiplan,
fftw_plan_awake, ...) that the shim forwards to the real FFTW, and the application executes and
destroys those plans with the ordinary API. Every run must exit 0 (the program checks its
distributed transform against a serial one), print the same values as the reference (to 1e-12 of
the largest: FFTW_MEASURE may choose another algorithm in another run), and the remote run's trace
must show rank 0's serial transform remote.
"""
import json, os, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shim"))
from rcpud_process import start_server, stop  # noqa: E402


def run(mpiexec, program, env):
    # Open MPI: root is refused without --allow-run-as-root (CI runs as root); two ranks on any
    # machine, however many cores it has (--oversubscribe); -x passes the shim's settings on.
    cmd = [mpiexec, "-n", "2", "--oversubscribe", "--allow-run-as-root"]
    for k in sorted(env):
        if k.startswith("RCPU_") or k in ("LD_LIBRARY_PATH", "OPENBLAS_NUM_THREADS"):
            cmd += ["-x", k]
    r = subprocess.run(cmd + program, env=env, capture_output=True, text=True, timeout=300)
    return r


def main():
    shim_dir, rcpud, mpiexec = sys.argv[1:4]
    program = sys.argv[sys.argv.index("--") + 1:]
    base = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    base.pop("LD_LIBRARY_PATH", None)
    ref = run(mpiexec, program, base)
    if ref.returncode != 0:
        print(f"FAIL: the program fails on the real FFTW alone ({ref.returncode}): {ref.stderr[-2000:]}")
        return 1
    expected = [float(x) for x in ref.stdout.split()]
    scale = max(abs(x) for x in expected)
    print(f"reference (real FFTW): {len(expected)} values; {ref.stderr.strip().splitlines()[-1]}")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("local", "remote"):
            trace = os.path.join(tmp, f"trace-{mode}.jsonl")
            env = dict(base, LD_LIBRARY_PATH=shim_dir, RCPU_TRACE=trace, RCPU_POLICY=mode, RCPU_FALLBACK="error")
            server = None
            if mode == "remote":
                server, endpoint = start_server(rcpud)
                env["RCPU_SERVER"] = endpoint
            try:
                r = run(mpiexec, program, env)
            finally:
                if server:
                    stop(server)
            if r.returncode != 0:
                print(f"FAIL: {mode}: the program exited {r.returncode}: {r.stderr[-3000:]}")
                failed = True
                continue
            got = [float(x) for x in r.stdout.split()]
            worst = max((abs(a - b) for a, b in zip(got, expected)), default=0.0)
            records = [json.loads(l) for l in open(trace)] if os.path.exists(trace) else []
            ffts = [x for x in records if x.get("routine", "").startswith("fftw_execute")]
            remote = [x for x in ffts if x.get("where") == "remote"]
            print(f"{mode}: {len(got)} values, largest difference from the reference {worst:.3g}; "
                  f"trace: {len(ffts)} FFTW executions through rcpu, {len(remote)} remote")
            if len(got) != len(expected) or worst > 1e-12 * scale:
                print(f"FAIL: {mode}: results differ from the real FFTW's")
                failed = True
            if not ffts:
                print(f"FAIL: {mode}: no FFTW execution in the trace (was the shim loaded?)")
                failed = True
            if mode == "remote" and not remote:
                print("FAIL: remote: the serial transform did not run remotely")
                failed = True
            if mode == "local" and remote:
                print("FAIL: local: remote executions")
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
