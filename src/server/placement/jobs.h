// What the placement's source files share: a device's state, and the bookkeeping of jobs that one
// call posts to several devices' threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <new>
#include <string>

#include "server/placement/placement.h"

namespace rcpu::server::placement {

using Clock = std::chrono::steady_clock;

inline std::uint64_t ns_since(Clock::time_point t0) {
  return std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
}

// Jobs of one call posted to several threads: counts them down, keeps the first failure.
class Batch {
 public:
  explicit Batch(int jobs) : pending_(jobs) {}
  void done(std::string error = {}, bool out_of_memory = false) {
    std::lock_guard lock(mu_);
    if (!error.empty() && error_.empty()) {
      error_ = std::move(error);
      oom_ = out_of_memory;
    }
    if (--pending_ == 0) cv_.notify_all();
  }
  // Waits for every job; then rethrows the first failure (std::bad_alloc for an out-of-memory one).
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return pending_ == 0; });
    if (oom_) throw std::bad_alloc();
    if (!error_.empty()) throw backend::BackendError(error_);
  }
  // Runs `job`, then `after` (bookkeeping: it may still use the caller's state, which lives until
  // done()), then reports the job's outcome; never throws.
  void run(const std::function<void()>& job, const std::function<void()>& after) {
    std::string error;
    bool oom = false;
    try {
      job();
    } catch (const std::bad_alloc&) {
      error = "out of memory";
      oom = true;
    } catch (const std::exception& e) {
      error = e.what()[0] ? e.what() : "device failed";
    } catch (...) {
      error = "device failed";
    }
    after();
    done(std::move(error), oom);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int pending_;
  std::string error_;
  bool oom_ = false;
};

struct Placement::Device {
  std::unique_ptr<Backend> be;
  Worker worker;  // runs this device's pieces of split calls
  DeviceStats stats;
  double in_flight = 0;  // flops queued or running here
};

}  // namespace rcpu::server::placement
