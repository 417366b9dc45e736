// rcpu-netbench: the plain-socket bandwidth bound, measured with rcpu's own TCP transport (same
// socket options, same scatter-gather sends, same RCPU_LINK_GBPS pacing) so a benchmark can put
// "what the link carries" next to "what a remote call achieved" in the same run.
//
//   rcpu-netbench [--streams 1,2,4,8] [--mib 1024] [--chunk-kib 4096] [--duplex] [--back-mib N]
//                 [--operands] [--reps N] [--json]
//
// A listener on 127.0.0.1 (port 0) and N client connections in one process, one thread per
// connection end. Each stream moves mib/N MiB client -> server; with --duplex the server sends the
// same amount back at the same time (both directions busy, as in a pipelined call), or --back-mib
// in total (a call's result bytes). By default every send and receive reuses one chunk-sized
// buffer, which stays in the CPU caches; --operands sends from and receives into buffers of the
// whole size instead (each stream its slice, touched beforehand), as a remote call moves the
// application's arrays: "a plain socket transfer of the same bytes". --reps N repeats the transfer
// N times over the same connections and buffers and reports the fastest (loopback throughput
// varies by a fifth from one transfer to the next; the bound is what the link can do at its best).
// Prints one line per stream count; GB/s are 1e9 bytes per second of payload, per direction (the
// forward one with --back-mib).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "transport/connect.h"
#include "transport/emulated_link.h"

using namespace rcpu::transport;
using Clock = std::chrono::steady_clock;

namespace {

// `area`: where the stream's bytes come from or go (its slice of an operand), or null to reuse
// one chunk-sized buffer.
void pump_send(Connection& c, std::uint64_t bytes, std::size_t chunk, char* area) {
  std::vector<char> buf(area ? 0 : chunk, 1);
  for (std::uint64_t at = 0; at < bytes;) {
    const std::size_t n = std::size_t(std::min<std::uint64_t>(bytes - at, chunk));
    c.send_all(area ? area + at : buf.data(), n);
    at += n;
  }
}

void pump_recv(Connection& c, std::uint64_t bytes, std::size_t chunk, char* area) {
  std::vector<char> buf(area ? 0 : chunk);
  for (std::uint64_t at = 0; at < bytes;) {
    const std::size_t n = std::size_t(std::min<std::uint64_t>(bytes - at, chunk));
    c.recv_exact(area ? area + at : buf.data(), n);
    at += n;
  }
}

// One buffer of `bytes`, every page touched (a call's operands are), or none.
std::unique_ptr<char[]> operand(std::uint64_t bytes, bool wanted) {
  if (!wanted || bytes == 0) return nullptr;
  std::unique_ptr<char[]> p(new char[bytes]);
  std::memset(p.get(), 1, bytes);
  return p;
}

struct Result {
  int streams;
  double seconds, gbps_each_way;  // of the fastest repetition
  std::vector<double> all_seconds;
};

Result run(int streams, std::uint64_t total, std::uint64_t back, std::size_t chunk, bool operands, int reps) {
  auto listener = rcpu::transport::listen("127.0.0.1:0");
  const Address where = parse_address(listener->address());
  const std::uint64_t per = total / std::uint64_t(streams), per_back = back / std::uint64_t(streams);
  // Sender and receiver each have their own copy, as the two ends of a call do.
  auto fwd_src = operand(per * std::uint64_t(streams), operands),
       fwd_dst = operand(per * std::uint64_t(streams), operands);
  auto back_src = operand(per_back * std::uint64_t(streams), operands),
       back_dst = operand(per_back * std::uint64_t(streams), operands);
  auto slice = [](const std::unique_ptr<char[]>& p, std::uint64_t per_stream, int i) {
    return p ? p.get() + per_stream * std::uint64_t(i) : nullptr;
  };
  std::vector<std::unique_ptr<Connection>> client(streams), server(streams);
  for (int i = 0; i < streams; ++i) {
    client[i] = rcpu::transport::connect(where, 3000);
    server[i] = listener->accept(3000);
    if (!server[i]) throw std::runtime_error("accept timed out");
  }
  Result r{streams, 0, 0, {}};
  for (int rep = 0; rep < reps; ++rep) {
    std::vector<std::thread> threads;
    const auto t0 = Clock::now();
    for (int i = 0; i < streams; ++i) {
      threads.emplace_back([&, i] { pump_send(*client[i], per, chunk, slice(fwd_src, per, i)); });
      threads.emplace_back([&, i] { pump_recv(*server[i], per, chunk, slice(fwd_dst, per, i)); });
      if (per_back > 0) {
        threads.emplace_back([&, i] { pump_send(*server[i], per_back, chunk, slice(back_src, per_back, i)); });
        threads.emplace_back([&, i] { pump_recv(*client[i], per_back, chunk, slice(back_dst, per_back, i)); });
      }
    }
    for (auto& t : threads) t.join();
    r.all_seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  r.seconds = *std::min_element(r.all_seconds.begin(), r.all_seconds.end());
  r.gbps_each_way = double(per * streams) / r.seconds / 1e9;
  return r;
}

std::vector<int> parse_list(const char* text) {
  std::vector<int> v;
  for (const char* p = text; *p;) {
    char* end = nullptr;
    const long x = std::strtol(p, &end, 10);
    if (end == p || x < 1 || x > 256) {
      std::fprintf(stderr, "bad stream list '%s'\n", text);
      std::exit(2);
    }
    v.push_back(int(x));
    p = *end == ',' ? end + 1 : end;
    if (*end != ',' && *end != 0) {
      std::fprintf(stderr, "bad stream list '%s'\n", text);
      std::exit(2);
    }
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> streams = {1, 2, 4, 8};
  std::uint64_t mib = 1024;
  std::size_t chunk = 4u << 20;
  bool duplex = false, json = false, operands = false;
  std::uint64_t back_mib = 0;
  int reps = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--streams")
      streams = parse_list(next());
    else if (a == "--mib")
      mib = std::strtoull(next(), nullptr, 10);
    else if (a == "--chunk-kib")
      chunk = std::size_t(std::strtoull(next(), nullptr, 10)) << 10;
    else if (a == "--duplex")
      duplex = true;
    else if (a == "--back-mib")
      back_mib = std::strtoull(next(), nullptr, 10), duplex = back_mib > 0;
    else if (a == "--operands")
      operands = true;
    else if (a == "--reps")
      reps = std::atoi(next());
    else if (a == "--json")
      json = true;
    else {
      std::fprintf(stderr,
                   "usage: rcpu-netbench [--streams 1,2,4,8] [--mib N] [--chunk-kib N] [--duplex] [--back-mib N] "
                   "[--operands] [--reps N] [--json]\n");
      return 2;
    }
  }
  if (mib == 0 || chunk == 0 || reps < 1 || reps > 1000) {
    std::fprintf(stderr, "--mib and --chunk-kib must be positive, --reps 1..1000\n");
    return 2;
  }
  const double emulated = emulated_link_gbps();
  const unsigned cores = std::thread::hardware_concurrency();
  try {
    for (int s : streams) {
      const std::uint64_t back = duplex ? (back_mib > 0 ? back_mib : mib) << 20 : 0;
      const Result r = run(s, mib << 20, back, chunk, operands, reps);
      if (json) {
        std::printf(
            "{\"streams\": %d, \"bytes_each_way\": %llu, \"duplex\": %s, \"seconds\": %.6f, "
            "\"gbytes_per_s_each_way\": %.4f, \"cores\": %u, \"bytes_back\": %llu, \"operands\": %s",
            r.streams, (unsigned long long)(mib << 20), duplex ? "true" : "false", r.seconds, r.gbps_each_way, cores,
            (unsigned long long)back, operands ? "true" : "false");
        if (emulated > 0) std::printf(", \"emulated_link_gbps\": %g", emulated);
        std::printf(", \"all_seconds\": [");
        for (std::size_t i = 0; i < r.all_seconds.size(); ++i) std::printf("%s%.6f", i ? ", " : "", r.all_seconds[i]);
        std::printf("]");
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
