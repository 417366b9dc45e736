#!/usr/bin/env python3
"""An application's xerbla_ in a module dlopened RTLD_LOCAL wins through the shim (issue 16).

  check_xerbla_local.py SHIM_DIR PROGRAM MODULE
Runs xerbla_local_main.c, which dlopens xerbla_module.c RTLD_LOCAL (its libblas/liblapack then the
shim), three ways: without the shim (the system's libraries: the test's own sanity), with the shim's
folder on LD_LIBRARY_PATH, and with the shim also in LD_PRELOAD (rcpu then in the global scope).
Each must exit 0: the module's xerbla_ received DORGQR's argument 5 (found by the local LAPACK) and
DGEMM's argument 8 (found by rcpu's own checks).
"""
import os, subprocess, sys


def main():
    shim_dir, program, module = sys.argv[1:4]
    base = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "LD_PRELOAD")}
    base.update(RCPU_POLICY="local", OPENBLAS_NUM_THREADS="1")
    runs = [("system libraries", {}), ("shim on LD_LIBRARY_PATH", {"LD_LIBRARY_PATH": shim_dir}),
            ("shim preloaded", {"LD_LIBRARY_PATH": shim_dir, "LD_PRELOAD": os.path.join(shim_dir, "librcpu.so")})]
    failures = 0
    for name, extra in runs:
        r = subprocess.run([program, module], env={**base, **extra}, capture_output=True, text=True, timeout=60)
        print(f"--- {name}: exit {r.returncode}\n{r.stdout}{r.stderr}")
        failures += r.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
