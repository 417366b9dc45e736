#!/usr/bin/env python3
"""`rcpu run` reads the program before starting it (src/cli/run_plan.h): a program linked with
-lblas gets the shim through LD_LIBRARY_PATH and nothing is said; one linked against
libopenblas.so.0, one whose RPATH finds the system libblas.so.3 first, and a start-up script that
resets LD_LIBRARY_PATH (as R's does) get it preloaded, said in one line, and their calls really go
remote; one with OpenBLAS linked in statically is told plainly that nothing will be offloaded, and
still runs correctly.

usage: check_run_detect.py RCPU_CLI RCPUD PROGRAM_DIR SYSTEM_BLAS_DIR"""
import json, os, subprocess, sys, tempfile

import rcpud_process

KEEP_RCPU = ("RCPU_KEY_FILE", "RCPU_AUTH")
cli, rcpud, bindir, system_dir = sys.argv[1:5]
env = {k: v for k, v in os.environ.items()
       if (not k.startswith("RCPU_") or k in KEEP_RCPU) and k not in ("LD_LIBRARY_PATH", "LD_PRELOAD")}
prog = {name: os.path.join(bindir, "run_gemm_" + name) for name in ("blas", "openblas", "rpath", "static")}


def run(tmp, *args, expect_remote, env=env):
    """Runs `rcpu run --server ... --policy remote --trace ... ARGS`; checks the program passed and
    whether dgemm_ went remote; returns rcpu run's own lines on stderr."""
    trace = os.path.join(tmp, "trace.jsonl")
    if os.path.exists(trace):
        os.remove(trace)
    cmd = [cli, "run", "--server", addr, "--policy", "remote", "--trace", trace, *args]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    print("$", " ".join(cmd), "\n", r.stdout, r.stderr)
    assert r.returncode == 0 and "PASS" in r.stdout, f"the program failed under rcpu run: {r.stdout} {r.stderr}"
    rows = [json.loads(l) for l in open(trace)] if os.path.exists(trace) else []
    remote = {x["routine"] for x in rows if x["where"] == "remote"}
    assert ("dgemm_" in remote) == expect_remote, f"dgemm_ remote: expected {expect_remote}, trace {rows}"
    return [l for l in r.stderr.splitlines() if l.startswith("rcpu run:")]


p, addr = rcpud_process.start_server(rcpud)
try:
    with tempfile.TemporaryDirectory() as tmp:
        # (a) libblas.so.3 by name: LD_LIBRARY_PATH is enough, and nothing is said.
        assert run(tmp, "--", prog["blas"], "96", expect_remote=True) == []
        # (b) libopenblas.so.0 by name: preloaded, in one line, and the call goes remote.
        said = run(tmp, "--", prog["openblas"], "96", expect_remote=True)
        assert said == ["rcpu run: run_gemm_openblas links libopenblas.so.0, not libblas.so.3: preloading the shim"], said
        # ... unless told not to: then it says nothing will be offloaded, and nothing is.
        said = run(tmp, "--no-preload", "--", prog["openblas"], "96", expect_remote=False)
        assert said == ["rcpu run: run_gemm_openblas links libopenblas.so.0, not libblas.so.3: "
                        "nothing will be offloaded (--no-preload)"], said
        # Found through PATH, as execvp finds it.
        said = run(tmp, "--", "run_gemm_openblas", "64", expect_remote=True,
                   env=dict(env, PATH=bindir + ":" + env.get("PATH", "/usr/bin:/bin")))
        assert len(said) == 1 and "preloading the shim" in said[0], said
        # An RPATH that finds the system libblas.so.3 ahead of LD_LIBRARY_PATH: preloaded.
        said = run(tmp, "--", prog["rpath"], "96", expect_remote=True)
        assert len(said) == 1 and "loads libblas.so.3 from " in said[0] and "(RPATH) ahead of LD_LIBRARY_PATH: "\
            "preloading the shim" in said[0], said
        # (c) OpenBLAS linked in statically: nothing can be offloaded, it says so, and the program still runs.
        said = run(tmp, "--", prog["static"], "96", expect_remote=False)
        assert said == ["rcpu run: run_gemm_static has its BLAS linked in (it defines dgemm_ itself): "
                        "nothing will be offloaded"], said
        # (d) A start-up script that puts the system folder first in LD_LIBRARY_PATH, as R's etc/ldpaths does.
        launcher = os.path.join(tmp, "R")
        with open(launcher, "w") as f:
            f.write("#!/bin/sh\n# like R's front end: etc/ldpaths puts R's and the system's folders first\n"
                    f'LD_LIBRARY_PATH="{system_dir}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"\n'
                    "export LD_LIBRARY_PATH\nexec \"$@\"\n")
        os.chmod(launcher, 0o755)
        said = run(tmp, "--", launcher, prog["blas"], "96", expect_remote=True)
        assert said == ["rcpu run: R is a start-up script that resets LD_LIBRARY_PATH: preloading the shim"], said
        # Without the preload the script really does keep the shim out: that is why it is needed.
        said = run(tmp, "--no-preload", "--", launcher, prog["blas"], "96", expect_remote=False)
        assert said == ["rcpu run: R is a start-up script that resets LD_LIBRARY_PATH: "
                        "it may not load the shim (--no-preload)"], said
        # --explain: what was found and decided.
        said = run(tmp, "--explain", "--", prog["blas"], "96", expect_remote=True)
        assert any("libblas.so.3 -> " in l and "(LD_LIBRARY_PATH)" in l for l in said), said
        assert said[-1] == "rcpu run: LD_LIBRARY_PATH only", said
        said = run(tmp, "--explain", "--", prog["openblas"], "96", expect_remote=True)
        assert said[-1] == "rcpu run: run_gemm_openblas links libopenblas.so.0, not libblas.so.3: preloading the shim"
        assert "rcpu run: LD_LIBRARY_PATH and LD_PRELOAD" in said, said
        # An interpreter that opens its libraries at run time: nothing alarming is said.
        r = subprocess.run([cli, "run", "--", sys.executable, "-c", "print('ok')"], env=env, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.strip() == "ok" and "rcpu run:" not in r.stderr, (r.stdout, r.stderr)
        r = subprocess.run([cli, "run", "--preload", "--no-preload", "--", prog["blas"]], env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and "together" in r.stderr, r.stderr
finally:
    rcpud_process.stop(p)
print("rcpu run detection: ok")
