// Gathering and scattering the sides of a transform (see fft_pack.h).
#include "client/fftw/fft_pack.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace rcpu::fftw {
namespace {

struct Loop {
  std::int64_t n;       // iterations
  std::int64_t stride;  // in elements of the side's type, in the application's array
};

// The loops of one side, outermost first: the batch loops, then the transform dimensions (on the
// half-spectrum side of a real transform the last dimension has n/2+1 elements).
std::vector<Loop> loops(const FftDescriptor& d, int side) {
  std::vector<Loop> l;
  for (const FftDim& h : d.howmany) l.push_back({h.n, side == 0 ? h.is : h.os});
  for (std::size_t i = 0; i < d.dims.size(); ++i) {
    std::int64_t n = d.dims[i].n;
    const bool half = (side == 0 && d.kind == FftKind::c2r) || (side == 1 && d.kind == FftKind::r2c);
    if (half && i + 1 == d.dims.size()) n = n / 2 + 1;
    l.push_back({n, side == 0 ? d.dims[i].is : d.dims[i].os});
  }
  return l;
}

// Visits every element of a side in packed order: f(packed element index, array element offset).
// The innermost loop is handed over as a run (count, stride) so contiguous runs become one memcpy.
template <class F>
void visit(const FftDescriptor& d, int side, F f) {
  const std::vector<Loop> l = loops(d, side);
  for (const Loop& x : l)
    if (x.n <= 0) return;
  const std::size_t depth = l.size();
  std::vector<std::int64_t> idx(depth, 0);
  const Loop inner = l.back();
  std::uint64_t packed = 0;
  for (;;) {
    std::int64_t offset = 0;
    for (std::size_t i = 0; i + 1 < depth; ++i) offset += idx[i] * l[i].stride;
    f(packed, offset, inner.n, inner.stride);
    packed += std::uint64_t(inner.n);
    std::size_t i = depth - 1;
    for (;;) {
      if (i == 0) return;
      --i;
      if (++idx[i] < l[i].n) break;
      idx[i] = 0;
    }
  }
}

}  // namespace

std::size_t fft_elem_size(const FftDescriptor& d, int side) {
  const bool real = (side == 0 && d.kind == FftKind::r2c) || (side == 1 && d.kind == FftKind::c2r);
  return fft_real_size(d.precision) * (real ? 1 : 2);
}

void fft_gather(const FftDescriptor& d, int side, const void* array, void* packed) {
  const std::size_t e = fft_elem_size(d, side);
  const auto* a = static_cast<const std::uint8_t*>(array);
  auto* p = static_cast<std::uint8_t*>(packed);
  visit(d, side, [&](std::uint64_t pk, std::int64_t off, std::int64_t n, std::int64_t stride) {
    if (stride == 1) return void(std::memcpy(p + pk * e, a + off * std::int64_t(e), std::size_t(n) * e));
    for (std::int64_t j = 0; j < n; ++j)
      std::memcpy(p + (pk + std::uint64_t(j)) * e, a + (off + j * stride) * std::int64_t(e), e);
  });
}

void fft_scatter(const FftDescriptor& d, int side, const void* packed, void* array) {
  const std::size_t e = fft_elem_size(d, side);
  auto* a = static_cast<std::uint8_t*>(array);
  const auto* p = static_cast<const std::uint8_t*>(packed);
  visit(d, side, [&](std::uint64_t pk, std::int64_t off, std::int64_t n, std::int64_t stride) {
    if (stride == 1) return void(std::memcpy(a + off * std::int64_t(e), p + pk * e, std::size_t(n) * e));
    for (std::int64_t j = 0; j < n; ++j)
      std::memcpy(a + (off + j * stride) * std::int64_t(e), p + (pk + std::uint64_t(j)) * e, e);
  });
}

bool fft_side_is_packed(const FftDescriptor& d, int side) {
  const FftDescriptor p = fft_packed(d);
  for (std::size_t i = 0; i < d.dims.size(); ++i) {
    const bool unit_len = d.dims[i].n == 1;  // a length-1 dimension's stride never matters
    if (!unit_len && (side == 0 ? d.dims[i].is != p.dims[i].is : d.dims[i].os != p.dims[i].os)) return false;
  }
  std::size_t loops = 0;
  for (const FftDim& h : d.howmany) {
    if (h.n == 1) continue;
    if (++loops > 1) return false;
    if (side == 0 ? h.is != p.howmany[0].is : h.os != p.howmany[0].os) return false;
  }
  return true;
}

}  // namespace rcpu::fftw
