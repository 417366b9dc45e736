#include "backends/cuda/streamed_call.h"

#include <algorithm>
#include <deque>
#include <mutex>
#include <string>

#include "backends/cuda/cublas_call.h"
#include "backends/cuda/level3_call.h"
#include "backends/cuda/plan.h"
#include "backends/cuda/tile_staging.h"

namespace rcpu::backend::cuda {
namespace {

class Streamed final : public StreamedCall {
  // The events of one panel in flight: inputs uploaded, computed, result downloaded.
  struct PanelEvents {
    cudaEvent_t in = nullptr, done = nullptr, out = nullptr;
  };
  static constexpr int kDepth = 3;

 public:
  Streamed(Device& d, const Level3Args& args, const void* a, const void* b, void* c)
      : d_(d), lock_(d.mu), args_(args), routine_(routine_name(args.family, args.dtype)) {
    d_.check_usable();
    d_.with_oom_retry(routine_, [&](bool exact) { place(a, b, c, exact); });
  }
  ~Streamed() override {
    if (cudaSetDevice(d_.ordinal) == cudaSuccess)
      for (cudaStream_t s : {d_.h2d, d_.compute, d_.d2h}) (void)cudaStreamSynchronize(s);
    if (recover_at_end_) d_.recover(routine_);
    for (PanelEvents& sl : slots_)
      for (cudaEvent_t e : {sl.in, sl.done, sl.out})
        if (e) (void)cudaEventDestroy(e);
    (void)cudaGetLastError();
  }

  // Panels are queued on the device asynchronously when every operand is page-locked (the
  // server's receive buffers are: alloc_host), so panel j+1's upload runs while panel j computes
  // and downloads. Otherwise (pageable memory, staged copies) each panel completes in start_panel.
  int depth() const override { return kDepth; }

  // The receive ring (tile_staging.h): inputs go from the sockets through the slots straight to
  // the device operands, results from the device through the slots to the sockets; the host
  // buffers stay untouched. Null (the host buffers) when it is off or its slots cannot be had.
  TileStaging* tile_staging(int stripes) override {
    if (!d_.ring_enabled() || started_ > 0 || sent_[0] || sent_[1]) return nullptr;
    std::string why;
    if (cudaSetDevice(d_.ordinal) != cudaSuccess || !d_.rings.ensure(stripes, &why)) {
      (void)cudaGetLastError();
      d_.rings_failed.store(true);
      log::warn("cuda: no page-locked slots for tiled calls (" + why + "); their tiles go through host buffers");
      return nullptr;
    }
    if (stripes > d_.rings_logged) {
      d_.rings_logged = stripes;
      log::info("cuda: device " + std::to_string(d_.ordinal) + ": tiled calls stream through " +
                std::to_string(d_.cfg.ring_slots) + " page-locked slots of " + format_bytes(d_.cfg.ring_slot_bytes) +
                " per connection and direction (" + std::to_string(stripes) + " connection(s) so far)");
    }
    staging_ = std::make_unique<DeviceTileStaging>(d_.rings, d_.ordinal, d_.h2d, d_.d2h, call_.dev);
    async_ = true;          // no host memory is copied: every panel is queued on the device
    prologue_done_ = true;  // nor is A uploaded from host memory
    return staging_.get();
  }

  // A (and B when every panel needs all of it) is copied to the device as it arrives from the
  // network, in pieces of at least kPrefetchPiece, when the host buffers are page-locked; the
  // first panel then copies only what is left. Errors are not thrown here: the copy is simply
  // redone by the first panel (a failed enqueue leaves sent_ where it was).
  void inputs_arrived(int operand, std::uint64_t bytes) override {
    if (!async_ || !d_.cfg.prefetch || operand < 0 || operand > 1 || prologue_done_) return;
    if (operand == 1 && b_by_panel()) return;
    const std::uint64_t total = plan_.bytes[operand];
    bytes = std::min(bytes, total);
    std::uint64_t& sent = sent_[operand];
    if (bytes <= sent || (bytes - sent < kPrefetchPiece && bytes < total)) return;
    if (cudaSetDevice(d_.ordinal) != cudaSuccess ||
        cudaMemcpyAsync(call_.dev[operand] + sent, call_.host_in[operand] + sent, bytes - sent, cudaMemcpyHostToDevice,
                        d_.h2d) != cudaSuccess) {
      (void)cudaGetLastError();
      return;
    }
    sent = bytes;
  }

  void start_panel(std::int64_t col0, std::int64_t cols) override {
    try {
      // The current device is per host thread, and panels may be started from a thread other
      // than the one that began the call (rcpud's compute thread, the placement's device
      // workers): the events below must be created on this call's device.
      check_cuda(cudaSetDevice(d_.ordinal), d_.ordinal, "cudaSetDevice");
      if (staging_)
        if (const auto failure = staging_->input_failure()) throw BackendError(*failure);
      if (!async_) {
        panel(col0, cols);
        queued_.push_back(-1);
        return;
      }
      const int k = int(started_++ % kDepth);
      PanelEvents& sl = slots_[std::size_t(k)];
      if (!sl.in) {
        for (cudaEvent_t* e : {&sl.in, &sl.done, &sl.out})
          check_cuda(cudaEventCreateWithFlags(e, cudaEventDisableTiming), d_.ordinal, "cudaEventCreate");
      }
      enqueue(col0, cols, sl);
      queued_.push_back(k);
    } catch (const BackendError&) {
      failed();
      throw;
    } catch (const std::exception& e) {
      failed();
      throw BackendError("cuda: " + routine_ + " failed: " + e.what());
    }
  }

  bool try_finish_panel() override {
    if (queued_.empty()) return true;
    const int k = queued_.front();
    if (k >= 0) {
      const cudaError_t e = cudaEventQuery(slots_[std::size_t(k)].out);
      if (e == cudaErrorNotReady) return false;
      if (e != cudaSuccess) {
        try {
          check_cuda(e, d_.ordinal, ("computing a panel of " + routine_).c_str());
        } catch (const BackendError&) {
          failed();
          throw;
        }
      }
    }
    queued_.pop_front();
    return true;
  }

  void finish_panel() override {
    if (queued_.empty()) return;
    const int k = queued_.front();
    queued_.pop_front();
    if (k < 0) return;
    try {
      check_cuda(cudaEventSynchronize(slots_[std::size_t(k)].out), d_.ordinal,
                 ("computing a panel of " + routine_).c_str());
    } catch (const BackendError&) {
      failed();
      throw;
    }
  }

  void compute_panel(std::int64_t col0, std::int64_t cols) override {
    try {
      panel(col0, cols);
    } catch (const BackendError&) {
      failed();
      throw;
    } catch (const std::exception& e) {
      failed();
      throw BackendError("cuda: " + routine_ + " failed: " + e.what());
    }
  }

 private:
  // Lays the call's operands out in the arena (sized exactly when `exact`); A and B are copied
  // later, as they arrive or when the first panel starts.
  void place(const void* a, const void* b, void* c, bool exact) {
    check_cuda(cudaSetDevice(d_.ordinal), d_.ordinal, "cudaSetDevice");
    PlanOptions one = d_.cfg.plan;
    one.max_steps = 1;  // only the operand layout is used here
    plan_ = make_plan(args_, one);
    d_.arena.reserve(plan_.dev_total, exact, d_.ordinal, routine_);
    d_.ensure_staging_ring();
    call_ = place_operands(d_, plan_, a, b, c);
    async_ = true;
    for (int i = 0; i < 3; ++i) async_ = async_ && (!call_.host_in[i] || call_.direct[i]);
  }

  // After a failure: the device is recovered (streams drained, the arena released) at once, or,
  // with the receive ring, when the call ends: the server's threads may still be copying
  // finished panels' results out of the arena, and drain the inputs meanwhile.
  void failed() {
    if (!staging_) return d_.recover(routine_);
    staging_->stop_input();
    recover_at_end_ = true;
  }

  // Queues panel [col0, col0 + cols): its inputs up on the copy stream (A, and B when every panel
  // needs all of it, before the first panel), `in` recorded there, cuBLAS on the compute stream
  // after `in`, `done` recorded after it. Returns the panel's output bytes (in C's buffer).
  ByteRange queue_panel(std::int64_t col0, std::int64_t cols, cudaEvent_t in, cudaEvent_t done) {
    const int dev = d_.ordinal;
    check_cuda(cudaSetDevice(dev), dev, "cudaSetDevice");
    const std::uint64_t elem = element_size(args_.dtype);
    const Level3Shapes& s = plan_.shapes;
    const bool b_by_panel = this->b_by_panel();
    if (!prologue_done_) {
      // What inputs_arrived has not copied yet.
      if (s.a.reads() && sent_[0] < plan_.bytes[0])
        upload(d_, call_, ByteRange{Operand::a, sent_[0], plan_.bytes[0] - sent_[0]});
      if (!b_by_panel && s.b.reads() && sent_[1] < plan_.bytes[1])
        upload(d_, call_, ByteRange{Operand::b, sent_[1], plan_.bytes[1] - sent_[1]});
      prologue_done_ = true;
    }
    std::uint64_t b_off = 0, c_off = 0;
    const Level3Args sub = level3_panel(args_, col0, cols, b_off, c_off);
    const std::uint64_t c_ld = std::uint64_t(level3_output_ld(args_));
    // With the receive ring the panel's inputs are on the device already (queued on h2d before
    // the server counted them, so `in` below follows them).
    if (b_by_panel && s.b.reads() && !staging_)
      upload(d_, call_, ByteRange{Operand::b, b_off * elem, std::uint64_t(cols) * std::uint64_t(args_.ldb) * elem});
    const ByteRange c_range{Operand::c, c_off * elem, std::uint64_t(cols) * c_ld * elem};
    if (s.c.reads() && !staging_) upload(d_, call_, c_range);
    check_cuda(cudaEventRecord(in, d_.h2d), dev, "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(d_.compute, in, 0), dev, "cudaStreamWaitEvent");
    check_cublas(run_cublas(d_.blas, sub, call_.dev[0], call_.dev[1] + b_off * elem, call_.dev[2] + c_off * elem), dev,
                 routine_);
    check_cuda(cudaEventRecord(done, d_.compute), dev, "cudaEventRecord");
    return c_range;
  }

  // One panel, completed before returning (staged copies when the host memory is pageable).
  void panel(std::int64_t col0, std::int64_t cols) {
    Step step;
    step.out.push_back(queue_panel(col0, cols, d_.in_ready, d_.done[0]));
    download(d_, call_, step, d_.done[0]);
    check_cuda(cudaStreamSynchronize(d_.d2h), d_.ordinal, ("copying a panel of " + routine_ + " back").c_str());
  }

  // The asynchronous form of panel(): every copy is a direct DMA from/to page-locked memory, and
  // `sl.out` is recorded once the result is back in host memory.
  void enqueue(std::int64_t col0, std::int64_t cols, PanelEvents& sl) {
    const int dev = d_.ordinal;
    const ByteRange c = queue_panel(col0, cols, sl.in, sl.done);
    if (staging_) {
      // The results leave from the device through the slots (fetch_output) once it is computed.
      check_cuda(cudaEventRecord(sl.out, d_.compute), dev, "cudaEventRecord");
      return;
    }
    check_cuda(cudaStreamWaitEvent(d_.d2h, sl.done, 0), dev, "cudaStreamWaitEvent");
    check_cuda(
        cudaMemcpyAsync(call_.host_out + c.offset, call_.dev[2] + c.offset, c.bytes, cudaMemcpyDeviceToHost, d_.d2h),
        dev, "cudaMemcpyAsync from the GPU");
    check_cuda(cudaEventRecord(sl.out, d_.d2h), dev, "cudaEventRecord");
  }

  bool b_by_panel() const {
    return (args_.family == L3Family::gemm && args_.transb == 'N') || args_.family == L3Family::symm ||
           args_.family == L3Family::hemm;
  }

  static constexpr std::uint64_t kPrefetchPiece = 64 * kMiB;
  std::uint64_t sent_[2] = {0, 0};  // leading bytes of A and B already queued to the device
  Device& d_;
  std::unique_lock<std::mutex> lock_;
  Level3Args args_;
  std::string routine_;
  Plan plan_;
  HostOperands call_;
  bool prologue_done_ = false;
  bool async_ = false;
  std::int64_t started_ = 0;
  PanelEvents slots_[kDepth];
  std::deque<int> queued_;                      // slot of each started, unfinished panel in order; -1: already done
  std::unique_ptr<DeviceTileStaging> staging_;  // the receive ring, when the server took it
  bool recover_at_end_ = false;
};

}  // namespace

std::unique_ptr<StreamedCall> begin_streamed_call(Device& d, const Level3Args& args, const void* a, const void* b,
                                                  void* c) {
  return std::make_unique<Streamed>(d, args, a, b, c);
}

}  // namespace rcpu::backend::cuda
