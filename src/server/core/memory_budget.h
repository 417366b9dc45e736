// The operand bytes of all requests in flight on the server, bounded so that many large requests at
// once get error replies (the clients then run locally) instead of the kernel's OOM killer.
#pragma once

#include <cstdint>
#include <mutex>

#include "backends/backend.h"

namespace rcpu::server {

class MemoryBudget {
 public:
  explicit MemoryBudget(std::uint64_t limit) : limit_(limit) {}
  // 3/4 of the memory this process may use (physical, or its control group's limit:
  // machine_memory.h): what --max-memory defaults to.
  static std::uint64_t default_limit();

  bool try_reserve(std::uint64_t bytes);
  void release(std::uint64_t bytes);
  std::uint64_t limit() const { return limit_; }
  std::uint64_t used() const {
    std::lock_guard lock(mu_);
    return used_;
  }

 private:
  mutable std::mutex mu_;
  std::uint64_t limit_, used_ = 0;
};

// Holds a reservation for one scope.
class Reservation {
 public:
  Reservation(MemoryBudget& b, std::uint64_t bytes) : budget_(b), bytes_(bytes), ok_(b.try_reserve(bytes)) {}
  ~Reservation() {
    if (ok_) budget_.release(bytes_);
  }
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  explicit operator bool() const { return ok_; }

 private:
  MemoryBudget& budget_;
  std::uint64_t bytes_;
  bool ok_;
};

// A backend call's workspace (backend::WorkspaceGate), charged to the budget while the gate lives:
// every reservation the backend made through it is released when the call is over.
class WorkspaceBudget final : public backend::WorkspaceGate {
 public:
  explicit WorkspaceBudget(MemoryBudget& b) : budget_(b) {}
  ~WorkspaceBudget() override {
    if (held_) budget_.release(held_);
  }
  WorkspaceBudget(const WorkspaceBudget&) = delete;
  WorkspaceBudget& operator=(const WorkspaceBudget&) = delete;
  bool try_reserve(std::uint64_t bytes) override {
    if (!budget_.try_reserve(bytes)) return false;
    held_ += bytes;
    return true;
  }

 private:
  MemoryBudget& budget_;
  std::uint64_t held_ = 0;
};

}  // namespace rcpu::server
