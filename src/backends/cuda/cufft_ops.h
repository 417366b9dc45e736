// The CUDA backend's FFTs: cuFFT plans (cufftXtMakePlanMany, 64-bit sizes) on one GPU, cached per
// session with the session's device buffers and stream.
#pragma once

#include <cuda_runtime.h>

#include <memory>

#include "backends/backend.h"

namespace rcpu::backend::cuda {

// Ranks 1..3 with at most one batch loop (the packed layout always has one): what cuFFT's plans
// describe. Others fall through to the CPU backend.
bool cufft_supports(const FftDescriptor& packed);
std::unique_ptr<FftPlanCache> cufft_new_cache(int device);
void cufft_prepare(FftPlanCache& cache, const FftDescriptor& packed);
// Host buffers in/out (pinned when the server got them from alloc_host): H2D, cuFFT, D2H.
void cufft_run(FftPlanCache& cache, const FftDescriptor& packed, void* in, void* out);
// The streamed form (backend.h StreamedFft; after cufft_prepare): input pieces copied to the GPU as
// they arrive, the output copied back in pieces the senders wait on one by one.
std::unique_ptr<StreamedFft> cufft_begin(FftPlanCache& cache, const FftDescriptor& packed, void* in, void* out);

}  // namespace rcpu::backend::cuda
