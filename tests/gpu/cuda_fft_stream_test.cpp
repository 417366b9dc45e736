// The CUDA backend's streamed FFT (Backend::begin_fft, used by rcpud for striped FFTs) against the
// CPU backend's FFTW: input announced in odd-sized pieces from several threads at once (as the
// stripes' receivers do), the output awaited piece by piece from several threads (as the senders
// do), on page-locked and on pageable host memory; a call abandoned half-way; execute() before all
// input has arrived. Exits 77 (CTest: skipped) without a GPU.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cuda/cuda_backend.h"
#include "common/fft.h"

using namespace rcpu;
using namespace rcpu::backend;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
}

// [s·L/k, (s+1)·L/k): the server's stripe ranges (protocol/fft_request.h fft_stripe_range).
FftRange stripe(std::uint64_t len, std::uint64_t s, std::uint64_t k) { return {len * s / k, len * (s + 1) / k}; }

// Host memory from the backend (page-locked for CUDA) or from new (pageable), 64-byte aligned.
struct Host {
  Host(Backend& be, std::size_t bytes, bool pinned) : be(pinned ? &be : nullptr), bytes(bytes + 64) {
    raw = pinned ? be.alloc_host(this->bytes) : ::operator new(this->bytes);
    p = reinterpret_cast<std::uint8_t*>((reinterpret_cast<std::uintptr_t>(raw) + 63) & ~std::uintptr_t(63));
  }
  ~Host() { be ? be->free_host(raw, bytes) : ::operator delete(raw); }
  Backend* be;
  std::size_t bytes;
  void* raw;
  std::uint8_t* p;
};

// Max |a - b| / max |b| over the packed output, read as reals of the precision.
template <class T>
double rel_error(const std::uint8_t* a, const std::uint8_t* b, std::uint64_t bytes) {
  const auto* x = reinterpret_cast<const T*>(a);
  const auto* y = reinterpret_cast<const T*>(b);
  double err = 0, scale = 0;
  for (std::uint64_t i = 0; i < bytes / sizeof(T); ++i) {
    err = std::max(err, std::abs(double(x[i]) - double(y[i])));
    scale = std::max(scale, std::abs(double(y[i])));
  }
  return scale > 0 ? err / scale : err;
}

FftDescriptor desc(FftKind kind, FftPrecision p, std::vector<std::int64_t> dims) {
  FftDescriptor d;
  d.kind = kind;
  d.precision = p;
  for (std::int64_t n : dims) d.dims.push_back({n, 1, 1});
  return fft_packed(d);
}

void run_case(Backend& gpu, Backend& cpu, const FftDescriptor& d, int stripes, std::uint64_t piece, bool pinned,
              bool partition_readers) {
  const std::string name = std::string(fft_kind_name(d.kind)) + (d.precision == FftPrecision::f64 ? " f64" : " f32") +
                           " n0=" + std::to_string(d.dims[0].n) + " stripes=" + std::to_string(stripes) +
                           (pinned ? " pinned" : " pageable") + (partition_readers ? "" : " (no readers)");
  const std::uint64_t in_bytes = fft_in_bytes(d), out_bytes = fft_out_bytes(d);
  Host in(gpu, in_bytes, pinned), out(gpu, out_bytes, pinned), ref_in(cpu, in_bytes, false),
      ref_out(cpu, out_bytes, false);
  auto cpu_cache = cpu.new_fft_cache();
  cpu.prepare_fft(*cpu_cache, d, 64 /* FFTW_ESTIMATE */, ref_in.p, ref_out.p);
  auto gpu_cache = gpu.new_fft_cache();
  gpu.prepare_fft(*gpu_cache, d, 64, in.p, out.p);
  // Random input; a c2r input is made Hermitian (the r2c transform of real data): on other input
  // cuFFT and FFTW may legitimately differ.
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-1, 1);
  if (d.precision == FftPrecision::f64)
    for (std::uint64_t i = 0; i < in_bytes / 8; ++i) reinterpret_cast<double*>(ref_in.p)[i] = u(rng);
  else
    for (std::uint64_t i = 0; i < in_bytes / 4; ++i) reinterpret_cast<float*>(ref_in.p)[i] = float(u(rng));
  if (d.kind == FftKind::c2r) {
    // Packed for r2c (not d with its kind changed: d's strides are c2r's, and the transform would
    // write past the end of its output).
    std::vector<std::int64_t> dims;
    for (const FftDim& x : d.dims) dims.push_back(x.n);
    const FftDescriptor fwd = desc(FftKind::r2c, d.precision, dims);
    auto c = cpu.new_fft_cache();
    std::vector<std::uint8_t> real(fft_in_bytes(fwd));
    std::memcpy(real.data(), ref_in.p, std::min<std::size_t>(real.size(), in_bytes));
    Host r(cpu, real.size(), false);
    std::memcpy(r.p, real.data(), real.size());
    cpu.prepare_fft(*c, fwd, 64, r.p, ref_in.p);
    std::memcpy(r.p, real.data(), real.size());
    cpu.fft(*c, fwd, 64, r.p, ref_in.p);
  }
  std::memcpy(in.p, ref_in.p, in_bytes);
  std::memset(out.p, 0xff, out_bytes);
  cpu.fft(*cpu_cache, d, 64, ref_in.p, ref_out.p);

  auto fft = gpu.begin_fft(*gpu_cache, d, 64, in.p, out.p);
  std::vector<FftRange> readers;
  for (int s = 0; s < stripes; ++s) readers.push_back(stripe(out_bytes, s, stripes));
  {
    std::vector<std::thread> receivers;
    for (int s = 0; s < stripes; ++s)
      receivers.emplace_back([&, s] {
        const FftRange r = stripe(in_bytes, s, stripes);
        for (std::uint64_t at = r.begin; at < r.end; at += piece) fft->input_arrived(at, std::min(piece, r.end - at));
      });
    for (auto& t : receivers) t.join();
  }
  try {
    fft->execute(partition_readers ? readers : std::vector<FftRange>{});
    std::vector<std::thread> senders;
    for (int s = 0; s < stripes; ++s)
      senders.emplace_back([&, s] {
        const FftRange r = readers[s];
        for (std::uint64_t at = r.begin; at < r.end; at += piece) fft->wait_output(at, std::min(piece, r.end - at));
      });
    for (auto& t : senders) t.join();
  } catch (const std::exception& e) {
    check(false, name + ": " + e.what());
    return;
  }
  const double err = d.precision == FftPrecision::f64 ? rel_error<double>(out.p, ref_out.p, out_bytes)
                                                      : rel_error<float>(out.p, ref_out.p, out_bytes);
  check(err < (d.precision == FftPrecision::f64 ? 1e-12 : 1e-5), name + ": relative error " + std::to_string(err));
  std::printf("%s: relative error %.2e\n", name.c_str(), err);
}

}  // namespace

int main() {
  std::unique_ptr<Backend> gpu;
  try {
    gpu = make_cuda_backend({});
  } catch (const std::exception& e) {
    std::printf("SKIPPED: %s\n", e.what());
    return 77;
  }
  auto cpu = make_cpu_backend({});
  const std::uint64_t odd = (1 << 20) + 13;  // pieces that end inside elements
  run_case(*gpu, *cpu, desc(FftKind::c2c, FftPrecision::f64, {1 << 21}), 3, odd, true, true);
  run_case(*gpu, *cpu, desc(FftKind::c2c, FftPrecision::f64, {1 << 21}), 8, 4 << 20, false, true);
  run_case(*gpu, *cpu, desc(FftKind::r2c, FftPrecision::f32, {1024, 1000}), 5, odd, true, true);
  run_case(*gpu, *cpu, desc(FftKind::c2r, FftPrecision::f64, {512, 514}), 2, odd, true, false);
  run_case(*gpu, *cpu, desc(FftKind::c2c, FftPrecision::f32, {64, 64, 96}), 16, 4096 + 7, true, true);

  // execute() before all input arrived: BackendError, and the session's cache still works after.
  {
    const FftDescriptor d = desc(FftKind::c2c, FftPrecision::f64, {1 << 16});
    Host in(*gpu, fft_in_bytes(d), true), out(*gpu, fft_out_bytes(d), true);
    auto cache = gpu->new_fft_cache();
    gpu->prepare_fft(*cache, d, 64, in.p, out.p);
    bool threw = false;
    {
      auto fft = gpu->begin_fft(*cache, d, 64, in.p, out.p);
      fft->input_arrived(0, fft_in_bytes(d) / 2);
      try {
        fft->execute({{0, fft_out_bytes(d)}});
      } catch (const BackendError&) {
        threw = true;
      }
    }  // abandoned: the destructor drains the stream
    check(threw, "execute() with half the input throws BackendError");
    std::memset(in.p, 0, fft_in_bytes(d));
    reinterpret_cast<double*>(in.p)[0] = 1;  // a delta: every output bin is 1
    auto fft = gpu->begin_fft(*cache, d, 64, in.p, out.p);
    fft->input_arrived(0, fft_in_bytes(d));
    fft->execute({{0, fft_out_bytes(d)}});
    fft->wait_output(0, fft_out_bytes(d));
    bool ones = true;
    for (std::uint64_t i = 0; i < fft_out_bytes(d) / 16; ++i)
      ones = ones && reinterpret_cast<std::complex<double>*>(out.p)[i] == std::complex<double>(1, 0);
    check(ones, "a call on the same cache after an abandoned one");
  }
  if (failures) {
    std::fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  std::printf("cuda streamed FFT: all cases agree with FFTW\n");
  return 0;
}
