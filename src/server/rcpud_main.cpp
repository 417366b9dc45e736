// rcpud: the rcpu server daemon. Prints "rcpud listening on HOST:PORT" as its very first stdout
// line (tests and scripts parse it), then logs to stderr. SIGTERM/SIGINT stop it cleanly.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <thread>

#include "common/log.h"
#include "server/backend_select.h"
#include "server/core/options.h"
#include "server/core/server.h"
#include "server/kinds.h"

namespace {
int g_signal_pipe[2] = {-1, -1};
void on_stop_signal(int sig) {
  const unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t n = ::write(g_signal_pipe[1], &b, 1);
}
}  // namespace

int main(int argc, char** argv) {
  using namespace rcpu;
  log::set_component("rcpud");
  // A flood of bad requests or refused handshakes must not fill the disk: 200 lines at once, then
  // 20 a second (the count of those left out is logged).
  log::set_rate_limit(200, 20);

  // Writes to a vanished client must fail with EPIPE, not kill the daemon (the transport also uses
  // MSG_NOSIGNAL; this covers anything else).
  signal(SIGPIPE, SIG_IGN);
  // SIGTERM/SIGINT: a handler writes the signal number to a pipe and a thread acts on it. (Blocking
  // the signals and using sigwait would not do: OpenBLAS starts its threads before main, with the
  // signals unblocked, so the default action would still kill the process.)
  if (::pipe2(g_signal_pipe, O_CLOEXEC) != 0) {
    std::perror("rcpud: pipe");
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  const server::ParseResult parsed = server::parse_options(argc, argv);
  if (!parsed.options) {
    std::fputs(parsed.message.c_str(), parsed.exit_code == 0 ? stdout : stderr);
    return parsed.exit_code;
  }
  const server::ServerOptions& opts = *parsed.options;

  std::unique_ptr<server::Server> srv;
  try {
    std::string note;
    auto be = server::make_server_backend(opts, &note);
    srv = std::make_unique<server::Server>(opts, std::move(be), server::server_kinds());
    std::printf("rcpud listening on %s\n", srv->endpoint().c_str());
    std::fflush(stdout);
    if (!note.empty()) log::info("backend auto: " + note);
  } catch (const std::exception& e) {
    log::error(e.what());
    return 1;
  }
  log::info("backend " + srv->backend().description());
  if (opts.insecure)
    log::warn("--insecure: clients without a key are served unauthenticated; anyone who can reach " + srv->endpoint() +
              " can run work here");
  if (!srv->key_ids().empty()) log::info("authentication: clients may prove they hold shared key " + srv->key_ids());
  if (srv->auth().munge)
    log::info("authentication: clients may present a MUNGE credential (socket " +
              (opts.munge_socket.empty() ? std::string("libmunge's default") : opts.munge_socket) + ")");
  log::info("limits: " + std::to_string(srv->options().max_request_bytes) + " bytes per request, " +
            std::to_string(srv->options().max_memory_bytes) + " bytes in flight, " + std::to_string(opts.max_sessions) +
            " sessions; per client: " + std::to_string(srv->options().client_max_memory_bytes) + " bytes, " +
            std::to_string(srv->options().client_max_calls) + " calls in flight (" +
            std::to_string(srv->clients().share_cap()) + " while others have calls), " +
            std::to_string(srv->options().client_max_sessions) + " sessions");
  if (!opts.allow_uids.empty() || !opts.allow_gids.empty())
    log::info("authorization: MUNGE clients of " + std::to_string(opts.allow_uids.size()) + " uids and " +
              std::to_string(opts.allow_gids.size()) + " groups (--allow-uid, --allow-gid)");

  std::thread signal_thread([&] {
    unsigned char sig = 0;
    while (::read(g_signal_pipe[0], &sig, 1) < 0 && errno == EINTR) {
    }
    if (sig == SIGTERM || sig == SIGINT)
      log::info(std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    srv->stop();
  });
  srv->run();
  // run() only returns after stop(); if something other than a signal stopped it, wake the waiter.
  on_stop_signal(0);
  signal_thread.join();
  log::info_lines(srv->counters().report());
  if (const std::string clients = srv->clients().report(); !clients.empty()) log::info_lines(clients);
  if (const std::string usage = srv->backend().usage_report(); !usage.empty()) log::info_lines(usage);
  srv.reset();
  log::info("stopped");
  return 0;
}
