#include "client/remote_pool.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <thread>

#include "protocol/messages.h"
#include "protocol/status.h"
#include "protocol/wire.h"

namespace rcpu::client {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{2000};
constexpr std::chrono::milliseconds kMaxBackoff{30000};

int env_int(const char* name, int fallback, int lo, int hi) {
  if (const char* env = std::getenv(name)) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == 0 && v >= lo && v <= hi) return int(v);
  }
  return fallback;
}

// Old pools are never deleted: a thread may still hold a lease that points to one (remote_reset),
// and in a child after fork an old pool's mutex is left locked. Each is a few hundred bytes.
std::atomic<Pool*> g_pool{nullptr};
Pool* g_forking = nullptr;  // the pool whose mutex the fork-preparing thread holds

void before_fork() {
  Pool* p = g_pool.load();
  if (p) p->mutex().lock();
  g_forking = p;
}
void after_fork_parent() {
  if (g_forking) g_forking->mutex().unlock();
  g_forking = nullptr;
}
void after_fork_child() {
  if (g_forking) g_forking->abandon_all_in_child();
  g_forking = nullptr;
  g_pool.store(nullptr);  // the next call builds a fresh pool (and reads RCPU_SERVER again)
}

}  // namespace

Pool::Pool() {
  const char* env = std::getenv("RCPU_SERVER");
  std::string text = env ? env : "";
  // A list "a:1,b:2" is accepted; for now only its first entry is used.
  if (const auto comma = text.find(','); comma != std::string::npos) text.resize(comma);
  if (text.empty()) {
    config_error_ = "RCPU_SERVER is not set";
  } else {
    try {
      endpoint_ = transport::parse_address(text);
    } catch (const std::exception& e) {
      config_error_ = std::string("RCPU_SERVER: ") + e.what();
    }
  }
  connect_timeout_ms_ = transport::default_connect_timeout_ms();
  io_timeout_ms_ = io_timeout_ms();
  max_connections_ = env_int("RCPU_MAX_CONNECTIONS", std::max(8, 2 * streams_per_call()), 1, 1024);
}

std::optional<Lease> Pool::acquire(std::string& cause, bool wait) {
  std::unique_lock lock(mu_);
  if (!endpoint_) {
    cause = config_error_;
    return std::nullopt;
  }
  for (;;) {
    while (!idle_.empty()) {
      std::unique_ptr<RemoteConnection> c = std::move(idle_.back());
      idle_.pop_back();
      // An idle connection with something to read is stale: the server closed it (restart,
      // shutdown) or broke the protocol. Drop it rather than fail the call on it.
      if (c->conn().readable_or_closed()) {
        forget(c.get());
        continue;
      }
      return Lease{std::move(c), this};
    }
    if (Clock::now() < retry_at_) {
      cause = last_cause_;
      return std::nullopt;
    }
    if (open_ < max_connections_) break;
    if (!wait) {
      cause = "every pooled connection is in use";
      return std::nullopt;
    }
    cv_.wait(lock);
  }
  ++open_;
  const transport::Address where = *endpoint_;
  lock.unlock();

  std::unique_ptr<RemoteConnection> c;
  try {
    c = RemoteConnection::open(where, connect_timeout_ms_, io_timeout_ms_);
  } catch (const std::exception& e) {
    cause = e.what();
  }

  lock.lock();
  if (!c) {
    --open_;
    if (!wait) {  // an extra stripe: the call goes on with fewer connections, no back-off
      cv_.notify_all();
      return std::nullopt;
    }
    backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
    retry_at_ = Clock::now() + backoff_;
    last_cause_ = cause;
    cv_.notify_all();
    return std::nullopt;
  }
  backoff_ = std::chrono::milliseconds{0};
  retry_at_ = {};
  all_.insert(c.get());
  return Lease{std::move(c), this};
}

void Pool::release(Lease lease) {
  std::lock_guard lock(mu_);
  if (retired_) {
    forget(lease.conn.get());
  } else {
    idle_.push_back(std::move(lease.conn));
  }
  cv_.notify_one();
}

void Pool::discard(Lease lease) {
  std::lock_guard lock(mu_);
  forget(lease.conn.get());
  cv_.notify_one();
}

void Pool::forget(RemoteConnection* c) {
  all_.erase(c);
  --open_;
  // The unique_ptr that owns `c` closes it when its scope ends (idle entries are moved out first).
}

void Pool::retire() {
  std::vector<std::unique_ptr<RemoteConnection>> closing;
  {
    std::lock_guard lock(mu_);
    retired_ = true;
    for (auto& c : idle_) forget(c.get());
    closing.swap(idle_);
  }
  cv_.notify_all();
}

void Pool::abandon_all_in_child() {
  for (RemoteConnection* c : all_) c->conn().abandon();
}

int streams_per_call() {
  static const int v = [] {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    return env_int("RCPU_STREAMS", int(std::clamp(cores / 2, 1u, 8u)), 1, int(protocol::kMaxStripes));
  }();
  return v;
}

Pool& pool() {
  static std::once_flag atfork_once;
  Pool* p = g_pool.load();
  if (p) return *p;
  std::call_once(atfork_once, [] { pthread_atfork(before_fork, after_fork_parent, after_fork_child); });
  Pool* fresh = new Pool;
  if (!g_pool.compare_exchange_strong(p, fresh)) {
    delete fresh;
    return *p;
  }
  return *fresh;
}

void reset_pool() {
  // Kept on a list rather than deleted (see g_pool); the list also tells leak checkers they are
  // still reachable.
  static std::mutex retired_mu;
  static auto* retired = new std::vector<Pool*>;
  Pool* old = g_pool.exchange(nullptr);
  if (!old) return;
  old->retire();
  std::lock_guard lock(retired_mu);
  retired->push_back(old);
}

std::optional<std::string> read_reply_header(Lease& lease, std::uint64_t id, protocol::FrameHeader& h,
                                             std::uint64_t& bytes_received) {
  using namespace rcpu::protocol;
  transport::Connection& conn = lease.conn->conn();
  h = recv_header(conn);
  bytes_received += kHeaderSize + h.payload_length;
  if (h.kind == Kind::error) {
    const ErrorReply e = recv_body<ErrorReply>(conn, h);
    if (h.flags & kFlagClosing)
      lease.pool->discard(std::move(lease));
    else
      lease.pool->release(std::move(lease));
    return std::string("server error: ") + error_code_text(e.code);
  }
  if (h.kind != Kind::response || h.request_id != id)
    throw ProtocolError(ErrorCode::bad_frame, std::string("expected RESPONSE, got ") + kind_name(h.kind));
  return std::nullopt;
}

}  // namespace rcpu::client
