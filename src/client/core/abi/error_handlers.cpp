// netlib's error handlers: xerbla_, xerbla_array_, cblas_xerbla, and the CBLAS globals the testers
// read. Hand-written because they are irregular: each is a behaviour (or a variable) of its own, not
// a call to forward or route, so no generated entry point fits them (spec groups f77-hand,
// cblas-hand, data; docs/architecture.md, "One spec drives everything"). They behave as Debian's
// reference libblas.so.3: xerbla_ prints and returns (or forwards to cblas_xerbla when called on
// behalf of a CBLAS routine); cblas_xerbla prints and exits. An application's own definitions win:
// rcpu always reaches these through the dynamic linker.
#include <dlfcn.h>

#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/abi_types.h"

using rcpu::abi::blas_int;
using rcpu::abi::blas_strlen;

extern "C" {

RCPU_EXPORT int RowMajorStrg = 0;
RCPU_EXPORT int CBLAS_CallFromC = 0;

RCPU_EXPORT void cblas_xerbla(blas_int info, const char* rout, const char* form, ...);

void rcpu_default_cblas_xerbla(blas_int info, const char* rout, const char* form, ...);
void rcpu_default_xerbla(const char* srname, const blas_int* info, blas_strlen len);
}

namespace {

// Row-major CBLAS calls reach the Fortran checks with swapped arguments; netlib's cblas_xerbla
// renumbers the parameter so the message names the argument the caller passed.
struct Renumber {
  const char* routine_part;
  int pairs[4][2];
};
constexpr Renumber kRowMajorRenumbering[] = {
    {"gemm", {{4, 5}, {9, 11}}}, {"symm", {{4, 5}}}, {"hemm", {{4, 5}}},         {"trmm", {{6, 7}}},
    {"trsm", {{6, 7}}},          {"gemv", {{3, 4}}}, {"gbmv", {{3, 4}, {5, 6}}}, {"ger", {{2, 3}, {6, 8}}},
};

blas_int renumber_row_major(blas_int info, const char* rout) {
  auto swap_in = [&](const int(*pairs)[2]) {
    for (int i = 0; i < 4 && pairs[i][0]; ++i) {
      if (info == pairs[i][0]) return blas_int(pairs[i][1]);
      if (info == pairs[i][1]) return blas_int(pairs[i][0]);
    }
    return info;
  };
  for (const Renumber& r : kRowMajorRenumbering)
    if (std::strstr(rout, r.routine_part)) return swap_in(r.pairs);
  // her2/hpr2 (not her2k): x and y swap places.
  if ((std::strstr(rout, "her2") || std::strstr(rout, "hpr2")) && !std::strstr(rout, "her2k")) {
    static constexpr int pairs[4][2] = {{6, 8}};
    return swap_in(pairs);
  }
  return info;
}

void vreport(blas_int info, const char* rout, const char* form, va_list args) {
  if (RowMajorStrg) info = renumber_row_major(info, rout);
  if (info) std::fprintf(stderr, "Parameter %d to routine %s was incorrect\n", int(info), rout);
  std::vfprintf(stderr, form, args);
  std::exit(-1);
}

using CblasXerblaFn = void (*)(blas_int, const char*, const char*, ...);

}  // namespace

extern "C" {

void rcpu_default_cblas_xerbla(blas_int info, const char* rout, const char* form, ...) {
  va_list args;
  va_start(args, form);
  vreport(info, rout, form, args);
  va_end(args);
}

RCPU_EXPORT void cblas_xerbla(blas_int info, const char* rout, const char* form, ...) {
  va_list args;
  va_start(args, form);
  vreport(info, rout, form, args);
  va_end(args);
}

void rcpu_default_xerbla(const char* srname, const blas_int* info, blas_strlen len) {
  const std::string name(srname, ::strnlen(srname, len));
  if (CBLAS_CallFromC) {
    // On behalf of a CBLAS routine: report the CBLAS name and position (one more argument).
    std::string rout = "cblas_";
    for (std::size_t i = 0; i < 6 && i < name.size(); ++i) rout += char(std::tolower((unsigned char)name[i]));
    static CblasXerblaFn fn = [] {
      void* p = dlsym(RTLD_DEFAULT, "cblas_xerbla");
      return p ? reinterpret_cast<CblasXerblaFn>(p) : &rcpu_default_cblas_xerbla;
    }();
    fn(*info + 1, rout.c_str(), "");
    return;
  }
  std::fprintf(stderr, "Parameter %d to routine %s was incorrect\n", int(*info), name.c_str());
}

RCPU_EXPORT void xerbla_(const char* srname, const blas_int* info, blas_strlen len) {
  rcpu_default_xerbla(srname, info, len);
}
RCPU_EXPORT void xerbla(const char* srname, const blas_int* info, blas_strlen len) __attribute__((alias("xerbla_")));

// XERBLA_ARRAY: for callers (C, LAPACKE) that hold the name as an array of characters.
RCPU_EXPORT void xerbla_array_(const char* srname_array, const blas_int* srname_len, const blas_int* info,
                               blas_strlen) {
  char name[32];
  std::memset(name, ' ', sizeof name);
  const int n = *srname_len < 0 ? 0 : (*srname_len > 32 ? 32 : int(*srname_len));
  std::memcpy(name, srname_array, n);
  using XerblaFn = void (*)(const char*, const blas_int*, blas_strlen);
  void* p = dlsym(RTLD_DEFAULT, "xerbla_");
  XerblaFn fn = p ? reinterpret_cast<XerblaFn>(p) : &xerbla_;
  fn(name, info, blas_strlen(n));
}
RCPU_EXPORT void xerbla_array(const char* a, const blas_int* l, const blas_int* i, blas_strlen n)
    __attribute__((alias("xerbla_array_")));

}  // extern "C"
