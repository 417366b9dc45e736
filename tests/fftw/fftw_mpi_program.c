/* A plain FFTW MPI program (FFTW manual, "Distributed-memory FFTW with MPI"), built against Debian's
 * libfftw3-mpi and run on 2 ranks by check_fftw_mpi.py with and without rcpu.
 *
 * Each rank transforms its slab of a 2-D complex array with fftw_mpi_plan_dft_2d (a plan the real
 * FFTW builds with its internals, on behalf of libfftw3_mpi), then rank 0 gathers the whole result,
 * runs the same transform as an ordinary fftw_plan_dft_2d (through rcpu: a transform that may go
 * remote), checks the two agree, and prints the gathered result, one value per line, with every
 * digit: the driver compares those lines between runs. Also exercises wisdom gathering/broadcast,
 * which travels through fftw_export/import_wisdom_to/from_string. */
#include <fftw3-mpi.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { N0 = 48, N1 = 40 };

static double input(ptrdiff_t i, ptrdiff_t j, int imag) {
  return imag ? cos(0.3 * (double)i - 0.05 * (double)j) : sin(0.1 * (double)i + 0.7 * (double)j) + 0.01 * (double)j;
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  fftw_mpi_init();
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  ptrdiff_t local_n0 = 0, local_0_start = 0;
  const ptrdiff_t alloc = fftw_mpi_local_size_2d(N0, N1, MPI_COMM_WORLD, &local_n0, &local_0_start);
  fftw_complex* data = fftw_alloc_complex((size_t)alloc);
  fftw_plan plan = fftw_mpi_plan_dft_2d(N0, N1, data, data, MPI_COMM_WORLD, FFTW_FORWARD, FFTW_MEASURE);
  if (!plan) {
    fprintf(stderr, "rank %d: fftw_mpi_plan_dft_2d failed\n", rank);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  for (ptrdiff_t i = 0; i < local_n0; ++i)
    for (ptrdiff_t j = 0; j < N1; ++j) {
      data[i * N1 + j][0] = input(local_0_start + i, j, 0);
      data[i * N1 + j][1] = input(local_0_start + i, j, 1);
    }
  fftw_execute(plan);
  fftw_mpi_gather_wisdom(MPI_COMM_WORLD);
  fftw_mpi_broadcast_wisdom(MPI_COMM_WORLD);

  int count = (int)(local_n0 * N1 * 2), *counts = NULL, *displs = NULL;
  double* whole = NULL;
  if (rank == 0) {
    counts = malloc(sizeof(int) * (size_t)size);
    displs = malloc(sizeof(int) * (size_t)size);
    whole = malloc(sizeof(double) * N0 * N1 * 2);
  }
  MPI_Gather(&count, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (rank == 0)
    for (int r = 0, at = 0; r < size; at += counts[r++]) displs[r] = at;
  MPI_Gatherv(data, count, MPI_DOUBLE, whole, counts, displs, MPI_DOUBLE, 0, MPI_COMM_WORLD);

  int status = 0;
  if (rank == 0) {
    fftw_complex* serial = fftw_alloc_complex(N0 * N1);
    fftw_plan p = fftw_plan_dft_2d(N0, N1, serial, serial, FFTW_FORWARD, FFTW_ESTIMATE);
    for (ptrdiff_t i = 0; i < N0; ++i)
      for (ptrdiff_t j = 0; j < N1; ++j) {
        serial[i * N1 + j][0] = input(i, j, 0);
        serial[i * N1 + j][1] = input(i, j, 1);
      }
    fftw_execute(p);
    double worst = 0;
    for (int k = 0; k < N0 * N1; ++k) {
      worst = fmax(worst, fabs(serial[k][0] - whole[2 * k]));
      worst = fmax(worst, fabs(serial[k][1] - whole[2 * k + 1]));
    }
    if (worst > 1e-9) {
      fprintf(stderr, "distributed and serial transforms differ by %g\n", worst);
      status = 1;
    }
    for (int k = 0; k < 2 * N0 * N1; ++k) printf("%.17g\n", whole[k]);
    fprintf(stderr, "mpi fft %dx%d on %d ranks: matches the serial transform to %g\n", N0, N1, size, worst);
    fftw_destroy_plan(p);
    fftw_free(serial);
    free(whole);
    free(counts);
    free(displs);
  }
  fftw_destroy_plan(plan);
  fftw_free(data);
  fftw_mpi_cleanup();
  MPI_Finalize();
  return status;
}
