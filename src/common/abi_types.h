// C++ spellings of the types that appear in spec/abi/*.txt: the client's entry points (generated
// and hand-written) and the CPU backend's generated calls of the local routines use the same names.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>

#define RCPU_EXPORT __attribute__((visibility("default")))

namespace rcpu::abi {

// The Fortran INTEGER: 32-bit for the LP64 ABI (libblas.so.3), 64-bit for ILP64 (the 64_ symbols).
#ifdef RCPU_ILP64
using blas_int = std::int64_t;
#else
using blas_int = std::int32_t;
#endif
using blas_strlen = std::size_t;  // gfortran's hidden CHARACTER length, passed after all arguments

// gfortran returns COMPLEX functions like C's _Complex; on x86-64 System V a std::complex (a pair
// of floats or doubles) is returned in the same SSE registers, so these are ABI-identical.
using ccomplex = std::complex<float>;
using zcomplex = std::complex<double>;
static_assert(sizeof(ccomplex) == 8 && sizeof(zcomplex) == 16);

// A LAPACK callback (the eigenvalue selectors LAPACK_D_SELECT2 ... of lapack.h, EXTERNAL arguments):
// only passed through to the local library, so its exact function type does not matter here.
using lapack_select = void*;

enum CBLAS_LAYOUT { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112, CblasConjTrans = 113 };
enum CBLAS_UPLO { CblasUpper = 121, CblasLower = 122 };
enum CBLAS_DIAG { CblasNonUnit = 131, CblasUnit = 132 };
enum CBLAS_SIDE { CblasLeft = 141, CblasRight = 142 };

}  // namespace rcpu::abi
