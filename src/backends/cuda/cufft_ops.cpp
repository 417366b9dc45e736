#include "backends/cuda/cufft_ops.h"

#include <cufft.h>
#include <cufftXt.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "backends/cuda/cuda_util.h"

namespace rcpu::backend::cuda {
namespace {

void check_cufft(cufftResult r, int device, const std::string& what) {
  if (r == CUFFT_SUCCESS) return;
  if (r == CUFFT_ALLOC_FAILED) throw OutOfDeviceMemory("cuda: " + what + " failed on device " + std::to_string(device) + ": out of memory");
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
  int device;
  cudaStream_t stream = nullptr;
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

}  // namespace

bool cufft_supports(const FftDescriptor& d) {
  return !d.dims.empty() && d.dims.size() <= 3 && d.howmany.size() <= 1;
}

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
  const cufftResult r = cufftXtMakePlanMany(plan, int(n.size()), n.data(), nullptr, 1, 0, side_type(d, 0), nullptr, 1, 0,
                                            side_type(d, 1), (long long)fft_batch(d), &work, exec);
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
  auto it = c.plans.find(key_of(d));
  if (it == c.plans.end()) throw BackendError("cuda: FFT executed without a plan");
  const std::size_t in_bytes = fft_in_bytes(d), out_bytes = fft_out_bytes(d);
  void* d_in = c.buffer(c.d_in, c.in_cap, in_bytes);
  void* d_out = c.buffer(c.d_out, c.out_cap, out_bytes);
  check_cuda(cudaMemcpyAsync(d_in, in, in_bytes, cudaMemcpyHostToDevice, c.stream), c.device, "cudaMemcpyAsync H2D");
  const int direction = d.kind == FftKind::c2c ? (d.sign < 0 ? CUFFT_FORWARD : CUFFT_INVERSE)
                                               : (d.kind == FftKind::r2c ? CUFFT_FORWARD : CUFFT_INVERSE);
  check_cufft(cufftXtExec(it->second, d_in, d_out, direction), c.device, "cufftXtExec");
  check_cuda(cudaMemcpyAsync(out, d_out, out_bytes, cudaMemcpyDeviceToHost, c.stream), c.device, "cudaMemcpyAsync D2H");
  check_cuda(cudaStreamSynchronize(c.stream), c.device, "cudaStreamSynchronize");
}

}  // namespace rcpu::backend::cuda
