// The description (common/fft.h, FFTW's guru64 form) of every planner call whose transform a server
// can run: complex DFTs, r2c and c2r, of the basic, advanced (many) and guru interfaces, both
// precisions. Each function is named after the planner without its fftw_/fftwf_ prefix; the
// generated entry points (build/generated/fftw_exports.cpp) call them. The layouts follow FFTW's
// own api/ code: advanced-interface strides come from the row-major embedding (inembed/onembed,
// default n), and a real transform's default embedding pads the last dimension to n/2+1 complex
// (2(n/2+1) real when in place), exactly as FFTW's rdft2_pad does.
#pragma once

#include <cstddef>

#include "client/fftw/plan.h"

namespace rcpu::fftw::describe {

// The precision-independent cores. Pointers are the application's arrays; strides are in
// elements of each side's type (complex for c2c, real/complex for r2c, complex/real for c2r).
Described many(FftKind kind, FftPrecision prec, int rank, const int* n, int howmany, void* in, const int* inembed,
               int istride, int idist, void* out, const int* onembed, int ostride, int odist, int sign, unsigned flags);
template <class IoDim>
Described guru(FftKind kind, FftPrecision prec, int rank, const IoDim* dims, int howmany_rank,
               const IoDim* howmany_dims, void* in, void* out, int sign, unsigned flags);

template <class R>
constexpr FftPrecision precision_of() {
  return sizeof(R) == 4 ? FftPrecision::f32 : FftPrecision::f64;
}

// ---- complex DFT ----
template <class R>
Described plan_many_dft(int rank, const int* n, int howmany, R (*in)[2], const int* inembed, int istride, int idist,
                        R (*out)[2], const int* onembed, int ostride, int odist, int sign, unsigned flags) {
  return many(FftKind::c2c, precision_of<R>(), rank, n, howmany, in, inembed, istride, idist, out, onembed, ostride,
              odist, sign, flags);
}
template <class R>
Described plan_dft(int rank, const int* n, R (*in)[2], R (*out)[2], int sign, unsigned flags) {
  return plan_many_dft(rank, n, 1, in, nullptr, 1, 0, out, nullptr, 1, 0, sign, flags);
}
template <class R>
Described plan_dft_1d(int n, R (*in)[2], R (*out)[2], int sign, unsigned flags) {
  return plan_dft(1, &n, in, out, sign, flags);
}
template <class R>
Described plan_dft_2d(int n0, int n1, R (*in)[2], R (*out)[2], int sign, unsigned flags) {
  const int n[] = {n0, n1};
  return plan_dft(2, n, in, out, sign, flags);
}
template <class R>
Described plan_dft_3d(int n0, int n1, int n2, R (*in)[2], R (*out)[2], int sign, unsigned flags) {
  const int n[] = {n0, n1, n2};
  return plan_dft(3, n, in, out, sign, flags);
}
template <class R, class IoDim>
Described plan_guru_dft(int rank, const IoDim* dims, int howmany_rank, const IoDim* howmany_dims, R (*in)[2],
                        R (*out)[2], int sign, unsigned flags) {
  return guru(FftKind::c2c, precision_of<R>(), rank, dims, howmany_rank, howmany_dims, in, out, sign, flags);
}
template <class R, class IoDim>
Described plan_guru64_dft(int rank, const IoDim* dims, int howmany_rank, const IoDim* howmany_dims, R (*in)[2],
                          R (*out)[2], int sign, unsigned flags) {
  return guru(FftKind::c2c, precision_of<R>(), rank, dims, howmany_rank, howmany_dims, in, out, sign, flags);
}

// ---- r2c ----
template <class R>
Described plan_many_dft_r2c(int rank, const int* n, int howmany, R* in, const int* inembed, int istride, int idist,
                            R (*out)[2], const int* onembed, int ostride, int odist, unsigned flags) {
  return many(FftKind::r2c, precision_of<R>(), rank, n, howmany, in, inembed, istride, idist, out, onembed, ostride,
              odist, -1, flags);
}
template <class R>
Described plan_dft_r2c(int rank, const int* n, R* in, R (*out)[2], unsigned flags) {
  return plan_many_dft_r2c(rank, n, 1, in, nullptr, 1, 0, out, nullptr, 1, 0, flags);
}
template <class R>
Described plan_dft_r2c_1d(int n, R* in, R (*out)[2], unsigned flags) {
  return plan_dft_r2c(1, &n, in, out, flags);
}
template <class R>
Described plan_dft_r2c_2d(int n0, int n1, R* in, R (*out)[2], unsigned flags) {
  const int n[] = {n0, n1};
  return plan_dft_r2c(2, n, in, out, flags);
}
template <class R>
Described plan_dft_r2c_3d(int n0, int n1, int n2, R* in, R (*out)[2], unsigned flags) {
  const int n[] = {n0, n1, n2};
  return plan_dft_r2c(3, n, in, out, flags);
}
template <class R, class IoDim>
Described plan_guru_dft_r2c(int rank, const IoDim* dims, int howmany_rank, const IoDim* howmany_dims, R* in,
                            R (*out)[2], unsigned flags) {
  return guru(FftKind::r2c, precision_of<R>(), rank, dims, howmany_rank, howmany_dims, in, out, -1, flags);
}
template <class R, class IoDim>
Described plan_guru64_dft_r2c(int rank, const IoDim* dims, int howmany_rank, const IoDim* howmany_dims, R* in,
                              R (*out)[2], unsigned flags) {
  return guru(FftKind::r2c, precision_of<R>(), rank, dims, howmany_rank, howmany_dims, in, out, -1, flags);
}

// ---- c2r ----
template <class R>
Described plan_many_dft_c2r(int rank, const int* n, int howmany, R (*in)[2], const int* inembed, int istride, int idist,
                            R* out, const int* onembed, int ostride, int odist, unsigned flags) {
  return many(FftKind::c2r, precision_of<R>(), rank, n, howmany, in, inembed, istride, idist, out, onembed, ostride,
              odist, 1, flags);
}
template <class R>
Described plan_dft_c2r(int rank, const int* n, R (*in)[2], R* out, unsigned flags) {
  return plan_many_dft_c2r(rank, n, 1, in, nullptr, 1, 0, out, nullptr, 1, 0, flags);
}
template <class R>
Described plan_dft_c2r_1d(int n, R (*in)[2], R* out, unsigned flags) {
  return plan_dft_c2r(1, &n, in, out, flags);
}
template <class R>
Described plan_dft_c2r_2d(int n0, int n1, R (*in)[2], R* out, unsigned flags) {
  const int n[] = {n0, n1};
  return plan_dft_c2r(2, n, in, out, flags);
}
template <class R>
Described plan_dft_c2r_3d(int n0, int n1, int n2, R (*in)[2], R* out, unsigned flags) {
  const int n[] = {n0, n1, n2};
  return plan_dft_c2r(3, n, in, out, flags);
}
template <class R, class IoDim>
Described plan_guru_dft_c2r(int rank, const IoDim* dims, int howmany_rank, const IoDim* howmany_dims, R (*in)[2],
                            R* out, unsigned flags) {
  return guru(FftKind::c2r, precision_of<R>(), rank, dims, howmany_rank, howmany_dims, in, out, 1, flags);
}
template <class R, class IoDim>
Described plan_guru64_dft_c2r(int rank, const IoDim* dims, int howmany_rank, const IoDim* howmany_dims, R (*in)[2],
                              R* out, unsigned flags) {
  return guru(FftKind::c2r, precision_of<R>(), rank, dims, howmany_rank, howmany_dims, in, out, 1, flags);
}

}  // namespace rcpu::fftw::describe
