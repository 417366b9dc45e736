// The placement's streamed (tiled) Level-3 calls (placement.h): one streamed call per device on the
// same buffers with each panel cut across the devices by rate, or the whole call on one device.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>

#include "common/log.h"
#include "server/placement/jobs.h"
#include "server/placement/placement.h"

namespace rcpu::server::placement {

using backend::Backend;
using backend::BackendError;
using backend::StreamedCall;

// A streamed call over several devices: one streamed call per device on the same buffers, each
// panel cut across them by rate (see placement.h). Each device's part runs on a thread of this call
// (not the device's worker: a device's streamed call may hold the device until it ends, and a piece
// of another call queued on that worker must not stand in its way). The pipelined form of
// backend.h is kept: start_panel hands each device its part (a GPU queues its copies and kernels
// and returns), finish_panel waits for every part of the oldest panel; one thread per device calls
// its streamed call's start/finish in panel order, as backend.h requires of its caller.
class Placement::Stream final : public StreamedCall {
 public:
  Stream(Placement& pl, const Level3Args& args, const void* a, const void* b, void* c) : pl_(pl) {
    for (std::size_t i = 0; i < pl_.devices_.size(); ++i) {
      Backend& be = *pl_.devices_[i]->be;
      if (!be.supports(args)) continue;
      subs_.push_back(Sub{int(i), be.begin_streamed(args, a, b, c), nullptr, 0});
    }
    if (subs_.empty())
      throw BackendError("no device supports " + routine_name(args.family, args.dtype) + " of this size");
    for (Sub& s : subs_) {
      s.worker = std::make_unique<Worker>();
      depth_ = std::min(depth_, std::max(1, s.call->depth()));
    }
    flops_per_col_ = args.n > 0 ? level3_flops(args) / double(args.n) : 0;
  }
  ~Stream() override {
    // Workers first (they finish the jobs already posted), then the devices' calls, on this (the
    // creating) thread; a device's call drains whatever it still has queued.
    for (Sub& s : subs_) s.worker.reset();
    while (!subs_.empty()) subs_.pop_back();
  }

  int depth() const override { return depth_; }

  // Every device needs all of A: each copies it as it arrives, on its own thread (in order with
  // the panels posted after).
  void inputs_arrived(int operand, std::uint64_t bytes) override {
    for (Sub& s : subs_)
      s.worker->post([&s, operand, bytes] {
        try {
          s.call->inputs_arrived(operand, bytes);
        } catch (const std::exception&) {
          // A hint only: the first panel copies whatever did not get there.
        }
      });
  }

  void start_panel(std::int64_t col0, std::int64_t cols) override {
    auto panel = std::make_shared<Panel>();
    for (const auto& [i, rg] : cut(cols)) {
      Part& part = panel->parts.emplace_back();
      part.sub = i;
      part.col0 = col0 + rg.begin;
      part.cols = rg.size();
      part.flops = flops_per_col_ * double(rg.size());
      subs_[i].assigned += double(rg.size());
      pl_.begin_work(subs_[i].device, part.flops);
    }
    // Each job touches only its own part, which keeps its address (a deque) while the panel lives.
    for (Part& part : panel->parts) {
      Sub& s = subs_[part.sub];
      s.worker->post([&s, &part, panel] {
        part.t0 = Clock::now();
        try {
          s.call->start_panel(part.col0, part.cols);
        } catch (const std::bad_alloc&) {
          part.error = "out of memory";
          part.oom = true;
        } catch (const std::exception& e) {
          part.error = e.what()[0] ? e.what() : "device failed";
        }
      });
    }
    in_flight_.push_back(std::move(panel));
  }

  void finish_panel() override {
    if (in_flight_.empty()) return;
    std::shared_ptr<Panel> panel = std::move(in_flight_.front());
    in_flight_.pop_front();
    Batch batch(int(panel->parts.size()));
    for (Part& part : panel->parts) {
      Sub& s = subs_[part.sub];
      s.worker->post([this, &s, &part, &batch, panel] {
        batch.run(
            [&] {
              if (!part.error.empty()) {
                if (part.oom) throw std::bad_alloc();
                throw BackendError(part.error);
              }
              s.call->finish_panel();
            },
            [&] { pl_.end_work(s.device, part.flops, ns_since(part.t0), 2); });
      });
    }
    batch.wait();
  }

  void compute_panel(std::int64_t col0, std::int64_t cols) override {
    start_panel(col0, cols);
    while (!in_flight_.empty()) finish_panel();
  }

 private:
  struct Sub {
    int device;
    std::unique_ptr<StreamedCall> call;
    std::unique_ptr<Worker> worker;
    double assigned;  // columns given to this device so far
  };
  struct Part {
    std::size_t sub = 0;
    std::int64_t col0 = 0, cols = 0;
    double flops = 0;
    bool oom = false;
    std::string error;
    Clock::time_point t0{};
  };
  struct Panel {
    std::deque<Part> parts;  // a deque: parts keep their addresses while more are added
  };

  // (sub index, columns of the panel) of each device that gets a part of a panel of `cols` columns.
  std::vector<std::pair<std::size_t, Range>> cut(std::int64_t cols) const {
    std::vector<double> w;
    const std::vector<double> r = pl_.rates();
    for (const Sub& s : subs_) w.push_back(r[std::size_t(s.device)]);
    std::vector<Range> ranges;
    if (cols >= 2 * pl_.options_.split_min_cols && subs_.size() > 1) {
      ranges = proportional_ranges(cols, w, pl_.options_.split_min_cols);
    } else {
      // Too narrow to cut: the whole panel to the device furthest behind its share of this call.
      std::size_t best = 0;
      for (std::size_t i = 1; i < subs_.size(); ++i)
        if (subs_[i].assigned / w[i] < subs_[best].assigned / w[best]) best = i;
      ranges.assign(subs_.size(), Range{});
      ranges[best] = Range{0, cols};
    }
    std::vector<std::pair<std::size_t, Range>> out;
    for (std::size_t i = 0; i < ranges.size(); ++i)
      if (ranges[i].size() > 0) out.emplace_back(i, ranges[i]);
    return out;
  }

  Placement& pl_;
  std::vector<Sub> subs_;
  int depth_ = 1 << 20;
  double flops_per_col_ = 0;
  std::deque<std::shared_ptr<Panel>> in_flight_;  // started, not finished, oldest first
};

namespace {

// A streamed call run whole on one device, counted as that device's work while it lasts.
class WholeStream final : public StreamedCall {
 public:
  WholeStream(std::unique_ptr<StreamedCall> call, std::function<void(std::uint64_t)> finish)
      : call_(std::move(call)), finish_(std::move(finish)) {}
  ~WholeStream() override {
    call_.reset();
    finish_(busy_ns_);
  }
  int depth() const override { return call_->depth(); }
  void inputs_arrived(int operand, std::uint64_t bytes) override { call_->inputs_arrived(operand, bytes); }
  backend::TileStaging* tile_staging(int stripes) override { return call_->tile_staging(stripes); }
  void start_panel(std::int64_t col0, std::int64_t cols) override {
    timed([&] { call_->start_panel(col0, cols); });
  }
  void finish_panel() override {
    timed([&] { call_->finish_panel(); });
  }
  bool try_finish_panel() override {
    bool done = false;
    timed([&] { done = call_->try_finish_panel(); });
    return done;
  }
  void compute_panel(std::int64_t col0, std::int64_t cols) override {
    timed([&] { call_->compute_panel(col0, cols); });
  }

 private:
  template <class F>
  void timed(F f) {
    const auto t0 = Clock::now();
    struct Add {
      std::uint64_t& ns;
      Clock::time_point t0;
      ~Add() { ns += ns_since(t0); }
    } add{busy_ns_, t0};
    f();
  }
  std::unique_ptr<StreamedCall> call_;
  std::function<void(std::uint64_t)> finish_;
  std::uint64_t busy_ns_ = 0;
};

}  // namespace

std::unique_ptr<StreamedCall> Placement::begin_streamed(const Level3Args& args, const void* a, const void* b, void* c) {
  if (devices_.size() == 1) return devices_[0]->be->begin_streamed(args, a, b, c);
  const int d = pick_device(args);
  // No device can hold the whole call (supports() said yes because its split fits): each panel
  // runs as a level3() call of its own, which this placement splits across the devices.
  if (d < 0) return Backend::begin_streamed(args, a, b, c);
  const double flops = level3_flops(args);
  if (flops >= options_.split_min_flops && args.n >= 2 * options_.split_min_cols)
    return std::make_unique<Stream>(*this, args, a, b, c);
  begin_work(d, flops);
  std::unique_ptr<StreamedCall> call;
  try {
    call = devices_[std::size_t(d)]->be->begin_streamed(args, a, b, c);
  } catch (...) {
    end_work(d, flops, 0, -1);
    throw;
  }
  return std::make_unique<WholeStream>(std::move(call),
                                       [this, d, flops](std::uint64_t ns) { end_work(d, flops, ns, 0); });
}

}  // namespace rcpu::server::placement
