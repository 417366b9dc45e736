// netlib's error handlers: xerbla_, xerbla_array_, cblas_xerbla, and the CBLAS globals the testers
// read. Hand-written because they are irregular: each is a behaviour (or a variable) of its own, not
// a call to forward or route, so no generated entry point fits them (spec groups f77-hand,
// cblas-hand, data; docs/architecture.md, "One spec drives everything"). They behave as Debian's
// reference libblas.so.3: xerbla_ prints and returns (or forwards to cblas_xerbla when called on
// behalf of a CBLAS routine); cblas_xerbla prints and exits. An application's own definitions win:
// rcpu always reaches these through the dynamic linker, and when the dynamic linker picked rcpu's own
// definition (the application's handler is outside every lookup scope that reaches rcpu), rcpu's
// xerbla_ / cblas_xerbla look for the application's among all loaded objects first
// (application_handler below).
#include <dlfcn.h>
#include <link.h>

#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

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
using XerblaFn = void (*)(const char*, const blas_int*, blas_strlen);

// Why a search. An application's handler usually wins through the dynamic linker alone: defined in
// the program (global scope), every library's reference to xerbla_ binds to it. NumPy is the case
// where it does not: its extension modules (_multiarray_umath, _umath_linalg, lapack_lite) each
// define xerbla_ (raising a Python ValueError) and are dlopened RTLD_LOCAL with libblas.so.3 /
// liblapack.so.3 as their DT_NEEDED. With OpenBLAS that works because a library loaded as a
// dependency of a dlopened object looks symbols up in the global scope and then in that dlopen's
// own group, whose FIRST member is the extension module (LD_DEBUG=bindings: "binding file
// libopenblas.so.0 to _multiarray_umath...: normal symbol `xerbla_'"). Through rcpu the group is
// [module, librcpu], so rcpu's own references do reach the module; but the real local library,
// dlopened by rcpu, has a group of its own and bound to ITS xerbla_ (printing, returning: numpy's
// test_xerbla_override skipped). local_library.cpp therefore makes rcpu's xerbla_ global when the
// global scope has none, and that definition, reached here, finds the module's among every loaded
// object.
//
// Which definition wins: the first loaded object (dl_iterate_phdr's order: the program, its
// libraries, then dlopened objects in load order) that itself defines `name` and is not a BLAS /
// LAPACK / CBLAS implementation (an object that also defines lsame_, dgemm_ or cblas_dgemm carries
// its library's default handler: rcpu itself, the local OpenBLAS or reference LAPACK, any other BLAS
// in the process) — the program's own definition always counts. None found: rcpu's default. Not
// cached: extension modules come and go, and an error report is rare.
struct Object {
  std::string name;
  bool main_program;
};

int collect_object(dl_phdr_info* info, std::size_t, void* data) {
  auto* objects = static_cast<std::vector<Object>*>(data);
  const bool main_program = objects->empty();  // the first entry is the program itself
  if (main_program || (info->dlpi_name && *info->dlpi_name))
    objects->push_back(Object{main_program ? std::string() : std::string(info->dlpi_name), main_program});
  return 0;
}

// The object defining `sym`, or nullptr.
link_map* defining_object(void* sym) {
  Dl_info info{};
  link_map* map = nullptr;
  if (!dladdr1(sym, &info, reinterpret_cast<void**>(&map), RTLD_DL_LINKMAP)) return nullptr;
  return map;
}

bool defines_itself(void* handle, link_map* object, const char* name) {
  void* sym = dlsym(handle, name);
  return sym && defining_object(sym) == object;
}

void* application_handler(const char* name) {
  std::vector<Object> objects;
  dl_iterate_phdr(&collect_object, &objects);  // collected first: dlopen below takes the loader's lock
  link_map* own = defining_object(reinterpret_cast<void*>(&rcpu_default_xerbla));
  for (const Object& o : objects) {
    // RTLD_NOLOAD: a handle on what is already there, never a load (objects of other namespaces,
    // such as the local FFTW's, are not found in this one and are skipped).
    void* h = dlopen(o.main_program ? nullptr : o.name.c_str(), RTLD_LAZY | RTLD_NOLOAD);
    if (!h) continue;
    link_map* object = nullptr;
    void* result = nullptr;
    if (dlinfo(h, RTLD_DI_LINKMAP, &object) == 0 && object != own) {
      void* sym = dlsym(h, name);
      const bool library =
          !o.main_program && (defines_itself(h, object, "lsame_") || defines_itself(h, object, "dgemm_") ||
                              defines_itself(h, object, "cblas_dgemm"));
      if (sym && defining_object(sym) == object && !library) result = sym;
    }
    dlclose(h);
    if (result) return result;
  }
  return nullptr;
}

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
  if (void* app = application_handler("cblas_xerbla")) {
    // A variadic call cannot be forwarded as such; netlib's callers pass the format and at most a
    // few more arguments (none today: "" or a message without conversions), so rcpu formats them.
    char message[512];
    std::vsnprintf(message, sizeof message, form, args);
    va_end(args);
    reinterpret_cast<CblasXerblaFn>(app)(info, rout, "%s", message);
    return;
  }
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
  if (void* app = application_handler("xerbla_")) {
    reinterpret_cast<XerblaFn>(app)(srname, info, len);
    return;
  }
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
  void* p = dlsym(RTLD_DEFAULT, "xerbla_");
  XerblaFn fn = p ? reinterpret_cast<XerblaFn>(p) : &xerbla_;
  fn(name, info, blas_strlen(n));
}
RCPU_EXPORT void xerbla_array(const char* a, const blas_int* l, const blas_int* i, blas_strlen n)
    __attribute__((alias("xerbla_array_")));

}  // extern "C"
