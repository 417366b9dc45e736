#!/usr/bin/env python3
"""Fails when the source tree drifts from the shape docs/architecture.md describes.

Usage: check_layout.py [ROOT]   (ROOT: the repository, default the one this script is in)
Checks every file under ROOT/src/ (exit 1 and one line per problem on failure):
  1. Layers only look down: each top folder of src/ includes only the folders it may use
     (LAYERS below). Generated headers (build/generated, no folder) are allowed everywhere.
  2. Call kinds stay apart: on the client and the server, a kind folder (blas, lapack, fftw) includes
     only its side's core/ (and the layers below), never a sibling kind; a side's core/ never
     includes one of its kinds. The only files that may wire kinds into a core are the composition
     roots named in COMPOSITION_ROOTS.
  3. Above the transport layer only its public face is used (TRANSPORT_API): which transports exist
     and how each works stays inside src/transport/, so nothing above it knows about TCP.
  4. Includes are rooted at src/ ("client/core/x.h"), never relative ("../x.h").
  5. No file under src/ is longer than MAX_LINES lines.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
MAX_LINES = 600
KINDS = ("blas", "lapack", "fftw")
SIDES = ("client", "server")

# What each top folder of src/ may include (itself always).
LAYERS = {
    "common": set(),
    "security": {"common"},
    "transport": {"common"},
    "protocol": {"common", "transport"},
    "backends": {"common"},
    "client": {"common", "security", "transport", "protocol"},
    "server": {"common", "security", "transport", "protocol", "backends"},
    "cli": {"common", "security", "transport", "protocol", "client"},
    "netbench": {"common", "transport", "protocol"},
}

# Files that wire a side's kinds into its core: they may include every kind of their side.
COMPOSITION_ROOTS = {
    "src/server/rcpud_main.cpp",
    "src/server/kinds.cpp",
}

# The transport layer's public face: connections, addresses, connect/listen, link emulation, TLS.
TRANSPORT_API = {
    "transport/transport.h",
    "transport/address.h",
    "transport/connect.h",
    "transport/emulated_link.h",
    "transport/tls.h",
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def problems_of(path: pathlib.Path):
    rel = path.relative_to(ROOT).as_posix()
    parts = path.relative_to(SRC).parts
    top = parts[0]
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    if lines > MAX_LINES:
        yield f"{rel}: {lines} lines (at most {MAX_LINES}): split it by purpose"
    if top not in LAYERS:
        yield f"{rel}: top folder src/{top}/ is not a known layer (add it to LAYERS in tools/check_layout.py)"
        return
    side_kind = None  # the kind folder this file is in, or "core"
    if top in SIDES and len(parts) > 2:
        side_kind = parts[1] if parts[1] in KINDS or parts[1] == "core" else None
    for included in INCLUDE.findall(text):
        inc = pathlib.PurePosixPath(included).parts
        if included.startswith(".") or ".." in inc:
            yield f'{rel}: relative include "{included}": include it rooted at src/'
            continue
        if len(inc) == 1:
            continue  # a generated header (build/generated) or a same-folder system-style header
        layer = inc[0]
        if layer != top and layer not in LAYERS.get(top, set()):
            yield f'{rel}: includes "{included}": src/{top}/ may not use src/{layer}/'
            continue
        if layer == "transport" and top != "transport" and included not in TRANSPORT_API:
            yield f'{rel}: includes "{included}": above src/transport/ use only {", ".join(sorted(TRANSPORT_API))}'
            continue
        if layer != top or top not in SIDES or rel in COMPOSITION_ROOTS:
            continue
        target = inc[1] if len(inc) > 2 else None
        if side_kind in KINDS and target in KINDS and target != side_kind:
            yield f'{rel}: includes "{included}": the {side_kind} kind may not use its sibling kind {target}'
        elif side_kind == "core" and target in KINDS:
            yield f'{rel}: includes "{included}": {top}/core may not use a kind ({target})'


def main() -> int:
    problems = []
    for path in sorted(SRC.rglob("*")):
        if path.is_file() and path.suffix in (".h", ".hpp", ".c", ".cc", ".cpp", ".cu", ".cuh"):
            problems.extend(problems_of(path))
    for p in problems:
        print(p)
    if problems:
        print(f"check_layout: {len(problems)} problem(s); the rules are in tools/check_layout.py and docs/architecture.md")
        return 1
    print("check_layout: the tree has its shape")
    return 0


if __name__ == "__main__":
    sys.exit(main())
