// The one description of an FFT that every layer shares (like level3.h for BLAS): the client builds
// it from an FFTW plan, the protocol carries it, the server validates it, backends run it.
// FFTW's guru64 form: `dims` are the transform dimensions, `howmany` the batch loops, each with a
// length and input/output strides; all 64-bit whatever the client's integer width.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rcpu {

enum class FftKind : std::uint8_t { c2c = 0, r2c = 1, c2r = 2 };
enum class FftPrecision : std::uint8_t { f32 = 0, f64 = 1 };

struct FftDim {
  std::int64_t n = 0, is = 0, os = 0;  // length; strides in elements of the input / output type
  bool operator==(const FftDim&) const = default;
};

inline constexpr int kFftMaxRank = 8;         // transform dimensions the protocol accepts
inline constexpr int kFftMaxHowmanyRank = 8;  // batch loops the protocol accepts

struct FftDescriptor {
  FftKind kind = FftKind::c2c;
  FftPrecision precision = FftPrecision::f64;
  int sign = -1;                // FFTW_FORWARD (-1) or FFTW_BACKWARD (+1); c2c only
  std::vector<FftDim> dims;     // rank 1.. kFftMaxRank
  std::vector<FftDim> howmany;  // 0.. kFftMaxHowmanyRank
  bool operator==(const FftDescriptor&) const = default;
};

const char* fft_kind_name(FftKind k);  // "c2c", "r2c", "c2r"

// Size of one real element (4 or 8).
inline std::size_t fft_real_size(FftPrecision p) { return p == FftPrecision::f32 ? 4 : 8; }

// The logical size N of one transform (product of dims[].n) and the number of transforms.
std::uint64_t fft_points(const FftDescriptor& d);
std::uint64_t fft_batch(const FftDescriptor& d);

// The packed (contiguous) sizes of one transform's input and output in elements of their type:
// c2c N complex both; r2c N real in, N/n_last*(n_last/2+1) complex out; c2r the reverse.
std::uint64_t fft_packed_in_elems(const FftDescriptor& d);
std::uint64_t fft_packed_out_elems(const FftDescriptor& d);
// Bytes of the packed input / output of the whole call (all transforms).
std::uint64_t fft_in_bytes(const FftDescriptor& d);
std::uint64_t fft_out_bytes(const FftDescriptor& d);

// The policy's cost: 5 N log2 N per transform (FFTW's own flop estimate for a complex DFT; halved
// for real transforms) times the number of transforms.
double fft_flops(const FftDescriptor& d);

// The descriptor of the packed call the server runs: same kind, sizes and sign, with contiguous
// row-major dims and batches (input and output in their packed layout, out of place).
FftDescriptor fft_packed(const FftDescriptor& d);

// Checks a descriptor the way the server must before allocating anything: ranks, positive sizes,
// sign, and totals that cannot overflow or exceed `max_bytes` (in + out). Returns what is wrong.
std::optional<std::string> fft_validate(const FftDescriptor& d, std::uint64_t max_bytes);

}  // namespace rcpu
