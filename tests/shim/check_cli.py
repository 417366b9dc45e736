#!/usr/bin/env python3
"""`rcpu run -- program` runs an unmodified program through the shim with the options it was
given, and `rcpu config` reports them with their sources.

usage: check_cli.py RCPU_CLI DEMO RCPUD"""
import json, os, subprocess, sys, tempfile

import rcpud_process

# The credentials every rcpud and client of a run share (docs/security.md): kept when other
# RCPU_* settings are cleared.
KEEP_RCPU = ("RCPU_KEY_FILE", "RCPU_AUTH")

cli, demo, rcpud = sys.argv[1:4]
env = {k: v for k, v in os.environ.items() if (not k.startswith("RCPU_") or k in KEEP_RCPU) and k not in ("LD_LIBRARY_PATH", "LD_PRELOAD")}

p, addr = rcpud_process.start_server(rcpud)
try:
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "t.jsonl")
        r = subprocess.run([cli, "run", "--server", addr, "--policy", "remote", "--trace", trace, "--stats", "--",
                            demo, "96"], env=env, capture_output=True, text=True, timeout=120)
        print(r.stdout, r.stderr)
        assert r.returncode == 0 and "PASS" in r.stdout, "the program failed under rcpu run"
        rows = [json.loads(l) for l in open(trace)]
        remote = {x["routine"] for x in rows if x["where"] == "remote"}
        assert {"dgemm_", "cblas_dgemm"} <= remote, f"Level-3 calls did not go remote: {remote}"
        assert "rcpu statistics" in r.stderr, "--stats printed no table"
        # --preload also works (the shim comes in through LD_PRELOAD as well).
        r = subprocess.run([cli, "run", "--preload", "--policy", "local", "--", demo, "32"], env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "PASS" in r.stdout, r.stdout + r.stderr
        # A program that does not exist: a clear error, exit 127.
        r = subprocess.run([cli, "run", "--", os.path.join(tmp, "no-such-program")], env=env,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 127 and "cannot run" in r.stderr, (r.returncode, r.stderr)
    cfg_env = dict(env, RCPU_SERVER="10.1.2.3:7000", RCPU_POLICY="remote")
    r = subprocess.run([cli, "config"], env=cfg_env, capture_output=True, text=True, timeout=30)
    print(r.stdout)
    lines = {l.split()[0]: l for l in r.stdout.splitlines() if l.strip()}
    assert "10.1.2.3:7000" in lines["RCPU_SERVER"] and "(environment)" in lines["RCPU_SERVER"]
    assert "remote" in lines["RCPU_POLICY"] and "(environment)" in lines["RCPU_POLICY"]
    assert "(default)" in lines["RCPU_FALLBACK"]
    assert ".so" in lines.get("local", ""), "rcpu config must name the local BLAS it opened"
finally:
    rcpud_process.stop(p)
print("rcpu cli: ok")
