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
    const bool tri_b = level3_output_is_b(x);
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

}  // namespace rcpu::server::placement
