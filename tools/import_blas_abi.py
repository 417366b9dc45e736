#!/usr/bin/env python3
"""Imports the BLAS/CBLAS ABI mechanically from Debian's netlib headers into spec/abi/blas.txt.

Run once by a developer (not at build time); the output is reviewed and committed.
Sources (package libblas-dev / libopenblas-dev headers on Debian 12):
  cblas-netlib.h  - the CBLAS prototypes, with parameter names
  cblas_f77.h     - the Fortran 77 prototypes of the subroutines and of the "*sub" helpers,
                    with gfortran's hidden string lengths (BLAS_FORTRAN_STRLEN_END)
The Fortran *functions* (ddot_, zdotc_, idamax_, ...) have no prototype there; each one is the
"*sub" helper with its last (result) argument turned into the return value, which is exactly how
netlib defines those helpers.  Parameter names of Fortran routines come from the matching CBLAS
routine (minus the layout argument) when the counts agree, else p1..pN.
Output line:  symbol | group | return type | type name, type name, ...
"""
import re, subprocess, sys

INC = "/usr/include/x86_64-linux-gnu"

def preprocess(header, defines):
    src = f"#include <{header}>\n"
    out = subprocess.run(["gcc", "-E", "-P", "-x", "c", "-", f"-I{INC}"] + defines,
                         input=src, capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())

def split_params(s):
    s = s.strip()
    return [] if s in ("", "void") else [p.strip() for p in s.split(",")]

def norm_type(t):
    t = re.sub(r"\*\s*[A-Za-z_][A-Za-z0-9_]*$", "*", t.strip())  # a stray parameter name
    t = t.replace("int32_t", "blas_int").replace("size_t", "blas_strlen")
    t = re.sub(r"\s*\*", "*", t)
    return " ".join(t.split())

def cblas_protos():
    text = preprocess("cblas-netlib.h", [])
    protos = {}
    for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_ ]*?[\s\*]+)(cblas_[a-z0-9_]+)\s*\(([^)]*)\)\s*;", text):
        ret, name, params = m.group(1).strip(), m.group(2), split_params(m.group(3))
        out = []
        for p in params:
            if p == "...":
                out.append(("...", "")); continue
            pm = re.match(r"(.*?)([A-Za-z_][A-Za-z0-9_]*)$", p)
            typ, pname = pm.group(1).strip(), pm.group(2)
            out.append((norm_type(typ.replace("CBLAS_INT", "blas_int")), pname))
        ret = ret.replace("CBLAS_INDEX", "size_t")
        protos[name] = (norm_type(ret).replace("blas_strlen", "size_t"), out)
    return protos

def f77_protos():
    text = preprocess("cblas_f77.h", ["-DBLAS_FORTRAN_STRLEN_END", "-DF77_GLOBAL(l,U)=l##_"])
    protos = {}
    for m in re.finditer(r"void\s+([a-z0-9_]+_)\s*\(([^)]*)\)\s*;", text):
        protos[m.group(1)] = [norm_type(p) for p in split_params(m.group(2))]
    return protos

def main(out_path):
    cb = cblas_protos()
    f77 = f77_protos()
    lines = []
    for name in sorted(cb):
        ret, params = cb[name]
        lines.append(f"{name} | cblas | {ret} | " + ", ".join(f"{t} {n}".strip() for t, n in params))
    def names_for(fname, types):
        base = fname[:-1]
        extra = []
        if base.endswith("sub"):
            base, extra = base[:-3], ["result"]
            if "cblas_" + base + "_sub" in cb:   # cblas_zdotc_sub already names its result
                base, extra = base + "_sub", []
        cand = "cblas_" + base
        if cand in cb:
            cnames = [n for t, n in cb[cand][1] if "CBLAS_LAYOUT" not in t] + extra
            if len(cnames) == len([t for t in types if t != "blas_strlen"]):
                return [n.lower() for n in cnames]
        return [f"p{i+1}" for i in range(len(types))]
    def fmt_params(types, names):
        out, ci = [], 0
        chars = [n for t, n in zip(types, names + [""] * len(types)) if t == "char*"]
        for i, t in enumerate(types):
            if t == "blas_strlen":
                out.append(f"blas_strlen {chars[ci]}_len" if ci < len(chars) else f"blas_strlen len{ci}")
                ci += 1
            else:
                out.append(f"{t} {names[i]}")
        return ", ".join(out)
    for fname in sorted(f77):
        types = f77[fname]
        names = names_for(fname, types)
        if fname.endswith("sub_"):
            # the helper itself, then the Fortran function it stands for
            lines.append(f"{fname} | f77 | void | {fmt_params(types, names)}")
            func = fname[:-4] + "_"
            rtype = types[-1].rstrip("*").replace("const ", "").strip()
            if rtype == "void":
                rtype = "zcomplex" if func[0] == "z" else "ccomplex"
            if rtype == "blas_int":
                rtype = "blas_int"
            lines.append(f"{func} | f77 | {rtype} | {fmt_params(types[:-1], names[:-1])}")
        else:
            lines.append(f"{fname} | f77 | void | {fmt_params(types, names)}")
    # Irregular symbols netlib defines outside these headers: hand-written in src/client/irregular/,
    # listed here so the coverage test still counts them.
    lines += [
        "lsame_ | f77-hand | blas_int | const char* ca, const char* cb, blas_strlen ca_len, blas_strlen cb_len",
        "xerbla_ | f77-hand | void | const char* srname, const blas_int* info, blas_strlen srname_len",
        "xerbla_array_ | f77-hand | void | const char* srname_array, const blas_int* srname_len, const blas_int* info, blas_strlen srname_array_len",
        "cblas_xerbla | cblas-hand | void | blas_int p, const char* rout, const char* form, ...",
        "RowMajorStrg | data | int |",
        "CBLAS_CallFromC | data | int |",
    ]
    lines = [l for l in lines if not (l.startswith("xerbla_ | f77 |") or l.startswith("cblas_xerbla | cblas |"))]
    lines = sorted(set(lines), key=lambda l: l.split(" | ")[0])
    with open(out_path, "w") as f:
        f.write("# Generated once by tools/import_blas_abi.py from Debian's cblas-netlib.h and cblas_f77.h;\n")
        f.write("# reviewed and committed. symbol | group | return type | parameters\n")
        f.write("# blas_int: the Fortran INTEGER (int32 in LP64, int64 in ILP64); blas_strlen: gfortran's hidden\n")
        f.write("# string length (size_t); ccomplex/zcomplex: complex values returned as gfortran does.\n")
        for l in lines:
            f.write(l + "\n")
    print(f"{len(lines)} symbols -> {out_path}")

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "spec/abi/blas.txt")
