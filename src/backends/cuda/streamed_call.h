// Streamed calls on the GPU (Backend::begin_streamed, tiled requests; see backend.h and
// protocol/tiling.h): the server hands in output panels in column order as their inputs arrive from
// the network. The call holds the device's mutex from its start until it is destroyed, owns the
// arena for its whole life, uploads A (and B when every panel needs all of it) once, before the
// first panel — or while it still arrives (StreamedCall::inputs_arrived) — and then per panel: the
// panel's columns of B and C up (h2d), cuBLAS on the panel (compute, after an event), the panel's
// result down (d2h, after an event). So A crosses PCIe once, and the GPU work of panel j overlaps
// the network transfer of panel j+1 (done by the server's other thread).
//
// The server's receive buffers come from alloc_host: pinned (cudaHostAlloc) unless
// RCPU_CUDA_STAGING=pageable, so every copy is a direct DMA with no staging memcpy, and up to three
// panels are queued on the device at once. By default a tiled call takes none of those buffers:
// the server hands it the receive ring instead (StreamedCall::tile_staging, tile_staging.h),
// through which each piece of a tile goes from the socket to the device operand and each piece of
// a result from the device to the socket; the panels are then queued without copies of their own.
#pragma once

#include <memory>

#include "backends/backend.h"
#include "backends/cuda/device.h"
#include "common/level3.h"

namespace rcpu::backend::cuda {

// Throws BackendError (the device recovered) when the call cannot be set up.
std::unique_ptr<StreamedCall> begin_streamed_call(Device& d, const Level3Args& args, const void* a, const void* b,
                                                  void* c);

}  // namespace rcpu::backend::cuda
