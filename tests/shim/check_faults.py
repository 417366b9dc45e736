#!/usr/bin/env python3
"""The client must never be worse off than with its own BLAS (issue 2, item 6). Each scenario runs
gemm_client_main through the shim with RCPU_POLICY=remote and asserts the numbers are right (the
program checks every element and the padding around it) and how many warnings were printed.

usage: check_faults.py SCENARIO CLIENT SHIM_DIR RCPUD
  unreachable  RCPU_SERVER names a port nobody listens on
  error-reply  the server refuses every request (limit of 1 KiB per request)
  killed       the server is SIGKILLed while calls are in flight
  concurrent   8 threads, then a fork, against a live server: all remote, all right
"""
import json, os, signal, subprocess, sys, tempfile, threading, time

import rcpud_process
from rcpud_process import free_port, stop

scenario, client, shim, rcpud = sys.argv[1:5]

def start_server(*extra):
    return rcpud_process.start_server(rcpud, *extra)


def run_client(server, args, trace, timeout=300):
    env = dict(os.environ, LD_LIBRARY_PATH=shim, RCPU_SERVER=server, RCPU_POLICY="remote", RCPU_TRACE=trace)
    return subprocess.run([client, *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout)

def trace_rows(trace):
    return [json.loads(l) for l in open(trace)] if os.path.exists(trace) else []

def warnings(stderr):
    return [l for l in stderr.splitlines() if "warning" in l]

with tempfile.TemporaryDirectory() as tmp:
    trace = os.path.join(tmp, "trace.jsonl")
    if scenario == "unreachable":
        t0 = time.time()
        r = run_client(f"127.0.0.1:{free_port()}", [20, 60, 2, 0], trace)
        print(r.stdout, r.stderr)
        assert r.returncode == 0 and "PASS" in r.stdout
        w = warnings(r.stderr)
        assert len(w) == 1, f"expected one warning for one cause, got {w}"
        rows = trace_rows(trace)
        assert rows and all(x["where"] == "local" for x in rows)
        assert time.time() - t0 < 60, "a dead server must cost next to nothing per call"
    elif scenario == "error-reply":
        p, addr = start_server("--max-request-bytes", "1024")
        try:
            r = run_client(addr, [10, 60, 1, 0], trace)
        finally:
            stop(p)
        print(r.stdout, r.stderr)
        assert r.returncode == 0 and "PASS" in r.stdout
        w = warnings(r.stderr)
        assert 1 <= len(w) <= 2, f"expected one warning per cause, got {w}"
        rows = trace_rows(trace)
        assert rows and all(x["where"] == "local" for x in rows), "error replies must run locally"
    elif scenario == "killed":
        p, addr = start_server()
        env_done = threading.Event()
        def killer():
            # Kill the server once remote calls are flowing, i.e. in the middle of the run.
            deadline = time.time() + 60
            while time.time() < deadline and not env_done.is_set():
                if any(x["where"] == "remote" for x in trace_rows(trace)):
                    time.sleep(0.2)
                    p.send_signal(signal.SIGKILL)
                    return
                time.sleep(0.05)
        k = threading.Thread(target=killer)
        k.start()
        try:
            r = run_client(addr, [30, 400, 2, 0], trace)
        finally:
            env_done.set()
            k.join()
            stop(p)
        print(r.stdout, r.stderr)
        assert r.returncode == 0 and "PASS" in r.stdout
        rows = trace_rows(trace)
        assert any(x["where"] == "remote" for x in rows), "no call went remote before the kill"
        assert any(x["where"] == "local" and x["why"] == "fallback" for x in rows), "no call fell back"
        w = warnings(r.stderr)
        fell_back = [x for x in rows if x["where"] == "local" and x["why"] == "fallback"]
        # A kill can surface as up to four causes, depending on where each connection was when the
        # server died: a call's reply cut ("closed by peer") or reset, a new connection's handshake
        # reset, and connections refused afterwards. One warning per cause, never one per call.
        assert 1 <= len(w) <= 4, f"expected a warning per cause, not per call: {w}"
        assert len(w) < len(fell_back), f"{len(w)} warnings for {len(fell_back)} fallen-back calls: {w}"
    elif scenario == "concurrent":
        p, addr = start_server()
        try:
            r = run_client(addr, [4, 50, 8, 1], trace)
        finally:
            stop(p)
        print(r.stdout, r.stderr)
        assert r.returncode == 0 and "PASS" in r.stdout
        rows = trace_rows(trace)
        remote = [x for x in rows if x["where"] == "remote"]
        # 8 threads x 4 rounds x 2 calls, before the fork and again in parent and child.
        assert len(remote) == 8 * 4 * 2 * 3, f"expected every call remote, got {len(remote)} of {len(rows)}"
        assert len({x["pid"] for x in remote}) == 2, "the forked child's calls must be served too"
        assert not warnings(r.stderr), r.stderr
    else:
        sys.exit(f"unknown scenario {scenario}")
print(f"{scenario}: ok")
