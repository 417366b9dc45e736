#include "backends/cuda/level3_call.h"

#include <algorithm>
#include <chrono>

#include "backends/cuda/cublas_call.h"
#include "backends/cuda/k_outer_plan.h"

namespace rcpu::backend::cuda {
namespace {

// Column steps (plan.h): step j's inputs up, its cuBLAS call, then step j-1's result down.
void run_steps(Device& d, const HostOperands& call, const std::vector<Step>& steps, const std::string& routine) {
  for (std::size_t j = 0; j < steps.size(); ++j) {
    const Step& s = steps[j];
    for (const ByteRange& r : s.in) upload(d, call, r);
    check_cuda(cudaEventRecord(d.in_ready, d.h2d), d.ordinal, "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(d.compute, d.in_ready, 0), d.ordinal, "cudaStreamWaitEvent");
    check_cublas(run_cublas(d.blas, s.args, call.dev[0] + s.a_off, call.dev[1] + s.b_off, call.dev[2] + s.c_off),
                 d.ordinal, routine);
    check_cuda(cudaEventRecord(d.done[j % 2], d.compute), d.ordinal, "cudaEventRecord");
    if (j > 0) download(d, call, steps[j - 1], d.done[(j - 1) % 2]);
  }
  if (!steps.empty()) download(d, call, steps.back(), d.done[(steps.size() - 1) % 2]);
}

// The k-outer schedule (k_outer_plan.h), every operand page-locked: chunk c's slices of A and B
// up (h2d) and its cuBLAS call (compute, after an event), so chunk c+1's copy overlaps chunk c's
// compute; then C_old's leading columns up into the scratch copy; per output block of the
// leading columns C += beta C_old (geam) and the block down (d2h); then the trailing columns as
// ordinary column steps, whose copies overlap the leading block's results going down.
void run_k_outer(Device& d, const Level3Args& args, const KOuterPlan& kp, const void* a, const void* b, void* c,
                 const std::string& routine, bool exact) {
  const int dev = d.ordinal;
  const auto t0 = std::chrono::steady_clock::now();
  d.arena.reserve(kp.dev_total, exact, dev, routine);
  HostOperands call;
  call.host_in[0] = static_cast<const char*>(a);
  call.host_in[1] = static_cast<const char*>(b);
  call.host_in[2] = static_cast<const char*>(c);
  call.host_out = static_cast<char*>(c);
  for (int i = 0; i < 3; ++i) call.dev[i] = d.arena.data() + kp.layout.dev_off[i];
  char* old_c = d.arena.data() + kp.old_c_off;

  auto upload_2d = [&](const Block2D& blk) {
    const int i = int(blk.op);
    check_cuda(cudaMemcpy2DAsync(call.dev[i] + blk.offset, blk.pitch, call.host_in[i] + blk.offset, blk.pitch,
                                 blk.width, blk.height, cudaMemcpyHostToDevice, d.h2d),
               dev, "cudaMemcpy2DAsync to the GPU");
  };
  for (const KChunk& ch : kp.chunks) {
    upload_2d(ch.a);
    upload_2d(ch.b);
    check_cuda(cudaEventRecord(d.in_ready, d.h2d), dev, "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(d.compute, d.in_ready, 0), dev, "cudaStreamWaitEvent");
    check_cublas(run_cublas(d.blas, ch.args, call.dev[0] + ch.a_off, call.dev[1] + ch.b_off, call.dev[2]), dev,
                 routine);
  }
  if (kp.add_old_c) {
    check_cuda(cudaMemcpyAsync(old_c, call.host_in[2], kp.old_c_bytes, cudaMemcpyHostToDevice, d.h2d), dev,
               "cudaMemcpyAsync to the GPU");
    check_cuda(cudaEventRecord(d.in_ready, d.h2d), dev, "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(d.compute, d.in_ready, 0), dev, "cudaStreamWaitEvent");
  }
  const std::uint64_t elt = element_size(args.dtype);
  for (const ByteRange& r : kp.lead_out) {
    if (kp.add_old_c) {
      const std::int64_t cols = std::int64_t((r.bytes / elt + std::uint64_t(args.ldc) - 1) / std::uint64_t(args.ldc));
      check_cublas(run_add_scaled(d.blas, args.dtype, args.m, cols, args.beta, old_c + r.offset, call.dev[2] + r.offset,
                                  args.ldc),
                   dev, routine + " (adding beta * C)");
    }
    check_cuda(cudaEventRecord(d.done[0], d.compute), dev, "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(d.d2h, d.done[0], 0), dev, "cudaStreamWaitEvent");
    check_cuda(
        cudaMemcpyAsync(call.host_out + r.offset, call.dev[2] + r.offset, r.bytes, cudaMemcpyDeviceToHost, d.d2h), dev,
        "cudaMemcpyAsync from the GPU");
  }
  run_steps(d, call, kp.steps, routine);
  d.sync_all(routine);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  log::debug("cuda: " + routine + " m=" + std::to_string(args.m) + " n=" + std::to_string(args.n) +
             " k=" + std::to_string(args.k) + " in " + std::to_string(ms) +
             " ms, k-outer: " + std::to_string(kp.chunks.size()) + " chunk(s) over " + std::to_string(kp.lead_cols) +
             " column(s), " + std::to_string(kp.steps.size()) + " step(s) after");
}

}  // namespace

HostOperands place_operands(Device& d, const Plan& plan, const void* a, const void* b, void* c) {
  HostOperands call;
  call.host_in[0] = static_cast<const char*>(a);
  call.host_in[1] = static_cast<const char*>(b);
  call.host_in[2] = static_cast<const char*>(c);
  call.host_out = static_cast<char*>(c);
  for (int i = 0; i < 3; ++i) {
    call.dev[i] = d.arena.data() + plan.dev_off[i];
    call.direct[i] = !d.ring.ready() || is_page_locked(call.host_in[i]);
  }
  return call;
}

void upload(Device& d, const HostOperands& call, const ByteRange& r) {
  const int i = int(r.op);
  const char* src = call.host_in[i] + r.offset;
  char* dst = call.dev[i] + r.offset;
  if (call.direct[i]) {
    check_cuda(cudaMemcpyAsync(dst, src, r.bytes, cudaMemcpyHostToDevice, d.h2d), d.ordinal,
               "cudaMemcpyAsync to the GPU");
    return;
  }
  for (std::uint64_t o = 0; o < r.bytes; o += d.ring.slot_bytes()) {
    const std::uint64_t len = std::min(d.ring.slot_bytes(), r.bytes - o);
    StagingRing::Slot& slot = d.ring.acquire(d.ordinal);
    d.copier.copy(slot.host, src + o, len);
    check_cuda(cudaMemcpyAsync(dst + o, slot.host, len, cudaMemcpyHostToDevice, d.h2d), d.ordinal,
               "cudaMemcpyAsync to the GPU");
    check_cuda(cudaEventRecord(slot.done, d.h2d), d.ordinal, "cudaEventRecord");
  }
}

void download(Device& d, const HostOperands& call, const Step& step, cudaEvent_t done) {
  check_cuda(cudaStreamWaitEvent(d.d2h, done, 0), d.ordinal, "cudaStreamWaitEvent");
  struct Pending {
    StagingRing::Slot* slot;
    char* dst;
    std::uint64_t len;
  };
  Pending pending{nullptr, nullptr, 0};
  auto finish = [&](Pending& p) {
    if (!p.slot) return;
    check_cuda(cudaEventSynchronize(p.slot->done), d.ordinal, "copying a result block back");
    d.copier.copy(p.dst, p.slot->host, p.len);
    p.slot = nullptr;
  };
  for (const ByteRange& r : step.out) {
    const int i = int(r.op);
    char* dst = call.host_out + r.offset;
    const char* src = call.dev[i] + r.offset;
    if (call.direct[i]) {
      check_cuda(cudaMemcpyAsync(dst, src, r.bytes, cudaMemcpyDeviceToHost, d.d2h), d.ordinal,
                 "cudaMemcpyAsync from the GPU");
      continue;
    }
    for (std::uint64_t o = 0; o < r.bytes; o += d.ring.slot_bytes()) {
      const std::uint64_t len = std::min(d.ring.slot_bytes(), r.bytes - o);
      StagingRing::Slot& slot = d.ring.acquire(d.ordinal);
      check_cuda(cudaMemcpyAsync(slot.host, src + o, len, cudaMemcpyDeviceToHost, d.d2h), d.ordinal,
                 "cudaMemcpyAsync from the GPU");
      check_cuda(cudaEventRecord(slot.done, d.d2h), d.ordinal, "cudaEventRecord");
      finish(pending);  // copy the previous chunk out while this one is in flight
      pending = Pending{&slot, dst + o, len};
    }
  }
  finish(pending);
}

void run_level3(Device& d, const Level3Args& args, const void* a, const void* b, void* c, const std::string& routine,
                bool exact) {
  check_cuda(cudaSetDevice(d.ordinal), d.ordinal, "cudaSetDevice");
  // Operands already page-locked go by DMA; the k-outer schedule needs that (2-D copies).
  const void* host[3] = {a, b, c};
  bool all_locked = true;
  for (const void* h : host) all_locked = all_locked && (!h || is_page_locked(h));
  if (d.cfg.k_outer && all_locked) {
    if (const auto kp = make_k_outer_plan(args, d.cfg.plan, d.cfg.k_outer_plan)) {
      if (d.fits(kp->dev_total)) return run_k_outer(d, args, *kp, a, b, c, routine, exact);
    }
  }
  const Plan plan = make_plan(args, d.cfg.plan);
  if (plan.steps.empty()) return;
  const auto t0 = std::chrono::steady_clock::now();

  d.arena.reserve(plan.dev_total, exact, d.ordinal, routine);
  d.ensure_staging_ring();
  const HostOperands call = place_operands(d, plan, a, b, c);

  if (plan.zero_c)
    check_cuda(cudaMemsetAsync(call.dev[2], 0, plan.bytes[2], d.compute), d.ordinal, "cudaMemsetAsync of C");
  for (const ByteRange& r : plan.prologue) upload(d, call, r);
  run_steps(d, call, plan.steps, routine);
  d.sync_all(routine);

  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  log::debug("cuda: " + routine + " m=" + std::to_string(args.m) + " n=" + std::to_string(args.n) +
             " k=" + std::to_string(args.k) + " in " + std::to_string(ms) + " ms, " +
             std::to_string(plan.steps.size()) + " step(s), " + format_bytes(plan.dev_total) + " on device");
}

}  // namespace rcpu::backend::cuda
