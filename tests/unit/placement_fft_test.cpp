// The placement's FFTs (server/placement/placement_fft.cpp) over CPU "virtual devices": a batch cut
// by transforms in proportion to the rates, every device running its part, results equal to one
// FFTW run of the whole batch; small batches, single transforms and in-place real transforms run
// whole; the streamed entry point of a split batch; each device's work counted.
#include <gtest/gtest.h>

#include <algorithm>
#include <complex>
#include <cstring>
#include <random>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/cpu_backend.h"
#include "common/fft.h"
#include "server/placement/placement.h"

namespace rcpu {
namespace {

using namespace server::placement;
using backend::Backend;

constexpr unsigned kEstimate = 64;  // FFTW_ESTIMATE

FftDescriptor batch_of(FftKind kind, FftPrecision p, std::vector<std::int64_t> dims, std::int64_t howmany) {
  FftDescriptor d;
  d.kind = kind;
  d.precision = p;
  for (std::int64_t n : dims) d.dims.push_back({n, 1, 1});
  if (howmany > 1) d.howmany.push_back({howmany, 1, 1});
  return fft_packed(d);
}

std::unique_ptr<Placement> devices(std::vector<double> rates, std::uint64_t split_min_bytes) {
  std::vector<std::unique_ptr<Backend>> devs;
  for (std::size_t i = 0; i < rates.size(); ++i) devs.push_back(backend::make_cpu_backend({}));
  Options o;
  o.rates = std::move(rates);
  o.log_rates = false;
  o.split_min_fft_bytes = split_min_bytes;
  return std::make_unique<Placement>(std::move(devs), o);
}

// Random input (a Hermitian spectrum for c2r: the r2c of real data), the transform through `be`
// and through one CPU backend; the largest difference relative to the largest output value.
double run_against_one_cpu(Backend& be, const FftDescriptor& d, bool streamed = false) {
  const std::uint64_t in_bytes = fft_in_bytes(d), out_bytes = fft_out_bytes(d);
  std::vector<std::uint8_t> in(in_bytes), out(out_bytes, 0xff), ref_in, ref_out(out_bytes);
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  auto cpu = backend::make_cpu_backend({});
  if (d.kind == FftKind::c2r) {
    std::vector<std::int64_t> dims;
    for (const FftDim& x : d.dims) dims.push_back(x.n);
    const FftDescriptor fwd = batch_of(FftKind::r2c, d.precision, dims, std::int64_t(fft_batch(d)));
    std::vector<std::uint8_t> real(fft_in_bytes(fwd));
    if (d.precision == FftPrecision::f64)
      for (std::size_t i = 0; i < real.size() / 8; ++i) reinterpret_cast<double*>(real.data())[i] = u(rng);
    else
      for (std::size_t i = 0; i < real.size() / 4; ++i) reinterpret_cast<float*>(real.data())[i] = float(u(rng));
    auto c = cpu->new_fft_cache();
    std::vector<std::uint8_t> scratch = real;
    cpu->prepare_fft(*c, fwd, kEstimate, scratch.data(), in.data());
    cpu->fft(*c, fwd, kEstimate, real.data(), in.data());
  } else if (d.precision == FftPrecision::f64) {
    for (std::size_t i = 0; i < in_bytes / 8; ++i) reinterpret_cast<double*>(in.data())[i] = u(rng);
  } else {
    for (std::size_t i = 0; i < in_bytes / 4; ++i) reinterpret_cast<float*>(in.data())[i] = float(u(rng));
  }
  ref_in = in;
  auto ref_cache = cpu->new_fft_cache();
  std::vector<std::uint8_t> plan_in = ref_in;
  cpu->prepare_fft(*ref_cache, d, kEstimate, plan_in.data(), ref_out.data());
  cpu->fft(*ref_cache, d, kEstimate, ref_in.data(), ref_out.data());

  auto cache = be.new_fft_cache();
  std::vector<std::uint8_t> keep = in;
  be.prepare_fft(*cache, d, kEstimate, in.data(), out.data());
  in =
      keep;  // planning may overwrite the arrays (FFTW's rule); the input is restored, as rcpud receives after planning
  if (streamed) {
    auto s = be.begin_fft(*cache, d, kEstimate, in.data(), out.data());
    s->input_arrived(0, in_bytes);
    s->execute({{0, out_bytes}});
    s->wait_output(0, out_bytes);
  } else {
    be.fft(*cache, d, kEstimate, in.data(), out.data());
  }
  double err = 0, scale = 0;
  const bool dbl = d.precision == FftPrecision::f64;
  for (std::uint64_t i = 0; i < out_bytes / (dbl ? 8 : 4); ++i) {
    const double a =
        dbl ? reinterpret_cast<const double*>(out.data())[i] : reinterpret_cast<const float*>(out.data())[i];
    const double b =
        dbl ? reinterpret_cast<const double*>(ref_out.data())[i] : reinterpret_cast<const float*>(ref_out.data())[i];
    err = std::max(err, std::abs(a - b));
    scale = std::max(scale, std::abs(b));
  }
  return scale > 0 ? err / scale : err;
}

std::uint64_t pieces_of(const Placement& pl, std::size_t device) { return pl.stats()[device].pieces; }

TEST(PlacementFft, BatchesAreCutInProportionToTheRates) {
  auto pl = devices({1, 2, 1}, 0);
  const FftDescriptor d = batch_of(FftKind::c2c, FftPrecision::f64, {64}, 40);
  const auto parts = pl->plan_fft(d);
  ASSERT_EQ(parts.size(), 3u);
  std::int64_t at = 0;
  for (const auto& p : parts) {
    EXPECT_EQ(p.first, at);
    at += p.count;
  }
  EXPECT_EQ(at, 40);
  EXPECT_EQ(parts[1].device, 1);
  EXPECT_NEAR(double(parts[1].count), 20.0, 1.0);
}

TEST(PlacementFft, EveryKindSplitMatchesOneDevice) {
  for (FftPrecision p : {FftPrecision::f64, FftPrecision::f32}) {
    const double tol = p == FftPrecision::f64 ? 1e-13 : 1e-5;
    for (const FftDescriptor& d : {batch_of(FftKind::c2c, p, {64}, 37), batch_of(FftKind::c2c, p, {12, 10}, 9),
                                   batch_of(FftKind::r2c, p, {30, 16}, 7), batch_of(FftKind::c2r, p, {18}, 11),
                                   batch_of(FftKind::r2c, p, {7, 5, 6}, 5)}) {
      auto pl = devices({1, 2, 1}, 0);
      EXPECT_EQ(pl->plan_fft(d).size(), 3u) << fft_kind_name(d.kind);
      EXPECT_LT(run_against_one_cpu(*pl, d), tol) << fft_kind_name(d.kind) << " batch " << fft_batch(d);
      for (std::size_t dev = 0; dev < 3; ++dev) EXPECT_EQ(pieces_of(*pl, dev), 1u) << "device " << dev;
    }
  }
}

TEST(PlacementFft, SplitBatchThroughTheStreamedEntryPoint) {
  auto pl = devices({1, 1}, 0);
  const FftDescriptor d = batch_of(FftKind::c2c, FftPrecision::f64, {128}, 6);
  EXPECT_LT(run_against_one_cpu(*pl, d, /*streamed=*/true), 1e-13);
  EXPECT_EQ(pieces_of(*pl, 0), 1u);
  EXPECT_EQ(pieces_of(*pl, 1), 1u);
}

TEST(PlacementFft, SmallBatchesAndSingleTransformsRunWhole) {
  auto pl = devices({1, 1, 1}, 1 << 20);
  const FftDescriptor small = batch_of(FftKind::c2c, FftPrecision::f64, {64}, 8);  // 16 KiB: under the threshold
  ASSERT_EQ(pl->plan_fft(small).size(), 1u);
  EXPECT_LT(run_against_one_cpu(*pl, small), 1e-13);
  const FftDescriptor single = batch_of(FftKind::c2c, FftPrecision::f64, {1 << 17}, 1);  // 4 MiB, one transform
  ASSERT_EQ(pl->plan_fft(single).size(), 1u);
  EXPECT_LT(run_against_one_cpu(*pl, single, /*streamed=*/true), 1e-12);
  std::uint64_t whole = 0;
  for (const auto& s : pl->stats()) {
    whole += s.whole_calls;
    EXPECT_EQ(s.pieces, 0u);
  }
  EXPECT_EQ(whole, 2u);
}

TEST(PlacementFft, InPlaceRealBatchRunsWhole) {
  // Packed in-place r2c: transform t's output slice overlaps transform t+1's input slice, so the
  // batch must not be cut over devices running at the same time.
  auto pl = devices({1, 1}, 0);
  const FftDescriptor d = batch_of(FftKind::r2c, FftPrecision::f64, {16}, 4);
  std::vector<double> buf(fft_out_bytes(d) / 8, 0.0);
  auto cache = pl->new_fft_cache();
  pl->prepare_fft(*cache, d, kEstimate, buf.data(), buf.data());
  for (std::size_t i = 0; i < fft_in_bytes(d) / 8; ++i) buf[i] = double(i % 7);
  pl->fft(*cache, d, kEstimate, buf.data(), buf.data());
  EXPECT_EQ(pl->stats()[0].pieces + pl->stats()[1].pieces, 0u);
  EXPECT_EQ(pl->stats()[0].whole_calls + pl->stats()[1].whole_calls, 1u);
}

}  // namespace
}  // namespace rcpu
