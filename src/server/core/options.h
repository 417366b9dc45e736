// rcpud's command line, parsed into ServerOptions (getopt_long; no third-party CLI library).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "transport/tls.h"

namespace rcpu::server {

struct ServerOptions {
  // An address (transport/address.h). Port 0 = any free port (the bound one is printed).
  std::string listen = "127.0.0.1:7000";
  std::string backend = "auto";  // a registered backend (backends/registry.h) or auto
  std::vector<int> devices;      // GPU ordinals; empty = all
  // Placement over several devices (server/placement/placement.h).
  int virtual_devices = 1;                          // --backend cpu: the CPU backend as this many devices
  std::vector<double> device_slowdown;              // emulation: device i waits (f - 1) x its work after each call
  std::vector<double> device_rates;                 // fixed relative rates; empty = measured at start-up
  double split_min_flops = 8e9;                     // smaller calls run whole on the least busy device
  std::int64_t split_min_cols = 128;                // narrowest piece of a split call or panel
  std::uint64_t split_min_fft_bytes = 64ull << 20;  // smaller batched FFTs run whole on one device
  std::uint64_t max_request_bytes = 0;              // operand bytes (in + out) of one request; 0 = the budget
  std::uint64_t max_memory_bytes = 0;               // operand bytes of all requests in flight; 0 = 3/4 of usable memory
  int max_sessions = 64;
  // Per-client limits (server/core/client_limits.h); 0 = sized by the server (Server::options()).
  std::uint64_t client_max_memory_bytes = 0;  // operand bytes of one client's calls; 0 = half the budget
  int client_max_calls = 0;                   // calls in flight of one client; 0 = 4 per device, >= 16
  double client_device_share = 0.5;           // of client_max_calls, while other clients have calls
  int client_max_sessions = 0;                // sessions of one client; 0 = half of max_sessions
  // MUNGE clients allowed in (--allow-uid, --allow-gid; names resolved when parsed). Both empty:
  // every client of the site's MUNGE. Else a client whose uid is listed, or whose gid or one of
  // whose groups (as this host's user database has them) is listed.
  std::vector<std::uint32_t> allow_uids, allow_gids;
  // Shared-key files (security/key_file.h); empty: the default places. --insecure also accepts
  // clients that do not authenticate (with keys given, those that do are still checked).
  std::vector<std::string> key_files;
  std::vector<std::string>
      auth_methods;          // --auth: "shared-key", "munge", "tls"; empty = shared-key (tls with --tls-client-ca)
  std::string munge_socket;  // --munge-socket: munged's socket ("" = libmunge's default)
  bool insecure = false;
  // --tls-cert/--tls-key: every connection under TLS 1.3; --tls-client-ca: mutual TLS.
  transport::TlsSettings tls;
  int handshake_timeout_ms = 10000;  // a connection not through the handshake in time is dropped
  int io_timeout_ms = 120000;        // inside a request: no progress for this long = dead client
  int idle_timeout_ms = 120000;      // between requests: a session silent for this long is closed
  // Once a request's header is in, its body and input operands must be in within
  // body_base_ms + bytes / body_min_rate (bytes per second), however they trickle in.
  int body_base_ms = 5000;
  std::uint64_t body_min_rate = 1ull << 20;
  double fft_plan_seconds = 2.0;  // the most one FFT's planning may take (FFTW's planner is process-wide)
  std::string panel_timeline;     // append one JSON line per tiled call here (server/blas/panel_timeline.h)
};

struct ParseResult {
  std::optional<ServerOptions> options;  // empty: exit with `exit_code` after printing `message`
  int exit_code = 0;
  std::string message;  // usage/help text or the error
};

ParseResult parse_options(int argc, char** argv);

// "4096", "64M", "32G", "1T" (binary multiples); nothing on error.
std::optional<std::uint64_t> parse_size(const std::string& text);

}  // namespace rcpu::server
