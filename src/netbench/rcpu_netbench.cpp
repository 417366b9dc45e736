// rcpu-netbench: the plain-socket bandwidth bound, measured with rcpu's own TCP transport (same
// socket options, same scatter-gather sends, same RCPU_LINK_GBPS pacing) so a benchmark can put
// "what the link carries" next to "what a remote call achieved" in the same run.
//
//   rcpu-netbench [--streams 1,2,4,8] [--mib 1024] [--chunk-kib 4096] [--duplex] [--json]
//
// A listener on 127.0.0.1 (port 0) and N client connections in one process, one thread per
// connection end. Each stream moves mib/N MiB client -> server; with --duplex the server sends the
// same amount back at the same time (both directions busy, as in a pipelined call). Prints one line
// per stream count; GB/s are 1e9 bytes per second of payload, per direction.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "transport/tcp.h"

using namespace rcpu::transport;
using Clock = std::chrono::steady_clock;

namespace {

void pump_send(Connection& c, std::uint64_t bytes, std::size_t chunk) {
  std::vector<char> buf(chunk, 1);
  while (bytes > 0) {
    const std::size_t n = std::size_t(std::min<std::uint64_t>(bytes, chunk));
    c.send_all(buf.data(), n);
    bytes -= n;
  }
}

void pump_recv(Connection& c, std::uint64_t bytes, std::size_t chunk) {
  std::vector<char> buf(chunk);
  while (bytes > 0) {
    const std::size_t n = std::size_t(std::min<std::uint64_t>(bytes, chunk));
    c.recv_exact(buf.data(), n);
    bytes -= n;
  }
}

struct Result {
  int streams;
  double seconds, gbps_each_way;
};

Result run(int streams, std::uint64_t total, std::size_t chunk, bool duplex) {
  auto listener = tcp_listen(Endpoint{"127.0.0.1", 0});
  const Endpoint where{"127.0.0.1", listener->port()};
  const std::uint64_t per = total / std::uint64_t(streams);
  std::vector<std::unique_ptr<Connection>> client(streams), server(streams);
  for (int i = 0; i < streams; ++i) {
    client[i] = tcp_connect(where, 3000);
    server[i] = listener->accept(3000);
    if (!server[i]) throw std::runtime_error("accept timed out");
  }
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int i = 0; i < streams; ++i) {
    threads.emplace_back([&, i] { pump_send(*client[i], per, chunk); });
    threads.emplace_back([&, i] { pump_recv(*server[i], per, chunk); });
    if (duplex) {
      threads.emplace_back([&, i] { pump_send(*server[i], per, chunk); });
      threads.emplace_back([&, i] { pump_recv(*client[i], per, chunk); });
    }
  }
  for (auto& t : threads) t.join();
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return {streams, s, double(per * streams) / s / 1e9};
}

std::vector<int> parse_list(const char* text) {
  std::vector<int> v;
  for (const char* p = text; *p;) {
    char* end = nullptr;
    const long x = std::strtol(p, &end, 10);
    if (end == p || x < 1 || x > 256) { std::fprintf(stderr, "bad stream list '%s'\n", text); std::exit(2); }
    v.push_back(int(x));
    p = *end == ',' ? end + 1 : end;
    if (*end != ',' && *end != 0) { std::fprintf(stderr, "bad stream list '%s'\n", text); std::exit(2); }
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> streams = {1, 2, 4, 8};
  std::uint64_t mib = 1024;
  std::size_t chunk = 4u << 20;
  bool duplex = false, json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) { std::fprintf(stderr, "%s needs a value\n", a.c_str()); std::exit(2); }
      return argv[++i];
    };
    if (a == "--streams") streams = parse_list(next());
    else if (a == "--mib") mib = std::strtoull(next(), nullptr, 10);
    else if (a == "--chunk-kib") chunk = std::size_t(std::strtoull(next(), nullptr, 10)) << 10;
    else if (a == "--duplex") duplex = true;
    else if (a == "--json") json = true;
    else {
      std::fprintf(stderr, "usage: rcpu-netbench [--streams 1,2,4,8] [--mib N] [--chunk-kib N] [--duplex] [--json]\n");
      return 2;
    }
  }
  if (mib == 0 || chunk == 0) { std::fprintf(stderr, "--mib and --chunk-kib must be positive\n"); return 2; }
  const double emulated = emulated_link_gbps();
  const unsigned cores = std::thread::hardware_concurrency();
  try {
    for (int s : streams) {
      const Result r = run(s, mib << 20, chunk, duplex);
      if (json) {
        std::printf("{\"streams\": %d, \"bytes_each_way\": %llu, \"duplex\": %s, \"seconds\": %.6f, "
                    "\"gbytes_per_s_each_way\": %.4f, \"cores\": %u",
                    r.streams, (unsigned long long)(mib << 20), duplex ? "true" : "false", r.seconds,
                    r.gbps_each_way, cores);
        if (emulated > 0) std::printf(", \"emulated_link_gbps\": %g", emulated);
        std::printf("}\n");
      } else {
        std::printf("streams %2d  %s  %8.1f MiB each way  %7.3f s  %7.3f GB/s each way%s\n", r.streams,
                    duplex ? "duplex " : "one-way", double(mib), r.seconds, r.gbps_each_way,
                    emulated > 0 ? (" (emulated link " + std::to_string(emulated) + " Gbit/s)").c_str() : "");
      }
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rcpu-netbench: %s\n", e.what());
    return 1;
  }
  return 0;
}
