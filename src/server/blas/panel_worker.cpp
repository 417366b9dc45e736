#include "server/blas/panel_worker.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <mutex>
#include <new>
#include <string>

namespace rcpu::server::blas {
namespace {

using namespace rcpu::protocol;
using Clock = std::chrono::steady_clock;

std::uint64_t ns_since(Clock::time_point t0) {
  return std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
}

// Tells the backend which leading bytes of A and B are final once input tiles [0, upto) are in
// (tiles travel in column-major order, whole columns or row pieces of one: protocol/tiling.h).
void report_inputs(const TiledCall& tc, backend::StreamedCall& call, std::size_t from, std::size_t upto) {
  if (upto == 0 || upto <= from) return;
  const TileDesc& t = tc.plan.inputs[upto - 1];
  if (t.operand > 1) return;  // A and B (when every panel needs it) come first; the rest goes by panel
  const std::uint64_t ld = tc.ld[t.operand];
  const std::uint64_t bytes = ((t.col0 + t.cols - 1) * ld + t.row0 + t.rows) * tc.elem;
  if (t.operand == 1) call.inputs_arrived(0, std::numeric_limits<std::uint64_t>::max());  // all of A is in
  call.inputs_arrived(t.operand, bytes);
}

}  // namespace

void compute_panels(TiledCall& tc, backend::StreamedCall& call, backend::Backend& be, std::int64_t n,
                    std::uint64_t& compute_ns) {
  const TilePlan& plan = tc.plan;
  const std::int64_t depth = std::max(1, call.depth());
  std::int64_t started = 0, finished = 0;
  std::size_t reported = 0;  // input tiles already handed to inputs_arrived
  std::string failure;
  // How often a panel running on the device is polled while no new panel can start.
  constexpr auto kPoll = std::chrono::microseconds(100);
  try {
    while (finished < plan.panels) {
      bool start = false;
      {
        std::unique_lock lock(tc.mu);
        // Start the next panel if its inputs are in and there is room; else see whether the
        // oldest has finished (its results go out while later inputs still arrive).
        const auto can_start = [&] {
          return started < plan.panels && tc.ready > started && started - finished < depth;
        };
        const auto new_input = [&] { return started == 0 && tc.ready == 0 && tc.arrived > reported; };
        tc.cv.wait(lock, [&] { return can_start() || finished < started || tc.abort || new_input(); });
        if (tc.abort) break;
        start = can_start();
        if (!start && new_input()) {
          const std::size_t upto = tc.arrived;
          lock.unlock();
          report_inputs(tc, call, reported, upto);
          reported = upto;
          continue;
        }
      }
      if (!start && !call.try_finish_panel()) {
        std::unique_lock lock(tc.mu);
        tc.cv.wait_for(lock, kPoll, [&] { return tc.ready > started || tc.abort; });
        continue;
      }
      if (!start) {
        ++finished;
        std::lock_guard lock(tc.mu);
        tc.done = finished;
        if (tc.timeline) tc.t_done[std::size_t(finished - 1)] = Clock::now();
        tc.cv.notify_all();
        continue;
      }
      const auto t0 = Clock::now();
      const std::int64_t c0 = plan.panel_begin(started);
      call.start_panel(c0, std::min<std::int64_t>(plan.panel_cols, n - c0));
      ++started;
      compute_ns += ns_since(t0);
    }
  } catch (const std::bad_alloc&) {
    failure = be.name() + ": out of memory";
  } catch (const std::exception& e) {
    failure = be.name() + ": " + e.what();
  }
  if (!failure.empty()) {
    std::lock_guard lock(tc.mu);
    tc.failure = failure;
    tc.cv.notify_all();
  }
}

}  // namespace rcpu::server::blas
