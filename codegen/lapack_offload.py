"""The LAPACK half of rcpu's generator (issue #5): reads spec/offload/lapack.txt (see its header)
and writes, for every offloaded routine,
  lapack_offload.cpp   its LapackRoutine (src/common/lapack.h): options, dimensions, operand shapes,
                       argument checks, flop count -- what both ends share
  lapack_cpu_calls.cpp the CPU backend's call of the routine itself (OpenBLAS's LAPACK), with a
                       workspace query for its workspaces
and the client entry point (entry_point(), called by generate.py for lapack_exports.cpp)."""
import re
import sys

DIMS = ("m", "n", "k", "nrhs")
WORKSPACE = ("work", "lwork", "iwork", "liwork", "rwork", "lrwork")
LENGTH_OF = {"work": "lwork", "iwork": "liwork", "rwork": "lrwork"}
CTYPE = {"s": "float", "d": "double", "c": "rcpu::abi::ccomplex", "z": "rcpu::abi::zcomplex"}
RTYPE = {"s": "float", "d": "double", "c": "float", "z": "double"}
DTYPES = "sdcz"


class Family:
    def __init__(self, name, members, opcode, valid, flops, ops, scratch, local_if_info, text, auto_scale=1.0):
        self.name, self.members, self.opcode = name, members, opcode
        self.valid, self.flops, self.ops, self.scratch = valid, flops, ops, scratch
        self.local_if_info, self.text = local_if_info, text
        self.auto_scale = auto_scale


def parse(path):
    """Families of spec/offload/lapack.txt, in file order."""
    logical, cur = [], ""
    for raw in open(path):
        line = raw.rstrip("\n")
        if line.lstrip().startswith("#") and not cur:
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        if cur.strip():
            logical.append(re.sub(r"\s+", " ", cur.strip()))
        cur = ""
    fams = []
    for line in logical:
        parts = [p.strip() for p in line.split(" | ")]
        head = parts[0].split()
        if head[0] != "lapack" or len(head) != 2:
            sys.exit(f"{path}: unknown line: {line}")
        members = parts[1].split()
        if len(members) != 4 or [m[0] for m in members] != list(DTYPES):
            sys.exit(f"{path}: {head[1]}: members must be the s, d, c, z routines in that order")
        opcode = int(parts[2], 16)
        fields = {}
        local_if_info = False
        for p in parts[3:]:
            if p == "local-if-info":
                local_if_info = True
                continue
            key, _, value = p.partition(":")
            fields[key.strip()] = value.strip()
        for key in ("valid", "flops", "ops"):
            if key not in fields:
                sys.exit(f"{path}: {head[1]}: no {key}:")
        ops = []
        for spec in [o.strip() for o in fields["ops"].split(";") if o.strip()]:
            name, _, rest = spec.partition(" ")
            attrs = dict((k, v.strip()) for k, v in re.findall(r"(\w+)=(.*?)(?=\s+\w+=|$)", rest))
            for key in ("role", "type", "rows", "cols"):
                if key not in attrs:
                    sys.exit(f"{path}: {head[1]}: operand {name} has no {key}=")
            if attrs["role"] not in ("in", "out", "inout") or attrs["type"] not in ("T", "R", "I"):
                sys.exit(f"{path}: {head[1]}: operand {name}: bad role or type")
            attrs["name"] = name
            ops.append(attrs)
        scratch = {}
        for item in [s.strip() for s in fields.get("scratch", "").split(";") if s.strip()]:
            k, _, v = item.partition("=")
            scratch[k.strip()] = v.strip()
        try:
            auto_scale = float(fields.get("auto-scale", "1"))
        except ValueError:
            sys.exit(f"{path}: {head[1]}: auto-scale must be a number")
        if not auto_scale > 0:
            sys.exit(f"{path}: {head[1]}: auto-scale must be positive")
        fams.append(Family(head[1], members, opcode, fields["valid"], fields["flops"], ops, scratch,
                           local_if_info, line, auto_scale))
    return fams


def opcodes(fams):
    """[(code, routine name without '_')] of every member."""
    return [(f.opcode + i, m[:-1]) for f in fams for i, m in enumerate(f.members)]


def classify(fam, sym):
    """Splits a member's prototype into options, dimensions, operands, workspace, info."""
    opnames = {o["name"] for o in fam.ops}
    lds = {o.get("ld") for o in fam.ops if o.get("ld")}
    opts, dims, work = [], [], []
    for t, n in sym.params:
        if t == "blas_strlen" or n in opnames or n in lds:
            continue
        if n == "info":
            continue
        if n in WORKSPACE:
            work.append(n)
        elif t == "const char*":
            opts.append(n)
        elif n in DIMS:
            dims.append(n)
        else:
            sys.exit(f"spec/offload/lapack.txt: {sym.name}: argument {n} ({t}) is not described")
    names = sym.param_names
    for o in fam.ops:
        if o["name"] not in names or (o.get("ld") and o["ld"] not in names):
            sys.exit(f"spec/offload/lapack.txt: {sym.name}: operand {o['name']} is not an argument")
    if "info" not in names:
        sys.exit(f"spec/offload/lapack.txt: {sym.name}: no info argument")
    return opts, dims, work


def elem_size(kind, dt):
    return {"T": {"s": 4, "d": 8, "c": 8, "z": 16}[dt], "R": {"s": 4, "d": 8, "c": 4, "z": 8}[dt], "I": 4}[kind]


def _vars(opts, dims, dt, numeric="std::int64_t"):
    lines = [f"  [[maybe_unused]] const char {o} = x.opts[{i}];" for i, o in enumerate(opts)]
    lines += [f"  [[maybe_unused]] const {numeric} {d} = {numeric}(x.dims[{i}]);" for i, d in enumerate(dims)]
    lines.append(f"  [[maybe_unused]] constexpr bool CPLX = {'true' if dt in 'cz' else 'false'};")
    return lines


def gen_offload(out_write, fams, by_name):
    lines = ["// Generated by codegen/generate.py from spec/offload/lapack.txt. Do not edit.",
             '#include "common/lapack.h"', "", "namespace rcpu {", "namespace {", "using namespace lapack_expr;", ""]
    table = []
    for fam in fams:
        for i, member in enumerate(fam.members):
            sym = by_name[member]
            dt = member[0]
            opts, dims, _ = classify(fam, sym)
            rn = member[:-1]
            lines.append(f"bool valid_{rn}(const LapackArgs& x) {{")
            lines += _vars(opts, dims, dt)
            lines += [f"  return {fam.valid};", "}"]
            lines.append(f"void shapes_{rn}(const LapackArgs& x, LapackOperand* o) {{")
            lines += _vars(opts, dims, dt)
            for j, op in enumerate(fam.ops):
                tri = op.get("tri", "0")
                lines.append(f'  o[{j}] = LapackOperand{{"{op["name"]}", Role::{op["role"]}, ElemKind::{op["type"]}, '
                             f'std::int64_t({op["rows"]}), std::int64_t({op["cols"]}), {elem_size(op["type"], dt)}, '
                             f'char({tri})}};')
            lines.append("}")
            lines.append(f"double flops_{rn}(const LapackArgs& x) {{")
            lines += _vars(opts, dims, dt, "double")
            lines += [f"  return double({fam.flops}) * (CPLX ? 4.0 : 1.0);", "}"]
            lines.append(f"constexpr const char* opts_{rn}[] = {{" + ", ".join(f'"{o}"' for o in opts) + ("" if opts else "nullptr") + "};")
            lines.append(f"constexpr const char* dims_{rn}[] = {{" + ", ".join(f'"{d}"' for d in dims) + "};")
            lines.append("")
            table.append(f'  {{0x{fam.opcode + i:04x}, "{rn}", "{fam.name}", Dtype::{dt}, {len(opts)}, {len(dims)}, '
                         f'{len(fam.ops)}, opts_{rn}, dims_{rn}, {"true" if fam.local_if_info else "false"}, '
                         f'&valid_{rn}, &shapes_{rn}, &flops_{rn}, {fam.auto_scale!r}}},')
    lines += ["constexpr LapackRoutine kRoutines[] = {"] + table + ["};", "}  // namespace", "",
              "const LapackRoutine* lapack_routine(std::uint32_t opcode) {",
              "  for (const LapackRoutine& r : kRoutines)",
              "    if (r.opcode == opcode) return &r;",
              "  return nullptr;", "}", "", "}  // namespace rcpu", ""]
    out_write("lapack_offload.cpp", lines)


def members(fams):
    """{member symbol: (family, index)}"""
    return {m: (f, i) for f in fams for i, m in enumerate(f.members)}


def entry_point(fam, index, sym):
    """The body of a client entry point: describe the call, then route::lapack."""
    opts, dims, work = classify(fam, sym)
    dt = sym.name[0]
    code = fam.opcode + index
    S = f"rcpu::Sym::{sym.name}"
    b = []
    b.append("  auto describe = [&](rcpu::client::LapackSite& x) {")
    b.append(f"    x.args.opcode = 0x{code:04x};")
    for i, o in enumerate(opts):
        b.append(f"    x.args.opts[{i}] = rcpu::upper(*{o});")
    for i, d in enumerate(dims):
        b.append(f"    x.args.dims[{i}] = *{d};")
    for j, op in enumerate(fam.ops):
        b.append(f"    x.ptr[{j}] = const_cast<void*>(static_cast<const void*>({op['name']}));")
        if op.get("ld"):
            b.append(f"    x.ld[{j}] = *{op['ld']};")
            b.append(f"    x.has_ld[{j}] = true;")
    b.append("    x.info = info;")
    b.append("  };")
    has_ws = any(w in work for w in ("lwork", "liwork", "lrwork"))
    if has_ws:
        # The local library's workspace query, with the application's other arguments: its answer
        # decides whether the application's workspace is enough, and is what WORK(1) (IWORK(1),
        # RWORK(1)) hold on exit.
        decl, call_args, enough, finish = [], [], ["q == 0"], []
        for w in ("work", "iwork", "rwork"):
            if w in work and LENGTH_OF[w] in work:
                decl.append(f"  std::remove_cv_t<std::remove_pointer_t<decltype({w})>> {w}_q{{}};")
                enough.append(f"*{LENGTH_OF[w]} >= rcpu::route::work_count({w}_q)")
                finish.append(f"{w}[0] = {w}_q;")
        for t, n in sym.params:
            if n in LENGTH_OF.values() and n in work:
                call_args.append("&minus_one")
            elif n in LENGTH_OF and LENGTH_OF[n] in work:
                call_args.append(f"&{n}_q")
            elif n == "info":
                call_args.append("&q")
            else:
                call_args.append(n)
        b += decl
        b.append("  auto query = [&]() -> bool {")
        b.append("    const rcpu::abi::blas_int minus_one = -1;")
        b.append("    rcpu::abi::blas_int q = 0;")
        b.append(f"    rcpu::route::call_local<{S}>({', '.join(call_args)});")
        b.append(f"    return {' && '.join(enough)};")
        b.append("  };")
        b += ["  auto finish = [&] {"] + [f"    {f}" for f in finish] + ["  };"]
    else:
        b += ["  auto query = [] {", "    return true;", "  };"]
        b.append("  auto finish = [] {};")
        # Workspaces without a length (none here without lwork) need nothing on the client.
    b.append(f"  return rcpu::route::lapack<{S}>(describe, query, finish, {', '.join(sym.param_names)});")
    return b


def gen_cpu_calls(out_write, fams, by_name):
    """The CPU backend: each routine called on the server's packed buffers (OpenBLAS's LAPACK)."""
    lines = ["// Generated by codegen/generate.py from spec/offload/lapack.txt and spec/abi/lapack.txt. Do not edit.",
             "// The CPU backend's LAPACK calls: every offloaded routine on packed operands, its workspaces",
             "// sized by a workspace query (LWORK = -1) or by the spec's scratch: sizes.",
             "#include <algorithm>", "#include <complex>", "#include <cstdint>", "#include <vector>", "",
             '#include "backends/cpu/lapack_cpu.h"', '#include "common/abi_types.h"', "",
             "using rcpu::abi::blas_int;", "using rcpu::abi::blas_strlen;", "using rcpu::abi::ccomplex;",
             "using rcpu::abi::zcomplex;", "", 'extern "C" {']
    for fam in fams:
        for m in fam.members:
            lines.append(f"{by_name[m].proto()};")
    lines += ["}", "", "namespace rcpu::backend {", "namespace {", "using namespace rcpu::lapack_expr;", "",
              "std::int64_t count_of(float v) { return std::int64_t(v); }",
              "std::int64_t count_of(double v) { return std::int64_t(v); }",
              "std::int64_t count_of(ccomplex v) { return std::int64_t(v.real()); }",
              "std::int64_t count_of(zcomplex v) { return std::int64_t(v.real()); }",
              "std::int64_t count_of(blas_int v) { return std::int64_t(v); }",
              "// Every workspace is charged to the server's memory budget before it is allocated (backend.h).",
              "template <class T> std::vector<T> scratch(std::int64_t n) {",
              "  const std::size_t count = std::size_t(std::max<std::int64_t>(1, n));",
              "  reserve_workspace(std::uint64_t(count) * sizeof(T), \"LAPACK workspace\");",
              "  return std::vector<T>(count);",
              "}",
              ""]
    cases = []
    for fam in fams:
        for i, member in enumerate(fam.members):
            sym = by_name[member]
            dt = member[0]
            rn = member[:-1]
            opts, dims, work = classify(fam, sym)
            ptype = {n: t for t, n in sym.params}
            opnames = {o["name"] for o in fam.ops}
            f = [f"std::int64_t call_{rn}(const LapackArgs& x, void* const* p) {{"]
            f += [f"  [[maybe_unused]] const char {o} = x.opts[{j}];" for j, o in enumerate(opts)]
            f += [f"  const blas_int {d} = blas_int(x.dims[{j}]);" for j, d in enumerate(dims)]
            f.append(f"  LapackOperand o[kMaxLapackOperands];")
            f.append(f"  lapack_routine(0x{fam.opcode + i:04x})->shapes(x, o);")
            for j, op in enumerate(fam.ops):
                base = ptype[op["name"]].replace("const ", "")
                f.append(f"  auto* {op['name']} = static_cast<{base}>(p[{j}]);")
                if op.get("ld"):
                    f.append(f"  const blas_int {op['ld']} = blas_int(std::max<std::int64_t>(1, o[{j}].rows));")
            f.append("  blas_int info = 0;")
            lens = {n: "blas_strlen(1)" for t, n in sym.params if t == "blas_strlen"}
            has_query = any(LENGTH_OF[w] in work for w in ("work", "iwork", "rwork") if w in work)
            if has_query:
                f.append("  const blas_int minus_one = -1;")
                qargs = []
                for w in ("work", "iwork", "rwork"):
                    if w in work and LENGTH_OF[w] in work:
                        base = ptype[w].replace("*", "").strip()
                        f.append(f"  {base} {w}_q{{}};")
                    elif w in work:
                        base = ptype[w].replace("*", "").strip()
                        if w not in fam.scratch:
                            sys.exit(f"spec/offload/lapack.txt: {member}: {w} has no length: give scratch: {w}=")
                        sz = fam.scratch[w]
                        for d in dims:
                            sz = re.sub(rf"\b{d}\b", f"std::int64_t({d})", sz)
                        f.append(f"  std::vector<{base}> {w}_v = scratch<{base}>({sz});")
                for t, n in sym.params:
                    if n in LENGTH_OF.values() and n in work:
                        qargs.append("&minus_one")
                    elif n in LENGTH_OF and n in work:
                        qargs.append(f"&{n}_q" if LENGTH_OF[n] in work else f"{n}_v.data()")
                    elif n == "info":
                        qargs.append("&info")
                    elif t == "blas_strlen":
                        qargs.append(lens[n])
                    elif n not in opnames and (t.startswith("const blas_int") or t == "const char*"):
                        qargs.append(f"&{n}")
                    else:
                        qargs.append(n)
                f.append(f"  {sym.name}({', '.join(qargs)});")
                f.append("  if (info != 0) return info;")
                for w in ("work", "iwork", "rwork"):
                    if w in work and LENGTH_OF[w] in work:
                        base = ptype[w].replace("*", "").strip()
                        f.append(f"  std::vector<{base}> {w}_v = scratch<{base}>(count_of({w}_q));")
                        f.append(f"  const blas_int {LENGTH_OF[w]}_v = blas_int({w}_v.size());")
            else:
                for w in ("work", "iwork", "rwork"):
                    if w in work:
                        base = ptype[w].replace("*", "").strip()
                        if w not in fam.scratch:
                            sys.exit(f"spec/offload/lapack.txt: {member}: {w} has no length: give scratch: {w}=")
                        sz = fam.scratch[w]
                        for d in dims:
                            sz = re.sub(rf"\b{d}\b", f"std::int64_t({d})", sz)
                        f.append(f"  std::vector<{base}> {w}_v = scratch<{base}>({sz});")
            args = []
            for t, n in sym.params:
                if n in LENGTH_OF.values() and n in work:
                    args.append(f"&{n}_v")
                elif n in LENGTH_OF and n in work:
                    args.append(f"{n}_v.data()")
                elif n == "info":
                    args.append("&info")
                elif t == "blas_strlen":
                    args.append(lens[n])
                elif n not in opnames and (t.startswith("const blas_int") or t == "const char*"):
                    args.append(f"&{n}")
                else:
                    args.append(n)
            f.append(f"  {sym.name}({', '.join(args)});")
            f += ["  return info;", "}", ""]
            lines += f
            cases.append(f"    case 0x{fam.opcode + i:04x}: return call_{rn}(x, p);")
    lines += ["}  // namespace", "",
              "bool lapack_cpu_supports(std::uint32_t opcode) { return lapack_routine(opcode) != nullptr; }", "",
              "std::int64_t lapack_cpu_call(const LapackArgs& x, void* const* p) {",
              "  switch (x.opcode) {"] + cases + [
              "    default: throw BackendError(\"the CPU backend has no LAPACK routine for this opcode\");",
              "  }", "}", "", "}  // namespace rcpu::backend", ""]
    out_write("lapack_cpu_calls.cpp", lines)
