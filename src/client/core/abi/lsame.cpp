// LSAME: case-insensitive comparison of two characters, as netlib defines it (hand-written: it is
// an irregular routine that needs no local library).
#include <cctype>

#include "common/abi_types.h"

using rcpu::abi::blas_int;
using rcpu::abi::blas_strlen;

extern "C" {

RCPU_EXPORT blas_int lsame_(const char* ca, const char* cb, blas_strlen, blas_strlen) {
  return std::toupper(static_cast<unsigned char>(*ca)) == std::toupper(static_cast<unsigned char>(*cb));
}
RCPU_EXPORT blas_int lsame(const char* ca, const char* cb, blas_strlen a, blas_strlen b)
    __attribute__((alias("lsame_")));

}  // extern "C"
