#!/usr/bin/env python3
"""Imports the FFTW3 ABI mechanically into spec/abi/fftw.txt (run once by a developer; the output
is reviewed and committed, like tools/import_blas_abi.py and tools/import_lapack_abi.py).

Which symbols: exactly the PUBLIC symbols of Debian's reference libraries (package libfftw3-dev,
FFTW 3.3.10), i.e. the names `nm -D --defined-only` lists for
    libfftw3.so.3  libfftw3f.so.3  libfftw3_threads.so.3  libfftw3f_threads.so.3
that are either declared by fftw3.h (the C API) or are legacy-Fortran names ([ds]fftw_*_ and the
g77 manglings *__). The other ~900 exported names (fftw_mksolver, fftw_spawn_loop, ...) are FFTW
internals, not API. The OpenMP libraries (libfftw3_omp.so.3, libfftw3f_omp.so.3) export the same
public names as the threads libraries; the tool checks that.

Prototypes:
  C API       /usr/include/fftw3.h preprocessed by `gcc -E -P` (the FFTW_DEFINE_API macro expands
              every declaration); the one parameter spelled as an inline function-pointer type
              (fftw_threads_set_callback's parallel_loop) is named fftw_parallel_loop.
  Fortran     FFTW's legacy Fortran interface (FFTW manual, "Calling FFTW from Legacy Fortran";
              api/f77funcs.h and threads/f77api.c of FFTW 3.3.10): every argument by reference, the
              plan handle an INTEGER*8 holding the C plan (`fftw_plan* p`). The table FORTRAN below
              transcribes those documented signatures; R and C stand for the precision's real and
              complex types. A name the reference library exports that has no entry here stops the tool.

Groups (how codegen/generate.py treats each symbol; see docs/architecture.md, "FFTW"):
  fftw-plan      a planner: the local FFTW plans it (same flags, so MEASURE/PATIENT behave as FFTW),
                 and rcpu wraps the local plan in its own plan object (src/client/fftw/)
  fftw-plan-use  takes a plan first and runs locally on the wrapped local plan (flops, cost, ...)
  fftw-hand      hand-written in src/client/fftw/ (execute*, destroy_plan, malloc/free, plan
                 printing and wisdom through stdio or malloc'ed strings)
  fftw           forwarded to the local FFTW as is (wisdom, cleanup, timelimit, alignment_of)
  fftw-threads   forwarded to the local FFTW threads library (init_threads, plan_with_nthreads, ...)
  fftw-f77       a legacy-Fortran name: forwarded to the local FFTW's own Fortran entry point
  fftw-data      a data object of fftw3.h (fftw_version, fftw_cc, fftw_codelet_optim): defined by the
                 shim with the configured FFTW's bytes and sizes (codegen/fftw_data_objects.py)
  fftw-internal  an internal function (fftw_mksolver, fftw_plan_awake, ...): FFTW's add-on
                 libraries (libfftw3_mpi) import these from libfftw3.so.3, so the shim forwards each
                 to the local FFTW through a generic entry point. Internal data (the planner hooks
                 only Debian's threads/omp libraries import) cannot be forwarded: those sonames are
                 rcpu's own.
Last column: the reference library that exports it (the shim is installed under all its sonames).
"""
import re, subprocess, sys

LIBDIR = "/usr/lib/x86_64-linux-gnu"
HEADER = "/usr/include/fftw3.h"
LIBS = {"fftw3": ("fftw_", "dfftw_"), "fftw3f": ("fftwf_", "sfftw_"),
        "fftw3_threads": ("fftw_", "dfftw_"), "fftw3f_threads": ("fftwf_", "sfftw_")}
OMP_TWINS = {"fftw3_threads": "fftw3_omp", "fftw3f_threads": "fftw3f_omp"}

HAND = {"execute", "execute_dft", "execute_dft_r2c", "execute_dft_c2r", "destroy_plan",
        "malloc", "alloc_real", "alloc_complex", "free",
        "fprint_plan", "print_plan", "sprint_plan",
        "export_wisdom_to_string", "export_wisdom_to_file", "import_wisdom_from_file"}

P = "fftw_plan* p"
FORTRAN = {  # base name -> parameters; R real, C complex, P the plan handle
    "execute": [P], "destroy_plan": [P], "cleanup": [], "forget_wisdom": [],
    "export_wisdom": ["fftw_f77_write_char f77_write_char", "void* data"],
    "import_wisdom": ["int* isuccess", "fftw_f77_read_char f77_read_char", "void* data"],
    "import_system_wisdom": ["int* isuccess"], "print_plan": [P],
    "flops": [P, "double* add", "double* mul", "double* fma"],
    "estimate_cost": ["double* cost", P], "cost": ["double* cost", P], "set_timelimit": ["double* t"],
    "plan_dft": [P, "int* rank", "const int* n", "C* in", "C* out", "int* sign", "int* flags"],
    "plan_dft_1d": [P, "int* n", "C* in", "C* out", "int* sign", "int* flags"],
    "plan_dft_2d": [P, "int* nx", "int* ny", "C* in", "C* out", "int* sign", "int* flags"],
    "plan_dft_3d": [P, "int* nx", "int* ny", "int* nz", "C* in", "C* out", "int* sign", "int* flags"],
    "plan_many_dft": [P, "int* rank", "const int* n", "int* howmany", "C* in", "const int* inembed",
                      "int* istride", "int* idist", "C* out", "const int* onembed", "int* ostride",
                      "int* odist", "int* sign", "int* flags"],
    "plan_guru_dft": [P, "int* rank", "const int* n", "const int* is", "const int* os", "int* howmany_rank",
                      "const int* h_n", "const int* h_is", "const int* h_os", "C* in", "C* out", "int* sign",
                      "int* flags"],
    "plan_guru_split_dft": [P, "int* rank", "const int* n", "const int* is", "const int* os",
                            "int* howmany_rank", "const int* h_n", "const int* h_is", "const int* h_os",
                            "R* ri", "R* ii", "R* ro", "R* io", "int* flags"],
    "execute_dft": [P, "C* in", "C* out"],
    "execute_split_dft": [P, "R* ri", "R* ii", "R* ro", "R* io"],
    "plan_dft_r2c": [P, "int* rank", "const int* n", "R* in", "C* out", "int* flags"],
    "plan_dft_r2c_1d": [P, "int* n", "R* in", "C* out", "int* flags"],
    "plan_dft_r2c_2d": [P, "int* nx", "int* ny", "R* in", "C* out", "int* flags"],
    "plan_dft_r2c_3d": [P, "int* nx", "int* ny", "int* nz", "R* in", "C* out", "int* flags"],
    "plan_many_dft_r2c": [P, "int* rank", "const int* n", "int* howmany", "R* in", "const int* inembed",
                          "int* istride", "int* idist", "C* out", "const int* onembed", "int* ostride",
                          "int* odist", "int* flags"],
    "plan_guru_dft_r2c": [P, "int* rank", "const int* n", "const int* is", "const int* os", "int* howmany_rank",
                          "const int* h_n", "const int* h_is", "const int* h_os", "R* in", "C* out", "int* flags"],
    "plan_guru_split_dft_r2c": [P, "int* rank", "const int* n", "const int* is", "const int* os",
                                "int* howmany_rank", "const int* h_n", "const int* h_is", "const int* h_os",
                                "R* in", "R* ro", "R* io", "int* flags"],
    "execute_dft_r2c": [P, "R* in", "C* out"],
    "execute_split_dft_r2c": [P, "R* in", "R* ro", "R* io"],
    "plan_dft_c2r": [P, "int* rank", "const int* n", "C* in", "R* out", "int* flags"],
    "plan_dft_c2r_1d": [P, "int* n", "C* in", "R* out", "int* flags"],
    "plan_dft_c2r_2d": [P, "int* nx", "int* ny", "C* in", "R* out", "int* flags"],
    "plan_dft_c2r_3d": [P, "int* nx", "int* ny", "int* nz", "C* in", "R* out", "int* flags"],
    "plan_many_dft_c2r": [P, "int* rank", "const int* n", "int* howmany", "C* in", "const int* inembed",
                          "int* istride", "int* idist", "R* out", "const int* onembed", "int* ostride",
                          "int* odist", "int* flags"],
    "plan_guru_dft_c2r": [P, "int* rank", "const int* n", "const int* is", "const int* os", "int* howmany_rank",
                          "const int* h_n", "const int* h_is", "const int* h_os", "C* in", "R* out", "int* flags"],
    "plan_guru_split_dft_c2r": [P, "int* rank", "const int* n", "const int* is", "const int* os",
                                "int* howmany_rank", "const int* h_n", "const int* h_is", "const int* h_os",
                                "R* ri", "R* ii", "R* out", "int* flags"],
    "execute_dft_c2r": [P, "C* in", "R* out"],
    "execute_split_dft_c2r": [P, "R* ri", "R* ii", "R* out"],
    "plan_r2r": [P, "int* rank", "const int* n", "R* in", "R* out", "int* kind", "int* flags"],
    "plan_r2r_1d": [P, "int* n", "R* in", "R* out", "int* kind", "int* flags"],
    "plan_r2r_2d": [P, "int* nx", "int* ny", "R* in", "R* out", "int* kindx", "int* kindy", "int* flags"],
    "plan_r2r_3d": [P, "int* nx", "int* ny", "int* nz", "R* in", "R* out", "int* kindx", "int* kindy",
                    "int* kindz", "int* flags"],
    "plan_many_r2r": [P, "int* rank", "const int* n", "int* howmany", "R* in", "const int* inembed",
                      "int* istride", "int* idist", "R* out", "const int* onembed", "int* ostride", "int* odist",
                      "int* kind", "int* flags"],
    "plan_guru_r2r": [P, "int* rank", "const int* n", "const int* is", "const int* os", "int* howmany_rank",
                      "const int* h_n", "const int* h_is", "const int* h_os", "R* in", "R* out", "int* kind",
                      "int* flags"],
    "execute_r2r": [P, "R* in", "R* out"],
    # threads/f77api.c
    "init_threads": ["int* iret"], "cleanup_threads": [], "plan_with_nthreads": ["int* nthreads"],
    "planner_nthreads": ["int* nthreads"],
}


def exported(lib):
    """name -> nm's type letter (T a function, R/D/B data) of every symbol the library defines."""
    out = subprocess.run(["nm", "-D", "--defined-only", f"{LIBDIR}/lib{lib}.so.3"],
                         capture_output=True, text=True, check=True).stdout
    return {l.split()[-1]: l.split()[-2] for l in out.splitlines() if len(l.split()) >= 2}


def header_data(text):
    """The data objects fftw3.h declares (X(version), X(cc), X(codelet_optim): const char arrays)."""
    return set(re.findall(r"extern const char (fftwf?_[a-z_]+) *\[\]", text))


protos_data = set()


def header_protos():
    text = subprocess.run(["gcc", "-E", "-P", HEADER], capture_output=True, text=True, check=True).stdout
    text = " ".join(text.split())
    text = text.replace("void (*parallel_loop)(void *(*work)(char *), char *jobdata, size_t elsize, "
                        "int njobs, void *data)", "fftw_parallel_loop parallel_loop")
    text = text.replace("void (*parallel_loop)(void *(*work)(char *), char *jobdata, size_t elsize, "
                        "int njobs, void *data)".replace("fftw", "fftwf"), "fftw_parallel_loop parallel_loop")
    protos = {}
    protos_data.update(header_data(text))
    for stmt in text.split(";"):
        stmt = stmt.strip()
        if stmt.startswith("typedef") or "(" not in stmt:
            continue
        stmt = re.sub(r"__attribute__ *\(\(\w+\)\)", "", stmt).replace("extern ", "").strip()
        m = re.match(r"(.+?)\b(fftwf?_[a-z0-9_]+) *\((.*)\)$", stmt)
        if not m:
            continue
        ret, name, params = norm(m.group(1)), m.group(2), m.group(3).strip()
        plist = [] if params in ("", "void") else [norm_param(p) for p in params.split(",")]
        protos[name] = (ret, plist)
    return protos


def norm(t):
    t = re.sub(r"\s*\*", "*", t.strip())
    return " ".join(t.split())


def norm_param(p):
    m = re.match(r"(.*?)([A-Za-z_][A-Za-z0-9_]*)$", p.strip())
    return f"{norm(m.group(1))} {m.group(2)}"


def c_group(base):
    if base in HAND:
        return "fftw-hand"
    if base.startswith("plan_") and base not in ("plan_with_nthreads",):
        return "fftw-plan"
    if base in ("flops", "estimate_cost", "cost") or base.startswith("execute_"):
        return "fftw-plan-use"
    return "fftw"


def fortran_proto(name, prefix):
    base = name[len(prefix):].rstrip("_")
    if base not in FORTRAN:
        sys.exit(f"{name}: exported by the reference library, but no documented legacy-Fortran signature")
    real, cplx, plan = (("double", "fftw_complex", "fftw_plan") if prefix == "dfftw_"
                        else ("float", "fftwf_complex", "fftwf_plan"))
    params = []
    for p in FORTRAN[base]:
        t, n = p.rsplit(" ", 1)
        t = re.sub(r"\bR\*", real + "*", t)
        t = re.sub(r"\bC\*", cplx + "*", t)
        t = t.replace("fftw_plan*", plan + "*")
        params.append(f"{t} {n}")
    return "void", params


def main(out_path):
    protos = header_protos()
    lines = []
    counts = {}
    for lib, (cprefix, fprefix) in LIBS.items():
        names = exported(lib)
        if lib in OMP_TWINS:
            twin = exported(OMP_TWINS[lib])
            pub = lambda s: {n for n in s if n in protos or n.startswith(fprefix)}
            if pub(names) != pub(twin):
                sys.exit(f"lib{lib} and lib{OMP_TWINS[lib]} differ in their public symbols")
        for name in sorted(names):
            if name in protos_data:
                ret, params, group = "const char[]", [], "fftw-data"
            elif name in protos:
                ret, params = protos[name]
                base = name[len(cprefix):]
                group = "fftw-threads" if lib.endswith("_threads") else c_group(base)
            elif name.startswith(fprefix):
                ret, params = fortran_proto(name, fprefix)
                group = "fftw-f77"
            elif names[name] == "T" and not lib.endswith("_threads"):
                # An FFTW internal function, exported for FFTW's add-on libraries (libfftw3_mpi ...),
                # which import them from libfftw3.so.3: forwarded as is, no prototype needed.
                ret, params, group = "", [], "fftw-internal"
            else:
                continue  # internal data (served by rcpu's own threads/omp sonames), or threads internals
            lines.append(f"{name} | {group} | {ret} | {', '.join(params)} | lib{lib}.so.3")
            counts[f"lib{lib}.so.3"] = counts.get(f"lib{lib}.so.3", 0) + 1
    missing = [n for n in protos if (n.startswith("fftw_") or n.startswith("fftwf_"))
               and n not in {l.split(" | ")[0] for l in lines}]
    if missing:
        sys.exit(f"declared in fftw3.h but exported by no reference library: {missing}")
    head = ["# Generated once by tools/import_fftw_abi.py; reviewed and committed. Do not edit by hand.",
            "# Symbols of Debian's FFTW 3.3.10: the C API of fftw3.h (its data objects included), the",
            "# legacy Fortran names, and the internal functions FFTW's add-on libraries import:",
            "# " + ", ".join(f"{k} {v}" for k, v in counts.items()) + "; the _omp libraries export the",
            "# same public names as the _threads ones. symbol | group | return type | parameters | library"]
    with open(out_path, "w") as f:
        f.write("\n".join(head + lines) + "\n")
    print(f"{out_path}: {len(lines)} symbols ({counts})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "spec/abi/fftw.txt")
