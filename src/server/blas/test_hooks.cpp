#include "server/blas/test_hooks.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "server/core/testing.h"

namespace rcpu::server::blas {
namespace {

using protocol::TileDesc;

// RCPUD_TEST_FAIL_PANEL: a backend call that fails at panel `fail` once the results of every
// earlier panel have gone out, so the client sees a call that broke after part of C had arrived.
// Panels from `fail` on are never started; the failure comes when the worker would finish panel
// `fail`, after it finished (and the senders sent) every earlier one.
class FailAtPanel final : public backend::StreamedCall {
 public:
  FailAtPanel(std::unique_ptr<backend::StreamedCall> inner, std::int64_t fail,
              std::function<void(std::int64_t)> wait_results_sent)
      : inner_(std::move(inner)), fail_(fail), wait_results_sent_(std::move(wait_results_sent)) {}

  void compute_panel(std::int64_t col0, std::int64_t cols) override { inner_->compute_panel(col0, cols); }
  void inputs_arrived(int operand, std::uint64_t bytes) override { inner_->inputs_arrived(operand, bytes); }
  int depth() const override { return inner_->depth(); }
  void start_panel(std::int64_t col0, std::int64_t cols) override {
    if (started_++ < fail_) inner_->start_panel(col0, cols);
  }
  void finish_panel() override {
    fail_if_due();
    inner_->finish_panel();
    ++finished_;
  }
  bool try_finish_panel() override {
    fail_if_due();
    if (!inner_->try_finish_panel()) return false;
    ++finished_;
    return true;
  }
  backend::TileStaging* tile_staging(int stripes) override { return inner_->tile_staging(stripes); }

 private:
  void fail_if_due() {
    if (finished_ != fail_) return;
    wait_results_sent_(fail_);
    throw backend::BackendError("injected failure at panel " + std::to_string(fail_) + " (RCPUD_TEST_FAIL_PANEL)");
  }

  std::unique_ptr<backend::StreamedCall> inner_;
  const std::int64_t fail_;
  std::function<void(std::int64_t)> wait_results_sent_;
  std::int64_t started_ = 0, finished_ = 0;
};

// RCPUD_TEST_TEAR_PANEL: the stripe's first result tile of that panel goes out torn (whole columns
// up to half of the tile, then half a column), then the call fails.
std::uint64_t send_tearing(transport::Connection& conn, const TiledCall& call, int s, std::int64_t panel,
                           const std::vector<TileDesc>& tiles) {
  if (panel != testing::hooks().tear_panel || tiles.empty()) return send_result_tiles(conn, call, s, tiles);
  const TileDesc& t = tiles.front();
  const std::uint64_t col_bytes = t.rows * call.elem;
  send_result_tiles(conn, call, s, {t}, (t.cols / 2) * col_bytes + col_bytes / 2);
  throw std::runtime_error("injected torn tile (RCPUD_TEST_TEAR_PANEL)");
}

// RCPUD_TEST_TRICKLE_PANEL: the stripe's first result tile of that panel goes out half at once,
// then a byte every 200 ms for up to 30 s, then the call fails: the client must give up first.
std::uint64_t send_trickling(transport::Connection& conn, const TiledCall& call, int s, std::int64_t panel,
                             const std::vector<TileDesc>& tiles) {
  if (panel != testing::hooks().trickle_panel || tiles.empty()) return send_result_tiles(conn, call, s, tiles);
  const TileDesc& t = tiles.front();
  const std::uint64_t half = (t.cols / 2) * t.rows * call.elem;
  send_result_tiles(conn, call, s, {t}, half);
  const std::uint8_t zero = 0;
  for (int i = 0; i < 150; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    conn.send_all(&zero, 1);
  }
  throw std::runtime_error("injected trickled tile (RCPUD_TEST_TRICKLE_PANEL)");
}

}  // namespace

void install_test_hooks(TiledCall& tc, std::unique_ptr<backend::StreamedCall>& call, TiledCallTestHooks& kept) {
  const testing::Hooks& hooks = testing::hooks();
  if (!tc.staging && hooks.staging_bytes > 0) {
    kept.staging = std::make_unique<HostStaging>(tc.buf, tc.stripes, hooks.staging_bytes);
    tc.staging = kept.staging.get();
  }
  if (hooks.fail_panel >= 0) {
    call = std::make_unique<FailAtPanel>(std::move(call), hooks.fail_panel, [&tc](std::int64_t panel) {
      std::unique_lock lock(tc.mu);
      tc.cv.wait(lock, [&] { return tc.abort || *std::min_element(tc.sent.begin(), tc.sent.end()) >= panel; });
    });
  }
  if (hooks.tear_panel >= 0) tc.send_panel = send_tearing;
  if (hooks.trickle_panel >= 0) tc.send_panel = send_trickling;
}

}  // namespace rcpu::server::blas
