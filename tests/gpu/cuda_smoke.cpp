// Smallest end-to-end check of the CUDA backend, linking nothing but rcpu_backend_cuda (so it also
// catches missing symbols at build time): make the backend, print its description, run one dgemm
// and one ztrsm, and compare with a plain loop. Exits 77 (CTest: skipped) when there is no GPU.
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "backends/backend.h"
#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cusolver_call.h"

using namespace rcpu;
using namespace rcpu::backend;

int main() {
  std::unique_ptr<Backend> gpu;
  try {
    gpu = make_cuda_backend({});
  } catch (const BackendError& e) {
    std::printf("SKIPPED: %s\n", e.what());
    return 77;
  }
  std::printf("%s: %s\n", gpu->name().c_str(), gpu->description().c_str());
  int bad = 0;

  // C := 2 A B + 0.5 C, 37 x 29 x 41
  {
    const int m = 37, n = 29, k = 41;
    std::vector<double> a(m * k), b(k * n), c(m * n), want(m * n);
    for (int i = 0; i < m * k; ++i) a[i] = double(i % 7) - 3;
    for (int i = 0; i < k * n; ++i) b[i] = double(i % 5) * 0.25;
    for (int i = 0; i < m * n; ++i) c[i] = want[i] = double(i % 3);
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i) {
        double s = 0;
        for (int l = 0; l < k; ++l) s += a[i + l * m] * b[l + j * k];
        want[i + j * m] = 2 * s + 0.5 * want[i + j * m];
      }
    Level3Args x;
    x.family = L3Family::gemm;
    x.dtype = Dtype::d;
    x.m = m, x.n = n, x.k = k;
    x.alpha = 2;
    x.beta = 0.5;
    x.lda = m, x.ldb = k, x.ldc = m;
    try {
      gpu->level3(x, a.data(), b.data(), c.data());
      for (int i = 0; i < m * n; ++i)
        if (std::abs(c[i] - want[i]) > 1e-12 * (1 + std::abs(want[i]))) {
          std::printf("dgemm: C[%d] = %g, want %g\n", i, c[i], want[i]);
          ++bad;
          break;
        }
    } catch (const BackendError& e) {
      std::printf("dgemm threw: %s\n", e.what());
      ++bad;
    }
  }

  // A LAPACK operand's device buffer starts cleared, whatever the memory held before (another
  // session's result): cudaMalloc readily hands back the block just freed.
  {
    const std::size_t bytes = 1 << 20;
    void* used = nullptr;
    if (cudaMalloc(&used, bytes) == cudaSuccess) {
      cudaMemset(used, 0x5a, bytes);
      cudaDeviceSynchronize();
      cudaFree(used);
    }
    try {
      backend::cuda::cusolver::DevBuf fresh(bytes, 0);
      std::vector<unsigned char> host(bytes, 1);
      cudaMemcpy(host.data(), fresh.get(), bytes, cudaMemcpyDeviceToHost);
      std::size_t left = 0;
      for (unsigned char v : host) left += v != 0;
      if (left) {
        std::printf("LAPACK device buffer: %zu of %zu bytes not cleared\n", left, bytes);
        ++bad;
      }
    } catch (const BackendError& e) {
      std::printf("DevBuf threw: %s\n", e.what());
      ++bad;
    }
  }

  // B := A^-1 B with A lower triangular, unit diagonal, 3 x 2, complex
  {
    using Z = std::complex<double>;
    std::vector<Z> a = {Z(1, 0), Z(0.5, 1), Z(2, 0), Z(9, 9), Z(1, 0), Z(0, -1), Z(9, 9), Z(9, 9), Z(1, 0)};
    std::vector<Z> x_true = {Z(1, 2), Z(-1, 0), Z(0.5, 0.5), Z(3, 0), Z(0, 1), Z(2, -2)};
    std::vector<Z> bm(6);
    for (int j = 0; j < 2; ++j)  // B = L X with unit diagonal
      for (int i = 0; i < 3; ++i) {
        Z s = x_true[i + 3 * j];
        for (int l = 0; l < i; ++l) s += a[i + 3 * l] * x_true[l + 3 * j];
        bm[i + 3 * j] = s;
      }
    Level3Args x;
    x.family = L3Family::trsm;
    x.dtype = Dtype::z;
    x.side = 'L', x.uplo = 'L', x.transa = 'N', x.diag = 'U';
    x.m = 3, x.n = 2;
    x.alpha = 1;
    x.lda = 3, x.ldb = 3, x.ldc = 3;
    try {
      gpu->level3(x, a.data(), nullptr, bm.data());
      for (int i = 0; i < 6; ++i)
        if (std::abs(bm[i] - x_true[i]) > 1e-13) {
          std::printf("ztrsm: X[%d] = (%g,%g), want (%g,%g)\n", i, bm[i].real(), bm[i].imag(), x_true[i].real(),
                      x_true[i].imag());
          ++bad;
          break;
        }
    } catch (const BackendError& e) {
      std::printf("ztrsm threw: %s\n", e.what());
      ++bad;
    }
  }
  std::printf(bad ? "FAILED\n" : "PASSED\n");
  return bad ? 1 : 0;
}
