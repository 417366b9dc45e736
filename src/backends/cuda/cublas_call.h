// One Level-3 call on device pointers, through the cuBLAS v2 API (64-bit integer variants, so no
// dimension is narrowed to int). The handle's stream, math mode and pointer mode (host) are set by
// the caller; scalars are passed from host memory.
#pragma once

#include <cublas_v2.h>

#include "common/level3.h"

namespace rcpu::backend::cuda {

// a, b: device A and B (ignored where the routine has none); c: device C, or B for trmm/trsm
// (updated in place: cuBLAS's out-of-place trmm is called with C = B). Leading dimensions are
// args.lda/ldb/ldc. Returns cuBLAS's status (launch errors only; execution errors show at sync).
cublasStatus_t run_cublas(cublasHandle_t handle, const Level3Args& args, const void* a, const void* b, void* c);

// c := c + beta * x for m x n matrices with leading dimension ld (geam, in place), any dtype.
cublasStatus_t run_add_scaled(cublasHandle_t handle, Dtype t, std::int64_t m, std::int64_t n, std::complex<double> beta,
                              const void* x, void* c, std::int64_t ld);

cublasOperation_t cublas_op(char trans, Dtype t);  // 'N' 'T' 'C' ('C' on real data = 'T')
cublasSideMode_t cublas_side(char side);
cublasFillMode_t cublas_fill(char uplo);
cublasDiagType_t cublas_diag(char diag);

}  // namespace rcpu::backend::cuda
