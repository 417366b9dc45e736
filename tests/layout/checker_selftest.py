#!/usr/bin/env python3
"""The layout checker (tools/check_layout.py) catches each kind of break it exists for.

Builds a tiny tree that obeys the rules (the checker must pass it), then breaks it one way at a time
and asserts the checker fails, naming the offending file."""
import pathlib
import subprocess
import sys
import tempfile

CHECKER = pathlib.Path(__file__).resolve().parents[2] / "tools" / "check_layout.py"

GOOD = {
    "src/common/level3.h": "#pragma once\n",
    "src/client/core/pool.h": '#include "common/level3.h"\n',
    "src/client/blas/route.h": '#include "client/core/pool.h"\n#include "blas_symbols.h"\n',
    "src/client/lapack/route.h": '#include "client/core/pool.h"\n',
    "src/server/core/session.h": '#include "backends/backend.h"\n',
    "src/server/fftw/fft_call.h": '#include "server/core/session.h"\n',
    "src/server/rcpud_main.cpp": '#include "server/fftw/fft_call.h"\n#include "server/core/session.h"\n',
    "src/backends/backend.h": '#include "common/level3.h"\n',
}

BREAKS = {
    "a kind uses a sibling kind": ("src/client/lapack/route.h", '#include "client/blas/route.h"\n'),
    "a core uses a kind": ("src/server/core/session.h", '#include "server/fftw/fft_call.h"\n'),
    "a layer looks up": ("src/backends/backend.h", '#include "server/core/session.h"\n'),
    "client uses server": ("src/client/core/pool.h", '#include "server/core/session.h"\n'),
    "a relative include": ("src/client/blas/route.h", '#include "../core/pool.h"\n'),
    "a transport's insides used above it": ("src/client/core/pool.h", '#include "transport/tcp_socket.h"\n'),
    "an oversized file": ("src/common/level3.h", "int x;\n" * 601),
}


def run(files):
    with tempfile.TemporaryDirectory() as d:
        for rel, text in files.items():
            p = pathlib.Path(d, rel)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        r = subprocess.run([sys.executable, str(CHECKER), d], capture_output=True, text=True)
        return r.returncode, r.stdout


def main():
    failures = 0
    rc, out = run(GOOD)
    if rc != 0:
        print(f"FAIL: a tree that obeys the rules was refused:\n{out}")
        failures += 1
    for what, (rel, text) in BREAKS.items():
        files = dict(GOOD)
        files[rel] = text
        rc, out = run(files)
        if rc == 0 or rel not in out:
            print(f"FAIL: {what} ({rel}) was not caught: exit {rc}\n{out}")
            failures += 1
        else:
            print(f"ok: {what} caught")
    print(f"{len(BREAKS) + 1 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
