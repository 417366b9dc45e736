#include "server/core/server.h"

#include <algorithm>

#include "backends/registry.h"
#include "common/log.h"
#include "server/core/authenticate.h"
#include "server/core/session.h"
#include "transport/connect.h"

namespace rcpu::server {

namespace {
// Beyond this many connections at once (served + waiting for their handshake) new ones are closed
// unanswered, so a connection flood cannot create threads without bound. Those within it but past
// --max-sessions get a "server busy" ERROR after their HELLO.
int connection_cap(const ServerOptions& o) { return o.max_sessions + 16; }
}  // namespace

Server::Server(ServerOptions options, std::unique_ptr<backend::Backend> primary, KindTable kinds)
    : options_(std::move(options)),
      auth_(make_auth_policy(options_.auth_methods, options_.key_files, options_.munge_socket, options_.insecure,
                             !options_.tls.trusted_ca.empty())),
      tls_(options_.tls.certificate.empty()
               ? nullptr
               : std::make_shared<const transport::TlsContext>(transport::TlsContext::Role::server, options_.tls)),
      primary_(std::move(primary)),
      memory_(options_.max_memory_bytes ? options_.max_memory_bytes : MemoryBudget::default_limit()),
      kinds_(std::move(kinds)),
      // Idle buffers may hold a quarter of the budget: enough for the operands of the largest
      // calls to be reused from one call to the next, never enough to starve new calls.
      buffers_(*primary_, memory_, memory_.limit() / 4) {
  // Sized from the machine unless given: one request may use the whole budget.
  options_.max_memory_bytes = memory_.limit();
  if (options_.max_request_bytes == 0) options_.max_request_bytes = memory_.limit();
  // Per-client limits (docs/security.md): a client may hold half of the memory budget and half of
  // the sessions, so that another always finds the other half. Calls in flight: 4 per device (one
  // receiving, one computing, one sending, one to spare; more only queue), and at least 16, so that
  // a client's batched FFT or split call (up to 8 connections, RCPU_STREAMS) and a few threads of
  // it fit at once.
  if (options_.client_max_memory_bytes == 0)
    options_.client_max_memory_bytes = std::max<std::uint64_t>(1, memory_.limit() / 2);
  if (options_.client_max_calls == 0)
    options_.client_max_calls = int(std::clamp<std::size_t>(4 * primary_->device_count(), 16, 100000));
  if (options_.client_max_sessions == 0) options_.client_max_sessions = std::max(1, options_.max_sessions / 2);
  clients_ =
      std::make_unique<ClientLimits>(ClientLimitSettings{options_.client_max_memory_bytes, options_.client_max_calls,
                                                         options_.client_device_share, options_.client_max_sessions});
  auth_.allow_uids = options_.allow_uids;
  auth_.allow_gids = options_.allow_gids;
  // What the primary does not run goes to the fallback (the CPU backend), unless it runs everything.
  if (!primary_->runs_every_call()) cpu_ = backend::make_fallback_backend();
  listener_ = transport::listen(options_.listen);
}

Server::~Server() {
  stop();
  reap(true);
}

std::string Server::key_ids() const {
  std::string out;
  for (const security::SharedKey& k : auth_.keys) out += (out.empty() ? "'" : ", '") + k.id + "'";
  return out;
}

std::string Server::endpoint() const { return listener_->address(); }

void Server::stop() {
  stopping_.store(true);
  listener_->shutdown();
  std::lock_guard lock(mu_);
  for (Slot& s : slots_)
    if (!s.done.load()) s.conn->shutdown();
}

void Server::reap(bool all) {
  std::list<Slot> finished;
  {
    std::lock_guard lock(mu_);
    for (auto it = slots_.begin(); it != slots_.end();) {
      auto next = std::next(it);
      if (all || it->done.load()) finished.splice(finished.end(), slots_, it);
      it = next;
    }
  }
  for (Slot& s : finished)
    if (s.thread.joinable()) s.thread.join();
}

void Server::run() {
  SessionContext ctx{options_,  auth_,    *primary_,        cpu_ ? *cpu_ : *primary_,
                     counters_, memory_,  active_sessions_, stopping_,
                     buffers_,  stripes_, kinds_,           *clients_};
  while (!stopping_.load()) {
    std::unique_ptr<transport::Connection> conn;
    try {
      conn = listener_->accept(500);
    } catch (const std::exception& e) {
      log::error(std::string("accept failed: ") + e.what());
      continue;
    }
    reap(false);
    if (!conn) continue;
    std::lock_guard lock(mu_);
    if (stopping_.load()) break;
    if (int(slots_.size()) >= connection_cap(options_)) {
      log::warn("too many connections; closing one from " + conn->peer());
      counters_.add_rejected_session();
      continue;  // conn closes here
    }
    Slot& slot = slots_.emplace_back();
    // Every connection of a TLS server is TLS: its handshake runs on the session's first read,
    // under the handshake deadline.
    slot.conn = tls_ ? transport::tls_wrap(std::move(conn), tls_) : std::move(conn);
    try {
      slot.thread = std::thread([&slot, &ctx] {
        run_session(*slot.conn, ctx);
        slot.conn->abandon();  // closes the socket now; the slot itself is reaped later
        slot.done.store(true);
      });
    } catch (const std::system_error& e) {
      log::error(std::string("cannot start a session thread: ") + e.what());
      slots_.pop_back();
    }
  }
  stop();
  reap(true);
}

}  // namespace rcpu::server
