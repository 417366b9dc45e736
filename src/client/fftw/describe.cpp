#include "client/fftw/describe.h"

#include <vector>

namespace rcpu::fftw::describe {

Described many(FftKind kind, FftPrecision prec, int rank, const int* n, int howmany, void* in, const int* inembed,
               int istride, int idist, void* out, const int* onembed, int ostride, int odist, int sign,
               unsigned flags) {
  Described d;
  d.desc.kind = kind;
  d.desc.precision = prec;
  d.desc.sign = sign;
  d.in = in;
  d.out = out;
  d.flags = flags;
  if (rank < 1 || !n) return d;  // FFTW refuses these; the local planner's null plan is returned
  const bool inplace = in == out;
  // FFTW's rdft2_pad: the default embedding of a real transform's sides.
  auto embedding = [&](const int* nembed, bool complex_side) {
    std::vector<std::int64_t> e(n, n + rank);
    if (nembed)
      e.assign(nembed, nembed + rank);
    else if (kind != FftKind::c2c && (inplace || complex_side))
      e.back() = (n[rank - 1] / 2 + 1) * (complex_side ? 1 : 2);
    return e;
  };
  const auto ie = embedding(inembed, kind == FftKind::c2r);
  const auto oe = embedding(onembed, kind == FftKind::r2c);
  d.desc.dims.resize(std::size_t(rank));
  std::int64_t is = istride, os = ostride;
  for (int i = rank - 1; i >= 0; --i) {  // FFTW's mktensor_rowmajor
    d.desc.dims[std::size_t(i)] = FftDim{n[i], is, os};
    is *= ie[std::size_t(i)];
    os *= oe[std::size_t(i)];
  }
  d.desc.howmany.push_back(FftDim{howmany, idist, odist});
  return d;
}

template <class IoDim>
Described guru(FftKind kind, FftPrecision prec, int rank, const IoDim* dims, int howmany_rank,
               const IoDim* howmany_dims, void* in, void* out, int sign, unsigned flags) {
  Described d;
  d.desc.kind = kind;
  d.desc.precision = prec;
  d.desc.sign = sign;
  d.in = in;
  d.out = out;
  d.flags = flags;
  for (int i = 0; i < rank && dims; ++i) d.desc.dims.push_back(FftDim{dims[i].n, dims[i].is, dims[i].os});
  for (int i = 0; i < howmany_rank && howmany_dims; ++i)
    d.desc.howmany.push_back(FftDim{howmany_dims[i].n, howmany_dims[i].is, howmany_dims[i].os});
  return d;
}

template Described guru<fftw_iodim>(FftKind, FftPrecision, int, const fftw_iodim*, int, const fftw_iodim*, void*, void*,
                                    int, unsigned);
template Described guru<fftw_iodim64>(FftKind, FftPrecision, int, const fftw_iodim64*, int, const fftw_iodim64*, void*,
                                      void*, int, unsigned);

}  // namespace rcpu::fftw::describe

namespace rcpu::fftw {

bool remote_capable(const Described& d) {
  if (d.desc.dims.empty() || !d.in || !d.out) return false;
  for (const FftDim& x : d.desc.dims)
    if (x.n < 1) return false;
  for (const FftDim& x : d.desc.howmany)
    if (x.n < 1) return false;
  return fft_validate(d.desc, ~std::uint64_t(0)) == std::nullopt;
}

}  // namespace rcpu::fftw
