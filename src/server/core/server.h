// rcpud as a library: listens, runs one thread per client connection (core/session.h), stops cleanly.
// rcpud_main.cpp wraps it in a command line; tests run it in-process on port 0.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "backends/backend.h"
#include "security/key_file.h"
#include "server/core/authenticate.h"
#include "server/core/client_limits.h"
#include "server/core/counters.h"
#include "server/core/host_buffers.h"
#include "server/core/kind_table.h"
#include "server/core/memory_budget.h"
#include "server/core/options.h"
#include "server/core/striping.h"
#include "transport/tls.h"
#include "transport/transport.h"

namespace rcpu::server {

class Server {
 public:
  // Loads the keys it accepts (--key-file, else the default places: server/core/authenticate.h;
  // throws std::runtime_error when there is none and the server is not --insecure) and its TLS
  // certificate (transport::TlsSetupError when it cannot be used), then binds the
  // listening socket at once (throws transport::TransportError when it cannot), so port() is known
  // before run(). Calls the primary backend does not support go to a CPU backend.
  // `kinds`: the call kinds its sessions serve (server/kinds.h: server_kinds()).
  Server(ServerOptions options, std::unique_ptr<backend::Backend> primary, KindTable kinds);
  ~Server();  // stops and joins every session
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::string endpoint() const;  // the bound address, "127.0.0.1:40123" as printed on rcpud's first line

  // Accepts connections until stop(); returns when every session has ended.
  void run();
  // From any thread (not from a signal handler): stop accepting, wake and end every session.
  void stop();

  backend::Backend& backend() { return *primary_; }
  const Counters& counters() const { return counters_; }
  // The options in force: those given, with the limits sized from the machine filled in.
  const ServerOptions& options() const { return options_; }
  // The ids of the shared keys it accepts, "'a', 'b'"; empty when it holds none (--insecure).
  std::string key_ids() const;
  const AuthPolicy& auth() const { return auth_; }
  bool tls() const { return tls_ != nullptr; }
  const ClientLimits& clients() const { return *clients_; }

 private:
  struct Slot {
    std::thread thread;
    std::unique_ptr<transport::Connection> conn;
    std::atomic<bool> done{false};
  };
  void reap(bool all);

  ServerOptions options_;
  AuthPolicy auth_;
  std::shared_ptr<const transport::TlsContext> tls_;  // null: connections in the clear
  std::unique_ptr<backend::Backend> primary_;
  std::unique_ptr<backend::Backend> cpu_;  // null when the primary is the CPU backend
  std::unique_ptr<transport::Listener> listener_;
  Counters counters_;
  MemoryBudget memory_;
  KindTable kinds_;
  StripeRegistry stripes_;
  HostBufferPool buffers_;                 // after memory_ and primary_: built from them
  std::unique_ptr<ClientLimits> clients_;  // sized once the options are
  std::atomic<int> active_sessions_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;  // guards slots_
  std::list<Slot> slots_;
};

}  // namespace rcpu::server
