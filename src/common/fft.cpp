#include "common/fft.h"

#include <cmath>
#include <limits>

namespace rcpu {

const char* fft_kind_name(FftKind k) {
  switch (k) {
    case FftKind::c2c:
      return "c2c";
    case FftKind::r2c:
      return "r2c";
    case FftKind::c2r:
      return "c2r";
  }
  return "?";
}

namespace {
constexpr std::uint64_t kSat = std::numeric_limits<std::uint64_t>::max();
std::uint64_t mul_sat(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > kSat / a) return kSat;
  return a * b;
}
// Elements of one transform on the complex (half-spectrum) side of a real transform.
std::uint64_t half_elems(const FftDescriptor& d) {
  if (d.dims.empty()) return 0;
  std::uint64_t e = 1;
  for (std::size_t i = 0; i + 1 < d.dims.size(); ++i) e = mul_sat(e, std::uint64_t(d.dims[i].n));
  return mul_sat(e, std::uint64_t(d.dims.back().n / 2 + 1));
}
}  // namespace

std::uint64_t fft_points(const FftDescriptor& d) {
  std::uint64_t n = 1;
  for (const FftDim& x : d.dims) n = mul_sat(n, x.n < 0 ? 0 : std::uint64_t(x.n));
  return n;
}

std::uint64_t fft_batch(const FftDescriptor& d) {
  std::uint64_t n = 1;
  for (const FftDim& x : d.howmany) n = mul_sat(n, x.n < 0 ? 0 : std::uint64_t(x.n));
  return n;
}

std::uint64_t fft_packed_in_elems(const FftDescriptor& d) {
  return d.kind == FftKind::c2r ? half_elems(d) : fft_points(d);
}
std::uint64_t fft_packed_out_elems(const FftDescriptor& d) {
  return d.kind == FftKind::r2c ? half_elems(d) : fft_points(d);
}

std::uint64_t fft_in_bytes(const FftDescriptor& d) {
  const std::uint64_t elem = fft_real_size(d.precision) * (d.kind == FftKind::r2c ? 1 : 2);
  return mul_sat(mul_sat(fft_packed_in_elems(d), fft_batch(d)), elem);
}
std::uint64_t fft_out_bytes(const FftDescriptor& d) {
  const std::uint64_t elem = fft_real_size(d.precision) * (d.kind == FftKind::c2r ? 1 : 2);
  return mul_sat(mul_sat(fft_packed_out_elems(d), fft_batch(d)), elem);
}

double fft_flops(const FftDescriptor& d) {
  const double n = double(fft_points(d));
  if (n <= 1) return 0;
  const double per = 5.0 * n * std::log2(n) * (d.kind == FftKind::c2c ? 1.0 : 0.5);
  return per * double(fft_batch(d));
}

FftDescriptor fft_packed(const FftDescriptor& d) {
  FftDescriptor p;
  p.kind = d.kind;
  p.precision = d.precision;
  p.sign = d.sign;
  p.dims.resize(d.dims.size());
  // Row-major: the last dimension is contiguous. On the half-spectrum side of a real transform the
  // last dimension holds n/2+1 elements.
  std::int64_t is = 1, os = 1;
  for (std::size_t i = d.dims.size(); i-- > 0;) {
    const std::int64_t n = d.dims[i].n;
    const bool last = i + 1 == d.dims.size();
    const std::int64_t in_n = (last && d.kind == FftKind::c2r) ? n / 2 + 1 : n;
    const std::int64_t out_n = (last && d.kind == FftKind::r2c) ? n / 2 + 1 : n;
    p.dims[i] = FftDim{n, is, os};
    is *= in_n;
    os *= out_n;
  }
  // One batch loop of all transforms, one packed transform after another.
  if (fft_batch(d) != 1 || !d.howmany.empty()) p.howmany.push_back(FftDim{std::int64_t(fft_batch(d)), is, os});
  return p;
}

std::optional<std::string> fft_validate(const FftDescriptor& d, std::uint64_t max_bytes) {
  if (d.kind != FftKind::c2c && d.kind != FftKind::r2c && d.kind != FftKind::c2r) return "unknown FFT kind";
  if (d.precision != FftPrecision::f32 && d.precision != FftPrecision::f64) return "unknown FFT precision";
  if (d.dims.empty() || d.dims.size() > std::size_t(kFftMaxRank)) return "FFT rank out of range";
  if (d.howmany.size() > std::size_t(kFftMaxHowmanyRank)) return "FFT howmany rank out of range";
  if (d.kind == FftKind::c2c && d.sign != -1 && d.sign != 1) return "FFT sign is neither -1 nor +1";
  constexpr std::int64_t kMaxLen = std::int64_t(1) << 40;
  for (const FftDim& x : d.dims)
    if (x.n < 1 || x.n > kMaxLen) return "FFT dimension out of range";
  for (const FftDim& x : d.howmany)
    if (x.n < 1 || x.n > kMaxLen) return "FFT batch dimension out of range";
  const std::uint64_t in = fft_in_bytes(d), out = fft_out_bytes(d);
  if (in == kSat || out == kSat || in > kSat - out) return "FFT size overflows";
  if (in + out > max_bytes) return "FFT larger than the server's request limit";
  return std::nullopt;
}

}  // namespace rcpu
