// Placement: several one-device backends (GPUs, or CPU "virtual devices") presented to the server as
// ONE backend. The backends stay one-device; this layer decides where work runs:
//   - a large Level-3 call (at least split_min_flops) is cut into pieces (split.h), work in
//     proportion to each device's rate; every device runs its piece at the same time on its own
//     worker thread, writing its own disjoint part of the output in place;
//   - a smaller call goes whole to the least busy device: the one whose queued work (flops in
//     flight, divided by its rate) would finish first;
//   - a streamed (tiled) call: each device keeps its own streamed call over the same buffers (a GPU
//     keeps A resident), and every panel the server hands in is cut across the devices by rate and
//     computed on all of them at once, in backend.h's pipelined form (start_panel starts every
//     device's part, finish_panel waits for all parts of the oldest panel), so the server's
//     StreamedCall contract is unchanged. A small streamed call goes whole to one device.
// Rates: measured at start-up (a short dgemm on host buffers per device) unless given, then kept as
// a running average of the throughput each device shows on the pieces of split calls.
// Operands of a piece that are not packed (a row block of C, a block of a triangle) are copied to
// packed host buffers before the device sees them and the result copied back, so each backend still
// sees packed operands only (backend.h's contract) and no device ever writes outside its part.
//
// FFTs (placement_fft.cpp): a batch of transforms of at least split_min_fft_bytes (input +
// output) is cut by transforms in proportion to the rates, each device running its own plan on its
// contiguous range of transforms at the same time; anything else runs whole on the least busy
// device. The choice is made when the plan is prepared (before the input arrives: an FFTW MEASURE
// plan overwrites its arrays) and kept in the session's cache; see docs/placement.md.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backends/backend.h"
#include "server/placement/split.h"

namespace rcpu::server::placement {

struct Options {
  double split_min_flops = 8e9;                     // calls with fewer flops run whole on one device
  std::int64_t split_min_cols = 128;                // narrowest piece (columns or rows) of a split call or panel
  std::vector<double> rates;                        // fixed relative rates, one per device; empty: measured
  bool log_rates = true;                            // log each device's measured rate at start-up
  std::uint64_t split_min_fft_bytes = 64ull << 20;  // smaller batched FFTs run whole on one device
};

// One thread running posted jobs in order.
class Worker {
 public:
  Worker();
  ~Worker();  // finishes the jobs already posted, then stops
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  void post(std::function<void()> job);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

class Placement final : public backend::Backend {
 public:
  // devices: at least one. Measures the devices' rates unless options.rates gives them.
  Placement(std::vector<std::unique_ptr<backend::Backend>> devices, Options options);
  ~Placement() override;

  std::string name() const override;
  std::string description() const override;
  bool is_host() const override;          // as the first device (the devices are of one backend)
  bool runs_every_call() const override;  // when every device does
  bool supports(const Level3Args& args) const override;
  void level3(const Level3Args& args, const void* a, const void* b, void* c) override;
  std::unique_ptr<backend::StreamedCall> begin_streamed(const Level3Args& args, const void* a, const void* b,
                                                        void* c) override;
  // One device: as that device says. Several: no (a split call reads the host buffers).
  bool offers_tile_staging(const Level3Args& args) const override;
  void* alloc_host(std::size_t bytes) override;
  void free_host(void* p, std::size_t bytes) override;
  std::string usage_report() const override;
  // LAPACK calls (issue #5) run whole on the least busy device that supports them.
  bool supports_lapack(const LapackArgs& args) const override;
  std::int64_t lapack(const LapackArgs& args, void* const* p) override;
  // FFTs: batches split over the devices, the rest whole on the least busy one (see above).
  bool supports_fft(const FftDescriptor& packed) const override;
  std::unique_ptr<backend::FftPlanCache> new_fft_cache() override;
  void prepare_fft(backend::FftPlanCache& cache, const FftDescriptor& packed, unsigned planner_flags, void* in,
                   void* out) override;
  void fft(backend::FftPlanCache& cache, const FftDescriptor& packed, unsigned planner_flags, void* in,
           void* out) override;
  // A transform run whole: its device's streamed FFT (overlapped copies); a split batch: fft().
  std::unique_ptr<backend::StreamedFft> begin_fft(backend::FftPlanCache& cache, const FftDescriptor& packed,
                                                  unsigned planner_flags, void* in, void* out) override;

  // Where prepare_fft would run `packed` now: (device, first transform, transforms) per part; one
  // part for a transform run whole.
  struct FftPart {
    int device = 0;
    std::int64_t first = 0, count = 0;
  };
  std::vector<FftPart> plan_fft(const FftDescriptor& packed) const;

  struct DeviceStats {
    double rate = 0;                 // GFLOP/s (or the fixed relative rate)
    std::uint64_t whole_calls = 0;   // calls run whole on this device
    std::uint64_t pieces = 0;        // pieces of split calls
    std::uint64_t panel_pieces = 0;  // parts of panels of streamed calls
    double flops = 0;                // of all of the above
    std::uint64_t busy_ns = 0;
  };
  std::size_t device_count() const override { return devices_.size(); }
  std::vector<DeviceStats> stats() const;
  // Where a call of `args` run whole would go now: the least busy device that supports it, or -1.
  int pick_device(const Level3Args& args) const;
  // The pieces level3() would run `args` as now (empty or one piece: it runs whole).
  std::vector<Piece> plan(const Level3Args& args) const;

 private:
  struct Device;
  class Stream;
  class FftCache;
  std::vector<double> rates() const;
  bool pieces_supported(const std::vector<Piece>& pieces) const;
  void run_pieces(const std::vector<Piece>& pieces, const Level3Args& args, const void* a, const void* b, void* c);
  void begin_work(int d, double flops) const;
  void end_work(int d, double flops, std::uint64_t ns, int kind) const;  // kind 0 whole, 1 piece, 2 panel, -1 cancelled
  void observe(const std::vector<std::pair<int, double>>& rate_samples);

  Options options_;
  std::vector<std::unique_ptr<Device>> devices_;
  bool fixed_rates_ = false;
  mutable std::mutex mu_;  // rates, stats, work in flight
};

// A device's rate in GFLOP/s: the best of a few short dgemm calls on host buffers (the first,
// untimed, lets the device set itself up). Throws BackendError when the device fails.
double measure_rate(backend::Backend& be);

}  // namespace rcpu::server::placement
