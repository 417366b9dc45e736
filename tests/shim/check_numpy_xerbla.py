#!/usr/bin/env python3
"""NumPy's own test_xerbla_override through the shim: the application's error handler must win.

  check_numpy_xerbla.py MODE SHIM_DIR RCPUD PYTHON
MODE: local   RCPU_POLICY=local
      remote  rcpud --backend cpu on 127.0.0.1 port 0, RCPU_POLICY=remote
NumPy's extension modules define xerbla_ (raising ValueError) and load libblas.so.3 /
liblapack.so.3 -- here rcpu -- with RTLD_LOCAL (issue 16). Runs, with the shim's folder first on
LD_LIBRARY_PATH, (1) numpy/linalg/tests/test_linalg.py::test_xerbla_override, which SKIPS when
NumPy's xerbla_ is not the one called: the outcome must be 'passed', a skip fails this test; and
(2) illegal-argument calls of lapack_lite.dorgqr/dgeqrf, which must raise NumPy's ValueError naming
the routine and the argument. Exit 77 (skipped) when the python has no numpy or pytest.
"""
import os, subprocess, sys, tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rcpud_process import start_server, stop  # noqa: E402

SKIP = 77

DIRECT = r"""
import numpy as np, numpy.linalg.lapack_lite as ll
a = np.array([[1.]])
for name, call in [("DORGQR parameter number 5", lambda: ll.dorgqr(1, 1, 1, a, 0, a, a, 0, 0)),
                   ("DGEQRF parameter number 4", lambda: ll.dgeqrf(1, 1, a, 0, a, a, 1, 0))]:
    try:
        call()
        print("FAIL: no error raised for", name)
    except ValueError as e:
        print("ok" if name in str(e) else "FAIL", "raised:", e)
"""


def main():
    mode, shim_dir, rcpud, python = sys.argv[1:5]
    probe = subprocess.run([python, "-c", "import numpy, pytest, numpy.linalg.tests.test_linalg as t; print(t.__file__)"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"{python} has no numpy/pytest (scripts/setup.sh installs them): skipped\n{probe.stderr}")
        return SKIP
    test_file = probe.stdout.strip().splitlines()[-1]
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = shim_dir + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    env["OPENBLAS_NUM_THREADS"] = "1"
    server = None
    if mode == "local":
        env["RCPU_POLICY"] = "local"
    elif mode == "remote":
        server, endpoint = start_server(rcpud)
        env["RCPU_SERVER"] = endpoint
        env["RCPU_POLICY"] = "remote"
    else:
        sys.exit(f"unknown mode {mode}")
    failures = 0
    try:
        with tempfile.TemporaryDirectory() as tmp:
            junit = os.path.join(tmp, "junit.xml")
            # --noconftest: numpy's conftest.py needs hypothesis, which this test does not.
            r = subprocess.run([python, "-m", "pytest", "--noconftest", "-p", "no:cacheprovider", "-rs", "-q",
                                f"--junitxml={junit}", f"{test_file}::test_xerbla_override"],
                               env=env, capture_output=True, text=True, timeout=300, cwd=tmp)
            print(r.stdout + r.stderr)
            cases = ET.parse(junit).getroot().iter("testcase") if os.path.exists(junit) else []
            outcomes = []
            for c in cases:
                bad = [child.tag for child in c if child.tag in ("skipped", "failure", "error")]
                outcomes.append(bad[0] if bad else "passed")
            print(f"test_xerbla_override: {outcomes}")
            if outcomes != ["passed"]:
                print("FAIL: test_xerbla_override must pass (a skip means NumPy's xerbla_ was not called)")
                failures += 1
        r = subprocess.run([python, "-c", DIRECT], env=env, capture_output=True, text=True, timeout=120)
        print(r.stdout + r.stderr)
        if r.returncode != 0 or "FAIL" in r.stdout or r.stdout.count("ok raised") != 2:
            print("FAIL: lapack_lite's illegal-argument calls did not raise NumPy's error")
            failures += 1
    finally:
        if server:
            stop(server)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
