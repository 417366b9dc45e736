#!/usr/bin/env python3
"""Runs an FFTW client program through the shim in one mode, and checks where its transforms ran.

  check_fftw.py [--expect-split] MODE SHIM_DIR RCPUD -- PROGRAM [ARGS...]
MODE: local        RCPU_POLICY=local: every transform on the local FFTW (trace: none remote)
      remote       rcpud --backend cpu on 127.0.0.1 port 0, RCPU_POLICY=remote: every transform a
                   server can run goes there (trace: remote, backend cpu, no fallback)
      remote-cuda  the same with rcpud --backend cuda (GPU machine; exit 77 = skipped without a GPU)
      remote-multidev  remote with rcpud serving the CPU as 3 devices, every batch cut over them
                   (--virtual-devices 3 --split-min-fft-bytes 0): rcpud's report at exit must show
                   at least 2 devices running pieces of split transforms
      stripe-fault rcpud --backend cpu that drops every connection of a striped FFT mid-call
                   (RCPUD_TEST_FAIL_FFT_STRIPES=1); the program runs only its striped cases
                   (FFT_COMPARE_ONLY=striped) with the default local fallback: its results must
                   still agree, and every one of those transforms must show a fallback
The program must exit 0 (its own comparison with a reference); the RCPU_TRACE lines must show at
least one FFTW execution, and in the remote modes every c2c/r2c/c2r execution remote on the
expected backend (only 'trivial' 1-point and 'not-offloadable' r2r/split ones may stay local);
with --expect-split, at least one batched transform cut over several connections (RCPU_STREAMS=3)
and at least 8 single transforms (fft_compare's four 2^21 cases, both precisions) striped over 3.
"""
import json, os, re, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shim"))
from rcpud_process import start_server, stop  # noqa: E402

SKIP = 77


def main():
    args = sys.argv[1:]
    expect_split = "--expect-split" in args[:args.index("--")]
    args = [x for x in args[:args.index("--")] if x != "--expect-split"] + args[args.index("--"):]
    mode, shim_dir, rcpud = args[0:3]
    program = args[4:]
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = shim_dir + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    env["OPENBLAS_NUM_THREADS"] = "1"
    server = None
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "trace.jsonl")
        env["RCPU_TRACE"] = trace
        env["RCPU_FALLBACK"] = "error"  # a remote failure must fail the test, not hide behind a local rerun
        backend = None
        if mode == "local":
            env["RCPU_POLICY"] = "local"
        elif mode == "stripe-fault":
            os.environ["RCPUD_TEST_FAIL_FFT_STRIPES"] = "1"  # inherited by the server only
            try:
                server, endpoint = start_server(rcpud)
            finally:
                del os.environ["RCPUD_TEST_FAIL_FFT_STRIPES"]
            env["RCPU_SERVER"] = endpoint
            env["RCPU_POLICY"] = "remote"
            env["RCPU_STREAMS"] = "3"
            env["FFT_COMPARE_ONLY"] = "striped"
            del env["RCPU_FALLBACK"]  # the point: a broken striped call falls back to a correct local run
        elif mode == "remote-multidev":
            backend = "cpu"
            log_path = os.path.join(tmp, "rcpud.log")
            server, endpoint = start_logged(rcpud, log_path, "--virtual-devices", "3", "--split-min-fft-bytes", "0")
            env["RCPU_SERVER"] = endpoint
            env["RCPU_POLICY"] = "remote"
            env["RCPU_STREAMS"] = "3"
        elif mode in ("remote", "remote-cuda"):
            backend = "cpu" if mode == "remote" else "cuda"
            if backend == "cuda" and (not shutil.which("nvidia-smi")
                                      or subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode != 0):
                print("no GPU here: skipped")
                return SKIP
            try:
                server, endpoint = start_server(rcpud) if backend == "cpu" else start_cuda(rcpud)
            except AssertionError as e:
                print(e)
                return SKIP if backend == "cuda" else 1
            env["RCPU_SERVER"] = endpoint
            env["RCPU_POLICY"] = "remote"
            env["RCPU_STREAMS"] = "3"  # large batched transforms are cut over 3 connections
        else:
            sys.exit(f"unknown mode {mode}")
        try:
            r = subprocess.run(program, env=env, capture_output=True, text=True, timeout=600)
        finally:
            if server:
                stop(server)
        if mode == "remote-multidev":
            # placement.cpp's usage report, written when rcpud stops.
            devs = re.findall(r"^device (\d+): (\d+) whole calls, (\d+) pieces of split calls", open(log_path).read(), re.M)
            split = [d for d, whole, pieces in devs if int(pieces) > 0]
            print(f"rcpud: {len(devs)} devices, {len(split)} ran pieces of split transforms")
            if len(split) < 2:
                print("FAIL: batched transforms were not cut over the devices")
                return 1
        out = r.stdout + r.stderr
        print("\n".join(l for l in out.splitlines() if not l.startswith("ok ")))
        if r.returncode != 0:
            print(f"FAIL: {program[0]} exited {r.returncode}")
            return 1
        records = [json.loads(l) for l in open(trace)] if os.path.exists(trace) else []
    ffts = [x for x in records if "fftw" in x.get("routine", "") and "execute" in x.get("routine", "")]
    remote = [x for x in ffts if x.get("where") == "remote"]
    print(f"trace: {len(ffts)} FFTW executions, {len(remote)} remote")
    if not ffts:
        print("FAIL: no FFTW execution in the trace (did the program load the shim?)")
        return 1
    if mode == "stripe-fault":
        fell_back = [x for x in ffts if x.get("where") != "remote" and x.get("why") == "fallback"]
        print(f"trace: {len(fell_back)} striped transforms fell back to local FFTW after the server dropped them")
        if len(fell_back) < 8 or len(fell_back) != len(ffts):
            print(f"FAIL: expected every one of at least 8 striped transforms to fall back, got {len(fell_back)} "
                  f"of {len(ffts)}")
            return 1
        return 0
    if backend is None:
        if remote:
            print("FAIL: remote executions in local mode")
            return 1
        return 0
    stayed = [x for x in ffts if x.get("where") != "remote" and x.get("why") not in ("trivial", "not-offloadable")]
    if stayed:
        print(f"FAIL: {len(stayed)} transforms stayed local, e.g. {stayed[0]}")
        return 1
    # cuFFT plans ranks 1..3 (cufft_supports): the server runs rank 4 and up on its CPU backend, by
    # design (on the H100, fft_compare's two rank-4 cases). Everything else must run on the
    # expected backend. (Batches of rank 2 reach the server merged into one batch dimension.)
    def cufft_can(x):
        return 1 <= x.get("rank", 0) <= 3
    wrong = [x for x in remote if x.get("backend") != backend and not (backend == "cuda" and not cufft_can(x)
                                                                       and x.get("backend") == "cpu")]
    if backend == "cuda":
        print(f"trace: {len([x for x in remote if not cufft_can(x)])} remote transforms beyond cuFFT (rank > 3) "
              "ran on the server's CPU backend")
    if wrong:
        print(f"FAIL: {len(wrong)} remote transforms ran on another backend, e.g. {wrong[0]}")
        return 1
    if not remote:
        print("FAIL: nothing ran remotely")
        return 1
    split = [x for x in remote if x.get("streams", 1) > 1]
    print(f"trace: {len(split)} remote transforms cut over several connections")
    if expect_split and not split:
        print("FAIL: no batched transform was cut over several connections")
        return 1
    striped = [x for x in remote if x.get("transfer") == "striped"]
    print(f"trace: {len(striped)} single transforms striped over several connections")
    if expect_split and (len(striped) < 8 or any(x.get("streams") != 3 for x in striped)):
        print(f"FAIL: expected at least 8 transforms striped over 3 connections, got "
              f"{[x.get('streams') for x in striped]}")
        return 1
    return 0


def start_logged(rcpud, log_path, *extra):
    """rcpud --backend cpu with its log (stderr) kept in log_path; returns (process, "host:port")."""
    log = open(log_path, "w")
    p = subprocess.Popen([rcpud, "--listen", "127.0.0.1:0", "--backend", "cpu", *extra], stdout=subprocess.PIPE,
                         stderr=log, text=True)
    line = p.stdout.readline()
    assert "listening on" in line, f"rcpud did not start: {line!r}"
    return p, line.strip().rsplit(" ", 1)[1]


def start_cuda(rcpud):
    import subprocess as sp
    p = sp.Popen([rcpud, "--listen", "127.0.0.1:0", "--backend", "cuda"], stdout=sp.PIPE, stderr=sp.DEVNULL, text=True)
    line = p.stdout.readline()
    if "listening on" not in line:
        p.wait()
        raise AssertionError(f"rcpud --backend cuda did not start: {line!r}")
    return p, line.strip().rsplit(" ", 1)[1]


if __name__ == "__main__":
    sys.exit(main())
