#!/usr/bin/env python3
"""Run Debian's unmodified netlib BLAS testers (package libblas-test) through the rcpu shim.

Testers (in the testers' folder, /usr/lib/x86_64-linux-gnu/blas on Debian):
  xblat1{s,d,c,z}            Fortran Level 1, no input
  xblat2{s,d,c,z} < ?blat2.in   Fortran Level 2 (summary goes to ?blat2.out in the scratch dir)
  xblat3{s,d,c,z} < ?blat3.in   Fortran Level 3
  x{s,d,c,z}cblat1           CBLAS Level 1, no input
  x{s,d,c,z}cblat2 < ?in2    CBLAS Level 2 (summary on stdout)
  x{s,d,c,z}cblat3 < ?in3    CBLAS Level 3

Modes:
  local        LD_LIBRARY_PATH=<shim dir>, RCPU_POLICY=local, no server, RCPU_TRACE set
  remote       as local, plus one `rcpud --backend cpu` on 127.0.0.1 port 0, RCPU_POLICY=remote
  remote-cuda  as remote with `rcpud --backend cuda` (GPU machine only)
  reference    LD_LIBRARY_PATH=<reference BLAS dir> (Debian's libblas3), no shim, no trace:
               validates the harness and the testers themselves

Verdict, from the tester's own output (stdout, stderr and every *.out file it writes):
  - exit status 0, header / "END OF TESTS" present;
  - every routine the tester tests (Level 1: a fixed list; Level 2/3: the lines of the input file
    marked T) has its PASSED line(s): computational tests (once per data layout for CBLAS), and the
    error-exit tests when the input file turns them on;
  - no line containing FAIL, FATAL, SUSPECT, ERROR (other than "TESTS OF ERROR-EXITS") or "****".
In shim modes the loader must resolve libblas.so.3 into the shim dir, the trace must be non-empty
and parse as JSON lines; remote modes additionally require that every Level-3 routine the tester
exercises appears with "where":"remote" (and that Level-1/2 testers produce no remote lines), and
that rcpud is still alive at the end.

Python 3 standard library only.  Usage examples:
  run_netlib.py --build build --mode local xblat3d
  run_netlib.py --build build --mode remote all
  run_netlib.py --mode reference all            # no rcpu needed
  RCPU_NETLIB_DIR=/opt/debs/usr/lib/x86_64-linux-gnu/blas run_netlib.py --mode remote-cuda xblat3d
  run_netlib.py --self-test [--fault-lib build/tests/netlib/librcpu_netlib_fault.so]
"""
import argparse
import collections
import ctypes
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from munge_site import private_site  # noqa: E402

DEFAULT_TESTERS_DIR = "/usr/lib/x86_64-linux-gnu/blas"
PRECISIONS = "sdcz"
MODES = ("local", "remote", "remote-cuda", "reference")

# Level-1 testers read no input; what they test is fixed in their source (netlib LAPACK 3.x).
LEVEL1_ROUTINES = {
    "xblat1s": "SDOT SAXPY SROTG SROT SCOPY SSWAP SNRM2 SASUM SSCAL ISAMAX SROTMG SROTM SDSDOT",
    "xblat1d": "DDOT DAXPY DROTG DROT DCOPY DSWAP DNRM2 DASUM DSCAL IDAMAX DROTMG DROTM DSDOT",
    "xblat1c": "CDOTC CDOTU CAXPY CCOPY CSWAP SCNRM2 SCASUM CSCAL CSSCAL ICAMAX",
    "xblat1z": "ZDOTC ZDOTU ZAXPY ZCOPY ZSWAP DZNRM2 DZASUM ZSCAL ZDSCAL IZAMAX",
    "xscblat1": "SDOT SAXPY SROTG SROT SCOPY SSWAP SNRM2 SASUM SSCAL ISAMAX",
    "xdcblat1": "DDOT DAXPY DROTG DROT DCOPY DSWAP DNRM2 DASUM DSCAL IDAMAX",
    "xccblat1": "CDOTC CDOTU CAXPY CCOPY CSWAP SCNRM2 SCASUM CSCAL CSSCAL ICAMAX",
    "xzcblat1": "ZDOTC ZDOTU ZAXPY ZCOPY ZSWAP DZNRM2 DZASUM ZSCAL ZDSCAL IZAMAX",
}

# Known label slip in the CBLAS Level-2 testers (c_cblat2.f / c_zblat2.f): the error-exit tests of
# ?gerc are reported under the name of ?geru, so "cblas_cgeru PASSED THE TESTS OF ERROR-EXITS"
# appears twice and cblas_cgerc never does.
ERROR_EXIT_LABEL_ALIASES = {"cblas_cgerc": "cblas_cgeru", "cblas_zgerc": "cblas_zgeru"}


class Tester:
    """One netlib tester: name, level, kind (fortran|cblas), input file."""

    def __init__(self, name):
        self.name = name
        m = re.fullmatch(r"xblat([123])([sdcz])", name)
        if m:
            self.kind, self.level, self.prec = "fortran", int(m.group(1)), m.group(2)
            self.input = f"{self.prec}blat{self.level}.in" if self.level > 1 else None
            return
        m = re.fullmatch(r"x([sdcz])cblat([123])", name)
        if m:
            self.kind, self.prec, self.level = "cblas", m.group(1), int(m.group(2))
            self.input = f"{self.prec}in{self.level}" if self.level > 1 else None
            return
        raise ValueError(f"unknown tester {name!r}")

    def __repr__(self):
        return self.name


def all_testers():
    names = [f"xblat{l}{p}" for l in (1, 2, 3) for p in PRECISIONS]
    names += [f"x{p}cblat{l}" for l in (1, 2, 3) for p in PRECISIONS]
    return names


# ---------------------------------------------------------------------------------------------
# Input files and output parsing
# ---------------------------------------------------------------------------------------------

class InputSpec:
    def __init__(self, routines, error_exits, layouts):
        self.routines = routines          # names as written in the input file, in order
        self.error_exits = error_exits    # bool
        self.layouts = layouts            # 1 (column- or row-major only) or 2 (both)


def parse_input(text, kind):
    routines, error_exits, layouts = [], True, 1
    for line in text.splitlines():
        if "TEST ERROR EXITS" in line.upper():
            error_exits = line.split()[0].upper().startswith("T")
        if kind == "cblas" and "TO TEST COLUMN-MAJOR" in line.upper():
            layouts = 2 if line.split()[0] == "2" else 1
        m = re.match(r"^\s*([A-Za-z][A-Za-z0-9_]+)\s+([TF])\b", line)
        if m and m.group(2) == "T":
            routines.append(m.group(1))
    return InputSpec(routines, error_exits, layouts)


BAD_WORDS = ("FAIL", "FATAL", "SUSPECT", "ERROR", "****")


def bad_lines(text):
    out = []
    for line in text.splitlines():
        u = line.upper().replace("TESTS OF ERROR-EXITS", "")
        if any(w in u for w in BAD_WORDS):
            out.append(line.rstrip())
    return out


def check_output(tester, text, stderr_text, rc, spec):
    """Return a list of problems (empty: the tester passed)."""
    problems = []
    if rc != 0:
        problems.append(f"exit status {rc}" + (f" (signal {-rc})" if rc < 0 else ""))
    bad = bad_lines(text)
    if bad:
        problems.append(f"{len(bad)} failure line(s) in the tester output, first: " +
                        " | ".join(b.strip() for b in bad[:5]))
    for line in stderr_text.splitlines():
        if re.search(r"Fortran runtime error|Segmentation fault|Aborted|core dumped", line):
            problems.append(f"stderr: {line.strip()}")
            break

    if tester.level == 1:
        expected = LEVEL1_ROUTINES[tester.name].split()
        if tester.kind == "cblas":
            expected = ["CBLAS_" + r for r in expected]
        # blocks: " Test of subprogram number  N   NAME" followed by "----- PASS -----" (or FAIL lines)
        seen, passed, current = [], set(), None
        for line in text.splitlines():
            m = re.match(r"^\s*Test of subprogram number\s+\d+\s+(\S+)", line)
            if m:
                current = m.group(1).upper()
                seen.append(current)
            elif current and re.search(r"-{3,}\s*PASS\s*-{3,}", line):
                passed.add(current)
        header = "CBLAS Test Program Results" if tester.kind == "cblas" else "BLAS Test Program Results"
        if header not in text:
            problems.append(f"header {header!r} missing")
        for r in expected:
            if r not in seen:
                problems.append(f"{r}: not tested")
            elif r not in passed:
                problems.append(f"{r}: no PASS")
        return problems

    if "END OF TESTS" not in text:
        problems.append("'END OF TESTS' missing (the tester stopped early)")
    comp = collections.Counter()
    errx = collections.Counter()
    layout_seen = collections.defaultdict(set)
    for line in text.splitlines():
        m = re.match(r"^\s*(\S+)\s+PASSED THE (?:(COLUMN-MAJOR|ROW-MAJOR)\s+)?COMPUTATIONAL TESTS", line)
        if m:
            comp[m.group(1).upper()] += 1
            if m.group(2):
                layout_seen[m.group(1).upper()].add(m.group(2))
        m = re.match(r"^\s*(\S+)\s+PASSED THE TESTS OF ERROR-EXITS", line)
        if m:
            errx[m.group(1).upper()] += 1
    need_comp = spec.layouts if tester.kind == "cblas" else 1
    for r in spec.routines:
        R = r.upper()
        if comp[R] < need_comp:
            problems.append(f"{r}: {comp[R]} of {need_comp} 'PASSED THE ... COMPUTATIONAL TESTS' line(s)")
        if layout_seen[R] and need_comp == 2 and len(layout_seen[R]) < 2:
            problems.append(f"{r}: only {sorted(layout_seen[R])} layout passed")
        if spec.error_exits and errx[R] == 0:
            alias = ERROR_EXIT_LABEL_ALIASES.get(r.lower())
            if not (alias and errx[alias.upper()] >= 2):
                problems.append(f"{r}: no 'PASSED THE TESTS OF ERROR-EXITS' line")
    if not spec.routines:
        problems.append("the input file names no routine to test")
    return problems


# ---------------------------------------------------------------------------------------------
# Trace
# ---------------------------------------------------------------------------------------------

def level3_symbols(tester, spec):
    """Symbol names the Level-3 tester calls: Fortran DGEMM -> dgemm_, CBLAS names as they are."""
    if tester.kind == "fortran":
        return [r.lower() + "_" for r in spec.routines]
    return [r.lower() for r in spec.routines]


def read_trace(path):
    records, problems = [], []
    if not os.path.exists(path):
        return records, ["trace file was not written (was the shim loaded? is RCPU_TRACE implemented?)"]
    with open(path, errors="replace") as f:
        for i, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                problems.append(f"trace line {i} is not JSON ({e}): {line[:120]}")
                if len(problems) > 5:
                    break
                continue
            if not isinstance(rec, dict) or "routine" not in rec or "where" not in rec:
                problems.append(f"trace line {i} lacks 'routine'/'where': {line[:120]}")
                continue
            records.append(rec)
    if not records and not problems:
        problems.append("trace file is empty: the shim does not seem to have been loaded")
    return records, problems


def check_trace(tester, spec, records, mode):
    problems, notes = [], []
    by = collections.Counter((r.get("routine"), r.get("where")) for r in records)
    remote = [r for r in records if r.get("where") == "remote"]
    notes.append(f"trace: {len(records)} calls, {len(remote)} remote")
    if mode == "local" or tester.level < 3:
        if remote:
            names = collections.Counter(r["routine"] for r in remote)
            problems.append(f"{len(remote)} call(s) ran remotely where none should: {dict(names.most_common(8))}")
        return problems, notes
    # remote modes, Level 3
    if not remote:
        problems.append("no trace line has \"where\":\"remote\": nothing was offloaded")
    # Which server backend ran the calls: in remote-cuda mode, every remote call must say cuda.
    backends = collections.Counter(str(r.get("backend")) for r in remote)
    notes.append(f"  server backends: {dict(backends)}")
    notes.append(f"  transfers: {dict(collections.Counter(str(r.get('transfer')) for r in remote))}")
    want = "cuda" if mode == "remote-cuda" else "cpu"
    if remote and set(backends) != {want}:
        problems.append(f"remote calls ran on {dict(backends)}, expected all on {want}")
    for sym in level3_symbols(tester, spec):
        nr, nl = by[(sym, "remote")], by[(sym, "local")]
        notes.append(f"  {sym:14s} remote {nr:6d}  local {nl:6d}")
        if nr == 0:
            problems.append(f"{sym}: never ran remotely (local calls: {nl})")
    why = collections.Counter(str(r.get("why")) for r in records
                              if r.get("where") != "remote" and r.get("routine") in set(level3_symbols(tester, spec)))
    if why:
        notes.append(f"  why Level-3 calls stayed local: {dict(why.most_common(6))}")
    return problems, notes


def check_devices(log, want):
    """rcpud's shutdown log with several devices (--server-arg --virtual-devices N, or several GPUs):
    at least `want` devices must have run work (server/placement/placement.cpp usage_report)."""
    devs = re.findall(r"^device (\d+): (\d+) whole calls, (\d+) pieces of split calls, (\d+) panel pieces", log, re.M)
    used = [d for d, whole, pieces, panels in devs if int(whole) + int(pieces) + int(panels) > 0]
    split = [d for d, whole, pieces, panels in devs if int(pieces) + int(panels) > 0]
    notes = [f"  devices: {len(devs)} in rcpud's report, {len(used)} ran work, {len(split)} ran pieces of split calls"]
    if len(split) < want:
        return [f"only {len(split)} device(s) ran pieces of split calls, expected {want}"], notes
    return [], notes


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------

_libc = None


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM when this driver dies (e.g. killed by a CTest timeout)."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        _libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Server:
    def __init__(self, rcpud, backend, workdir, env, start_timeout=60, extra_args=()):
        self.log_path = os.path.join(workdir, "rcpud.log")
        self.log = open(self.log_path, "wb")
        cmd = [rcpud, "--listen", "127.0.0.1:0", "--backend", backend, *extra_args]
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL,
                                     cwd=workdir, env=env, preexec_fn=_die_with_parent)
        self.address = None
        first = self._read_first_line(start_timeout)
        m = re.match(r"^rcpud listening on (\S+):(\d+)\s*$", first or "")
        if not m:
            self.stop()
            raise RuntimeError(f"rcpud did not announce its port (first stdout line: {first!r}); "
                               f"log:\n{self.log_text()}")
        self.address = f"{m.group(1)}:{m.group(2)}"
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()

    def _read_first_line(self, timeout):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buf = b""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
        sel.close()
        line, _, rest = buf.partition(b"\n")
        self.log.write(b"[stdout] " + line + b"\n" + rest)
        self.log.flush()
        return line.decode(errors="replace").strip() if buf else None

    def _drain(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.log.write(chunk)
            self.log.flush()

    def alive(self):
        return self.proc.poll() is None

    def stop(self, grace=10):
        """SIGTERM, then SIGKILL after `grace` seconds. Returns (exit status, needed_kill)."""
        killed = False
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                killed = True
                self.proc.kill()
                self.proc.wait(10)
        if getattr(self, "drain", None):
            self.drain.join(5)
        self.log.close()
        return self.proc.returncode, killed

    def log_text(self, tail=4000):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-tail:]
        except OSError:
            return ""


def loader_resolution(tester_path, env):
    """Directory that the dynamic loader resolves libblas.so.3 to, or None if ldd can't tell."""
    ldd = shutil.which("ldd")
    if not ldd:
        return None
    try:
        out = subprocess.run([ldd, tester_path], env=env, capture_output=True, text=True, timeout=30).stdout
    except Exception:
        return None
    m = re.search(r"^\s*libblas\.so\.3\s*=>\s*(\S+)", out, re.M)
    if not m:
        return "not found"
    return os.path.dirname(m.group(1))


def same_dir(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


# ---------------------------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------------------------

def clean_env(base):
    env = dict(base)
    for k in ("RCPU_POLICY", "RCPU_SERVER", "RCPU_TRACE", "RCPU_STATS"):
        env.pop(k, None)
    return env


def run_one(name, mode, a):
    tester = Tester(name)
    path = os.path.join(a.testers_dir, name)
    report = [f"== {name} [{mode}]"]
    if not os.access(path, os.X_OK):
        report.append(f"FAIL: tester {path} not found (install libblas-test: scripts/setup.sh, or set "
                      f"RCPU_NETLIB_DIR / --testers-dir)")
        return False, report
    spec = InputSpec([], True, 1)
    input_path = None
    if tester.input:
        input_path = os.path.join(a.testers_dir, tester.input)
        if not os.path.exists(input_path):
            report.append(f"FAIL: input file {input_path} not found")
            return False, report
        with open(input_path, errors="replace") as f:
            spec = parse_input(f.read(), tester.kind)

    if a.work_dir:
        os.makedirs(a.work_dir, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=f"{name}-{mode}-", dir=a.work_dir or None)
    env = clean_env(os.environ)
    libdir = a.reference_dir if mode == "reference" else a.shim_dir
    env["LD_LIBRARY_PATH"] = libdir + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    if a.preload:
        env["LD_PRELOAD"] = a.preload + (" " + env["LD_PRELOAD"] if env.get("LD_PRELOAD") else "")
    for kv in a.env or []:
        k, _, v = kv.partition("=")
        env[k] = v
    trace = os.path.join(scratch, "trace.jsonl")
    problems, notes = [], []
    server = munged = None
    t0 = time.monotonic()
    try:
        if mode != "reference":
            if not os.path.exists(os.path.join(a.shim_dir, "libblas.so.3")):
                problems.append(f"shim {a.shim_dir}/libblas.so.3 not found (build rcpu first)")
                return False, report + [f"FAIL: {p}" for p in problems]
            env["RCPU_TRACE"] = trace
            env["RCPU_POLICY"] = "local" if mode == "local" else "remote"
            if mode != "local" and a.fallback_error:
                env.setdefault("RCPU_FALLBACK", "error")
        where = loader_resolution(path, env)
        if where is not None and not (where != "not found" and same_dir(where, libdir)):
            problems.append(f"the loader resolves libblas.so.3 to {where!r}, not into {libdir}")
        if mode in ("remote", "remote-cuda"):
            if not os.access(a.rcpud, os.X_OK):
                problems.append(f"rcpud {a.rcpud} not found (build rcpu first)")
                return False, report + [f"FAIL: {p}" for p in problems]
            srv_env = clean_env(os.environ)
            server_args = list(a.server_arg or ())
            if a.munge:  # clients authenticate with a private MUNGE site's credentials, no key
                munged = private_site()
                server_args += munged.server_args()
                env.update(munged.client_env())
            if a.tls:  # every connection under TLS (docs/security.md)
                server_args += ["--tls-cert", os.path.join(a.tls, "server.pem"),
                                "--tls-key", os.path.join(a.tls, "server.key")]
                env["RCPU_TLS_CA"] = os.path.join(a.tls, "ca.pem")
            server = Server(a.rcpud, "cuda" if mode == "remote-cuda" else "cpu", scratch, srv_env,
                            a.server_start_timeout, server_args)
            env["RCPU_SERVER"] = server.address
            notes.append(f"rcpud {' '.join(server.cmd)} -> {server.address}")
        stdin = open(input_path, "rb") if input_path else subprocess.DEVNULL
        try:
            p = subprocess.run([path], stdin=stdin, capture_output=True, cwd=scratch, env=env,
                               timeout=a.timeout, preexec_fn=_die_with_parent)
            rc, out, err = p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            rc = "timeout"
            out = (e.stdout or b"").decode(errors="replace")
            err = (e.stderr or b"").decode(errors="replace")
            problems.append(f"timed out after {a.timeout} s")
        finally:
            if input_path:
                stdin.close()
        elapsed = time.monotonic() - t0
        text = out
        for fn in sorted(os.listdir(scratch)):
            if fn.lower().endswith(".out"):
                with open(os.path.join(scratch, fn), errors="replace") as f:
                    text += f"\n[{fn}]\n" + f.read()
        with open(os.path.join(scratch, "tester.stdout+out.txt"), "w") as f:
            f.write(text)
        with open(os.path.join(scratch, "tester.stderr.txt"), "w") as f:
            f.write(err)
        problems += check_output(tester, text, err, rc if isinstance(rc, int) else 0, spec)
        if mode != "reference":
            records, tp = read_trace(trace)
            problems += tp
            if records:
                p2, n2 = check_trace(tester, spec, records, mode)
                problems += p2
                notes += n2
        if server is not None:
            if not server.alive():
                problems.append(f"rcpud died during the run (exit status {server.proc.returncode})")
            src, killed = server.stop(a.server_stop_timeout)
            if killed:
                notes.append(f"warning: rcpud ignored SIGTERM for {a.server_stop_timeout} s and was killed")
            if a.expect_devices and tester.level == 3:
                p3, n3 = check_devices(server.log_text(tail=100000), a.expect_devices)
                problems += p3
                notes += n3
            server = None
        n_routines = len(spec.routines) if tester.level > 1 else len(LEVEL1_ROUTINES[name].split())
        notes.insert(0, f"{n_routines} routines, exit status {rc}, {elapsed:.1f} s, scratch {scratch}")
        if err.strip():
            notes.append("stderr (tail):\n    " + "\n    ".join(err.strip().splitlines()[-8:]))
    except Exception as e:  # noqa: BLE001 - report, never crash without reaping the server
        problems.append(f"driver error: {type(e).__name__}: {e}")
    finally:
        if server is not None:
            log = server.log_text()
            server.stop(a.server_stop_timeout)
            if problems:
                notes.append("rcpud log (tail):\n" + log)
        if munged is not None:
            munged.stop()
    report += ["  " + n for n in notes]
    if problems:
        report += [f"FAIL: {p}" for p in problems]
        report.append(f"  kept scratch dir {scratch}")
        if server is None and mode in ("remote", "remote-cuda") and os.path.exists(os.path.join(scratch, "rcpud.log")):
            with open(os.path.join(scratch, "rcpud.log"), errors="replace") as f:
                tail = f.read()[-3000:]
            if tail.strip():
                report.append("  rcpud log (tail):\n" + tail)
        return False, report
    report.append("PASS")
    if not a.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return True, report


# ---------------------------------------------------------------------------------------------
# Self-test of the harness: real reference runs must pass, injected faults must be caught.
# ---------------------------------------------------------------------------------------------

def self_test(a):
    ok = True

    def expect(cond, what):
        nonlocal ok
        print(("  ok    " if cond else "  WRONG ") + what)
        ok = ok and cond

    print("-- parser on canned text")
    spec3 = parse_input("T   LOGICAL FLAG, T TO TEST ERROR EXITS.\nDGEMM  T PUT F FOR NO TEST.\n"
                        "DSYMM  F PUT F FOR NO TEST.\n", "fortran")
    expect(spec3.routines == ["DGEMM"] and spec3.error_exits, "input file: routines marked T, error-exit flag")
    t3 = Tester("xblat3d")
    good = (" DGEMM  PASSED THE TESTS OF ERROR-EXITS\n DGEMM  PASSED THE COMPUTATIONAL TESTS ( 17496 CALLS)\n"
            " END OF TESTS\n")
    expect(check_output(t3, good, "", 0, spec3) == [], "good Level-3 output passes")
    expect(check_output(t3, good, "", 1, spec3) != [], "non-zero exit status fails")
    expect(check_output(t3, good.replace("COMPUTATIONAL", "COMPUTATIONAL"), "", 0, InputSpec(["DGEMM", "DSYRK"], True, 1)) != [],
           "a routine without PASSED line fails")
    expect(check_output(t3, good + " ******* FATAL ERROR - TESTS ABANDONED *******\n", "", 0, spec3) != [],
           "FATAL line fails")
    expect(check_output(t3, good.replace(" END OF TESTS\n", ""), "", 0, spec3) != [], "missing END OF TESTS fails")
    sus = good + " DGEMM  COMPLETED THE COMPUTATIONAL TESTS ( 17496 CALLS)\n ******* BUT WITH MAXIMUM TEST RATIO 17.1 - SUSPECT *******\n"
    expect(check_output(t3, sus, "", 0, spec3) != [], "SUSPECT line fails")
    t2c = Tester("xccblat2")
    spec2c = InputSpec(["cblas_cgerc", "cblas_cgeru"], True, 2)
    quirk = (" cblas_cgeru  PASSED THE TESTS OF ERROR-EXITS\n" * 2 +
             " cblas_cgerc  PASSED THE COMPUTATIONAL TESTS ( 388 CALLS)\n" * 2 +
             " cblas_cgeru  PASSED THE COMPUTATIONAL TESTS ( 388 CALLS)\n" * 2 + " END OF TESTS\n")
    expect(check_output(t2c, quirk, "", 0, spec2c) == [], "CBLAS gerc/geru error-exit label quirk accepted")
    expect(check_output(t2c, quirk.replace(" cblas_cgeru  PASSED THE COMPUTATIONAL TESTS ( 388 CALLS)\n", "", 1), "", 0, spec2c) != [],
           "CBLAS: one layout missing fails")
    t1 = Tester("xblat1d")
    l1 = " Real BLAS Test Program Results\n" + "".join(
        f" Test of subprogram number {i+1:2d}  {r}\n          ----- PASS -----\n"
        for i, r in enumerate(LEVEL1_ROUTINES["xblat1d"].split()))
    expect(check_output(t1, l1, "", 0, None) == [], "good Level-1 output passes")
    expect(check_output(t1, l1.replace("----- PASS -----", "FAIL", 1), "", 0, None) != [], "Level-1 FAIL fails")
    tr = [{"routine": "dgemm_", "where": "remote", "backend": "cpu"}, {"routine": "dsymm_", "where": "local", "why": "x"}]
    spec_ds = InputSpec(["DGEMM", "DSYMM"], True, 1)
    expect(check_trace(t3, spec_ds, tr, "remote")[0] != [], "trace: a Level-3 routine never remote fails")
    both = tr[:1] + [{"routine": "dsymm_", "where": "remote", "backend": "cpu"}]
    expect(check_trace(t3, spec_ds, both, "remote")[0] == [], "trace: all Level-3 routines remote passes")
    expect(check_trace(t3, spec_ds, both, "remote-cuda")[0] != [], "trace: remote-cuda calls run on cpu fail")
    expect(check_trace(Tester("xblat2d"), InputSpec(["DGEMV"], True, 1), tr, "remote")[0] != [],
           "trace: remote lines from a Level-2 tester fail")

    print(f"-- real testers with the reference library ({a.reference_dir})")
    ra = argparse.Namespace(**vars(a))
    ra.keep = False
    for name in all_testers():
        passed, report = run_one(name, "reference", ra)
        expect(passed, f"{name} passes with the reference BLAS" + ("" if passed else "\n" + "\n".join(report)))

    if a.fault_lib:
        print(f"-- injected faults ({a.fault_lib}) must be caught")
        for fault, names in (("compute", ["xblat3d", "xdcblat3", "xblat2d", "xblat1d"]),
                             ("xerbla", ["xblat3d", "xdcblat3", "xblat2d"])):
            fa = argparse.Namespace(**vars(a))
            fa.preload, fa.keep = a.fault_lib, False
            fa.env = list(a.env or []) + [f"RCPU_NETLIB_FAULT={fault}"]
            for name in names:
                passed, report = run_one(name, "reference", fa)
                why = [r for r in report if r.startswith("FAIL")]
                expect(not passed, f"fault '{fault}' in {name} detected: " + (why[0][:150] if why else "NOT DETECTED"))
                if not passed:
                    shutil.rmtree(next((r.split()[-1] for r in report if "kept scratch dir" in r), ""),
                                  ignore_errors=True)
    print("self-test " + ("PASSED" if ok else "FAILED"))
    return ok


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("testers", nargs="*", help="tester names (xblat3d, xdcblat3, ...) or 'all'")
    ap.add_argument("--mode", choices=MODES, default="local")
    ap.add_argument("--build", default=os.environ.get("RCPU_BUILD_DIR", os.path.join(repo, "build")),
                    help="rcpu build folder (default: <repo>/build or $RCPU_BUILD_DIR)")
    ap.add_argument("--testers-dir", default=os.environ.get("RCPU_NETLIB_DIR", DEFAULT_TESTERS_DIR),
                    help=f"folder of the testers and their inputs ($RCPU_NETLIB_DIR, default {DEFAULT_TESTERS_DIR})")
    ap.add_argument("--shim-dir", default=os.environ.get("RCPU_SHIM_DIR"),
                    help="folder with the shim's libblas.so.3 (default <build>/lib/rcpu)")
    ap.add_argument("--rcpud", default=os.environ.get("RCPU_RCPUD"), help="server binary (default <build>/bin/rcpud)")
    ap.add_argument("--reference-dir", default=os.environ.get("RCPU_REFERENCE_BLAS_DIR"),
                    help="folder of the reference libblas.so.3 for --mode reference (default: the testers' folder)")
    ap.add_argument("--work-dir", help="parent of the scratch folders (default: $TMPDIR)")
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("RCPU_NETLIB_TIMEOUT", 300)),
                    help="seconds per tester")
    ap.add_argument("--server-start-timeout", type=float, default=60)
    ap.add_argument("--server-stop-timeout", type=float, default=10)
    ap.add_argument("--no-fallback-error", dest="fallback_error", action="store_false",
                    help="do not set RCPU_FALLBACK=error in remote modes")
    ap.add_argument("--keep", action="store_true", help="keep scratch folders of passing runs")
    ap.add_argument("--env", action="append", metavar="K=V", help="extra environment for the tester")
    ap.add_argument("--munge", action="store_true",
                    help="remote modes: rcpud --auth munge with its own munged, the tester RCPU_AUTH=munge")
    ap.add_argument("--tls", metavar="DIR", help="remote modes: rcpud under TLS with DIR/server.pem and server.key, "
                                                 "the tester trusting DIR/ca.pem (tests/tls/make_test_certs.sh)")
    ap.add_argument("--preload", help=argparse.SUPPRESS)
    ap.add_argument("--self-test", action="store_true",
                    help="check the harness itself: canned outputs, all testers with the reference BLAS, injected faults")
    ap.add_argument("--server-arg", action="append", metavar="ARG",
                    help="extra rcpud argument (repeat), e.g. --server-arg=--virtual-devices --server-arg=3")
    ap.add_argument("--expect-devices", type=int, default=0,
                    help="Level-3 testers: rcpud's log must show at least this many devices running pieces")
    ap.add_argument("--fault-lib", help="LD_PRELOAD library that injects faults (tests/netlib/fault_inject.c)")
    a = ap.parse_args()
    a.shim_dir = a.shim_dir or os.path.join(a.build, "lib", "rcpu")
    a.rcpud = a.rcpud or os.path.join(a.build, "bin", "rcpud")
    if not a.reference_dir:
        a.reference_dir = a.testers_dir if os.path.exists(os.path.join(a.testers_dir, "libblas.so.3")) \
            else DEFAULT_TESTERS_DIR
    for k in ("shim_dir", "rcpud", "reference_dir", "testers_dir", "work_dir", "fault_lib"):
        if getattr(a, k):
            setattr(a, k, os.path.abspath(getattr(a, k)))

    if a.self_test:
        return 0 if self_test(a) else 1

    names = a.testers or ["all"]
    if names == ["all"]:
        names = all_testers()
    failed = []
    for n in names:
        try:
            Tester(n)
        except ValueError as e:
            ap.error(str(e))
        passed, report = run_one(n, a.mode, a)
        print("\n".join(report), flush=True)
        if not passed:
            failed.append(n)
    print(f"netlib [{a.mode}]: {len(names) - len(failed)} of {len(names)} testers passed" +
          (f"; failed: {' '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run finally-blocks: reap rcpud
    sys.exit(main())
