#!/usr/bin/env python3
"""GNU Octave's own linear-algebra and FFT test blocks (octave_test_blocks.m) pass through rcpu.

  check_octave.py SHIM_DIR RCPUD OCTAVE_CLI
Runs the test blocks three times: on the real libraries alone (the reference), with the shim on
LD_LIBRARY_PATH and RCPU_POLICY=local, and against a local rcpud (--backend cpu) with
RCPU_POLICY=remote. Octave loads libblas.so.3, liblapack.so.3 and libfftw3*.so.3 by those names, so
it starts on the shim (it needs FFTW's data objects fftwf_version and the others to start at all).
Each run must report every file; through rcpu every file must pass exactly the tests it passes on
the real libraries (this Debian Octave fails two of inv's on OpenBLAS, and marks one of gsvd's a
known bug, either way), and no file may fail a test the reference passes. The remote run's trace
must show BLAS, LAPACK and FFTW calls that ran remotely, and none may have fallen back.
"""
import json, os, re, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shim"))
from rcpud_process import start_server, stop  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def run(octave, env):
    r = subprocess.run([octave, "--no-gui", "--norc", "-q", "--eval", f"source('{HERE}/octave_test_blocks.m')"],
                       env=env, capture_output=True, text=True, timeout=900, cwd=tempfile.gettempdir())
    results = {}
    for m in re.finditer(r"^RESULT (\S+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", r.stdout, re.M):
        results[os.path.basename(m.group(1))] = tuple(int(x) for x in m.groups()[1:])
    return r, results


def main():
    shim_dir, rcpud, octave = sys.argv[1:4]
    base = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    base.pop("LD_LIBRARY_PATH", None)
    ref_run, ref = run(octave, base)
    if ref_run.returncode != 0 or not ref:
        print(f"FAIL: Octave's tests do not run on the real libraries ({ref_run.returncode}): {ref_run.stderr[-2000:]}")
        return 1
    print(f"reference: {len(ref)} files, {sum(v[0] for v in ref.values())} of {sum(v[1] for v in ref.values())} "
          "tests pass on the real libraries")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("local", "remote"):
            trace = os.path.join(tmp, f"trace-{mode}.jsonl")
            env = dict(base, LD_LIBRARY_PATH=shim_dir, RCPU_TRACE=trace, RCPU_POLICY=mode)
            server = None
            if mode == "remote":
                server, endpoint = start_server(rcpud)
                env["RCPU_SERVER"] = endpoint
            try:
                r, got = run(octave, env)
            finally:
                if server:
                    stop(server)
            if r.returncode != 0:
                print(f"FAIL: {mode}: Octave exited {r.returncode}: {r.stderr[-3000:]}")
                failed = True
            for name, want in sorted(ref.items()):
                have = got.get(name)
                if have is None:
                    print(f"FAIL: {mode}: {name} did not report")
                    failed = True
                elif have[0] != want[0] or have[1] != want[1]:
                    print(f"FAIL: {mode}: {name}: {have[0]} of {have[1]} pass, {want[0]} of {want[1]} on the real "
                          "libraries")
                    failed = True
            records = [json.loads(l) for l in open(trace)] if os.path.exists(trace) else []
            remote = [x for x in records if x.get("where") == "remote"]
            kinds = {"fftw": [x for x in remote if x.get("routine", "").startswith("fftw")],
                     "blas": [x for x in remote if re.match(r"^[sdcz](gemm|symm|hemm|syrk|herk|syr2k|her2k|trmm|trsm)",
                                                            x.get("routine", ""))],
                     "lapack": [x for x in remote if re.match(r"^[sdcz](getrf|getrs|potrf|potrs|geqrf|gesv|gesdd|gesvd|"
                                                              r"syev|heev|syevd|heevd|gels|trtrs|getri|potri)",
                                                              x.get("routine", ""))]}
            fell_back = [x for x in records if x.get("why", "").startswith("fallback")]
            print(f"{mode}: {len(got)} files, {sum(v[0] for v in got.values())} tests pass; trace: {len(records)} calls, "
                  f"{len(remote)} remote ({', '.join(f'{k} {len(v)}' for k, v in kinds.items())}), "
                  f"{len(fell_back)} fell back")
            if not records:
                print(f"FAIL: {mode}: no call in the trace (did Octave load the shim?)")
                failed = True
            if mode == "local" and remote:
                print("FAIL: local: calls ran remotely")
                failed = True
            if mode == "remote":
                for k, v in kinds.items():
                    if not v:
                        print(f"FAIL: remote: no {k} call ran remotely")
                        failed = True
                if fell_back:
                    print(f"FAIL: remote: {len(fell_back)} calls fell back, e.g. {fell_back[0]}")
                    failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
