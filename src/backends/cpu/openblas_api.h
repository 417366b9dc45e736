// The OpenBLAS entry points the CPU backend calls: the Fortran Level-3 routines (LP64: INTEGER is
// a 32-bit int on Debian's and Ubuntu's libopenblas) and a few OpenBLAS extensions. Declared here
// rather than taken from <f77blas.h> so the build does not depend on which OpenBLAS headers (or
// none) a machine has.
//
// gfortran ABI: every CHARACTER argument adds a hidden length (size_t) after all the others, in the
// same order. COMPLEX scalars are passed by address like everything else; herk's alpha/beta and
// her2k's beta are REAL.
#pragma once

#include <complex>
#include <cstddef>

namespace rcpu::backend::openblas {
using fint = int;
using fstrlen = std::size_t;
using cf = std::complex<float>;
using cd = std::complex<double>;
}  // namespace rcpu::backend::openblas

extern "C" {
using rcpu::backend::openblas::cd;
using rcpu::backend::openblas::cf;
using rcpu::backend::openblas::fint;
using rcpu::backend::openblas::fstrlen;

// ?gemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
void sgemm_(const char*, const char*, const fint*, const fint*, const fint*, const float*, const float*, const fint*,
            const float*, const fint*, const float*, float*, const fint*, fstrlen, fstrlen);
void dgemm_(const char*, const char*, const fint*, const fint*, const fint*, const double*, const double*, const fint*,
            const double*, const fint*, const double*, double*, const fint*, fstrlen, fstrlen);
void cgemm_(const char*, const char*, const fint*, const fint*, const fint*, const cf*, const cf*, const fint*,
            const cf*, const fint*, const cf*, cf*, const fint*, fstrlen, fstrlen);
void zgemm_(const char*, const char*, const fint*, const fint*, const fint*, const cd*, const cd*, const fint*,
            const cd*, const fint*, const cd*, cd*, const fint*, fstrlen, fstrlen);

// ?symm / ?hemm(side, uplo, m, n, alpha, a, lda, b, ldb, beta, c, ldc)
void ssymm_(const char*, const char*, const fint*, const fint*, const float*, const float*, const fint*, const float*,
            const fint*, const float*, float*, const fint*, fstrlen, fstrlen);
void dsymm_(const char*, const char*, const fint*, const fint*, const double*, const double*, const fint*,
            const double*, const fint*, const double*, double*, const fint*, fstrlen, fstrlen);
void csymm_(const char*, const char*, const fint*, const fint*, const cf*, const cf*, const fint*, const cf*,
            const fint*, const cf*, cf*, const fint*, fstrlen, fstrlen);
void zsymm_(const char*, const char*, const fint*, const fint*, const cd*, const cd*, const fint*, const cd*,
            const fint*, const cd*, cd*, const fint*, fstrlen, fstrlen);
void chemm_(const char*, const char*, const fint*, const fint*, const cf*, const cf*, const fint*, const cf*,
            const fint*, const cf*, cf*, const fint*, fstrlen, fstrlen);
void zhemm_(const char*, const char*, const fint*, const fint*, const cd*, const cd*, const fint*, const cd*,
            const fint*, const cd*, cd*, const fint*, fstrlen, fstrlen);

// ?syrk / ?herk(uplo, trans, n, k, alpha, a, lda, beta, c, ldc); herk's alpha and beta are real
void ssyrk_(const char*, const char*, const fint*, const fint*, const float*, const float*, const fint*, const float*,
            float*, const fint*, fstrlen, fstrlen);
void dsyrk_(const char*, const char*, const fint*, const fint*, const double*, const double*, const fint*,
            const double*, double*, const fint*, fstrlen, fstrlen);
void csyrk_(const char*, const char*, const fint*, const fint*, const cf*, const cf*, const fint*, const cf*, cf*,
            const fint*, fstrlen, fstrlen);
void zsyrk_(const char*, const char*, const fint*, const fint*, const cd*, const cd*, const fint*, const cd*, cd*,
            const fint*, fstrlen, fstrlen);
void cherk_(const char*, const char*, const fint*, const fint*, const float*, const cf*, const fint*, const float*, cf*,
            const fint*, fstrlen, fstrlen);
void zherk_(const char*, const char*, const fint*, const fint*, const double*, const cd*, const fint*, const double*,
            cd*, const fint*, fstrlen, fstrlen);

// ?syr2k / ?her2k(uplo, trans, n, k, alpha, a, lda, b, ldb, beta, c, ldc); her2k's beta is real
void ssyr2k_(const char*, const char*, const fint*, const fint*, const float*, const float*, const fint*, const float*,
             const fint*, const float*, float*, const fint*, fstrlen, fstrlen);
void dsyr2k_(const char*, const char*, const fint*, const fint*, const double*, const double*, const fint*,
             const double*, const fint*, const double*, double*, const fint*, fstrlen, fstrlen);
void csyr2k_(const char*, const char*, const fint*, const fint*, const cf*, const cf*, const fint*, const cf*,
             const fint*, const cf*, cf*, const fint*, fstrlen, fstrlen);
void zsyr2k_(const char*, const char*, const fint*, const fint*, const cd*, const cd*, const fint*, const cd*,
             const fint*, const cd*, cd*, const fint*, fstrlen, fstrlen);
void cher2k_(const char*, const char*, const fint*, const fint*, const cf*, const cf*, const fint*, const cf*,
             const fint*, const float*, cf*, const fint*, fstrlen, fstrlen);
void zher2k_(const char*, const char*, const fint*, const fint*, const cd*, const cd*, const fint*, const cd*,
             const fint*, const double*, cd*, const fint*, fstrlen, fstrlen);

// ?trmm / ?trsm(side, uplo, transa, diag, m, n, alpha, a, lda, b, ldb)
void strmm_(const char*, const char*, const char*, const char*, const fint*, const fint*, const float*, const float*,
            const fint*, float*, const fint*, fstrlen, fstrlen, fstrlen, fstrlen);
void dtrmm_(const char*, const char*, const char*, const char*, const fint*, const fint*, const double*, const double*,
            const fint*, double*, const fint*, fstrlen, fstrlen, fstrlen, fstrlen);
void ctrmm_(const char*, const char*, const char*, const char*, const fint*, const fint*, const cf*, const cf*,
            const fint*, cf*, const fint*, fstrlen, fstrlen, fstrlen, fstrlen);
void ztrmm_(const char*, const char*, const char*, const char*, const fint*, const fint*, const cd*, const cd*,
            const fint*, cd*, const fint*, fstrlen, fstrlen, fstrlen, fstrlen);
void strsm_(const char*, const char*, const char*, const char*, const fint*, const fint*, const float*, const float*,
            const fint*, float*, const fint*, fstrlen, fstrlen, fstrlen, fstrlen);
void dtrsm_(const char*, const char*, const char*, const char*, const fint*, const fint*, const double*, const double*,
            const fint*, double*, const fint*, fstrlen, fstrlen, fstrlen, fstrlen);
void ctrsm_(const char*, const char*, const char*, const char*, const fint*, const fint*, const cf*, const cf*,
            const fint*, cf*, const fint*, fstrlen, fstrlen, fstrlen, fstrlen);
void ztrsm_(const char*, const char*, const char*, const char*, const fint*, const fint*, const cd*, const cd*,
            const fint*, cd*, const fint*, fstrlen, fstrlen, fstrlen, fstrlen);

// OpenBLAS extensions (cblas.h / openblas_config.h)
char* openblas_get_config(void);
char* openblas_get_corename(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
}
