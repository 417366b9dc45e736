#!/usr/bin/env python3
"""The shim finds the real libraries where a Fedora-style system keeps them (issue 16).

  check_lib64_search.py [--reference] SHIM_DIR PROGRAM
Builds a temporary tree: usr/lib64/ holding (symlinks to) the real libopenblas.so.0, libfftw3.so.3,
libfftw3f.so.3 (their threads libraries) and OpenBLAS's Fortran run time, and sys/ holding the rest
of what the shim and PROGRAM need (libc, libstdc++, OpenSSL ...). Runs PROGRAM (lib64_main.c)
through the dynamic linker itself, `ld.so --inhibit-cache --library-path SHIM:usr/lib64:sys`, so
that no ld.so.cache answers and the shim's folder comes first (every soname the shim carries --
libblas.so.3, liblapack.so.3, libfftw3.so.3 -- resolves to rcpu there: the search must skip it),
with no RCPU_LOCAL_* set. The program's results must be right, and RCPU_LOG=debug must show the
local BLAS, LAPACK and FFTW opened from usr/lib64.
--reference: usr/lib64 holds the reference libblas.so.3 and liblapack.so.3 instead of OpenBLAS
(RCPU_REFERENCE_BLAS / RCPU_REFERENCE_LAPACK, default Debian's), and every OpenBLAS of the system is
hidden (a user and mount namespace, `unshare -rm`, binds /dev/null over each): the local BLAS and
LAPACK must be found under the very sonames the shim carries. Exit 77 where either is unavailable.
"""
import os, shutil, subprocess, sys, tempfile

LIB64 = {"libopenblas.so.0", "libfftw3.so.3", "libfftw3f.so.3", "libfftw3_threads.so.3", "libfftw3f_threads.so.3",
         "libgfortran.so.5", "libquadmath.so.0"}
SHIM_NAMES = {"libblas.so.3", "libcblas.so.3", "liblapack.so.3", "libfftw3.so.3", "libfftw3f.so.3", "librcpu.so"}


def deps(path):
    """soname -> resolved path of every library ldd lists for path."""
    out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "=>" and parts[2].startswith("/"):
            found[parts[0]] = parts[2]
    return found


def find_system(soname):
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.strip().startswith(soname + " ") and "x86-64" in line:
            return line.rsplit("=>", 1)[1].strip()
    return None


def system_openblas():
    """Every OpenBLAS library file of the system (to hide)."""
    import glob
    found = set()
    for pattern in ["/usr/lib*/libopenblas*.so*", "/usr/lib*/*/libopenblas*.so*", "/usr/lib*/*/*/libopenblas*.so*",
                    "/lib*/libopenblas*.so*", "/lib*/*/libopenblas*.so*"]:
        for p in glob.glob(pattern):
            found.add(os.path.realpath(p))
    return sorted(f for f in found if os.path.isfile(f))


def main():
    reference = "--reference" in sys.argv
    shim_dir, program = [a for a in sys.argv[1:] if a != "--reference"][0:2]
    ld_so = "/lib64/ld-linux-x86-64.so.2"
    if not os.path.exists(ld_so):
        print(f"no {ld_so}: skipped")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        lib64 = os.path.join(tmp, "usr", "lib64")
        sysdir = os.path.join(tmp, "sys")
        os.makedirs(lib64)
        os.makedirs(sysdir)
        real = {}
        hide = []
        if reference:
            for soname, env_name, default in [("libblas.so.3", "RCPU_REFERENCE_BLAS", "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"),
                                              ("liblapack.so.3", "RCPU_REFERENCE_LAPACK",
                                               "/usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3")]:
                p = os.environ.get(env_name, default)
                if not os.path.exists(p):
                    print(f"no reference {soname} ({env_name}): skipped")
                    return 77
                real[soname] = os.path.realpath(p)
            if subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0:
                print("unshare -rm not permitted here: skipped")
                return 77
            hide = system_openblas()
        for name in (["libopenblas.so.0"] if not reference else []) + ["libfftw3.so.3", "libfftw3f.so.3", "libfftw3_threads.so.3",
                     "libfftw3f_threads.so.3"]:
            p = find_system(name)
            if not p:
                print(f"no system {name}: skipped")
                return 77
            real[name] = os.path.realpath(p)
        needed = {}
        for p in [os.path.join(shim_dir, "librcpu.so"), program, *real.values()]:
            needed.update(deps(p))
        for soname, path in needed.items():
            if soname in SHIM_NAMES:
                continue
            real.setdefault(soname, os.path.realpath(path))
        for soname, path in real.items():
            if os.path.realpath(path) in hide:
                continue
            in_lib64 = soname in LIB64 or soname in ("libblas.so.3", "liblapack.so.3")
            os.symlink(path, os.path.join(lib64 if in_lib64 else sysdir, soname))
        env = {k: v for k, v in os.environ.items() if not k.startswith("RCPU_LOCAL_") and k != "LD_LIBRARY_PATH"}
        env.update(RCPU_POLICY="local", RCPU_LOG="debug", OPENBLAS_NUM_THREADS="1")
        cmd = [ld_so, "--inhibit-cache", "--library-path", f"{shim_dir}:{lib64}:{sysdir}", program]
        if hide:
            mounts = "".join(f"mount --bind /dev/null '{h}' && " for h in hide)
            cmd = ["unshare", "-rm", "sh", "-c", mounts + 'exec "$@"', "sh", *cmd]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        out = r.stdout + r.stderr
        print(" ".join(cmd))
        print(out)
        failures = 0
        if r.returncode != 0 or "lib64_main: ok" not in r.stdout:
            print(f"FAIL: the program exited {r.returncode}")
            failures += 1
        expect = ([("local BLAS", "libblas.so.3"), ("local LAPACK", "liblapack.so.3")] if reference else
                  [("local BLAS", "libopenblas.so.0"), ("local LAPACK", "libopenblas.so.0")])
        for what, name in expect + [("local FFTW", "libfftw3.so.3")]:
            lines = [l for l in out.splitlines() if f"{what}:" in l]
            if not any(os.path.join(lib64, name) in l for l in lines):
                print(f"FAIL: {what} not opened from {lib64}: {lines}")
                failures += 1
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
