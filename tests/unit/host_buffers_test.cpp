// The server-wide pool of operand buffers (src/server/host_buffers.h): reuse across sessions,
// best fit, the memory budget, and that idle memory never causes a refusal.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "server/core/host_buffers.h"

namespace rcpu::server {
namespace {

// A backend that counts its host allocations (the CUDA backend's are pinned and expensive).
class CountingBackend : public backend::Backend {
 public:
  std::string name() const override { return "counting"; }
  std::string description() const override { return "counting"; }
  bool supports(const Level3Args&) const override { return false; }
  void level3(const Level3Args&, const void*, const void*, void*) override {}
  void* alloc_host(std::size_t bytes) override {
    ++allocs;
    live += bytes;
    return ::operator new(bytes);
  }
  void free_host(void* p, std::size_t bytes) override {
    ++frees;
    live -= bytes;
    ::operator delete(p);
  }
  int allocs = 0, frees = 0;
  std::size_t live = 0;
};

TEST(HostBufferPool, ACallOfAnotherSessionReusesTheBuffersOfTheLast) {
  CountingBackend be;
  MemoryBudget budget(1 << 20);
  HostBufferPool pool(be, budget, 1 << 19);
  const std::uint64_t need[3] = {1000, 2000, 3000};
  {
    BufferCache first(pool);
    ASSERT_TRUE(first.prepare(need));
    std::memset(first.get(2), 7, 3000);
    first.release();
  }
  EXPECT_EQ(be.allocs, 3);
  EXPECT_EQ(pool.idle_bytes(), 6000u);
  BufferCache second(pool);  // another session
  ASSERT_TRUE(second.prepare(need));
  EXPECT_EQ(be.allocs, 3) << "the idle buffers must be reused, not allocated again";
  EXPECT_EQ(pool.idle_bytes(), 0u);
  second.release();
  EXPECT_EQ(be.frees, 0);
}

TEST(HostBufferPool, TakesTheSmallestIdleBlockThatFits) {
  CountingBackend be;
  MemoryBudget budget(1 << 20);
  HostBufferPool pool(be, budget, 1 << 20);
  auto big = pool.take(100000), small = pool.take(1000), mid = pool.take(10000);
  ASSERT_TRUE(big && small && mid);
  pool.give(*big);
  pool.give(*small);
  pool.give(*mid);
  auto got = pool.take(5000);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->cap, 10000u);
  auto tiny = pool.take(10);
  ASSERT_TRUE(tiny);
  EXPECT_EQ(tiny->cap, 1000u);
  pool.give(*got);
  pool.give(*tiny);
}

TEST(HostBufferPool, IdleMemoryIsFreedBeforeACallIsRefused) {
  CountingBackend be;
  MemoryBudget budget(10000);
  HostBufferPool pool(be, budget, 10000);
  auto a = pool.take(6000);
  ASSERT_TRUE(a);
  pool.give(*a);             // idle, still charged to the budget
  auto b = pool.take(8000);  // 6000 + 8000 > 10000: the idle block must go first
  ASSERT_TRUE(b);
  EXPECT_EQ(be.frees, 1);
  EXPECT_FALSE(pool.take(4000)) << "8000 lent + 4000 is over the budget: refused";
  pool.give(*b);
  EXPECT_TRUE(budget.try_reserve(2000));
  budget.release(2000);
}

TEST(HostBufferPool, KeepsNoMoreIdleThanItsLimit) {
  CountingBackend be;
  MemoryBudget budget(1 << 20);
  HostBufferPool pool(be, budget, 5000);
  auto a = pool.take(3000), b = pool.take(4000);
  ASSERT_TRUE(a && b);
  pool.give(*a);
  pool.give(*b);  // 7000 idle > 5000: the oldest (a) is freed
  EXPECT_EQ(pool.idle_bytes(), 4000u);
  EXPECT_EQ(be.frees, 1);
  EXPECT_TRUE(budget.try_reserve((1 << 20) - 4000)) << "freed memory goes back to the budget";
}

TEST(HostBufferPool, EverythingIsFreedWithThePool) {
  CountingBackend be;
  MemoryBudget budget(1 << 20);
  {
    HostBufferPool pool(be, budget, 1 << 20);
    BufferCache cache(pool);
    const std::uint64_t need[3] = {100, 0, 300};
    ASSERT_TRUE(cache.prepare(need));
    EXPECT_EQ(cache.get(1), nullptr);
  }
  EXPECT_EQ(be.live, 0u);
  EXPECT_TRUE(budget.try_reserve(1 << 20));
}

}  // namespace
}  // namespace rcpu::server
