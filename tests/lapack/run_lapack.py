#!/usr/bin/env python3
"""Run Debian's unmodified LAPACK testers (package liblapack-test) through the rcpu shim and compare
their failures with the local library's own (a committed baseline).

Runs (one tester on one input file, named as LAPACK's lapack_testing.py names the output):
  lin-P       xlintstP  < Ptest.in      > Ptest.out        P in s d c z   (linear equations)
  mixed-P     xlintstds < dstest.in, xlintstzc < zctest.in (P in d z)     (mixed precision)
  rfp-P       xlintstrfP < Ptest_rfp.in > Ptest_rfp.out                  (RFP format)
  eig-P-T     xeigtstP  < T.in or PT.in > PT.out   T in nep sep se2 svd ec ed gg gd sb sg bb glm gqr
              gsv csd lse                                                 (eigenproblems, SVD, ...)
  eig-P       all of eig-P-T;   a name may also be a comma list: eig-d-nep,sep,svd
  lin, mixed, rfp, all: the groups;   a+b: both
All testers read the input on stdin and write the .out in a scratch folder (their working folder).

Modes:
  local     LD_LIBRARY_PATH=<shim dir>: liblapack.so.3 and libblas.so.3 are rcpu; RCPU_POLICY=local
  remote    as local, plus `rcpud --backend cpu` on 127.0.0.1 port 0 and RCPU_POLICY=remote,
            RCPU_FALLBACK=error: the Level-3 BLAS calls the testers make themselves, and their calls of
            the offloaded LAPACK routines (spec/offload/lapack.txt) with valid arguments, go remote;
            everything else of LAPACK (and every inner BLAS call) runs locally
  remote-cuda  as remote with `rcpud --backend cuda` (the GPU machine): cuSOLVER/cuBLAS where the
            CUDA backend supports the call, the server's CPU backend otherwise
  baseline  no rcpu: LD_LIBRARY_PATH is a folder whose liblapack.so.3 and libblas.so.3 are the very
            library rcpu uses locally (what `rcpu config` reports as "local LAPACK opened")
Every run uses OPENBLAS_NUM_THREADS=1 (deterministic numerics, 2-core CI).

Scoring: the suite's own lapack_testing.py (-s, on the scratch folder) gives tests run, tests failing
the threshold and other errors, as the LAPACK project reports them; and from the .out file itself:
  fail lines  lines saying a test failed or an error occurred ("out of", "illegal", " INFO",
              "failed", "***", "result N is", "test(N) =", ...) with floating-point numbers masked;
  pass lines  lines saying something passed.
A shim run passes when: the tester exited 0, lapack_testing.py counted the same number of tests run
as the baseline and no more failures or errors, no fail line is new (a multiset: rcpu's minus the
baseline's is empty), no pass line of the baseline is missing; and the shim was really used (the
loader resolves liblapack.so.3 into the shim dir; RCPU_STATS's table is printed; in remote mode at
least one Level-3 routine ran remotely when the tester calls any, and at least one offloaded LAPACK
routine when it calls any (the offloaded routines that ran remotely are named); no other LAPACK
routine ran remotely; in local mode nothing did; rcpud still alive at the end).

Baseline file (tests/lapack/baseline.txt): written by --write-baseline from mode baseline; records
the local library's identity (openblas_get_config()). When the library found at run time differs
(another OpenBLAS version or CPU kernel, e.g. the GPU machine), the baseline is computed live, in the
same invocation, before the shim runs, and a note says so.

Python 3 standard library only.  Examples:
  run_lapack.py --build build --mode local lin-d
  run_lapack.py --build build --mode remote lin-z eig-d-nep,sep,svd
  run_lapack.py --build build --mode baseline --write-baseline tests/lapack/baseline.txt all
"""
import argparse
import collections
import ctypes
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from munge_site import private_site  # noqa: E402

# The credentials every rcpud and client of a run share (docs/security.md): kept when other
# RCPU_* settings are cleared.
KEEP_RCPU = ("RCPU_KEY_FILE", "RCPU_AUTH")

DEFAULT_TESTERS_DIR = "/usr/lib/x86_64-linux-gnu/lapack"
PRECISIONS = "sdcz"
EIG_TESTS = ["nep", "sep", "se2", "svd", "ec", "ed", "gg", "gd", "sb", "sg", "bb", "glm", "gqr", "gsv", "csd",
             "lse"]
EIG_SHARED_INPUT = {"nep", "sep", "se2", "svd", "glm", "gqr", "gsv", "csd", "lse"}
PREC_NAME = {"s": "REAL", "d": "DOUBLE PRECISION", "c": "COMPLEX", "z": "COMPLEX16"}
MODES = ("local", "remote", "remote-cuda", "baseline")


def offloaded_lapack():
    """Routine names (with and without '_') of spec/offload/lapack.txt: the LAPACK routines that may go remote."""
    spec = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "spec", "offload", "lapack.txt")
    names = set()
    if os.path.exists(spec):
        for m in re.finditer(r"^lapack \w+ \| ([^|]+)\|", open(spec).read(), re.M):
            for sym in m.group(1).split():
                names.update({sym, sym.rstrip("_")})
    return names


OFFLOADED = offloaded_lapack()


class Run:
    """One tester on one input: name, tester, input file, output file, lapack_testing.py family."""

    def __init__(self, name):
        self.name = name
        m = re.fullmatch(r"lin-([sdcz])", name)
        if m:
            p = m.group(1)
            self.prec, self.family = p, "lin"
            self.tester, self.input, self.out = f"xlintst{p}", f"{p}test.in", f"{p}test.out"
            return
        m = re.fullmatch(r"mixed-([dz])", name)
        if m:
            p = m.group(1)
            low = {"d": "s", "z": "c"}[p]
            self.prec, self.family = p, "mixed"
            self.tester, self.input, self.out = f"xlintst{p}{low}", f"{p}{low}test.in", f"{p}{low}test.out"
            return
        m = re.fullmatch(r"rfp-([sdcz])", name)
        if m:
            p = m.group(1)
            self.prec, self.family = p, "rfp"
            self.tester, self.input, self.out = f"xlintstrf{p}", f"{p}test_rfp.in", f"{p}test_rfp.out"
            return
        m = re.fullmatch(r"eig-([sdcz])-([a-z0-9]+)", name)
        if m and m.group(2) in EIG_TESTS:
            p, t = m.group(1), m.group(2)
            self.prec, self.family = p, "eig"
            self.tester = f"xeigtst{p}"
            self.input = f"{t}.in" if t in EIG_SHARED_INPUT else f"{p}{t}.in"
            self.out = f"{p}{t}.out"
            return
        raise ValueError(f"unknown run {name!r}")

    def __repr__(self):
        return self.name


def expand(names):
    """Run names from names and groups: all, lin, mixed, rfp, eig-P, eig-P-T1,T2; '+' joins several."""
    names = [x for n in names for x in n.split("+") if x]
    out = []
    for n in names:
        if n in ("lin", "rfp"):
            out += [f"{n}-{p}" for p in PRECISIONS]
            continue
        if n == "mixed":
            out += ["mixed-d", "mixed-z"]
            continue
        if n == "all":
            out += expand([f"lin-{p}" for p in PRECISIONS] + ["mixed-d", "mixed-z"] +
                          [f"rfp-{p}" for p in PRECISIONS] + [f"eig-{p}" for p in PRECISIONS])
            continue
        m = re.fullmatch(r"eig-([sdcz])(?:-([a-z0-9,]+))?", n)
        if m:
            tests = m.group(2).split(",") if m.group(2) else EIG_TESTS
            out += [f"eig-{m.group(1)}-{t}" for t in tests]
            continue
        out.append(n)
    for n in out:
        Run(n)  # validates
    return out


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------

FAIL_RE = re.compile(r"out of|illegal|\bINFO\b|fail|\*\*\*|result\s+\d+\s+is|test\s*\(\s*\d+\s*\)\s*=|"
                     r"exceed|suspect|fatal|error(?! exits)", re.I)
PASS_RE = re.compile(r"passed", re.I)
FLOAT_RE = re.compile(r"[-+]?(\d+\.\d*|\.\d+)([ED][-+]?\d+)?|[-+]?\d+[ED][-+]?\d+|\bNaN\b|\bInfinity\b|\*{6,}", re.I)


def mask(line):
    return " ".join(FLOAT_RE.sub("#", line).split())


def score_lines(text):
    fails, passes = collections.Counter(), collections.Counter()
    for line in text.splitlines():
        if FAIL_RE.search(line) and not PASS_RE.search(line):
            fails[mask(line)] += 1
        elif PASS_RE.search(line):
            passes[mask(line)] += 1
    return fails, passes


def lapack_testing_counts(testers_dir, scratch, run):
    """(tests run, numerical failures, other errors) from the suite's own lapack_testing.py, run on
    the scratch folder that holds only this run's .out file. None if the script is missing."""
    script = os.path.join(testers_dir, "lapack_testing.py")
    if not os.path.exists(script):
        return None
    p = subprocess.run([sys.executable, script, "-s", "-d", scratch, "-p", run.prec, "-t", run.family],
                       capture_output=True, text=True, timeout=60, cwd=scratch)
    for line in p.stdout.splitlines():
        parts = [x.strip() for x in line.split("\t") if x.strip()]
        if len(parts) >= 5 and parts[0] == PREC_NAME[run.prec]:
            return int(parts[1]), int(parts[2]), int(parts[4])
    return None


# ---------------------------------------------------------------------------------------------
# Baseline file
# ---------------------------------------------------------------------------------------------

def read_baseline(path):
    """{'library': str, 'runs': {name: {'counts': (run, fail, err), 'fails': Counter, 'passes': Counter}}}"""
    b = {"library": None, "runs": {}}
    if not path or not os.path.exists(path):
        return b
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# library: "):
                b["library"] = line[len("# library: "):]
            if not line or line.startswith("#"):
                continue
            kind, name, rest = (line.split(" ", 2) + [""])[:3]
            r = b["runs"].setdefault(name, {"counts": None, "fails": collections.Counter(),
                                            "passes": collections.Counter()})
            if kind == "run":
                kv = dict(x.split("=") for x in rest.split())
                r["counts"] = (int(kv["tests"]), int(kv["failed"]), int(kv["errors"]))
            elif kind == "fail":
                r["fails"][rest] += 1
            elif kind == "pass":
                r["passes"][rest] += 1
    return b


def write_baseline(path, library, results):
    with open(path, "w") as f:
        f.write("# The local library's own results in Debian's LAPACK testers, without rcpu (run_lapack.py\n")
        f.write("# --mode baseline --write-baseline). Shim runs may not fail anything beyond these.\n")
        f.write("# run NAME tests= failed= errors= (lapack_testing.py) | fail NAME line | pass NAME line\n")
        f.write("# (lines with floating-point numbers masked as #)\n")
        f.write(f"# library: {library}\n")
        for name in sorted(results):
            r = results[name]
            c = r["counts"] or (0, 0, 0)
            f.write(f"run {name} tests={c[0]} failed={c[1]} errors={c[2]}\n")
            for line, n in sorted(r["fails"].items()):
                f.write(f"fail {name} {line}\n" * n)
            for line, n in sorted(r["passes"].items()):
                f.write(f"pass {name} {line}\n" * n)


def library_identity(path):
    try:
        lib = ctypes.CDLL(path)
        fn = lib.openblas_get_config
        fn.restype = ctypes.c_char_p
        core = ""
        if hasattr(lib, "openblas_get_corename"):
            lib.openblas_get_corename.restype = ctypes.c_char_p
            core = " core=" + lib.openblas_get_corename().decode()
        return fn().decode() + core
    except (OSError, AttributeError):
        return "sha256:" + __import__("hashlib").sha256(open(os.path.realpath(path), "rb").read()).hexdigest()


def local_library(rcpu_cli):
    """The library rcpu runs LAPACK on locally, as `rcpu config` reports it."""
    env = {k: v for k, v in os.environ.items() if (not k.startswith("RCPU_") or k in KEEP_RCPU) or k in ("RCPU_LOCAL_BLAS",
                                                                                   "RCPU_LOCAL_LAPACK")}
    out = subprocess.run([rcpu_cli, "config"], capture_output=True, text=True, env=env, timeout=60).stdout
    m = re.search(r"^local LAPACK opened\s+(\S+)", out, re.M)
    b = re.search(r"^local BLAS opened\s+(\S+)", out, re.M)
    if not m or not b:
        raise RuntimeError(f"`{rcpu_cli} config` did not name the local libraries:\n{out}")
    return b.group(1), m.group(1)


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------

def _die_with_parent():
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Server:
    def __init__(self, rcpud, workdir, timeout=60, backend="cpu", tls=None, extra=()):
        self.log_path = os.path.join(workdir, "rcpud.log")
        self.log = open(self.log_path, "wb")
        env = {k: v for k, v in os.environ.items() if (not k.startswith("RCPU_") or k in KEEP_RCPU)}
        env["OPENBLAS_NUM_THREADS"] = "1"  # the same numerics as the local runs: no borderline ratio flips
        cmd = [rcpud, "--listen", "127.0.0.1:0", "--backend", backend, *extra]
        if tls:  # every connection under TLS (docs/security.md); the clients get RCPU_TLS_CA
            cmd += ["--tls-cert", os.path.join(tls, "server.pem"), "--tls-key", os.path.join(tls, "server.key")]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=self.log, stdin=subprocess.DEVNULL, env=env, cwd=workdir,
                                     preexec_fn=_die_with_parent)
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        line = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in line and time.monotonic() < deadline and sel.select(deadline - time.monotonic()):
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                break
            line += chunk
        sel.close()
        m = re.match(r"^rcpud listening on (\S+):(\d+)", line.decode(errors="replace"))
        if not m:
            self.stop()
            raise RuntimeError(f"rcpud did not announce its port: {line!r}")
        self.address = f"{m.group(1)}:{m.group(2)}"
        # Keep draining stdout so the server never blocks on a full pipe.
        import threading
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        try:
            while os.read(self.proc.stdout.fileno(), 65536):
                pass
        except OSError:
            pass

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


def loader_resolution(tester, env):
    out = subprocess.run(["ldd", tester], env=env, capture_output=True, text=True, timeout=30).stdout
    found = {}
    for lib in ("liblapack.so.3", "libblas.so.3"):
        m = re.search(r"^\s*%s\s*=>\s*(\S+)" % re.escape(lib), out, re.M)
        found[lib] = os.path.dirname(m.group(1)) if m else None
    return found


def parse_stats(err):
    """RCPU_STATS table on stderr: {routine: (local calls, remote calls)}; None if absent."""
    if "rcpu statistics" not in err:
        return None
    stats = {}
    for line in err.split("rcpu statistics", 1)[1].splitlines()[2:]:
        parts = line.split()
        if len(parts) == 7 and parts[1].isdigit() and parts[3].isdigit():
            stats[parts[0]] = (int(parts[1]), int(parts[3]))
    return stats


LEVEL3 = re.compile(r"^(cblas_)?[sdcz](gemm|symm|hemm|syrk|herk|syr2k|her2k|trmm|trsm)_?$")


def run_one(run, mode, a, libdir, server):
    """Runs one tester; returns (result dict, problems, notes)."""
    tester = os.path.join(a.testers_dir, run.tester)
    input_path = os.path.join(a.testers_dir, run.input)
    problems, notes = [], []
    for p in (tester, input_path):
        if not os.path.exists(p):
            return None, [f"{p} not found (install liblapack-test: scripts/setup.sh)"], notes
    scratch = tempfile.mkdtemp(prefix=f"{run.name}-{mode}-", dir=a.work_dir)
    env = {k: v for k, v in os.environ.items() if (not k.startswith("RCPU_") or k in KEEP_RCPU)}
    env["LD_LIBRARY_PATH"] = libdir + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    env["OPENBLAS_NUM_THREADS"] = "1"
    if getattr(a, "preload", None):
        env["LD_PRELOAD"] = a.preload
        env.update(dict(kv.split("=", 1) for kv in a.env or []))
    if mode != "baseline":
        env["RCPU_STATS"] = "1"
        env["RCPU_POLICY"] = "local" if mode == "local" else "remote"
        if mode.startswith("remote"):
            env["RCPU_SERVER"] = server.address
            env["RCPU_FALLBACK"] = "error"
            if a.tls:
                env["RCPU_TLS_CA"] = os.path.join(a.tls, "ca.pem")
            if getattr(a, "munged", None):
                env.update(a.munged.client_env())
    where = loader_resolution(tester, env)
    # Both names are one file there (librcpu.so, or the local library), which ldd lists once.
    if not any(d is not None for d in where.values()):
        problems.append(f"the loader resolves neither liblapack.so.3 nor libblas.so.3: {where}")
    for lib, d in where.items():
        if d is not None and not os.path.samefile(d, libdir):
            problems.append(f"the loader resolves {lib} to {d!r}, not into {libdir}")
    t0 = time.monotonic()
    with open(input_path, "rb") as stdin, open(os.path.join(scratch, run.out), "wb") as out:
        try:
            p = subprocess.run([tester], stdin=stdin, stdout=out, stderr=subprocess.PIPE, cwd=scratch, env=env,
                               timeout=a.timeout, preexec_fn=_die_with_parent)
            rc, err = p.returncode, p.stderr.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            rc, err = "timeout", (e.stderr or b"").decode(errors="replace")
            problems.append(f"timed out after {a.timeout} s")
    elapsed = time.monotonic() - t0
    text = open(os.path.join(scratch, run.out), errors="replace").read()
    if rc != 0:
        problems.append(f"exit status {rc}")
    if re.search(r"Fortran runtime error|Segmentation fault|core dumped|rcpu: fatal", err):
        problems.append("stderr: " + next(l for l in err.splitlines()
                                          if re.search(r"Fortran runtime|Segmentation|core dumped|rcpu: fatal", l)))
    fails, passes = score_lines(text)
    counts = lapack_testing_counts(a.testers_dir, scratch, run)
    if counts is None:
        problems.append("lapack_testing.py found no results (missing script or no .out)")
    result = {"counts": counts, "fails": fails, "passes": passes, "elapsed": elapsed}
    notes.append(f"{run.tester} < {run.input}: exit {rc}, {elapsed:.1f} s; lapack_testing.py: "
                 + (f"{counts[0]} tests run, {counts[1]} failed the threshold, {counts[2]} other errors"
                    if counts else "n/a"))
    if mode != "baseline":
        stats = parse_stats(err)
        if stats is None:
            problems.append("no RCPU_STATS table on stderr: the shim was not loaded")
        else:
            l3 = {k: v for k, v in stats.items() if LEVEL3.match(k)}
            remote = {k: v[1] for k, v in stats.items() if v[1]}
            solvers = {k: v for k, v in stats.items() if k in OFFLOADED}
            solvers_remote = {k: n for k, n in remote.items() if k in OFFLOADED}
            other_remote = {k: n for k, n in remote.items() if not LEVEL3.match(k) and k not in OFFLOADED}
            l3_remote = {k: n for k, n in remote.items() if LEVEL3.match(k)}
            calls = sum(v[0] + v[1] for v in stats.values())
            notes.append(f"rcpu saw {calls} calls of {len(stats)} routines; Level-3 routines called by the "
                         f"tester: {len(l3)}, remote calls: {sum(l3_remote.values())}")
            if solvers:
                notes.append("offloaded LAPACK routines (remote/all calls): " +
                             ", ".join(f"{k} {v[1]}/{v[0] + v[1]}" for k, v in sorted(solvers.items())))
            if other_remote:
                problems.append(f"routines that are not offloadable ran remotely: {other_remote}")
            if mode == "local" and remote:
                problems.append(f"remote calls in mode local: {remote}")
            if mode != "local" and l3 and not l3_remote:
                problems.append(f"the tester called Level-3 routines {sorted(l3)} but none ran remotely")
            if mode != "local" and solvers and not solvers_remote:
                problems.append(f"the tester called offloaded LAPACK routines {sorted(solvers)} but none ran remotely")
    if a.keep or problems:
        notes.append(f"scratch {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return result, problems, notes


def compare(name, got, base):
    """Problems of a shim run against the baseline run."""
    problems = []
    if base is None:
        return [f"no baseline for {name}"]
    gc, bc = got["counts"], base["counts"]
    if gc and bc:
        if gc[0] != bc[0]:
            problems.append(f"{gc[0]} tests run, the baseline ran {bc[0]}")
        if gc[1] > bc[1]:
            problems.append(f"{gc[1]} tests failed the threshold, the baseline {bc[1]}")
        if gc[2] > bc[2]:
            problems.append(f"{gc[2]} other errors, the baseline {bc[2]}")
    new = got["fails"] - base["fails"]
    if new:
        problems.append(f"{sum(new.values())} failure line(s) beyond the baseline, first: " +
                        " | ".join(list(new)[:4]))
    missing = base["passes"] - got["passes"]
    if missing:
        problems.append(f"{sum(missing.values())} line(s) of passing tests missing, first: " +
                        " | ".join(list(missing)[:4]))
    return problems


def self_test(a, identity, libdir_base):
    """The verdict checks itself: canned text, then real lin-d runs on the local library with
    faults injected by an LD_PRELOAD library, which compare() must catch."""
    ok = True

    def expect(cond, what):
        nonlocal ok
        print(("  ok    " if cond else "  WRONG ") + what)
        ok = ok and cond

    print("-- scoring on canned text")
    text = (" DGE:  General matrices\n M=   50, N=   50, type  8, test(  1) =  1.23E+05\n"
            " DGE:    1 out of  1234 tests failed to pass the threshold\n"
            " DGE routines passed the tests of the error exits\n")
    f, p = score_lines(text)
    expect(sum(f.values()) == 2 and sum(p.values()) == 1, "fail and pass lines are told apart")
    expect(mask(" test(  1) =  1.23E+05") == mask(" test(  1) =  4.56E+01"), "ratios are masked, indices kept")
    base = {"counts": (1234, 1, 0), "fails": f, "passes": p}
    expect(compare("x", {"counts": (1234, 1, 0), "fails": f, "passes": p}, base) == [], "identical run passes")
    f2 = f + collections.Counter({mask(" M=   20, N=   20, type  3, test(  2) =  9.9E+01"): 1})
    expect(compare("x", {"counts": (1234, 2, 0), "fails": f2, "passes": p}, base) != [], "a new failure fails")
    expect(compare("x", {"counts": (1234, 1, 0), "fails": f, "passes": collections.Counter()}, base) != [],
           "a missing 'passed' line fails")
    expect(compare("x", {"counts": (1000, 1, 0), "fails": f, "passes": p}, base) != [], "fewer tests run fails")

    print("-- lin-d on the local library, clean and with injected faults")
    run = Run("lin-d")
    clean, problems, _ = run_one(run, "baseline", a, libdir_base, None)
    expect(clean is not None and not problems, f"clean run: {problems or 'no problems'}")
    committed = read_baseline(a.baseline)
    if committed["library"] == identity and clean is not None:
        expect(compare("lin-d", clean, committed["runs"].get("lin-d")) == [], "clean run matches the committed baseline")
    for fault_name in ("compute", "xerbla"):
        fa = argparse.Namespace(**vars(a))
        fa.preload, fa.env = a.fault_lib, [f"RCPU_LAPACK_FAULT={fault_name}"]
        res, problems, _ = run_one(run, "baseline", fa, libdir_base, None)
        found = problems + (compare("lin-d", res, clean) if res and clean else [])
        expect(bool(found), f"fault '{fault_name}' detected: " + (found[0][:150] if found else "NOT DETECTED"))
    print("self-test " + ("PASSED" if ok else "FAILED"))
    return ok


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="*", help="run names (lin-d, eig-z-nep, eig-d-nep,sep,svd, eig-s, all)")
    ap.add_argument("--mode", choices=MODES, default="local")
    ap.add_argument("--build", default=os.environ.get("RCPU_BUILD_DIR", os.path.join(repo, "build")))
    ap.add_argument("--testers-dir", default=os.environ.get("RCPU_LAPACK_TEST_DIR", DEFAULT_TESTERS_DIR))
    ap.add_argument("--shim-dir")
    ap.add_argument("--rcpud")
    ap.add_argument("--rcpu-cli", help="the rcpu command (for `rcpu config`); default <build>/bin/rcpu")
    ap.add_argument("--baseline", default=os.path.join(here, "baseline.txt"))
    ap.add_argument("--write-baseline", metavar="FILE", help="mode baseline: write the results to FILE")
    ap.add_argument("--work-dir")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--munge", action="store_true",
                    help="remote modes: rcpud --auth munge with its own munged, the testers RCPU_AUTH=munge")
    ap.add_argument("--tls", metavar="DIR", help="remote modes: rcpud under TLS with DIR/server.pem and server.key, "
                                                 "the testers trusting DIR/ca.pem (tests/tls/make_test_certs.sh)")
    ap.add_argument("--self-test", action="store_true", help="check the verdict itself (needs --fault-lib)")
    ap.add_argument("--fault-lib", help="LD_PRELOAD library injecting faults (tests/lapack/fault_inject.c)")
    a = ap.parse_args()
    a.preload, a.env = None, []
    a.shim_dir = os.path.abspath(a.shim_dir or os.path.join(a.build, "lib", "rcpu"))
    a.rcpud = os.path.abspath(a.rcpud or os.path.join(a.build, "bin", "rcpud"))
    a.rcpu_cli = os.path.abspath(a.rcpu_cli or os.path.join(a.build, "bin", "rcpu"))
    if a.work_dir:
        os.makedirs(a.work_dir, exist_ok=True)
    names = expand(a.runs or ["all"])
    runs = [Run(n) for n in names]

    blas_path, lapack_path = local_library(a.rcpu_cli)
    identity = library_identity(lapack_path)
    print(f"local library: BLAS {blas_path}, LAPACK {lapack_path} ({identity})")
    libdir_base = tempfile.mkdtemp(prefix="lapack-baseline-libs-", dir=a.work_dir)
    os.symlink(os.path.realpath(blas_path), os.path.join(libdir_base, "libblas.so.3"))
    os.symlink(os.path.realpath(lapack_path), os.path.join(libdir_base, "liblapack.so.3"))

    t_start = time.monotonic()
    failed = []
    if a.self_test:
        try:
            return 0 if self_test(a, identity, libdir_base) else 1
        finally:
            shutil.rmtree(libdir_base, ignore_errors=True)
    try:
        if a.mode == "baseline":
            results = {}
            for r in runs:
                res, problems, notes = run_one(r, "baseline", a, libdir_base, None)
                print(f"== {r.name} [baseline]\n  " + "\n  ".join(notes))
                if problems:
                    print("\n".join(f"FAIL: {p}" for p in problems))
                    failed.append(r.name)
                if res:
                    results[r.name] = res
            if a.write_baseline:
                old = read_baseline(a.write_baseline)
                merged = {n: v for n, v in old["runs"].items() if old["library"] == identity}
                merged.update(results)
                write_baseline(a.write_baseline, identity, merged)
                print(f"baseline of {len(merged)} runs written to {a.write_baseline}")
        else:
            base = read_baseline(a.baseline)
            live = base["library"] != identity
            if live:
                print(f"note: the committed baseline ({a.baseline}) is for {base['library']!r}; the local library "
                      f"is {identity!r}: computing the baseline live")
            # --munge: the testers authenticate with a private MUNGE site's credentials, no key.
            a.munged = (private_site()
                        if a.munge and a.mode.startswith("remote") else None)
            server = (Server(a.rcpud, a.work_dir or tempfile.gettempdir(),
                             backend="cuda" if a.mode == "remote-cuda" else "cpu", tls=a.tls,
                             extra=a.munged.server_args() if a.munged else ())
                      if a.mode.startswith("remote") else None)
            try:
                for r in runs:
                    ref = base["runs"].get(r.name)
                    if live or ref is None:
                        ref, bproblems, _ = run_one(r, "baseline", a, libdir_base, None)
                        if bproblems:
                            print(f"note: the live baseline of {r.name} itself had problems: {bproblems}")
                    res, problems, notes = run_one(r, a.mode, a, a.shim_dir, server)
                    if res:
                        problems += compare(r.name, res, ref)
                        if ref and ref.get("counts"):
                            notes.append(f"baseline: {ref['counts'][0]} tests run, {ref['counts'][1]} failed the "
                                         f"threshold, {ref['counts'][2]} other errors")
                    if server and not server.alive():
                        problems.append(f"rcpud died (exit status {server.proc.returncode})")
                    print(f"== {r.name} [{a.mode}]\n  " + "\n  ".join(notes))
                    if problems:
                        print("\n".join(f"FAIL: {p}" for p in problems))
                        failed.append(r.name)
                    else:
                        print("PASS")
                    sys.stdout.flush()
            finally:
                if server:
                    server.stop()
                if a.munged:
                    a.munged.stop()
    finally:
        shutil.rmtree(libdir_base, ignore_errors=True)
    print(f"lapack [{a.mode}]: {len(runs) - len(failed)} of {len(runs)} runs passed in "
          f"{time.monotonic() - t_start:.0f} s" + (f"; failed: {' '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
