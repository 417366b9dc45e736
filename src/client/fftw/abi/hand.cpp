// The hand-written FFTW entry points (spec group fftw-hand) other than execution (execute.cpp):
// plan destruction, memory allocation, plan printing and wisdom through stdio streams or malloc'ed
// strings. Why they are not plain forwards: the local FFTW lives in its own link-map namespace
// with its own libc (local_fftw.h), so
//   - memory the application frees with free() must come from the application's libc: FFTW's
//     fftw_export_wisdom_to_string / fftw_sprint_plan results are copied out;
//   - the application's FILE* streams (and stdout) belong to the application's libc: rcpu writes
//     and reads them itself through FFTW's callback interfaces (fftw_export_wisdom,
//     fftw_import_wisdom), exactly as FFTW's own *_to_file / *_from_file routines do;
//   - fftw_malloc is implemented here as FFTW implements it (posix_memalign; n = 0 allocates 1
//     byte), with 64-byte alignment, which satisfies every SIMD alignment FFTW may check.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "client/fftw/fftw_route.h"

namespace rcpu::fftw {
namespace {

void* aligned_malloc(std::size_t n) {
  void* p = nullptr;
  if (posix_memalign(&p, 64, n ? n : 1) != 0) return nullptr;
  return p;
}

// A string malloc'ed in the local FFTW's namespace, as a string of the application's malloc.
char* adopt_string(char* s) {
  if (!s) return nullptr;
  char* copy = static_cast<char*>(std::malloc(std::strlen(s) + 1));
  if (copy) std::strcpy(copy, s);
  static auto ns_free = reinterpret_cast<void (*)(void*)>(namespace_libc_symbol("free"));
  ns_free(s);
  return copy;
}

void put_char(char c, void* file) { std::fputc(c, static_cast<FILE*>(file)); }
int get_char(void* file) { return std::getc(static_cast<FILE*>(file)); }

template <class PS>
void destroy(PS* p) {
  if (!p) return;
  local_fn<Precision<PS>::destroy>()(local_plan(p));
  if (is_rcpu_plan(p)) delete p;
}

}  // namespace
}  // namespace rcpu::fftw

using namespace rcpu;
using namespace rcpu::fftw;

extern "C" {

RCPU_EXPORT void fftw_destroy_plan(fftw_plan p) { destroy(p); }
RCPU_EXPORT void fftwf_destroy_plan(fftwf_plan p) { destroy(p); }

RCPU_EXPORT void* fftw_malloc(size_t n) { return aligned_malloc(n); }
RCPU_EXPORT void* fftwf_malloc(size_t n) { return aligned_malloc(n); }
RCPU_EXPORT void fftw_free(void* p) { std::free(p); }
RCPU_EXPORT void fftwf_free(void* p) { std::free(p); }
// FFTW's alloc_* multiply without an overflow check; so does rcpu (same results for the same n).
RCPU_EXPORT double* fftw_alloc_real(size_t n) { return static_cast<double*>(aligned_malloc(sizeof(double) * n)); }
RCPU_EXPORT float* fftwf_alloc_real(size_t n) { return static_cast<float*>(aligned_malloc(sizeof(float) * n)); }
RCPU_EXPORT fftw_complex* fftw_alloc_complex(size_t n) {
  return static_cast<fftw_complex*>(aligned_malloc(sizeof(fftw_complex) * n));
}
RCPU_EXPORT fftwf_complex* fftwf_alloc_complex(size_t n) {
  return static_cast<fftwf_complex*>(aligned_malloc(sizeof(fftwf_complex) * n));
}

RCPU_EXPORT char* fftw_sprint_plan(const fftw_plan p) {
  return adopt_string(with_local_plan<FftwSym::fftw_sprint_plan>(p));
}
RCPU_EXPORT char* fftwf_sprint_plan(const fftwf_plan p) {
  return adopt_string(with_local_plan<FftwSym::fftwf_sprint_plan>(p));
}
RCPU_EXPORT void fftw_fprint_plan(const fftw_plan p, FILE* f) {
  if (char* s = fftw_sprint_plan(p)) {
    std::fputs(s, f);
    std::free(s);
  }
}
RCPU_EXPORT void fftwf_fprint_plan(const fftwf_plan p, FILE* f) {
  if (char* s = fftwf_sprint_plan(p)) {
    std::fputs(s, f);
    std::free(s);
  }
}
RCPU_EXPORT void fftw_print_plan(const fftw_plan p) { fftw_fprint_plan(p, stdout); }
RCPU_EXPORT void fftwf_print_plan(const fftwf_plan p) { fftwf_fprint_plan(p, stdout); }

RCPU_EXPORT char* fftw_export_wisdom_to_string(void) {
  return adopt_string(local<FftwSym::fftw_export_wisdom_to_string>());
}
RCPU_EXPORT char* fftwf_export_wisdom_to_string(void) {
  return adopt_string(local<FftwSym::fftwf_export_wisdom_to_string>());
}
RCPU_EXPORT void fftw_export_wisdom_to_file(FILE* f) { local<FftwSym::fftw_export_wisdom>(&put_char, (void*)f); }
RCPU_EXPORT void fftwf_export_wisdom_to_file(FILE* f) { local<FftwSym::fftwf_export_wisdom>(&put_char, (void*)f); }
RCPU_EXPORT int fftw_import_wisdom_from_file(FILE* f) {
  return local<FftwSym::fftw_import_wisdom>(&get_char, (void*)f);
}
RCPU_EXPORT int fftwf_import_wisdom_from_file(FILE* f) {
  return local<FftwSym::fftwf_import_wisdom>(&get_char, (void*)f);
}

}  // extern "C"
