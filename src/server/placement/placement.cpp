#include "server/placement/placement.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <new>

#include "common/log.h"
#include "server/placement/jobs.h"

namespace rcpu::server::placement {

using backend::Backend;
using backend::BackendError;
using backend::StreamedCall;

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Runs one piece on `be`: each sub-call on packed operands (strided views are copied to packed
// buffers first, and the output copied back: the whole block, or only its triangle `out_tri`).
void run_piece(Backend& be, const Piece& piece, const void* const base[3], std::size_t elem) {
  for (const SubCall& sc : piece.calls) {
    // The backend sees packed operands (level3_packed), whether a view is packed already or staged.
    const Level3Args x = level3_packed(sc.args);
    const Level3Shapes s = level3_shapes(x);
    const bool tri_b = x.family == L3Family::trmm || x.family == L3Family::trsm;
    std::vector<std::uint8_t> staged[3];
    const View views[3] = {sc.a, sc.b, sc.c};
    const OperandShape* shapes[3] = {&s.a, &s.b, &s.c};
    void* ptr[3] = {nullptr, nullptr, nullptr};
    bool packed_out = true;
    for (int i = 0; i < 3; ++i) {
      const View& v = views[i];
      const OperandShape& sh = *shapes[i];
      if (v.buf < 0 || sh.role == Role::none) continue;
      auto* src = static_cast<std::uint8_t*>(const_cast<void*>(base[v.buf])) + v.off * elem;
      const std::int64_t rows = std::max<std::int64_t>(1, sh.rows);
      if (v.ld == rows || sh.cols <= 1) {  // already packed (one column is packed whatever ld says)
        ptr[i] = src;
        continue;
      }
      const std::size_t col_bytes = std::size_t(sh.rows) * elem;
      staged[i].resize(std::max<std::size_t>(elem, col_bytes * std::size_t(sh.cols)));
      if (sh.reads())
        for (std::int64_t j = 0; j < sh.cols; ++j)
          std::memcpy(staged[i].data() + std::size_t(j) * col_bytes, src + std::size_t(j) * std::size_t(v.ld) * elem,
                      col_bytes);
      ptr[i] = staged[i].data();
      if (i == 2) packed_out = false;
    }
    be.level3(x, ptr[0], tri_b ? nullptr : ptr[1], ptr[2]);
    if (packed_out) continue;
    // Copy the result block back: only the routine's triangle of a diagonal block.
    auto* dst = static_cast<std::uint8_t*>(const_cast<void*>(base[sc.c.buf])) + sc.c.off * elem;
    const std::int64_t rows = s.c.rows;
    for (std::int64_t j = 0; j < s.c.cols; ++j) {
      std::int64_t i0 = 0, i1 = rows;
      if (sc.out_tri == 'U') i1 = std::min(rows, j + 1);
      if (sc.out_tri == 'L') i0 = std::min(rows, j);
      if (i1 > i0)
        std::memcpy(dst + (std::size_t(j) * std::size_t(sc.c.ld) + std::size_t(i0)) * elem,
                    staged[2].data() + (std::size_t(j) * std::size_t(rows) + std::size_t(i0)) * elem,
                    std::size_t(i1 - i0) * elem);
    }
  }
}

// The sub-call as the backend will see it (strided views repacked), for supports().
Level3Args packed_args(const SubCall& sc) { return level3_packed(sc.args); }

}  // namespace

// ---------------------------------------------------------------- Worker

Worker::Worker()
    : thread_([this] {
        for (;;) {
          std::function<void()> job;
          {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
            if (jobs_.empty()) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
          }
          job();
        }
      }) {}

Worker::~Worker() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Worker::post(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

// ---------------------------------------------------------------- Placement

double measure_rate(Backend& be) {
  // Large enough to reach a device's pace, small enough for start-up: 34 MFLOP on a CPU, 17 GFLOP
  // on a GPU (where the host transfers of the operands are part of what is measured).
  const std::int64_t n = be.is_host() ? 256 : 2048;
  std::vector<double> a(std::size_t(n * n), 0.5), b(std::size_t(n * n), 0.25), c(std::size_t(n * n), 0.0);
  Level3Args x;
  x.family = L3Family::gemm;
  x.dtype = Dtype::d;
  x.m = x.n = x.k = n;
  x.alpha = 1.0;
  x.beta = 0.0;
  x.lda = x.ldb = x.ldc = n;
  be.level3(x, a.data(), b.data(), c.data());
  double best = 1e30;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = Clock::now();
    be.level3(x, a.data(), b.data(), c.data());
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return level3_flops(x) / std::max(best, 1e-9) * 1e-9;
}

Placement::Placement(std::vector<std::unique_ptr<Backend>> devices, Options options) : options_(std::move(options)) {
  if (devices.empty()) throw BackendError("placement: no device");
  if (!options_.rates.empty() && options_.rates.size() != devices.size())
    throw BackendError("placement: " + std::to_string(options_.rates.size()) + " rates given for " +
                       std::to_string(devices.size()) + " devices");
  options_.split_min_cols = std::max<std::int64_t>(1, options_.split_min_cols);
  fixed_rates_ = !options_.rates.empty();
  for (std::size_t i = 0; i < devices.size(); ++i) {
    auto d = std::make_unique<Device>();
    d->be = std::move(devices[i]);
    devices_.push_back(std::move(d));
  }
  if (devices_.size() == 1) {
    devices_[0]->stats.rate = fixed_rates_ ? options_.rates[0] : 1.0;  // nothing to share: not measured
    return;
  }
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    double r = 0;
    if (fixed_rates_) {
      r = options_.rates[i];
    } else {
      try {
        r = measure_rate(*devices_[i]->be);
      } catch (const std::exception& e) {
        log::warn("placement: device " + std::to_string(i) + ": rate not measured (" + e.what() +
                  "); assuming 1 GFLOP/s");
        r = 1.0;
      }
    }
    if (!(r > 0)) throw BackendError("placement: device " + std::to_string(i) + " has no positive rate");
    devices_[i]->stats.rate = r;
    if (options_.log_rates)
      log::info("placement: device " + std::to_string(i) + " rate " + fmt("%.2f", r) +
                (fixed_rates_ ? " (given)" : " GFLOP/s (dgemm measured at start-up)"));
  }
}

Placement::~Placement() = default;

std::string Placement::description() const {
  if (devices_.size() == 1) return devices_[0]->be->description();
  std::string out = std::to_string(devices_.size()) + " devices, placement: calls of at least " +
                    fmt("%.3g", options_.split_min_flops) +
                    " flops split in proportion to the rates (pieces of at least " +
                    std::to_string(options_.split_min_cols) + " columns), smaller calls to the least busy device";
  const std::vector<double> r = rates();
  for (std::size_t i = 0; i < devices_.size(); ++i)
    out += "\n  device " + std::to_string(i) + ": " + devices_[i]->be->description() + "; rate " + fmt("%.2f", r[i]);
  return out;
}

std::vector<double> Placement::rates() const {
  std::lock_guard lock(mu_);
  std::vector<double> r;
  for (const auto& d : devices_) r.push_back(d->stats.rate);
  return r;
}

std::vector<Placement::DeviceStats> Placement::stats() const {
  std::lock_guard lock(mu_);
  std::vector<DeviceStats> out;
  for (const auto& d : devices_) out.push_back(d->stats);
  return out;
}

std::string Placement::usage_report() const {
  if (devices_.size() == 1) return {};
  std::string out = "placement:";
  const std::vector<DeviceStats> st = stats();
  for (std::size_t i = 0; i < st.size(); ++i) {
    char line[256];
    std::snprintf(
        line, sizeof line,
        "\ndevice %zu: %llu whole calls, %llu pieces of split calls, %llu panel pieces, %.3f GFLOP, %.3f s busy, "
        "rate %.2f",
        i, (unsigned long long)st[i].whole_calls, (unsigned long long)st[i].pieces,
        (unsigned long long)st[i].panel_pieces, st[i].flops * 1e-9, double(st[i].busy_ns) * 1e-9, st[i].rate);
    out += line;
  }
  return out;
}

void Placement::begin_work(int d, double flops) const {
  std::lock_guard lock(mu_);
  devices_[std::size_t(d)]->in_flight += flops;
}

void Placement::end_work(int d, double flops, std::uint64_t ns, int kind) const {
  std::lock_guard lock(mu_);
  Device& dev = *devices_[std::size_t(d)];
  dev.in_flight = std::max(0.0, dev.in_flight - flops);
  if (kind < 0) return;  // never started
  dev.stats.flops += flops;
  dev.stats.busy_ns += ns;
  if (kind == 0)
    ++dev.stats.whole_calls;
  else if (kind == 1)
    ++dev.stats.pieces;
  else
    ++dev.stats.panel_pieces;
}

// A running average: each split call moves a device's rate a quarter of the way to what it showed.
// Only pieces long enough to time meaningfully count.
void Placement::observe(const std::vector<std::pair<int, double>>& samples) {
  if (fixed_rates_) return;
  std::lock_guard lock(mu_);
  for (const auto& [d, gflops] : samples) {
    double& r = devices_[std::size_t(d)]->stats.rate;
    r = 0.75 * r + 0.25 * gflops;
  }
}

int Placement::pick_device(const Level3Args& args) const {
  const double flops = level3_flops(args);
  int best = -1;
  double best_finish = 0;
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    if (!devices_[i]->be->supports(args)) continue;
    std::lock_guard lock(mu_);
    const double finish = (devices_[i]->in_flight + flops) / devices_[i]->stats.rate;
    if (best < 0 || finish < best_finish) {
      best = int(i);
      best_finish = finish;
    }
  }
  return best;
}

bool Placement::supports_lapack(const LapackArgs& args) const {
  for (const auto& d : devices_)
    if (d->be->supports_lapack(args)) return true;
  return false;
}

// A LAPACK call is not split: it runs whole on the device that would finish it first, counted as a
// whole call with the spec's flop count.
std::int64_t Placement::lapack(const LapackArgs& args, void* const* p) {
  const LapackRoutine* r = lapack_routine(args.opcode);
  const double flops = r ? r->flops(args) : 0;
  int d = -1;
  double best_finish = 0;
  for (std::size_t i = 0; i < devices_.size(); ++i) {
    if (!devices_[i]->be->supports_lapack(args)) continue;
    std::lock_guard lock(mu_);
    const double finish = (devices_[i]->in_flight + flops) / devices_[i]->stats.rate;
    if (d < 0 || finish < best_finish) {
      d = int(i);
      best_finish = finish;
    }
  }
  if (d < 0) throw BackendError("no device runs this LAPACK call");
  begin_work(d, flops);
  const auto t0 = Clock::now();
  try {
    const std::int64_t info = devices_[std::size_t(d)]->be->lapack(args, p);
    end_work(d, flops, ns_since(t0), 0);
    return info;
  } catch (...) {
    end_work(d, flops, ns_since(t0), 0);
    throw;
  }
}

std::vector<Piece> Placement::plan(const Level3Args& args) const {
  if (devices_.size() == 1 || level3_flops(args) < options_.split_min_flops) return {};
  return split_call(args, rates(), options_.split_min_cols);
}

bool Placement::pieces_supported(const std::vector<Piece>& pieces) const {
  for (const Piece& p : pieces)
    for (const SubCall& sc : p.calls)
      if (!devices_[std::size_t(p.device)]->be->supports(packed_args(sc))) return false;
  return true;
}

bool Placement::supports(const Level3Args& args) const {
  if (devices_.size() == 1) return devices_[0]->be->supports(args);
  for (const auto& d : devices_)
    if (d->be->supports(args)) return true;
  const std::vector<Piece> pieces = plan(args);
  return pieces.size() > 1 && pieces_supported(pieces);
}

void Placement::run_pieces(const std::vector<Piece>& pieces, const Level3Args& args, const void* a, const void* b,
                           void* c) {
  const void* base[3] = {a, b, c};
  const std::size_t elem = element_size(args.dtype);
  Batch batch(int(pieces.size()));
  std::vector<double> seconds(pieces.size(), 0);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const Piece& p = pieces[i];
    begin_work(p.device, p.flops);
    devices_[std::size_t(p.device)]->worker.post([&, i] {
      const Piece& piece = pieces[i];
      const auto t0 = Clock::now();
      batch.run([&] { run_piece(*devices_[std::size_t(piece.device)]->be, piece, base, elem); },
                [&] {
                  const std::uint64_t ns = ns_since(t0);
                  seconds[i] = double(ns) * 1e-9;
                  end_work(piece.device, piece.flops, ns, 1);
                });
    });
  }
  batch.wait();  // every piece has finished (and written its part) before this returns or throws
  std::vector<std::pair<int, double>> samples;
  for (std::size_t i = 0; i < pieces.size(); ++i)
    if (seconds[i] >= 2e-3) samples.emplace_back(pieces[i].device, pieces[i].flops / seconds[i] * 1e-9);
  if (samples.size() == pieces.size()) observe(samples);
}

void Placement::level3(const Level3Args& args, const void* a, const void* b, void* c) {
  if (devices_.size() == 1) {
    // One device: straight through, as without placement.
    const double flops = level3_flops(args);
    const auto t0 = Clock::now();
    devices_[0]->be->level3(args, a, b, c);
    end_work(0, flops, ns_since(t0), 0);
    return;
  }
  const std::vector<Piece> pieces = plan(args);
  if (pieces.size() > 1 && pieces_supported(pieces)) return run_pieces(pieces, args, a, b, c);
  const int d = pick_device(args);
  if (d < 0) throw BackendError("no device supports " + routine_name(args.family, args.dtype) + " of this size");
  const double flops = level3_flops(args);
  begin_work(d, flops);
  const auto t0 = Clock::now();
  try {
    devices_[std::size_t(d)]->be->level3(args, a, b, c);
  } catch (...) {
    end_work(d, flops, ns_since(t0), 0);
    throw;
  }
  end_work(d, flops, ns_since(t0), 0);
}

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
