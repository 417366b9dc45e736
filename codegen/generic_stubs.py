"""Generic entry points: exported functions rcpu knows no prototype for (spec groups lapack-any and
fftw-internal), written in assembly for each target the client builds on.

A stub saves every register that may carry an argument (x86-64 System V: the six integer registers,
%xmm0-7 and %rax, which variadic callers set; AArch64 AAPCS64: x0-x8 and q0-q7), calls
`resolver(index)` for the local library's function, restores the registers and jumps to it: a tail
call, so stack arguments, the return address and any kind of return value pass through untouched.
The stack stays 16-byte aligned around the call on both targets, as each ABI requires.
"""


def stubs(entries, resolver, what):
    """entries: (name, index, aliases) for each stub. Returns C++ lines (a top-level asm block per
    target, selected by the preprocessor)."""
    if not entries:
        return []
    out = [f"// Generic entry points ({what}): see codegen/generic_stubs.py.",
           f'extern "C" void* {resolver}(unsigned index);',
           "#if defined(__x86_64__)", 'asm(R"(', "    .text"]
    for name, index, aliases in entries:
        out += x86_64(name, index, resolver) + alias_lines(name, aliases, "@function")
    out += [')");', "#elif defined(__aarch64__)", 'asm(R"(', "    .text"]
    for name, index, aliases in entries:
        out += aarch64(name, index, resolver) + alias_lines(name, aliases, "%function")
    out += [')");', "#else", '#error "rcpu: no generic entry points for this target (codegen/generic_stubs.py)"',
            "#endif", ""]
    return out


def alias_lines(name, aliases, kind):
    out = []
    for a in aliases:
        out += [f"    .globl {a}", f"    .type {a}, {kind}", f"    .set {a}, {name}"]
    return out


def x86_64(name, index, resolver):
    out = [f"    .globl {name}", f"    .type {name}, @function", "    .p2align 4", f"{name}:", "    .cfi_startproc",
           "    pushq %rdi", "    pushq %rsi", "    pushq %rdx", "    pushq %rcx", "    pushq %r8",
           "    pushq %r9", "    pushq %rax",  # 7 pushes: %rsp is 16-byte aligned again
           "    .cfi_adjust_cfa_offset 56", "    subq $128, %rsp", "    .cfi_adjust_cfa_offset 128"]
    out += [f"    movdqu %xmm{i}, {16 * i}(%rsp)" for i in range(8)]
    out += [f"    movl ${index}, %edi", f"    call {resolver}@PLT", "    movq %rax, %r11"]
    out += [f"    movdqu {16 * i}(%rsp), %xmm{i}" for i in range(8)]
    out += ["    addq $128, %rsp", "    .cfi_adjust_cfa_offset -128",
            "    popq %rax", "    popq %r9", "    popq %r8", "    popq %rcx", "    popq %rdx", "    popq %rsi",
            "    popq %rdi", "    .cfi_adjust_cfa_offset -56",
            "    jmp *%r11", "    .cfi_endproc", f"    .size {name}, .-{name}"]
    return out


def aarch64(name, index, resolver):
    # 224 bytes: x29/x30, x0-x8 (with one pad slot), q0-q7.
    out = [f"    .globl {name}", f"    .type {name}, %function", "    .p2align 4", f"{name}:", "    .cfi_startproc",
           "    stp x29, x30, [sp, #-224]!", "    .cfi_def_cfa_offset 224", "    .cfi_offset 29, -224",
           "    .cfi_offset 30, -216", "    mov x29, sp",
           "    stp x0, x1, [sp, #16]", "    stp x2, x3, [sp, #32]", "    stp x4, x5, [sp, #48]",
           "    stp x6, x7, [sp, #64]", "    str x8, [sp, #80]",
           "    stp q0, q1, [sp, #96]", "    stp q2, q3, [sp, #128]", "    stp q4, q5, [sp, #160]",
           "    stp q6, q7, [sp, #192]",
           f"    mov w0, #{index & 0xffff}"]
    if index > 0xffff:
        out.append(f"    movk w0, #{index >> 16}, lsl #16")
    out += [f"    bl {resolver}", "    mov x16, x0",
            "    ldp q6, q7, [sp, #192]", "    ldp q4, q5, [sp, #160]", "    ldp q2, q3, [sp, #128]",
            "    ldp q0, q1, [sp, #96]", "    ldr x8, [sp, #80]", "    ldp x6, x7, [sp, #64]",
            "    ldp x4, x5, [sp, #48]", "    ldp x2, x3, [sp, #32]", "    ldp x0, x1, [sp, #16]",
            "    ldp x29, x30, [sp], #224", "    .cfi_def_cfa_offset 0", "    .cfi_restore 29", "    .cfi_restore 30",
            "    br x16", "    .cfi_endproc", f"    .size {name}, .-{name}"]
    return out


def main():
    """Writes a translation unit of stubs: generic_stubs.py --resolver NAME --out FILE NAME...
    (the stubs' unit test builds its own; index i is the i-th name)."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--resolver", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("names", nargs="+")
    a = ap.parse_args()
    lines = stubs([(n, i, []) for i, n in enumerate(a.names)], a.resolver, "test stubs")
    with open(a.out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
