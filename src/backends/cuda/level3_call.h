// One Level-3 call on the GPU, stop and wait (Backend::level3), and the host <-> device copies the
// streamed calls share with it. See plan.h for how a call is cut into column blocks.
//   1. Upload the prologue operands, then for each step j:
//        upload step j's input blocks (h2d stream), record in_ready; the compute stream waits for
//        in_ready and runs the cuBLAS call for block j, then records done[j];
//        then drain step j-1: the d2h stream waits for done[j-1] and copies block j-1 back.
//      so the GPU computes block j while the host stages block j+1 in and block j-1 out, and the
//      copy engines (one per direction on H100) move data both ways at once.
//   2. An upload of a pageable host range goes chunk by chunk: wait until the next slot's previous
//      DMA is done (its event), memcpy the chunk into the slot (split across the copy threads),
//      queue its cudaMemcpyAsync on h2d and record the slot's event. The memcpy of chunk i+1
//      therefore overlaps the DMA of chunk i. A download queues the DMA of chunk i+1 into a slot
//      before copying chunk i out of its slot to the server's buffer.
//   3. Host buffers that are already page-locked (cudaPointerGetAttributes says cudaMemoryTypeHost:
//      a server that receives into cudaHostAlloc'ed memory) are copied by DMA directly, with no
//      staging copy; so is everything when RCPU_CUDA_STAGING=pageable (the driver then stages).
//      With every operand page-locked a large gemm may run the k-outer schedule instead
//      (k_outer_plan.h).
//   4. When beta == 0, C is never sent: its device copy is zeroed (cudaMemsetAsync) so the triangle a
//      rank-k update does not write comes back as zeros, like the server's own zero-fill.
//   5. All three streams are synchronized before the call returns, successful or not, so no DMA
//      touches the caller's buffers after the call.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "backends/cuda/device.h"
#include "backends/cuda/plan.h"
#include "common/level3.h"

namespace rcpu::backend::cuda {

// A call's host buffers and where each operand lives in the arena.
struct HostOperands {
  const char* host_in[3] = {nullptr, nullptr, nullptr};
  char* host_out = nullptr;
  char* dev[3] = {nullptr, nullptr, nullptr};
  bool direct[3] = {true, true, true};  // copy by DMA straight from/to the host buffer
};

// The operands of a call laid out as `plan` says in the device's arena; an operand goes through
// the staging ring unless it is page-locked (or there is no ring).
HostOperands place_operands(Device& d, const Plan& plan, const void* a, const void* b, void* c);

// Host -> device for one byte range, on the h2d stream (see the file comment, point 2).
void upload(Device& d, const HostOperands& call, const ByteRange& r);
// Device -> host for one step's results, once `done` (its compute) has completed.
void download(Device& d, const HostOperands& call, const Step& step, cudaEvent_t done);

// One attempt at a call (Backend::level3); the caller holds d.mu and recovers on failure. `exact`:
// size the arena exactly (Device::with_oom_retry).
void run_level3(Device& d, const Level3Args& args, const void* a, const void* b, void* c, const std::string& routine,
                bool exact);

}  // namespace rcpu::backend::cuda
