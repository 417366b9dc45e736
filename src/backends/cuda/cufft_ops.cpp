#include "backends/cuda/cufft_ops.h"

#include <cufft.h>
#include <cufftXt.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "backends/cuda/cuda_util.h"

namespace rcpu::backend::cuda {
namespace {

void check_cufft(cufftResult r, int device, const std::string& what) {
  if (r == CUFFT_SUCCESS) return;
  if (r == CUFFT_ALLOC_FAILED)
    throw OutOfDeviceMemory("cuda: " + what + " failed on device " + std::to_string(device) + ": out of memory");
  throw BackendError("cuda: " + what + " failed on device " + std::to_string(device) + ": cufftResult " +
                     std::to_string(int(r)));
}

using Key = std::tuple<int, int, int, std::vector<std::int64_t>>;
Key key_of(const FftDescriptor& d) {
  std::vector<std::int64_t> v;
  for (const FftDim& x : d.dims) v.push_back(x.n);
  v.push_back(std::int64_t(fft_batch(d)));
  return {int(d.kind), int(d.precision), d.sign, v};
}

// One session's plans, device buffers and stream on one device.
class CufftCache final : public FftPlanCache {
 public:
  explicit CufftCache(int device) : device(device) {}
  ~CufftCache() override {
    if (cudaSetDevice(device) == cudaSuccess) {
      if (stream) (void)cudaStreamSynchronize(stream);
      for (auto& [k, p] : plans) (void)cufftDestroy(p);
      for (cudaEvent_t e : events) (void)cudaEventDestroy(e);
      for (void* b : {d_in, d_out})
        if (b) (void)cudaFree(b);
      if (stream) (void)cudaStreamDestroy(stream);
    }
    (void)cudaGetLastError();
  }
  void* buffer(void*& p, std::size_t& cap, std::size_t bytes) {
    if (cap >= bytes) return p;
    if (p) check_cuda(cudaFree(p), device, "cudaFree");
    p = nullptr;
    cap = 0;
    check_cuda(cudaMalloc(&p, bytes), device, "cudaMalloc of an FFT buffer");
    cap = bytes;
    return p;
  }
  // Event i of the calls' copy-back pieces, created on first use and reused by later calls (each
  // call's StreamedFft drains the stream before the next one starts). Blocking sync: up to 16
  // sender threads wait on them, and must not spin on cores the network needs.
  cudaEvent_t event(std::size_t i) {
    while (events.size() <= i) {
      cudaEvent_t e = nullptr;
      check_cuda(cudaEventCreateWithFlags(&e, cudaEventDisableTiming | cudaEventBlockingSync), device,
                 "cudaEventCreate");
      events.push_back(e);
    }
    return events[i];
  }
  int device;
  cudaStream_t stream = nullptr;
  std::vector<cudaEvent_t> events;
  std::map<Key, cufftHandle> plans;
  void* d_in = nullptr;
  void* d_out = nullptr;
  std::size_t in_cap = 0, out_cap = 0;
};

cudaDataType side_type(const FftDescriptor& d, int side) {
  const bool real = (side == 0 && d.kind == FftKind::r2c) || (side == 1 && d.kind == FftKind::c2r);
  const bool dbl = d.precision == FftPrecision::f64;
  if (real) return dbl ? CUDA_R_64F : CUDA_R_32F;
  return dbl ? CUDA_C_64F : CUDA_C_32F;
}

int direction_of(const FftDescriptor& d) {
  if (d.kind == FftKind::c2c) return d.sign < 0 ? CUFFT_FORWARD : CUFFT_INVERSE;
  return d.kind == FftKind::r2c ? CUFFT_FORWARD : CUFFT_INVERSE;
}

cufftHandle plan_of(CufftCache& c, const FftDescriptor& d) {
  auto it = c.plans.find(key_of(d));
  if (it == c.plans.end()) throw BackendError("cuda: FFT executed without a plan");
  return it->second;
}

// Copy-back piece size: the first piece (which the server waits for before it answers) and the
// stripes' pieces come back this fine-grained, so senders start about as soon as the transform ends.
constexpr std::uint64_t kCopyPiece = 4ull << 20;

// Whether `parts` cover [0, bytes) exactly once (in any order).
bool partitions(std::vector<FftRange> parts, std::uint64_t bytes) {
  std::sort(parts.begin(), parts.end(), [](const FftRange& a, const FftRange& b) { return a.begin < b.begin; });
  std::uint64_t at = 0;
  for (const FftRange& p : parts) {
    if (p.begin != at || p.end < p.begin) return false;
    at = p.end;
  }
  return at == bytes;
}

// A striped FFT on one stream: each input piece's H2D is queued as it arrives (the pinned receive
// buffer lets it run while the next pieces are still on the wire), the transform after all of them,
// then the output's D2H in pieces, each with an event the senders wait on. The copies of the
// different stripes' ranges come back round robin, so every stripe's sender starts at once.
class CufftStreamed final : public StreamedFft {
 public:
  CufftStreamed(CufftCache& c, const FftDescriptor& d, void* in, void* out)
      : c_(c),
        direction_(direction_of(d)),
        in_(static_cast<const std::uint8_t*>(in)),
        out_(static_cast<std::uint8_t*>(out)),
        in_bytes_(fft_in_bytes(d)),
        out_bytes_(fft_out_bytes(d)) {
    check_cuda(cudaSetDevice(c.device), c.device, "cudaSetDevice");
    plan_ = plan_of(c, d);
    // Allocated now, before the first input_arrived: no allocation under the receivers' feet.
    d_in_ = static_cast<std::uint8_t*>(c.buffer(c.d_in, c.in_cap, in_bytes_));
    d_out_ = static_cast<std::uint8_t*>(c.buffer(c.d_out, c.out_cap, out_bytes_));
  }

  ~CufftStreamed() override {
    if (cudaSetDevice(c_.device) == cudaSuccess) (void)cudaStreamSynchronize(c_.stream);
    (void)cudaGetLastError();
  }

  void input_arrived(std::uint64_t offset, std::uint64_t bytes) noexcept override {
    // One enqueue at a time: the stream is shared by every stripe's receiver thread, and a copy
    // from pageable memory (no pinned buffer) is synchronous, which the lock keeps correct too.
    std::lock_guard lock(mu_);
    if (failed_ != cudaSuccess || bytes == 0) return;
    if (offset > in_bytes_ || bytes > in_bytes_ - offset) {
      failed_ = cudaErrorInvalidValue;
      return;
    }
    cudaError_t e = cudaSetDevice(c_.device);  // this thread's current device may be another
    if (e == cudaSuccess) e = cudaMemcpyAsync(d_in_ + offset, in_ + offset, bytes, cudaMemcpyHostToDevice, c_.stream);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      failed_ = e;  // execute() reports it
      return;
    }
    arrived_ += bytes;
  }

  void execute(const std::vector<FftRange>& readers) override {
    std::lock_guard lock(mu_);
    check_cuda(failed_, c_.device, "cudaMemcpyAsync of an FFT input piece");
    if (arrived_ != in_bytes_) throw BackendError("cuda: FFT executed before all of its input arrived");
    check_cuda(cudaSetDevice(c_.device), c_.device, "cudaSetDevice");
    // Same stream as the input copies: the transform starts once the last of them is done.
    check_cufft(cufftXtExec(plan_, d_in_, d_out_, direction_), c_.device, "cufftXtExec");
    copy_back(partitions(readers, out_bytes_) ? readers : std::vector<FftRange>{{0, out_bytes_}});
  }

  void wait_output(std::uint64_t offset, std::uint64_t bytes) override {
    // pieces_ is fixed once execute() returned (the server orders every wait after it).
    const std::uint64_t end = offset + bytes;
    for (const Piece& p : pieces_)
      if (p.begin < end && offset < p.end)
        check_cuda(cudaEventSynchronize(p.done), c_.device, "an FFT (or copying its result back)");
  }

 private:
  struct Piece {
    std::uint64_t begin, end;
    cudaEvent_t done;
  };

  void copy_back(const std::vector<FftRange>& parts) {
    std::vector<std::uint64_t> at;
    for (const FftRange& p : parts) at.push_back(p.begin);
    for (bool more = true; more;) {
      more = false;
      for (std::size_t r = 0; r < parts.size(); ++r) {
        if (at[r] >= parts[r].end) continue;
        const std::uint64_t n = std::min(kCopyPiece, parts[r].end - at[r]);
        const cudaEvent_t done = c_.event(pieces_.size());
        check_cuda(cudaMemcpyAsync(out_ + at[r], d_out_ + at[r], n, cudaMemcpyDeviceToHost, c_.stream), c_.device,
                   "cudaMemcpyAsync D2H");
        check_cuda(cudaEventRecord(done, c_.stream), c_.device, "cudaEventRecord");
        pieces_.push_back({at[r], at[r] + n, done});
        at[r] += n;
        more = more || at[r] < parts[r].end;
      }
    }
  }

  CufftCache& c_;
  cufftHandle plan_ = 0;
  int direction_;
  const std::uint8_t* in_;
  std::uint8_t* out_;
  std::uint64_t in_bytes_, out_bytes_;
  std::uint8_t* d_in_ = nullptr;
  std::uint8_t* d_out_ = nullptr;
  std::mutex mu_;                     // input_arrived's enqueues, failed_, arrived_
  cudaError_t failed_ = cudaSuccess;  // the first failing input copy
  std::uint64_t arrived_ = 0;
  std::vector<Piece> pieces_;
};

}  // namespace

bool cufft_supports(const FftDescriptor& d) { return !d.dims.empty() && d.dims.size() <= 3 && d.howmany.size() <= 1; }

std::unique_ptr<FftPlanCache> cufft_new_cache(int device) { return std::make_unique<CufftCache>(device); }

void cufft_prepare(FftPlanCache& cache, const FftDescriptor& d) {
  auto& c = dynamic_cast<CufftCache&>(cache);
  check_cuda(cudaSetDevice(c.device), c.device, "cudaSetDevice");
  if (!c.stream) check_cuda(cudaStreamCreateWithFlags(&c.stream, cudaStreamNonBlocking), c.device, "cudaStreamCreate");
  const Key k = key_of(d);
  if (c.plans.count(k)) return;
  cufftHandle plan = 0;
  check_cufft(cufftCreate(&plan), c.device, "cufftCreate");
  // Packed layout: null embeddings are cuFFT's contiguous default, exactly fft_packed's layout
  // (the last dimension n/2+1 on the complex side of a real transform).
  std::vector<long long> n;
  for (const FftDim& x : d.dims) n.push_back(x.n);
  std::size_t work = 0;
  const cudaDataType exec = d.precision == FftPrecision::f64 ? CUDA_C_64F : CUDA_C_32F;
  const cufftResult r = cufftXtMakePlanMany(plan, int(n.size()), n.data(), nullptr, 1, 0, side_type(d, 0), nullptr, 1,
                                            0, side_type(d, 1), (long long)fft_batch(d), &work, exec);
  if (r != CUFFT_SUCCESS) {
    (void)cufftDestroy(plan);
    check_cufft(r, c.device, "cufftXtMakePlanMany");
  }
  check_cufft(cufftSetStream(plan, c.stream), c.device, "cufftSetStream");
  c.plans[k] = plan;
}

void cufft_run(FftPlanCache& cache, const FftDescriptor& d, void* in, void* out) {
  auto& c = dynamic_cast<CufftCache&>(cache);
  check_cuda(cudaSetDevice(c.device), c.device, "cudaSetDevice");
  const cufftHandle plan = plan_of(c, d);
  const std::size_t in_bytes = fft_in_bytes(d), out_bytes = fft_out_bytes(d);
  void* d_in = c.buffer(c.d_in, c.in_cap, in_bytes);
  void* d_out = c.buffer(c.d_out, c.out_cap, out_bytes);
  check_cuda(cudaMemcpyAsync(d_in, in, in_bytes, cudaMemcpyHostToDevice, c.stream), c.device, "cudaMemcpyAsync H2D");
  check_cufft(cufftXtExec(plan, d_in, d_out, direction_of(d)), c.device, "cufftXtExec");
  check_cuda(cudaMemcpyAsync(out, d_out, out_bytes, cudaMemcpyDeviceToHost, c.stream), c.device, "cudaMemcpyAsync D2H");
  check_cuda(cudaStreamSynchronize(c.stream), c.device, "cudaStreamSynchronize");
}

std::unique_ptr<StreamedFft> cufft_begin(FftPlanCache& cache, const FftDescriptor& d, void* in, void* out) {
  return std::make_unique<CufftStreamed>(dynamic_cast<CufftCache&>(cache), d, in, out);
}

}  // namespace rcpu::backend::cuda
