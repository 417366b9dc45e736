#!/usr/bin/env python3
"""rcpu's build-time generator (Python 3 standard library only; its output is never committed).

Reads  spec/abi/*.txt      every exported symbol with its prototype (blas.txt, lapack.txt, ...)
       spec/offload/*.txt  routine families (argument checks, Level-3 offload) and wire opcodes
Writes into the output folder:
  rcpu_opcodes.h/.cpp   opcode enum, (family, type) <-> opcode, the table text hashed in the handshake
  blas_symbols.h        enum Sym of every forwarded symbol, its function type, name and library
                        (BLAS or LAPACK: route::local opens the matching local library)
  blas_exports.cpp      the exported entry points of BLAS/CBLAS and (lapack_exports.cpp) of LAPACK:
  lapack_exports.cpp    each a call into a routing template of src/client/core/local_route.h,
                        src/client/blas/blas_route.h or src/client/lapack/lapack_route.h, or
                        (CBLAS Level 2/3) an adapter written by codegen/cblas_gen.py; plus the
                        bare-name aliases (dgemm beside dgemm_, dgetrf beside dgetrf_);
                        symbols of group lapack-any (no prototype known) get a generic entry point
                        in assembly that tail-calls the local library (see gen_generic_stubs)
  librcpu.map           linker version script: the ABI symbols global, everything else local
  expected_symbols.txt  every symbol the shim must export (the coverage test reads it)
  fftw_symbols.h, fftw_exports.cpp   the FFTW entry points (codegen/fftw_gen.py)
  level3_cpu_calls.cpp, lapack_families.h   the backends' tables (codegen/backend_gen.py)
"""
import argparse, os, re, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lapack_offload  # noqa: E402  (spec/offload/lapack.txt: remote LAPACK routines)
import fftw_gen  # noqa: E402  (the FFTW entry points: codegen/fftw_gen.py)
import backend_gen  # noqa: E402  (the backends' tables: codegen/backend_gen.py)
import cblas_gen  # noqa: E402  (the CBLAS adapters: codegen/cblas_gen.py)
import generic_stubs  # noqa: E402  (tail-calling entry points without a prototype)

L3_FIELD = {"side": "side", "uplo": "uplo", "transa": "transa", "trans": "transa", "transb": "transb",
            "diag": "diag", "m": "m", "n": "n", "k": "k", "lda": "lda", "ldb": "ldb", "ldc": "ldc"}
CHAR_ARGS = {"side", "uplo", "transa", "transb", "trans", "diag"}
DTYPE = {"s": "float", "d": "double", "c": "std::complex<float>", "z": "std::complex<double>"}
REAL_OF = {"s": "float", "d": "double", "c": "float", "z": "double"}


class Symbol:
    def __init__(self, name, group, ret, params):
        self.name, self.group, self.ret, self.params = name, group, ret, params

    @property
    def param_names(self):
        return [n for t, n in self.params if t != "..."]

    def proto(self, name=None):
        ps = ", ".join(f"{t} {n}" if t != "..." else "..." for t, n in self.params)
        return f"{self.ret} {name or self.name}({ps})"

    def fn_type(self):
        return f"{self.ret} (*)(" + ", ".join(t for t, n in self.params) + ")"


CXX_KEYWORDS = {"and", "or", "not", "xor", "bitand", "bitor", "compl", "and_eq", "or_eq", "xor_eq", "not_eq",
                "new", "delete", "this", "class", "template", "typename", "register", "default", "case",
                "char", "int", "float", "double", "long", "short", "signed", "unsigned", "void", "auto",
                "const", "volatile", "static", "extern", "union", "struct", "enum", "operator", "private",
                "public", "protected", "friend", "virtual", "inline", "return", "goto", "if", "else", "for",
                "while", "do", "switch", "break", "continue", "sizeof", "try", "catch", "throw", "using",
                "namespace", "explicit", "export", "mutable", "bool", "true", "false", "asm", "concept",
                "requires", "module", "import"}
LAPACK_GROUPS = ("lapack", "lapack-any")


def parse_abi(path):
    syms = []
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|")]
        name, group, ret, params = parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else ""
        plist = []
        for p in [p.strip() for p in params.split(",") if p.strip()]:
            if p == "...":
                plist.append(("...", ""))
                continue
            m = re.match(r"(.*?)([A-Za-z_][A-Za-z0-9_]*)$", p)
            pname = m.group(2) + ("_" if m.group(2) in CXX_KEYWORDS else "")
            plist.append((m.group(1).strip(), pname))
        syms.append(Symbol(name, group, ret, plist))
        syms[-1].extra = parts[4] if len(parts) > 4 else ""  # fftw.txt: the reference library
    return syms


def parse_offload(path):
    families, opcodes, derived = {}, [], {}
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|")]
        head = parts[0].split()
        if head[0] == "family":
            fam = head[1]
            level = int(parts[1].split()[1])
            members = parts[2].split()
            check = parts[3].split(":", 1)[1].split()
            families[fam] = {"level": level, "members": members, "check": check}
        elif head[0] == "derive":
            derived[head[1]] = parts[1].split()[1]
        elif head[0] == "opcode":
            opcodes.append((int(head[1], 16), parts[1]))
        else:
            sys.exit(f"{path}: unknown line: {line}")
    codes = [c for c, _ in opcodes]
    if len(set(codes)) != len(codes):
        sys.exit(f"{path}: an opcode is used twice")
    return families, opcodes, derived


def member_index(families):
    idx = {}
    for fam, info in families.items():
        for m in info["members"]:
            idx[m] = fam
            idx["cblas_" + m[:-1]] = fam
    return idx


def gen_opcodes(out, opcodes, lapack_fams=()):
    h = ["// Generated by codegen/generate.py from spec/offload/*.txt. Do not edit.", "#pragma once",
         "#include <cstdint>", "#include <optional>", '#include "common/level3.h"', "", "namespace rcpu {", "",
         "enum class Opcode : std::uint32_t {"]
    h += [f"  {name} = 0x{code:04x}," for code, name in opcodes + lapack_offload.opcodes(lapack_fams)]
    h += ["};", "",
          "// The opcode of a Level-3 routine, if it may run remotely.",
          "std::optional<std::uint32_t> level3_opcode(L3Family family, Dtype dtype);",
          "// The routine an opcode names, if it is a Level-3 routine.",
          "bool level3_from_opcode(std::uint32_t opcode, L3Family& family, Dtype& dtype);",
          "// Level-3 and LAPACK (spec/offload/lapack.txt) routines alike.",
          "const char* opcode_name(std::uint32_t opcode);",
          "// The whole table as text; both ends hash it in the handshake so mismatched builds fail early.",
          "extern const char kOpcodeTable[];", "", "}  // namespace rcpu", ""]
    fams = ["gemm", "symm", "hemm", "syrk", "herk", "syr2k", "her2k", "trmm", "trsm"]
    c = ["// Generated by codegen/generate.py from spec/offload/*.txt. Do not edit.",
         '#include "rcpu_opcodes.h"', "", "namespace rcpu {", "",
         "namespace {", "struct Entry { std::uint32_t code; const char* name; L3Family family; Dtype dtype; };",
         "constexpr Entry kEntries[] = {"]
    for code, name in opcodes:
        fam, dt = name[1:], name[0]
        if name.startswith("fft_"):
            continue  # FFT opcodes (spec/offload/fftw.txt): named in the table, not Level-3 entries
        if fam not in fams:
            sys.exit(f"opcode {name}: not a Level-3 routine")
        c.append(f'  {{0x{code:04x}, "{name}", L3Family::{fam}, Dtype::{dt}}},')
    c += ["};", "}  // namespace", "",
          "std::optional<std::uint32_t> level3_opcode(L3Family family, Dtype dtype) {",
          "  for (const Entry& e : kEntries)",
          "    if (e.family == family && e.dtype == dtype) return e.code;",
          "  return std::nullopt;", "}", "",
          "bool level3_from_opcode(std::uint32_t opcode, L3Family& family, Dtype& dtype) {",
          "  for (const Entry& e : kEntries)",
          "    if (e.code == opcode) { family = e.family; dtype = e.dtype; return true; }",
          "  return false;", "}", "",
          "const char* opcode_name(std::uint32_t opcode) {",
          "  for (const Entry& e : kEntries)",
          "    if (e.code == opcode) return e.name;",
          "  switch (opcode) {"] + [f'    case 0x{code:04x}: return "{name}";' for code, name in
                                   lapack_offload.opcodes(lapack_fams) + [o for o in opcodes if o[1].startswith("fft_")]] + [
          "  }",
          '  return "unknown";', "}", "",
          "const char kOpcodeTable[] ="]
    c += [f'    "0x{code:04x} {name}\\n"' for code, name in opcodes]
    # LAPACK: each family's whole spec line, so a change of shapes or roles changes the hash too.
    c += ['    "' + f.text.replace("\\", "\\\\").replace('"', '\\"') + '\\n"' for f in lapack_fams]
    c += ["    ;", "", "}  // namespace rcpu", ""]
    write(out, "rcpu_opcodes.h", h)
    write(out, "rcpu_opcodes.cpp", c)


def forwarded(syms):
    """Symbols with a typed entry point that forwards or routes."""
    return [s for s in syms if s.group in ("f77", "cblas", "lapack")]


def generic(syms):
    """Symbols without a known prototype: generic assembly entry points."""
    return [s for s in syms if s.group == "lapack-any"]


def in_sym_table(syms):
    return forwarded(syms) + generic(syms)


def has_bare_alias(s):
    """dgemm beside dgemm_, dgetrf beside dgetrf_; not gfortran module procedures (__m_MOD_p)."""
    return s.group in ("f77", "f77-hand", "lapack", "lapack-any") and s.name.endswith("_") and "_MOD_" not in s.name


def gen_symbols(out, syms):
    fw = in_sym_table(syms)
    h = ["// Generated by codegen/generate.py from spec/abi/*.txt. Do not edit.", "#pragma once",
         "#include \"common/abi_types.h\"", "", "namespace rcpu {", "", "using namespace abi;  // the spec's type names", "",
         "// Every symbol rcpu forwards to a local library or routes, in spec order.",
         "enum class Sym : unsigned {"]
    h += [f"  {s.name}," for s in fw]
    h += ["  count_", "};", "",
          "// Function type and name of each symbol, as the local library exports it.",
          "template <Sym S> struct SymInfo;"]
    for s in fw:
        fn = s.fn_type() if s.group != "lapack-any" else "void (*)()"
        h.append(f"template <> struct SymInfo<Sym::{s.name}> {{ using fn = {fn}; "
                 f'static constexpr const char* name = "{s.name}"; }};')
    h += ["", "inline constexpr const char* kSymNames[] = {"]
    h += [f'  "{s.name}",' for s in fw]
    h += ["};", "",
          "// Which local library runs each symbol: the local BLAS, or the local LAPACK.",
          "enum class SymLibrary : unsigned char { blas, lapack };",
          "inline constexpr SymLibrary kSymLibrary[] = {"]
    h += [f"  SymLibrary::{'lapack' if s.group in LAPACK_GROUPS else 'blas'}," for s in fw]
    h += ["};", "", "}  // namespace rcpu", ""]
    write(out, "blas_symbols.h", h)


def deref(name, typ):
    return f"*{name}"


def derived_symbols(syms, explicit):
    """Symbols rcpu computes through its own entry point of another symbol, because local libraries
    may lack them: netlib's "*sub" helpers (OpenBLAS has none) and the pairs listed in the spec."""
    names = {s.name for s in syms}
    derived = dict(explicit)
    for s in syms:
        if s.group == "f77" and s.name.endswith("sub_") and s.name[:-4] + "_" in names:
            derived[s.name] = s.name[:-4] + "_"
    return derived


def derived_body(s, src):
    call = f"{src.name}({', '.join(src.param_names)})"
    if s.name.endswith("sub_"):
        result = s.param_names[-1]
        rtype = src.ret if src.ret not in ("void",) else "void"
        return f"*static_cast<{rtype}*>(static_cast<void*>({result})) = {call};"
    return f"return {call};"


def gen_exports(out, syms, families, derived, lapack_fams=()):
    """blas_exports.cpp (BLAS and CBLAS) and lapack_exports.cpp (LAPACK and the generic entry
    points): two translation units, so that a two-core build compiles them side by side."""
    blas = [s for s in forwarded(syms) if s.group not in LAPACK_GROUPS]
    lapack = [s for s in forwarded(syms) if s.group in LAPACK_GROUPS]
    gen_export_file(out, "blas_exports.cpp", blas, syms, families, derived,
                    ['#include "client/blas/blas_checks.h"', '#include "client/blas/blas_route.h"',
                     '#include "client/blas/cblas_adapters.h"'])
    gen_export_file(out, "lapack_exports.cpp", lapack, syms, families, derived,
                    ["#include <type_traits>", '#include "client/lapack/lapack_route.h"'],
                    gen_generic_stubs(syms), lapack_offload.members(lapack_fams))


def gen_export_file(out, filename, entries, syms, families, derived, includes, tail=(), lapack_members=None):
    idx = member_index(families)
    by_name = {s.name: s for s in syms}
    lines = ["// Generated by codegen/generate.py from spec/abi/*.txt and spec/offload/*.txt. Do not edit.",
             "// Each entry point calls a routing template of src/client/ (core/local_route.h or its kind's).",
             '#include "blas_symbols.h"', '#include "client/core/local_route.h"'] + includes + [
             "", "using namespace rcpu::abi;", "",
             'extern "C" {', "", "// Every entry point, declared first: derived ones call others defined later in this file."]
    lines += [f"RCPU_EXPORT {s.proto()};" for s in entries]
    lines.append("")
    for s in entries:
        fam = idx.get(s.name)
        args = ", ".join(s.param_names)
        sym = f"rcpu::Sym::{s.name}"
        lines.append(f"RCPU_EXPORT {s.proto()} {{")
        derived_from = derived.get(s.name)
        if derived_from:
            lines.append("  " + derived_body(s, by_name[derived_from]))
        elif lapack_members and s.name in lapack_members:
            lines += lapack_offload.entry_point(*lapack_members[s.name], s)
        elif fam is None:
            lines.append(f"  return rcpu::route::local<{sym}>({args});")
        elif s.group == "cblas":
            lines += cblas_gen.entry_point(s, fam, families[fam]["level"], level3_pointers(s, fam))
        else:
            info = families[fam]
            dt = s.name[0]
            check_args = ", ".join(("rcpu::upper(*%s)" if a in CHAR_ARGS else "*%s") % a for a in info["check"])
            lines += ["  auto check = [&] {", f"    return rcpu::checks::{fam}(rcpu::Dtype::{dt}, {check_args});", "  };"]
            if info["level"] == 2:
                lines.append(f"  return rcpu::route::checked<{sym}>(check, {args});")
            else:
                lines += level3_builder(s, fam)
                a_ptr, b_ptr, c_ptr = level3_pointers(s, fam)
                lines.append(f"  return rcpu::route::level3<{sym}>(check, describe, {a_ptr}, {b_ptr}, {c_ptr}, {args});")
        lines.append("}")
        if has_bare_alias(s):
            lines.append(f'RCPU_EXPORT {s.proto(s.name[:-1])} __attribute__((alias("{s.name}")));')
        lines.append("")
    lines += ["}  // extern \"C\"", ""]
    lines += list(tail)
    write(out, filename, lines)


def gen_generic_stubs(syms):
    """Entry points for symbols no source gives a prototype for (group lapack-any): generic
    tail-calling stubs (codegen/generic_stubs.py) that ask rcpu_generic_target(index) for the local
    library's function, resolved once, by the same code as every other symbol. Being tail calls,
    they cannot time the call or hold the re-entry guard around it, so these calls are not traced,
    and their inner calls are routed as the application's own would be (locally: none of these
    auxiliary routines calls Level-3 BLAS, the only routines that go remote)."""
    index = {s.name: i for i, s in enumerate(in_sym_table(syms))}
    entries = [(s.name, index[s.name], [s.name[:-1]] if has_bare_alias(s) else []) for s in generic(syms)]
    return generic_stubs.stubs(entries, "rcpu_generic_target", "spec group lapack-any")


def level3_builder(s, fam):
    dt = s.name[0]
    names = s.param_names
    fields = []
    for n in names:
        if n in L3_FIELD:
            f = L3_FIELD[n]
            fields.append((f, f"rcpu::upper(*{n})" if n in CHAR_ARGS else f"*{n}"))
    real_alpha = fam == "herk"
    real_beta = fam in ("herk", "her2k")
    fields.append(("alpha", f"rcpu::widen(static_cast<const {REAL_OF[dt] if real_alpha else DTYPE[dt]}*>(static_cast<const void*>(alpha)))"))
    if "beta" in names:
        fields.append(("beta", f"rcpu::widen(static_cast<const {REAL_OF[dt] if real_beta else DTYPE[dt]}*>(static_cast<const void*>(beta)))"))
    return (["  auto describe = [&] {", "    rcpu::Level3Args x;", f"    x.family = rcpu::L3Family::{fam};",
             f"    x.dtype = rcpu::Dtype::{dt};"] + [f"    x.{f} = {v};" for f, v in fields] +
            ["    return x;", "  };"])


def level3_pointers(s, fam):
    if fam in ("trmm", "trsm"):
        return "a", "nullptr", "b"
    if fam in ("syrk", "herk"):
        return "a", "nullptr", "c"
    return "a", "b", "c"


def gen_version_script(out, syms):
    names = []
    for s in syms:
        names.append(s.name)
        if has_bare_alias(s):
            names.append(s.name[:-1])
    lines = ["/* Generated by codegen/generate.py. Export the ABI, hide everything else. */", "{", "  global:"]
    lines += [f"    {n};" for n in sorted(set(names))]
    lines += ["  local:", "    *;", "};", ""]
    write(out, "librcpu.map", lines)
    write(out, "expected_symbols.txt", sorted(set(names)) + [])


def write(out, name, lines):
    path = os.path.join(out, name)
    text = "\n".join(lines)
    if os.path.exists(path) and open(path).read() == text:
        return  # keep the timestamp: nothing to rebuild
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    # blas.txt first (its order is the Sym order the BLAS code was written against), then the rest.
    abi_files = sorted(f for f in os.listdir(os.path.join(a.spec, "abi")) if f.endswith(".txt"))
    abi_files.sort(key=lambda f: f != "blas.txt")
    syms = []
    for f in abi_files:
        syms += parse_abi(os.path.join(a.spec, "abi", f))
    seen = {}
    for s in syms:
        for n in [s.name] + ([s.name[:-1]] if has_bare_alias(s) else []):
            if n in seen:
                sys.exit(f"symbol {n} is exported twice (spec/abi: {seen[n]} and {s.name})")
            seen[n] = s.name
    families, opcodes, explicit_derived = parse_offload(os.path.join(a.spec, "offload", "blas.txt"))
    _, fft_opcodes, _ = parse_offload(os.path.join(a.spec, "offload", "fftw.txt"))
    opcodes += fft_opcodes
    if len({c for c, _ in opcodes}) != len(opcodes):
        sys.exit("spec/offload: an opcode is used twice")
    derived = derived_symbols(syms, explicit_derived)
    names = {s.name for s in syms}
    for fam, info in families.items():
        for m in info["members"]:
            if m not in names:
                sys.exit(f"family {fam}: {m} is not in the ABI spec")
    lapack_spec = os.path.join(a.spec, "offload", "lapack.txt")
    lapack_fams = lapack_offload.parse(lapack_spec) if os.path.exists(lapack_spec) else []
    by_name = {s.name: s for s in syms}
    for f in lapack_fams:
        for m in f.members:
            if m not in by_name:
                sys.exit(f"lapack {f.name}: {m} is not in the ABI spec")
    codes = [c for c, _ in opcodes] + [c for c, _ in lapack_offload.opcodes(lapack_fams)]
    if len(set(codes)) != len(codes):
        sys.exit("spec/offload: an opcode is used twice")
    gen_opcodes(a.out, opcodes, lapack_fams)
    lapack_offload.gen_offload(lambda name, lines: write(a.out, name, lines), lapack_fams, by_name)
    lapack_offload.gen_cpu_calls(lambda name, lines: write(a.out, name, lines), lapack_fams, by_name)
    gen_symbols(a.out, syms)
    for d, src in derived.items():
        if d not in names or src not in names:
            sys.exit(f"derive {d} from {src}: unknown symbol")
    gen_exports(a.out, syms, families, derived, lapack_fams)
    gen_version_script(a.out, syms)
    fftw_gen.gen_fftw(a.out, syms, write)
    backend_gen.gen_cpu_level3(lambda name, lines: write(a.out, name, lines), syms, families, L3_FIELD)
    backend_gen.gen_lapack_families(lambda name, lines: write(a.out, name, lines), lapack_fams)


if __name__ == "__main__":
    main()
