#!/usr/bin/python3
"""Debian's python3-pyfftw (an FFTW binding nobody here wrote) through the shim.

Run with the shim's folder first on LD_LIBRARY_PATH: pyfftw's extension module then loads rcpu as
libfftw3.so.3, libfftw3f.so.3 and libfftw3_omp.so.3 / libfftw3f_omp.so.3 (its long-double library
stays Debian's libfftw3l.so.3). Exercises pyfftw's own planning paths -- pyfftw.FFTW objects,
pyfftw.builders (fft, ifft, fft2, fftn, rfft, irfft, rfftn, irfftn), pyfftw.interfaces.numpy_fft --
on complex and real data of both precisions, many shapes, axes, strided views and several threads,
and compares each result with numpy.fft (pocketfft, independent of FFTW).
Prints one line per check; exit status 0 when all agree. Usage: pyfftw_through_shim.py
"""
import sys

import numpy as np
import pyfftw
import pyfftw.builders as builders
import pyfftw.interfaces.numpy_fft as npfft

rng = np.random.default_rng(12345)
failures = 0
checks = 0


def rand(shape, dtype):
    x = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def check(name, got, want, dtype):
    global failures, checks
    checks += 1
    tol = (2e-4 if dtype in (np.float32, np.complex64) else 1e-10) * max(1.0, np.abs(want).max())
    err = np.abs(got - want).max() if want.size else 0.0
    if got.shape != want.shape or not err <= tol:
        failures += 1
        print(f"FAIL {name}: shape {got.shape} vs {want.shape}, max error {err:.3g} (tolerance {tol:.3g})")
    else:
        print(f"ok   {name} (max error {err:.2g})")


for dtype in (np.complex128, np.complex64):
    for shape in [(2 ** 16,), (4096,), (997,), (1000,), (64, 64), (17, 31), (16, 8, 12), (5, 7, 9)]:
        a = rand(shape, dtype)
        ref = np.fft.fftn(a.astype(np.complex128))
        for threads in (1, 2):
            f = builders.fftn(a.copy(), threads=threads, planner_effort="FFTW_ESTIMATE")
            check(f"builders.fftn {dtype.__name__} {shape} threads={threads}", f(), ref, dtype)
        b = builders.ifftn(ref.astype(dtype), planner_effort="FFTW_ESTIMATE")
        check(f"builders.ifftn {dtype.__name__} {shape}", b(), np.fft.ifftn(ref), dtype)
    # pyfftw.FFTW objects directly: aligned arrays, in/out given, batched along an axis, update_arrays.
    a = pyfftw.empty_aligned((32, 1024), dtype=dtype)
    out = pyfftw.empty_aligned((32, 1024), dtype=dtype)
    plan = pyfftw.FFTW(a, out, axes=(1,), direction="FFTW_FORWARD", flags=("FFTW_ESTIMATE",))
    a[:] = rand(a.shape, dtype)
    plan()
    check(f"FFTW batch of 32 x 1024 axis 1 {dtype.__name__}", out, np.fft.fft(a.astype(np.complex128), axis=1), dtype)
    a2 = pyfftw.empty_aligned((32, 1024), dtype=dtype)
    out2 = pyfftw.empty_aligned((32, 1024), dtype=dtype)
    a2[:] = rand(a2.shape, dtype)
    plan(a2, out2)  # FFTW.__call__ with new arrays: fftw_execute_dft
    check(f"FFTW new arrays (execute_dft) {dtype.__name__}", out2, np.fft.fft(a2.astype(np.complex128), axis=1), dtype)
    # Axis 0 of a C-ordered array: strided transforms, interleaved batches.
    a = rand((512, 48), dtype)
    f = builders.fft(a, axis=0, planner_effort="FFTW_ESTIMATE")
    check(f"builders.fft axis 0 (strided) {dtype.__name__}", f(), np.fft.fft(a.astype(np.complex128), axis=0), dtype)
    # A non-contiguous view.
    big = rand((64, 200), dtype)
    view = big[::2, 10:138]
    out = pyfftw.empty_aligned(view.shape, dtype=dtype)
    f = pyfftw.FFTW(view, out, axes=(0, 1), flags=("FFTW_ESTIMATE",))  # plans on the strided view itself
    want = np.fft.fft2(view.astype(np.complex128))
    f()
    check(f"FFTW 2-D on a strided view {dtype.__name__}", out, want, dtype)

for dtype in (np.float64, np.float32):
    for shape in [(2 ** 16,), (1009,), (128, 96), (9, 14), (8, 10, 12)]:
        a = rand(shape, dtype)
        ref = np.fft.rfftn(a.astype(np.float64))
        f = builders.rfftn(a.copy(), planner_effort="FFTW_ESTIMATE")
        check(f"builders.rfftn {dtype.__name__} {shape}", f(), ref, dtype)
        g = builders.irfftn(ref.astype(np.complex128 if dtype == np.float64 else np.complex64), s=shape,
                            planner_effort="FFTW_ESTIMATE")
        check(f"builders.irfftn {dtype.__name__} {shape}", g(), np.fft.irfftn(ref, s=shape), dtype)
    a = rand((40, 300), dtype)
    check(f"numpy_fft.rfft axis 0 {dtype.__name__}", npfft.rfft(a, axis=0), np.fft.rfft(a.astype(np.float64), axis=0),
          dtype)
    check(f"numpy_fft.irfft {dtype.__name__}", npfft.irfft(npfft.rfft(a), n=300), a.astype(np.float64), dtype)

# Wisdom round trip through the shim (local FFTW's wisdom).
w = pyfftw.export_wisdom()
checks += 1
if not (isinstance(w, tuple) and len(w) == 3 and all(isinstance(x, bytes) for x in w)):
    failures += 1
    print("FAIL export_wisdom")
else:
    pyfftw.forget_wisdom()
    ok = pyfftw.import_wisdom(w)
    print(f"ok   wisdom export/import round trip: {ok}")

print(f"{checks - failures} of {checks} pyfftw checks agree with numpy.fft")
sys.exit(1 if failures else 0)
