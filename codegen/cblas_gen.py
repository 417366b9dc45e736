"""The CBLAS half of rcpu's generator (called by codegen/generate.py; standard library only).

Writes the body of every CBLAS entry point of a Level-2/3 family of spec/offload/blas.txt
(cblas_ + the Fortran member's name without "_"), from its prototype in spec/abi/blas.txt. Each
body does what netlib's CBLAS does with the call, in the same steps for every routine:
  1. a call from inside the local library goes straight back to it (the re-entry guard);
  2. rcpu::cblas::plan::<family> (src/client/blas/cblas_plan.h) decides, from the enumeration and
     integer arguments in prototype order, which errors netlib reports and the Fortran-order call
     it makes; an invalid call is reported (rcpu::cblas::report) and ends there;
  3. Level 2 runs on the local library's own cblas_* entry point with the caller's arguments,
     except for the vectors netlib hands over as a contiguous copy (the plan's x_copy / y_copy),
     which the local library gets explicit when their increment is 0 (rcpu::cblas::vector_arg);
  4. Level 3 goes through rcpu::route::run_level3 with the plan's column-major Level3Args, its
     scalars widened, and the operands in Fortran order (row-major gemm swaps A and B), so that it
     may run remotely.
The helpers are hand-written in src/client/blas/cblas_adapters.h.
"""

# The one plan argument that is not in the prototype: whether xGER conjugates (cblas_?gerc).
EXTRA_PLAN_ARGS = {"ger": lambda name: "true" if name.endswith("gerc") else "false"}
# Names the generated body declares; a prototype using one of them would be shadowed.
LOCALS = {"S", "dt", "f", "v", "x_arg", "y_arg", "trans"}


def _is_plan_arg(ptype):
    """Enumerations and integers (by value) are what a plan decides on."""
    t = ptype.replace("const ", "").strip()
    return t == "blas_int" or t.startswith("CBLAS_")


def entry_point(s, fam, level, pointers):
    """The body lines of the CBLAS entry point `s` (a Symbol of generate.py) of family `fam`.

    pointers: the Fortran operand names generate.level3_pointers gives the family's Fortran
    members ("a", "b" or "nullptr", "c" or "b"): the Level-3 A, B and C (the output), the same rule
    for both interfaces."""
    names = s.param_names
    clash = LOCALS & set(names)
    if clash:
        raise SystemExit(f"{s.name}: argument names {sorted(clash)} clash with the generated body")
    dt = s.name[len("cblas_")]
    if dt not in "sdcz":
        raise SystemExit(f"{s.name}: not a typed CBLAS routine")
    plan_args = [n for t, n in s.params if _is_plan_arg(t)]
    if fam in EXTRA_PLAN_ARGS:
        plan_args.insert(1, EXTRA_PLAN_ARGS[fam](s.name))  # after the layout
    all_args = ", ".join(names)
    call = "F77Call2" if level == 2 else "F77Call3"
    b = [f"  constexpr rcpu::Sym S = rcpu::Sym::{s.name};",
         f"  constexpr rcpu::Dtype dt = rcpu::Dtype::{dt};",
         "  if (rcpu::route::inside_local()) {",
         f"    return rcpu::route::call_local<S>({all_args});",
         "  }",
         f"  rcpu::cblas::{call} f;",
         f"  const rcpu::cblas::Verdict v = rcpu::cblas::plan::{fam}(dt, {', '.join(plan_args)}, f);",
         "  if (!v.ok()) [[unlikely]] {",
         "    return rcpu::cblas::report<S>(v);",
         "  }",
         "  rcpu::cblas::leave();"]
    if level == 2:
        b += _level2_tail(s)
    else:
        b += _level3_tail(names, pointers)
    return b


def _level2_tail(s):
    names = s.param_names
    types = {n: t for t, n in s.params}
    args = list(names)
    b = []
    # The vectors netlib may copy, those the routine only reads (a copy of an output would lose
    # the results): X as long as M where the routine has M (gemv, gbmv), else N; Y (ger, her2,
    # hpr2) as long as N.
    for vec, inc, flag, length, var in (("X", "incX", "x_copy", "M" if "M" in names else "N", "x_arg"),
                                        ("Y", "incY", "y_copy", "N", "y_arg")):
        if vec in names and inc in names and types[vec].startswith("const "):
            b.append(f"  const auto {var} = rcpu::cblas::vector_arg<S>(f.{flag}, {vec}, {inc}, {length});")
            args[args.index(vec)] = f"{var}.ptr()"
            args[args.index(inc)] = f"{var}.inc()"
    b.append(f"  return rcpu::route::local<S>({', '.join(args)});")
    return b


def _level3_tail(names, pointers):
    b = ["  f.x.alpha = rcpu::cblas::scalar<dt>(alpha);",
         "  if (f.conj_alpha) {",
         "    f.x.alpha = std::conj(f.x.alpha);",
         "  }"]
    if "beta" in names:
        b.append("  f.x.beta = rcpu::cblas::scalar<dt>(beta);")
    args = list(names)
    if "Trans" in names:
        # The local library's CBLAS rejects two values netlib accepts: the plan's equivalent.
        b.append("  const auto trans = f.local_trans ? static_cast<decltype(Trans)>(f.local_trans) : Trans;")
        args[args.index("Trans")] = "trans"
    a_ptr, b_ptr, c_ptr = (p.upper() if p != "nullptr" else p for p in pointers)
    for p in (a_ptr, b_ptr, c_ptr):
        if p != "nullptr" and p not in names:
            raise SystemExit(f"CBLAS Level-3 routine without the operand {p}")
    if b_ptr != "nullptr":
        # Row-major gemm: the Fortran call's A is the CBLAS B and its B the CBLAS A.
        a_ptr, b_ptr = f"f.swap_ab ? {b_ptr} : {a_ptr}", f"f.swap_ab ? {a_ptr} : {b_ptr}"
    b.append(f"  rcpu::route::run_level3<S>(f.x, {a_ptr}, {b_ptr}, {c_ptr}, {', '.join(args)});")
    return b
