#include "server/kinds.h"

#include "server/blas/blas_kind.h"
#include "server/fftw/fftw_kind.h"
#include "server/lapack/lapack_kind.h"

namespace rcpu::server {

KindTable server_kinds() {
  KindTable t;
  t.add(lapack::lapack_kind());
  t.add(fftw::fftw_kind());
  t.add(blas::blas_kind());  // last: it serves every request the others do not claim
  return t;
}

}  // namespace rcpu::server
