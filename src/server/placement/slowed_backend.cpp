#include "server/placement/slowed_backend.h"

#include <chrono>
#include <cstdio>
#include <thread>

namespace rcpu::server::placement {
namespace {

using Clock = std::chrono::steady_clock;

void stretch(Clock::time_point t0, double factor) {
  const auto took = Clock::now() - t0;
  std::this_thread::sleep_for(std::chrono::duration_cast<Clock::duration>(took * (factor - 1.0)));
}

class SlowedStream final : public backend::StreamedCall {
 public:
  SlowedStream(std::unique_ptr<backend::StreamedCall> inner, double factor)
      : inner_(std::move(inner)), factor_(factor) {}
  void inputs_arrived(int operand, std::uint64_t bytes) override { inner_->inputs_arrived(operand, bytes); }
  void compute_panel(std::int64_t col0, std::int64_t cols) override {
    const auto t0 = Clock::now();
    inner_->compute_panel(col0, cols);
    stretch(t0, factor_);
  }

 private:
  std::unique_ptr<backend::StreamedCall> inner_;
  double factor_;
};

class SlowedBackend final : public backend::Backend {
 public:
  SlowedBackend(std::unique_ptr<backend::Backend> inner, double factor) : inner_(std::move(inner)), factor_(factor) {}
  std::string name() const override { return inner_->name(); }
  bool is_host() const override { return inner_->is_host(); }
  // As the device answers, so the server's choice of a fallback is the same with the emulation.
  bool runs_every_call() const override { return inner_->runs_every_call(); }
  std::string description() const override {
    char buf[64];
    std::snprintf(buf, sizeof buf, " [emulated: %.3g times slower]", factor_);
    return inner_->description() + buf;
  }
  bool supports(const Level3Args& args) const override { return inner_->supports(args); }
  void level3(const Level3Args& args, const void* a, const void* b, void* c) override {
    const auto t0 = Clock::now();
    inner_->level3(args, a, b, c);
    stretch(t0, factor_);
  }
  std::unique_ptr<backend::StreamedCall> begin_streamed(const Level3Args& args, const void* a, const void* b,
                                                        void* c) override {
    return std::make_unique<SlowedStream>(inner_->begin_streamed(args, a, b, c), factor_);
  }
  void* alloc_host(std::size_t bytes) override { return inner_->alloc_host(bytes); }
  void free_host(void* p, std::size_t bytes) override { inner_->free_host(p, bytes); }

 private:
  std::unique_ptr<backend::Backend> inner_;
  double factor_;
};

}  // namespace

std::unique_ptr<backend::Backend> make_slowed_backend(std::unique_ptr<backend::Backend> inner, double factor) {
  if (!(factor > 1.0)) return inner;
  return std::make_unique<SlowedBackend>(std::move(inner), factor);
}

}  // namespace rcpu::server::placement
