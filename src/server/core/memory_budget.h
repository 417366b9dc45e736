// The operand bytes of all requests in flight on the server, bounded so that many large requests at
// once get error replies (the clients then run locally) instead of the kernel's OOM killer.
#pragma once

#include <cstdint>
#include <mutex>

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

 private:
  std::mutex mu_;
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

}  // namespace rcpu::server
