#!/usr/bin/env python3
"""Imports the LAPACK ABI mechanically into spec/abi/lapack.txt.

Run once by a developer (not at build time); the output is reviewed and committed.
The list of symbols is exactly what Debian's reference liblapack.so.3 exports (package liblapack3,
`nm -D --defined-only`), less those spec/abi/blas.txt already has (xerbla_, xerbla_array_, lsame_:
the reference libblas and liblapack both export them; the shim exports them once).
Each symbol's prototype comes from the first of these sources that describes it (last column):

  lapack.h   /usr/include/lapack.h (liblapacke-dev), preprocessed with gcc -E and
             -DLAPACK_FORTRAN_STRLEN_END (hidden CHARACTER lengths appear as trailing size_t),
             LAPACK_GLOBAL(lc,UC) = lc##_.  Covers the drivers and computational routines.
  doc        the Doxygen documentation of the same LAPACK release (package liblapack-doc,
             /usr/share/doc/liblapack-dev/explore-html/**.html): every documented routine's
             declaration with its Fortran argument types ("double precision, dimension(lda,*) A"),
             translated by gfortran's calling convention (below).  Covers the auxiliary routines
             lapack.h lacks (dlaed2, ilaenv, zladiv, disnan, chla_transtype, ...).
  sibling    a routine documented in neither, whose precision twin is (s<->d, c<->z): LAPACK
             generates these from one another, so the prototype is the twin's with REAL<->DOUBLE
             PRECISION and COMPLEX<->COMPLEX*16 swapped (e.g. slasyf_rk from dlasyf_rk).
  module     a gfortran module procedure __<module>_MOD_<name>: the documented external routine
             <name>_ of the same name (la_xisnan's disnan/sisnan).
  none       no source describes it (group lapack-any): rcpu forwards it with a generic entry
             point, a tail call in assembly that passes every register and stack argument through
             unchanged, so no prototype is needed.  See codegen/generate.py.

gfortran's convention, as used for the doc/sibling translation: every argument by reference
(INTEGER and LOGICAL -> blas_int*, REAL -> float*, DOUBLE PRECISION -> double*, COMPLEX ->
ccomplex*, COMPLEX*16 -> zcomplex*, EXTERNAL -> a function pointer, lapack_select), one hidden
blas_strlen per CHARACTER argument after all arguments, in order; REAL functions return float (not
double as f2c does), LOGICAL and INTEGER functions blas_int, COMPLEX functions their value in
registers (ccomplex / zcomplex, as the BLAS spec's zdotc_); CHARACTER functions return void and
take the result buffer and its length as two hidden leading arguments.

Output line:  symbol | group | return type | type name, ... | source
"""
import argparse, glob, html, os, re, subprocess, sys

REFERENCE = "/usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3"
DOC_DIR = "/usr/share/doc/liblapack-dev/explore-html"
SWAP = {"s": "d", "d": "s", "c": "z", "z": "c"}


def reference_symbols(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True, check=True).stdout
    return sorted({l.split()[-1].split("@")[0] for l in out.splitlines() if len(l.split()) >= 3
                   and l.split()[-2] in "TtWwi"})


def blas_spec_names(path):
    names = set()
    for line in open(path):
        if line.strip() and not line.startswith("#"):
            names.add(line.split("|")[0].strip())
    return names


# ---- lapack.h ----

H_TYPES = [("lapack_complex_float", "ccomplex"), ("lapack_complex_double", "zcomplex"),
           ("lapack_logical", "blas_int"), ("lapack_int", "blas_int"), ("lapack_float_return", "float"),
           ("size_t", "blas_strlen")]


def norm_h_type(t):
    t = " ".join(t.split())
    if re.fullmatch(r"LAPACK_[SDCZ]_SELECT[123]", t):
        return "lapack_select"
    for a, b in H_TYPES:
        t = re.sub(r"\b%s\b" % a, b, t)
    ptr = t.count("*")
    base = t.replace("*", "").strip()
    const = "const" in base.split()
    base = " ".join(w for w in base.split() if w != "const")
    return ("const " if const else "") + base + "*" * ptr


def header_protos():
    defs = ["-DLAPACK_FORTRAN_STRLEN_END", "-DLAPACK_COMPLEX_CUSTOM",
            "-Dlapack_complex_float=lapack_complex_float", "-Dlapack_complex_double=lapack_complex_double",
            "-Dlapack_int=lapack_int", "-Dlapack_logical=lapack_logical", "-DLAPACK_GLOBAL(lc,UC)=lc##_"]
    text = subprocess.run(["gcc", "-E", "-P", "-x", "c", "-"] + defs, input="#include <lapack.h>\n",
                          capture_output=True, text=True, check=True).stdout
    text = " ".join(text.split())
    protos = {}
    for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_ \*]*?)\s*\b([a-z][a-z0-9_]*_)\s*\(([^()]*)\)\s*;", text):
        ret, name, params = m.group(1).strip(), m.group(2), m.group(3).strip()
        ret = ret.split()[-1] if ret.split()[0] in ("extern", "static") else ret
        plist = []
        for p in [p.strip() for p in params.split(",")] if params not in ("", "void") else []:
            pm = re.match(r"(.*?[\s\*])([A-Za-z_][A-Za-z0-9_]*)$", p)
            if pm and pm.group(2) not in ("size_t",) and not re.fullmatch(r"LAPACK_\w+|lapack_\w+|float|double|char|int", pm.group(2)):
                plist.append([norm_h_type(pm.group(1)), pm.group(2).lower()])
            else:
                plist.append([norm_h_type(p), None])
        # name the hidden lengths after the CHARACTER arguments, in order
        chars = [n for t, n in plist if t in ("const char*", "char*") and n]
        ci = 0
        for p in plist:
            if p[1] is None:
                p[1] = f"{chars[ci]}_len" if p[0] == "blas_strlen" and ci < len(chars) else f"p{plist.index(p) + 1}"
                ci += p[0] == "blas_strlen"
        protos[name] = (norm_h_type(ret), [tuple(p) for p in plist])
    return protos


# ---- the Doxygen documentation ----

def doc_protos(doc_dir):
    """{routine: (function kind, [(fortran type, NAME), ...])} from every <div class="memproto">."""
    out = {}
    for f in sorted(glob.glob(os.path.join(doc_dir, "**", "*.html"), recursive=True)):
        text = open(f, errors="replace").read()
        if "memproto" not in text:
            continue
        for m in re.finditer(r'<div class="memproto">(.*?)</table>', text, re.S):
            block = m.group(1)
            head = re.search(r'<td class="memname">(.*?)</td>', block, re.S)
            if not head:
                continue
            head = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", head.group(1))).split())
            hm = re.match(r"(.*?)\b(subroutine|function)\s+(\w+)$", head)
            if not hm:
                continue
            kind = (hm.group(1).replace("recursive", "").strip() + " " + hm.group(2)).strip()
            params = []
            for pm in re.finditer(r'<td class="paramtype">(.*?)</td>\s*<td class="paramname">(.*?)</td>', block, re.S):
                t = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", pm.group(1))).split())
                n = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", pm.group(2))).split()).rstrip(",) ").strip()
                params.append((t, n))
            name = hm.group(3).lower()
            if name not in out:
                out[name] = (kind, params)
    return out


def fortran_scalar(t, prec):
    """C spelling of a Fortran type (without dimension/intent attributes)."""
    t = re.sub(r",?\s*(dimension|intent)\s*\([^()]*(\([^()]*\)[^()]*)*\)", "", t).strip().rstrip(",").strip().lower()
    wp_real = "double" if prec in "dz" else "float"
    wp_cplx = "zcomplex" if prec in "dz" else "ccomplex"
    table = {"integer": "blas_int", "logical": "blas_int", "real": "float", "double precision": "double",
             "complex": "ccomplex", "complex*16": "zcomplex", "double complex": "zcomplex",
             "real(wp)": wp_real, "complex(wp)": wp_cplx, "real(dp)": "double", "real(sp)": "float"}
    if t in table:
        return table[t]
    if t.startswith("character"):
        return "char"
    if "external" in t:
        return "lapack_select"
    raise ValueError(f"unknown Fortran type {t!r}")


def doc_to_c(name, kind, params):
    prec = name[0] if name[0] in "sdcz" else "d"
    args, lens = [], []
    ret = "void"
    k = kind.replace(" function", "").strip() if kind.endswith("function") else None
    if k is not None:
        ck = fortran_scalar(k, prec)
        if ck == "char":  # CHARACTER function: result buffer and its length come first
            args += [("char*", "ret"), ("blas_strlen", "ret_len")]
        else:
            ret = ck
    for t, n in params:
        c = fortran_scalar(t, prec)
        n = n.lower()
        if c == "char":
            args.append(("const char*", n))
            lens.append(("blas_strlen", n + "_len"))
        elif c == "lapack_select":
            args.append((c, n))
        else:
            args.append((c + "*", n))
    return ret, args + lens


def swap_precision(proto):
    sw = {"double": "float", "float": "double", "zcomplex": "ccomplex", "ccomplex": "zcomplex"}
    def s(t):
        return re.sub(r"\b(double|float|zcomplex|ccomplex)\b", lambda m: sw[m.group(1)], t)
    ret, params = proto
    return s(ret), [(s(t), n) for t, n in params]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", default=REFERENCE)
    ap.add_argument("--doc-dir", default=DOC_DIR)
    ap.add_argument("--blas-spec", default=os.path.join(here, "..", "spec", "abi", "blas.txt"))
    ap.add_argument("--out", default=os.path.join(here, "..", "spec", "abi", "lapack.txt"))
    a = ap.parse_args()
    if not os.path.isdir(a.doc_dir):
        sys.exit(f"{a.doc_dir} missing: apt-get install liblapack-doc")
    ref = reference_symbols(a.reference)
    in_blas = blas_spec_names(a.blas_spec)
    hdr = header_protos()
    docs = doc_protos(a.doc_dir)
    doc_c = {}
    for n, (kind, params) in docs.items():
        try:
            doc_c[n + "_"] = doc_to_c(n, kind, params)
        except ValueError as e:
            print(f"note: doc prototype of {n} not usable: {e}", file=sys.stderr)

    def known(sym):
        if sym in hdr:
            return hdr[sym], "lapack.h"
        if sym in doc_c:
            return doc_c[sym], "doc"
        return None, None

    lines, counts, generic = [], {}, []
    for sym in ref:
        if sym in in_blas:
            continue
        proto, src = known(sym)
        if proto is None and sym[0] in SWAP and sym.endswith("_"):
            twin = SWAP[sym[0]] + sym[1:]
            tp, tsrc = known(twin)
            if tp is not None:
                proto, src = swap_precision(tp), f"sibling {twin} ({tsrc})"
        mm = re.fullmatch(r"__(\w+?)_MOD_(\w+)", sym)
        if proto is None and mm:
            proto, tsrc = known(mm.group(2) + "_")
            if proto is not None:
                src = f"module {mm.group(1)}: {mm.group(2)}_ ({tsrc})"
        if proto is None:
            lines.append(f"{sym} | lapack-any | | | none")
            generic.append(sym)
            counts["none"] = counts.get("none", 0) + 1
            continue
        ret, params = proto
        ps = ", ".join(f"{t} {n}" for t, n in params)
        lines.append(f"{sym} | lapack | {ret} | {ps} | {src}")
        key = src.split()[0]
        counts[key] = counts.get(key, 0) + 1
    not_exported = sorted(s for s in hdr if s not in ref and s not in in_blas)
    with open(a.out, "w") as f:
        f.write("# Generated once by tools/import_lapack_abi.py; reviewed and committed. Do not edit by hand.\n")
        f.write(f"# Symbols: exactly those of Debian's reference liblapack.so.3 (3.11.0), {len(lines)} here plus\n")
        f.write("# xerbla_, xerbla_array_ and lsame_, which spec/abi/blas.txt has (exported once).\n")
        f.write("# symbol | group | return type | parameters | source of the prototype\n")
        f.write("# sources: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + "\n")
        f.write(f"# lapack.h declares {len(not_exported)} routines the reference library does not export "
                f"(not imported): {' '.join(not_exported)}\n")
        f.write("# group lapack: forwarded with its prototype; lapack-any: no source describes it, forwarded\n")
        f.write("# by a generic tail-call entry point (codegen/generate.py).\n")
        for l in lines:
            f.write(l + "\n")
    print(f"{len(lines)} symbols -> {a.out}; sources: {counts}")
    if generic:
        print("generic (no prototype): " + " ".join(generic))


if __name__ == "__main__":
    main()
