// DMA load generator for bench/probes/dma_vs_loopback.sh: copies a page-locked host buffer to
// (h2d) or from (d2h) the GPU in a loop for `seconds`, then prints the achieved GB/s as JSON.
//   dma_probe h2d|d2h [MiB=256] [seconds=3]
#include <cuda_runtime.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "h2d";
  const size_t mb = argc > 2 ? atol(argv[2]) : 256;
  const double secs = argc > 3 ? atof(argv[3]) : 3;
  const size_t bytes = mb << 20;
  void *h = nullptr, *d = nullptr;
  if (cudaHostAlloc(&h, bytes, cudaHostAllocPortable) != cudaSuccess || cudaMalloc(&d, bytes) != cudaSuccess) return 1;
  memset(h, 1, bytes);
  cudaStream_t s;
  cudaStreamCreate(&s);
  const bool up = !strcmp(mode, "h2d");
  auto t0 = std::chrono::steady_clock::now();
  size_t moved = 0;
  double el = 0;
  while (el < secs) {
    for (int i = 0; i < 4; ++i) {
      if (up)
        cudaMemcpyAsync(d, h, bytes, cudaMemcpyHostToDevice, s);
      else
        cudaMemcpyAsync(h, d, bytes, cudaMemcpyDeviceToHost, s);
      moved += bytes;
    }
    cudaStreamSynchronize(s);
    el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  printf("{\"dma\": \"%s\", \"gbytes_per_s\": %.2f, \"seconds\": %.2f}\n", mode, moved / el / 1e9, el);
  return 0;
}
