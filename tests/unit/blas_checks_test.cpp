// rcpu::checks against Debian's reference BLAS (libblas.so.3 of LAPACK 3.11, package libblas3):
// for every Level-2/3 family and precision, many random argument sets, valid and invalid (negative
// dimensions, bad and lower-case option letters, short leading dimensions, zero increments); the
// INFO rcpu computes must be the one the reference routine gives XERBLA.
//
// This file also holds the harness the CBLAS tests (cblas_adapters_test.cpp) share:
//   - the spec (spec/abi/blas.txt, spec/offload/blas.txt), read at run time from the source tree,
//     so the tests call the checks with exactly the arguments the generator passes;
//   - the reference library, opened RTLD_LOCAL. This test binary also links OpenBLAS (through the
//     CPU backend), which comes first in the global scope: the reference's own calls to its F77
//     routines (cblas_dgemm -> dgemm_) would bind to OpenBLAS. Its GOT is therefore rebound: F77
//     routines of the families to thunks that record the call and run the reference's own code,
//     xerbla_ and cblas_xerbla to the capture below;
//   - the capture of error reports, also reachable as the exported xerbla_ / cblas_xerbla (rcpu's
//     shim finds them through the dynamic linker; tests/CMakeLists.txt enables exports).
#include <dlfcn.h>
#include <elf.h>
#include <gtest/gtest.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <complex>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "client/blas/blas_checks.h"
#include "common/level3.h"

#define RCPU_TEST_EXPORT extern "C" __attribute__((visibility("default")))

// ============================================================================ shared harness
// (declared again at the top of cblas_adapters_test.cpp)
namespace rcpu_test::netlib {

struct Param {
  std::string type, name;
};
struct Proto {
  std::string name, group;
  std::vector<Param> params;
};
struct Family {
  std::string name;
  int level = 0;
  std::vector<std::string> members, check;
};

const std::map<std::string, Proto>& abi_protos();
const std::vector<Family>& families();
const Family* family_of(const std::string& member);

void* reference();  // nullptr when Debian's libblas.so.3 is not installed
void* reference_fn(const char* name);
int* reference_row_major();  // the RowMajorStrg / CBLAS_CallFromC the reference's code uses
int* reference_call_from_c();

struct Event {
  bool cblas = false;   // cblas_xerbla (else xerbla_)
  std::string routine;  // "cblas_dgemm" or "DGEMM "
  int info = 0;
  std::string message;                   // cblas_xerbla's formatted message
  int row_major = -1, call_from_c = -1;  // the globals at the time of the report
  bool operator==(const Event&) const = default;
};
std::string str(const Event& e);
std::string str(const std::vector<Event>& es);

// One call of a reference F77 routine made while capturing (by the reference's CBLAS).
struct F77Record {
  std::string routine;                // "dgemm_"
  std::map<std::string, char> chars;  // by Fortran argument name
  std::map<std::string, long long> ints;
  std::map<std::string, const void*> arrays;
  std::map<std::string, std::complex<double>> scalars;
};

void begin_capture(const int* row_major, const int* call_from_c);
std::vector<Event> end_capture(std::vector<F77Record>* f77 = nullptr);

}  // namespace rcpu_test::netlib

namespace rcpu_test::netlib {
namespace {

constexpr const char* kReferencePath = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3";

std::string source_root() {
  std::string f = __FILE__;  // <root>/tests/unit/blas_checks_test.cpp
  for (int i = 0; i < 3; ++i) f = f.substr(0, f.find_last_of('/'));
  return f;
}

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) out.push_back(trim(part));
  return out;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// ---- capture state (one thread at a time: the tests are sequential)
thread_local bool t_capturing = false;
thread_local const int* t_row_major = nullptr;
thread_local const int* t_call_from_c = nullptr;
thread_local std::vector<Event> t_events;
thread_local std::vector<F77Record> t_f77;

int peek(const int* p) { return p ? *p : -1; }

void capture_xerbla(const char* srname, const int* info, std::size_t len) {
  Event e;
  e.routine.assign(srname, ::strnlen(srname, len));
  e.info = *info;
  e.row_major = peek(t_row_major);
  e.call_from_c = peek(t_call_from_c);
  t_events.push_back(e);
}

void capture_cblas_xerbla_v(int info, const char* rout, const char* form, va_list args) {
  Event e;
  e.cblas = true;
  e.routine = rout;
  e.info = info;
  char msg[512];
  std::vsnprintf(msg, sizeof msg, form, args);
  e.message = msg;
  e.row_major = peek(t_row_major);
  e.call_from_c = peek(t_call_from_c);
  t_events.push_back(e);
}

void capture_cblas_xerbla(int info, const char* rout, const char* form, ...) {
  va_list args;
  va_start(args, form);
  capture_cblas_xerbla_v(info, rout, form, args);
  va_end(args);
}

// ---- F77 thunks: record, then run the reference's own routine. Every Fortran argument is passed
// by address (and the hidden lengths are size_t), so 16 integer-class arguments carry any of them.
constexpr int kMaxThunks = 128;
using Generic = void (*)(std::uintptr_t, std::uintptr_t, std::uintptr_t, std::uintptr_t, std::uintptr_t, std::uintptr_t,
                         std::uintptr_t, std::uintptr_t, std::uintptr_t, std::uintptr_t, std::uintptr_t, std::uintptr_t,
                         std::uintptr_t, std::uintptr_t, std::uintptr_t, std::uintptr_t);
std::string g_thunk_name[kMaxThunks];
Generic g_thunk_target[kMaxThunks];

void record_f77(const std::string& name, const std::uintptr_t* a) {
  const auto it = abi_protos().find(name);
  if (it == abi_protos().end()) return;
  F77Record r;
  r.routine = name;
  const char dt = name[0];
  std::size_t i = 0;
  for (const Param& p : it->second.params) {
    if (p.type == "blas_strlen") continue;
    const void* ptr = reinterpret_cast<const void*>(a[i++]);
    if (p.type.rfind("char", 0) == 0) {
      r.chars[p.name] = *static_cast<const char*>(ptr);
    } else if (p.type.find("blas_int") != std::string::npos) {
      r.ints[p.name] = *static_cast<const int*>(ptr);
    } else if (p.name == "alpha" || p.name == "beta") {
      // Real: every s/d scalar, alpha of her/hpr/herk, beta of herk/her2k (the prototypes' pointer
      // types do not tell: Debian declares some complex ones float*).
      const std::string fam = family_of(name) ? family_of(name)->name : "";
      const bool real = dt == 's' || dt == 'd' ||
                        (p.name == "alpha" && (fam == "her" || fam == "hpr" || fam == "herk")) ||
                        (p.name == "beta" && (fam == "herk" || fam == "her2k"));
      const bool single = dt == 's' || dt == 'c';
      std::complex<double> v;
      if (real && single) v = *static_cast<const float*>(ptr);
      if (real && !single) v = *static_cast<const double*>(ptr);
      if (!real && single) v = *static_cast<const std::complex<float>*>(ptr);
      if (!real && !single) v = *static_cast<const std::complex<double>*>(ptr);
      r.scalars[p.name] = v;
    } else {
      r.arrays[p.name] = ptr;
    }
  }
  t_f77.push_back(r);
}

template <int I>
void thunk(std::uintptr_t a0, std::uintptr_t a1, std::uintptr_t a2, std::uintptr_t a3, std::uintptr_t a4,
           std::uintptr_t a5, std::uintptr_t a6, std::uintptr_t a7, std::uintptr_t a8, std::uintptr_t a9,
           std::uintptr_t a10, std::uintptr_t a11, std::uintptr_t a12, std::uintptr_t a13, std::uintptr_t a14,
           std::uintptr_t a15) {
  if (t_capturing) {
    const std::uintptr_t a[16] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15};
    record_f77(g_thunk_name[I], a);
  }
  g_thunk_target[I](a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15);
}

template <int... I>
constexpr std::array<Generic, sizeof...(I)> make_thunks(std::integer_sequence<int, I...>) {
  return {&thunk<I>...};
}
const auto kThunks = make_thunks(std::make_integer_sequence<int, kMaxThunks>{});

int* g_ref_row_major = nullptr;
int* g_ref_call_from_c = nullptr;

// Rewrites the reference's GOT entries (JUMP_SLOT and GLOB_DAT relocations) for the symbols
// `target` maps; reports where its RowMajorStrg / CBLAS_CallFromC references point.
template <class Target>
bool rebind(void* handle, Target target) {
  link_map* lm = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || !lm) return false;
  const ElfW(Addr) base = lm->l_addr;
  auto fix = [&](ElfW(Addr) p) { return p < base ? p + base : p; };
  const ElfW(Sym)* symtab = nullptr;
  const char* strtab = nullptr;
  const ElfW(Rela)* jmprel = nullptr;
  const ElfW(Rela)* rela = nullptr;
  std::size_t jmpsz = 0, relasz = 0;
  for (const ElfW(Dyn)* d = lm->l_ld; d->d_tag != DT_NULL; ++d) {
    switch (d->d_tag) {
      case DT_SYMTAB:
        symtab = reinterpret_cast<const ElfW(Sym)*>(fix(d->d_un.d_ptr));
        break;
      case DT_STRTAB:
        strtab = reinterpret_cast<const char*>(fix(d->d_un.d_ptr));
        break;
      case DT_JMPREL:
        jmprel = reinterpret_cast<const ElfW(Rela)*>(fix(d->d_un.d_ptr));
        break;
      case DT_PLTRELSZ:
        jmpsz = d->d_un.d_val;
        break;
      case DT_RELA:
        rela = reinterpret_cast<const ElfW(Rela)*>(fix(d->d_un.d_ptr));
        break;
      case DT_RELASZ:
        relasz = d->d_un.d_val;
        break;
      default:
        break;
    }
  }
  if (!symtab || !strtab) return false;
  const std::uintptr_t page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  auto apply = [&](const ElfW(Rela) * r, std::size_t bytes) {
    for (std::size_t i = 0; r && i < bytes / sizeof(ElfW(Rela)); ++i) {
      const auto type = ELF64_R_TYPE(r[i].r_info);
      if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
      const char* name = strtab + symtab[ELF64_R_SYM(r[i].r_info)].st_name;
      void** slot = reinterpret_cast<void**>(base + r[i].r_offset);
      if (std::strcmp(name, "RowMajorStrg") == 0) g_ref_row_major = static_cast<int*>(*slot);
      if (std::strcmp(name, "CBLAS_CallFromC") == 0) g_ref_call_from_c = static_cast<int*>(*slot);
      void* to = target(name);
      if (!to) continue;
      const std::uintptr_t p = reinterpret_cast<std::uintptr_t>(slot) & ~(page - 1);
      if (mprotect(reinterpret_cast<void*>(p), page, PROT_READ | PROT_WRITE) != 0) continue;
      *slot = to;
    }
  };
  apply(jmprel, jmpsz);
  apply(rela, relasz);
  return true;
}

void* open_reference() {
  void* h = dlopen(kReferencePath, RTLD_NOW | RTLD_LOCAL);
  if (!h) return nullptr;
  std::map<std::string, void*> to;
  int n = 0;
  for (const Family& f : families()) {
    for (const std::string& m : f.members) {
      if (n == kMaxThunks) break;
      g_thunk_name[n] = m;
      g_thunk_target[n] = reinterpret_cast<Generic>(dlsym(h, m.c_str()));
      if (g_thunk_target[n]) to[m] = reinterpret_cast<void*>(kThunks[n++]);
    }
  }
  to["xerbla_"] = reinterpret_cast<void*>(&capture_xerbla);
  to["cblas_xerbla"] = reinterpret_cast<void*>(&capture_cblas_xerbla);
  rebind(h, [&](const char* name) -> void* {
    const auto it = to.find(name);
    return it == to.end() ? nullptr : it->second;
  });
  if (!g_ref_row_major) g_ref_row_major = static_cast<int*>(dlsym(h, "RowMajorStrg"));
  if (!g_ref_call_from_c) g_ref_call_from_c = static_cast<int*>(dlsym(h, "CBLAS_CallFromC"));
  return h;
}

}  // namespace

const std::map<std::string, Proto>& abi_protos() {
  static const std::map<std::string, Proto> protos = [] {
    std::map<std::string, Proto> out;
    std::ifstream in(source_root() + "/spec/abi/blas.txt");
    for (std::string line; std::getline(in, line);) {
      line = trim(line);
      if (line.empty() || line[0] == '#') continue;
      const auto parts = split(line, '|');
      if (parts.size() < 3) continue;
      Proto p;
      p.name = parts[0];
      p.group = parts[1];
      if (parts.size() > 3) {
        for (const std::string& param : split(parts[3], ',')) {
          if (param.empty() || param == "...") continue;
          const auto cut = param.find_last_of(" *");
          p.params.push_back({trim(param.substr(0, cut + 1)), trim(param.substr(cut + 1))});
        }
      }
      out[p.name] = p;
    }
    return out;
  }();
  return protos;
}

const std::vector<Family>& families() {
  static const std::vector<Family> fams = [] {
    std::vector<Family> out;
    std::ifstream in(source_root() + "/spec/offload/blas.txt");
    for (std::string line; std::getline(in, line);) {
      line = trim(line);
      if (line.rfind("family", 0) != 0) continue;
      const auto parts = split(line, '|');
      Family f;
      f.name = words(parts[0]).at(1);
      f.level = std::stoi(words(parts[1]).at(1));
      f.members = words(parts[2]);
      f.check = words(parts[3].substr(parts[3].find(':') + 1));
      out.push_back(f);
    }
    return out;
  }();
  return fams;
}

const Family* family_of(const std::string& member) {
  for (const Family& f : families()) {
    for (const std::string& m : f.members) {
      if (m == member || "cblas_" + m.substr(0, m.size() - 1) == member) return &f;
    }
  }
  return nullptr;
}

void* reference() {
  static void* h = open_reference();
  return h;
}
void* reference_fn(const char* name) { return reference() ? dlsym(reference(), name) : nullptr; }
int* reference_row_major() { return reference() ? g_ref_row_major : nullptr; }
int* reference_call_from_c() { return reference() ? g_ref_call_from_c : nullptr; }

std::string str(const Event& e) {
  std::ostringstream o;
  if (e.cblas) {
    std::string m = e.message;
    while (!m.empty() && m.back() == '\n') m.pop_back();
    o << "cblas_xerbla(" << e.info << ", " << e.routine << ", \"" << m << (e.message.size() > m.size() ? "\\n" : "")
      << "\")";
  } else {
    o << "xerbla_(\"" << e.routine << "\", " << e.info << ")";
  }
  o << " [RowMajorStrg=" << e.row_major << " CBLAS_CallFromC=" << e.call_from_c << "]";
  return o.str();
}
std::string str(const std::vector<Event>& es) {
  if (es.empty()) return "(no error reported)";
  std::string s;
  for (const Event& e : es) s += (s.empty() ? "" : " then ") + str(e);
  return s;
}

void begin_capture(const int* row_major, const int* call_from_c) {
  t_events.clear();
  t_f77.clear();
  t_row_major = row_major;
  t_call_from_c = call_from_c;
  t_capturing = true;
}

std::vector<Event> end_capture(std::vector<F77Record>* f77) {
  t_capturing = false;
  if (f77) *f77 = std::move(t_f77);
  t_f77.clear();
  return std::move(t_events);
}

}  // namespace rcpu_test::netlib

// The process-wide error handlers: rcpu's shim (and the reference, through its rebound GOT)
// report here. Outside a capture they behave like a quiet default.
RCPU_TEST_EXPORT void xerbla_(const char* srname, const int* info, std::size_t len) {
  if (rcpu_test::netlib::t_capturing) return rcpu_test::netlib::capture_xerbla(srname, info, len);
  using Fn = void (*)(const char*, const int*, std::size_t);
  static Fn next = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "xerbla_"));
  if (next) return next(srname, info, len);
  std::fprintf(stderr, "xerbla_: parameter %d to routine %.*s was incorrect\n", *info, int(len), srname);
}

RCPU_TEST_EXPORT void cblas_xerbla(int info, const char* rout, const char* form, ...) {
  va_list args;
  va_start(args, form);
  if (rcpu_test::netlib::t_capturing) {
    rcpu_test::netlib::capture_cblas_xerbla_v(info, rout, form, args);
  } else {
    std::fprintf(stderr, "cblas_xerbla: parameter %d to routine %s was incorrect\n", info, rout);
  }
  va_end(args);
}

// ============================================================================ the checks tests
namespace {

using namespace rcpu_test::netlib;
using rcpu::Dtype;

const std::string kFamilies[] = {"gemv", "gbmv", "symv", "hemv", "sbmv",  "hbmv",  "spmv", "hpmv",
                                 "trmv", "trsv", "tbmv", "tbsv", "tpmv",  "tpsv",  "ger",  "syr",
                                 "her",  "spr",  "hpr",  "syr2", "her2",  "spr2",  "hpr2", "gemm",
                                 "symm", "hemm", "syrk", "herk", "syr2k", "her2k", "trmm", "trsm"};

Dtype dtype_of(char c) { return c == 's' ? Dtype::s : c == 'd' ? Dtype::d : c == 'c' ? Dtype::c : Dtype::z; }

// The call the generated F77 entry point makes: rcpu::checks::<family>(dtype, <check arguments in
// spec order>), the option letters (which come first) upper-cased.
int call_check(const std::string& fam, Dtype dt, const std::vector<char>& c, const std::vector<std::int64_t>& i) {
  namespace k = rcpu::checks;
  auto need = [&](std::size_t nc, std::size_t ni) {
    if (c.size() != nc || i.size() != ni) throw std::runtime_error("check arity of " + fam);
  };
  if (fam == "gemv") return need(1, 5), k::gemv(dt, c[0], i[0], i[1], i[2], i[3], i[4]);
  if (fam == "gbmv") return need(1, 7), k::gbmv(dt, c[0], i[0], i[1], i[2], i[3], i[4], i[5], i[6]);
  if (fam == "symv") return need(1, 4), k::symv(dt, c[0], i[0], i[1], i[2], i[3]);
  if (fam == "hemv") return need(1, 4), k::hemv(dt, c[0], i[0], i[1], i[2], i[3]);
  if (fam == "sbmv") return need(1, 5), k::sbmv(dt, c[0], i[0], i[1], i[2], i[3], i[4]);
  if (fam == "hbmv") return need(1, 5), k::hbmv(dt, c[0], i[0], i[1], i[2], i[3], i[4]);
  if (fam == "spmv") return need(1, 3), k::spmv(dt, c[0], i[0], i[1], i[2]);
  if (fam == "hpmv") return need(1, 3), k::hpmv(dt, c[0], i[0], i[1], i[2]);
  if (fam == "trmv") return need(3, 3), k::trmv(dt, c[0], c[1], c[2], i[0], i[1], i[2]);
  if (fam == "trsv") return need(3, 3), k::trsv(dt, c[0], c[1], c[2], i[0], i[1], i[2]);
  if (fam == "tbmv") return need(3, 4), k::tbmv(dt, c[0], c[1], c[2], i[0], i[1], i[2], i[3]);
  if (fam == "tbsv") return need(3, 4), k::tbsv(dt, c[0], c[1], c[2], i[0], i[1], i[2], i[3]);
  if (fam == "tpmv") return need(3, 2), k::tpmv(dt, c[0], c[1], c[2], i[0], i[1]);
  if (fam == "tpsv") return need(3, 2), k::tpsv(dt, c[0], c[1], c[2], i[0], i[1]);
  if (fam == "ger") return need(0, 5), k::ger(dt, i[0], i[1], i[2], i[3], i[4]);
  if (fam == "syr") return need(1, 3), k::syr(dt, c[0], i[0], i[1], i[2]);
  if (fam == "her") return need(1, 3), k::her(dt, c[0], i[0], i[1], i[2]);
  if (fam == "spr") return need(1, 2), k::spr(dt, c[0], i[0], i[1]);
  if (fam == "hpr") return need(1, 2), k::hpr(dt, c[0], i[0], i[1]);
  if (fam == "syr2") return need(1, 4), k::syr2(dt, c[0], i[0], i[1], i[2], i[3]);
  if (fam == "her2") return need(1, 4), k::her2(dt, c[0], i[0], i[1], i[2], i[3]);
  if (fam == "spr2") return need(1, 3), k::spr2(dt, c[0], i[0], i[1], i[2]);
  if (fam == "hpr2") return need(1, 3), k::hpr2(dt, c[0], i[0], i[1], i[2]);
  if (fam == "gemm") return need(2, 6), k::gemm(dt, c[0], c[1], i[0], i[1], i[2], i[3], i[4], i[5]);
  if (fam == "symm") return need(2, 5), k::symm(dt, c[0], c[1], i[0], i[1], i[2], i[3], i[4]);
  if (fam == "hemm") return need(2, 5), k::hemm(dt, c[0], c[1], i[0], i[1], i[2], i[3], i[4]);
  if (fam == "syrk") return need(2, 4), k::syrk(dt, c[0], c[1], i[0], i[1], i[2], i[3]);
  if (fam == "herk") return need(2, 4), k::herk(dt, c[0], c[1], i[0], i[1], i[2], i[3]);
  if (fam == "syr2k") return need(2, 5), k::syr2k(dt, c[0], c[1], i[0], i[1], i[2], i[3], i[4]);
  if (fam == "her2k") return need(2, 5), k::her2k(dt, c[0], c[1], i[0], i[1], i[2], i[3], i[4]);
  if (fam == "trmm") return need(4, 4), k::trmm(dt, c[0], c[1], c[2], c[3], i[0], i[1], i[2], i[3]);
  if (fam == "trsm") return need(4, 4), k::trsm(dt, c[0], c[1], c[2], c[3], i[0], i[1], i[2], i[3]);
  throw std::runtime_error("no check dispatch for family " + fam);
}

char upper(char c) { return (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c; }

// Random Fortran arguments, by name: mostly plausible (so that many calls are valid and every
// check is reached), sometimes invalid in every way the reference tests.
struct Gen {
  std::mt19937 rng;
  explicit Gen(unsigned seed) : rng(seed) {}
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }

  char option(const std::string& name) {
    std::string valid = (name == "side") ? "LR" : (name == "uplo") ? "UL" : (name == "diag") ? "UN" : "NTC";
    if (chance(0.85)) {
      char c = valid[uniform(0, int(valid.size()) - 1)];
      return chance(0.3) ? char(c - 'A' + 'a') : c;
    }
    const std::string bad = "XALRUNTCxz ?1";
    return bad[uniform(0, int(bad.size()) - 1)];  // may happen to be valid for this option
  }
  int integer(const std::string& name) {
    if (name.rfind("ld", 0) == 0) return chance(0.9) ? uniform(1, 14) : uniform(-2, 0);
    if (name.rfind("inc", 0) == 0) return chance(0.9) ? (chance(0.5) ? uniform(1, 3) : -uniform(1, 3)) : 0;
    return chance(0.88) ? uniform(0, 6) : uniform(-3, -1);  // m, n, k, kl, ku
  }
};

// Buffers large enough for any valid call the generator makes (dimensions <= 6, leading
// dimensions <= 14, |increments| <= 3).
struct Buffers {
  std::vector<std::complex<double>> a, b, c, x, y;
  std::complex<double> alpha{0.75, -0.5}, beta{0.5, 0.25};
  explicit Buffers(std::mt19937& rng) {
    std::uniform_real_distribution<double> u(0.5, 1.5);
    for (auto* v : {&a, &b, &c, &x, &y}) {
      v->resize(4096);
      for (auto& e : *v) e = {u(rng), u(rng) - 1.0};
    }
  }
  void* array(const std::string& name) {
    if (name == "a" || name == "ap") return a.data();
    if (name == "b") return b.data();
    if (name == "c") return c.data();
    if (name == "x") return x.data();
    return y.data();
  }
};

std::string fortran_name(const std::string& member) {
  std::string n;
  for (char c : member.substr(0, member.size() - 1)) n += upper(c);
  while (n.size() < 6) n += ' ';
  return n;
}

class ChecksMatchReference : public ::testing::TestWithParam<std::string> {};

TEST_P(ChecksMatchReference, RandomArgumentSets) {
  if (!reference()) GTEST_SKIP() << "Debian's reference BLAS is not installed (libblas3)";
  const Family* fam = nullptr;
  for (const Family& f : families()) {
    if (f.name == GetParam()) fam = &f;
  }
  ASSERT_NE(fam, nullptr) << "family missing from spec/offload/blas.txt";

  for (const std::string& member : fam->members) {
    SCOPED_TRACE(member);
    const auto proto = abi_protos().find(member);
    ASSERT_NE(proto, abi_protos().end());
    const auto fn =
        reinterpret_cast<void (*)(const void*, const void*, const void*, const void*, const void*, const void*,
                                  const void*, const void*, const void*, const void*, const void*, const void*,
                                  const void*, const void*, const void*, const void*)>(reference_fn(member.c_str()));
    ASSERT_NE(fn, nullptr);
    // Positions (1-based, hidden lengths excluded) and kinds of the Fortran arguments.
    std::map<std::string, int> position;
    int pos = 0;
    for (const Param& p : proto->second.params) {
      if (p.type != "blas_strlen") position[p.name] = ++pos;
    }
    std::set<int> must_see;  // every checked argument must be caught invalid at least once
    bool letters_done = false;
    for (const std::string& name : fam->check) {
      ASSERT_TRUE(position.count(name)) << "check argument " << name << " is not a parameter of " << member;
      const bool is_char = proto->second.params[position[name] - 1].type.rfind("char", 0) == 0;
      ASSERT_FALSE(is_char && letters_done) << "option letters must come first in the check list";
      letters_done = letters_done || !is_char;
      must_see.insert(position[name]);
    }

    Gen gen(std::hash<std::string>{}(member));
    Buffers buf(gen.rng);
    std::map<int, int> seen;  // reference INFO -> count
    for (int iter = 0; iter < 3000; ++iter) {
      std::map<std::string, char> chars;
      std::map<std::string, int> ints;
      std::vector<const void*> args;
      std::vector<std::uintptr_t> lengths;
      for (const Param& p : proto->second.params) {
        if (p.type == "blas_strlen") continue;
        if (p.type.rfind("char", 0) == 0) {
          chars[p.name] = gen.option(p.name);
        } else if (p.type.find("blas_int") != std::string::npos) {
          ints[p.name] = gen.integer(p.name);
        }
      }
      std::string desc;
      for (const Param& p : proto->second.params) {
        if (p.type == "blas_strlen") {
          args.push_back(reinterpret_cast<const void*>(std::uintptr_t(1)));
        } else if (p.type.rfind("char", 0) == 0) {
          args.push_back(&chars[p.name]);
          desc += p.name + "='" + chars[p.name] + "' ";
        } else if (p.type.find("blas_int") != std::string::npos) {
          args.push_back(&ints[p.name]);
          desc += p.name + "=" + std::to_string(ints[p.name]) + " ";
        } else if (p.name == "alpha") {
          args.push_back(&buf.alpha);  // read as the routine's own type: any bytes will do
        } else if (p.name == "beta") {
          args.push_back(&buf.beta);
        } else {
          args.push_back(buf.array(p.name));
        }
      }
      args.resize(16, nullptr);

      begin_capture(nullptr, nullptr);
      fn(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8], args[9], args[10], args[11],
         args[12], args[13], args[14], args[15]);
      const std::vector<Event> events = end_capture();
      ASSERT_LE(events.size(), 1u) << desc << str(events);
      const int ref_info = events.empty() ? 0 : events[0].info;
      if (!events.empty()) {
        ASSERT_FALSE(events[0].cblas);
        ASSERT_EQ(events[0].routine, fortran_name(member)) << desc;
      }
      ++seen[ref_info];

      std::vector<char> cs;
      std::vector<std::int64_t> is;
      for (const std::string& name : fam->check) {
        if (chars.count(name)) {
          cs.push_back(upper(chars[name]));
        } else {
          is.push_back(ints[name]);
        }
      }
      const int info = call_check(fam->name, dtype_of(member[0]), cs, is);
      ASSERT_EQ(info, ref_info) << member << "(" << desc << ")";
    }
    EXPECT_GE(seen[0], 100) << "too few valid calls were generated";
    for (int p : must_see) EXPECT_GT(seen[p], 0) << "argument " << p << " was never caught invalid";
  }
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, ChecksMatchReference, ::testing::ValuesIn(kFamilies),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

TEST(ChecksSpec, EveryFamilyIsTested) {
  std::set<std::string> tested(std::begin(kFamilies), std::end(kFamilies));
  std::set<std::string> in_spec;
  for (const Family& f : families()) in_spec.insert(f.name);
  EXPECT_EQ(tested, in_spec);
}

// A few hand-picked cases, readable without the reference.
TEST(Checks, ReferenceOrderExamples) {
  using namespace rcpu::checks;
  EXPECT_EQ(gemm(Dtype::d, 'X', 'N', -1, 0, 0, 0, 0, 0), 1);
  EXPECT_EQ(gemm(Dtype::d, 'T', 'N', 4, 2, 3, 2, 3, 4), 8);  // transa 'T': nrowa = k = 3 > lda
  EXPECT_EQ(gemm(Dtype::d, 'T', 'N', 4, 2, 3, 3, 3, 4), 0);
  EXPECT_EQ(gemm(Dtype::d, 'N', 'N', 4, 2, 3, 3, 3, 4), 8);   // lda < m
  EXPECT_EQ(gemm(Dtype::z, 'C', 'T', 2, 2, 2, 2, 1, 2), 10);  // ldb < n (transb = 'T')
  EXPECT_EQ(gemm(Dtype::s, 'N', 'N', 2, 2, 2, 2, 2, 1), 13);
  EXPECT_EQ(syrk(Dtype::d, 'U', 'C', 2, 2, 2, 2), 0);       // real syrk accepts 'C'
  EXPECT_EQ(syrk(Dtype::z, 'U', 'C', 2, 2, 2, 2), 2);       // complex syrk does not
  EXPECT_EQ(herk(Dtype::z, 'U', 'T', 2, 2, 2, 2), 2);       // herk: N or C only
  EXPECT_EQ(gbmv(Dtype::d, 'N', 3, 3, 1, 1, 2, 1, 1), 8);   // lda < kl + ku + 1
  EXPECT_EQ(tbmv(Dtype::c, 'L', 'N', 'U', 3, 2, 2, 1), 7);  // lda < k + 1
  EXPECT_EQ(ger(Dtype::d, 2, 2, 0, 0, 1), 5);
  EXPECT_EQ(trsm(Dtype::d, 'R', 'U', 'N', 'U', 3, 2, 1, 3), 9);  // side R: nrowa = n
}

}  // namespace
