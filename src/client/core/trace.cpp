#include "client/core/trace.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "client/core/config.h"
#include "common/log.h"

namespace rcpu::client {
namespace {

struct Totals {
  std::uint64_t local_calls = 0, remote_calls = 0;
  double local_s = 0, remote_s = 0;
  std::uint64_t bytes_to = 0, bytes_from = 0;
};

struct Recorder {
  std::mutex mu;
  int trace_fd = -1;
  bool stats = false;
  std::map<std::string, Totals> totals;

  Recorder() {
    const Config& c = config();
    stats = c.stats;
    if (!c.trace_path.empty()) {
      // O_APPEND: each line goes out in one write(2), so lines from several threads or from a
      // forked child never interleave, and nothing is lost if the program ends without exit().
      trace_fd = ::open(c.trace_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (trace_fd < 0) log::warn("cannot open RCPU_TRACE file " + c.trace_path);
    }
    if (stats) std::atexit(&Recorder::print_stats);
  }

  static void print_stats();
};

Recorder& recorder() {
  static Recorder* r = new Recorder;  // never destroyed: calls may come during exit
  return *r;
}

void Recorder::print_stats() {
  Recorder& r = recorder();
  std::lock_guard lock(r.mu);
  std::fprintf(stderr, "\nrcpu statistics (pid %d)\n", int(::getpid()));
  std::fprintf(stderr, "%-16s %10s %12s %10s %12s %14s %14s\n", "routine", "local", "local s", "remote", "remote s",
               "MB to server", "MB from server");
  for (const auto& [name, t] : r.totals)
    std::fprintf(stderr, "%-16s %10llu %12.6f %10llu %12.6f %14.3f %14.3f\n", name.c_str(),
                 (unsigned long long)t.local_calls, t.local_s, (unsigned long long)t.remote_calls, t.remote_s,
                 t.bytes_to / 1e6, t.bytes_from / 1e6);
}

void append_escaped(std::string& out, const std::string& s) {
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
}

}  // namespace

bool recording() {
  const Config& c = config();
  return c.stats || !c.trace_path.empty();
}

std::string to_json(const CallRecord& r) {
  std::string out = "{\"routine\":\"";
  append_escaped(out, r.routine);
  out += "\",\"where\":\"";
  out += r.remote ? "remote" : "local";
  out += "\",\"why\":\"";
  append_escaped(out, r.why);
  out += "\"";
  char buf[512];
  if (r.remote) {
    out += ",\"backend\":\"";
    append_escaped(out, r.backend);
    out += "\"";
    if (!r.transfer.empty()) {
      out += ",\"transfer\":\"";
      append_escaped(out, r.transfer);
      out += "\"";
    }
    if (r.panel_cols > 0) {
      std::snprintf(buf, sizeof buf, ",\"panel_cols\":%lld,\"streams\":%d", (long long)r.panel_cols, r.streams);
      out += buf;
    } else if (r.streams > 1) {  // FFTs whose batches were cut over several connections
      std::snprintf(buf, sizeof buf, ",\"streams\":%d", r.streams);
      out += buf;
    }
  }
  if (r.emulated_link_gbps > 0) {
    std::snprintf(buf, sizeof buf, ",\"emulated_link_gbps\":%g", r.emulated_link_gbps);
    out += buf;
  }
  if (r.has_dims) {
    std::snprintf(buf, sizeof buf, ",\"m\":%lld,\"n\":%lld,\"k\":%lld", (long long)r.m, (long long)r.n, (long long)r.k);
    out += buf;
  }
  if (r.fft_rank > 0) {
    std::snprintf(buf, sizeof buf, ",\"rank\":%d,\"howmany_rank\":%d", r.fft_rank, r.fft_howmany_rank);
    out += buf;
  }
  std::snprintf(buf, sizeof buf,
                ",\"bytes_to_server\":%llu,\"bytes_from_server\":%llu,\"t_to_server_s\":%.9f,"
                "\"t_on_server_s\":%.9f,\"t_from_server_s\":%.9f,\"t_total_s\":%.9f,\"pid\":%d}",
                (unsigned long long)r.bytes_to_server, (unsigned long long)r.bytes_from_server, r.t_to_server_s,
                r.t_on_server_s, r.t_from_server_s, r.t_total_s, int(::getpid()));
  out += buf;
  return out;
}

void record(const CallRecord& r) {
  Recorder& rec = recorder();
  if (rec.trace_fd >= 0) {
    std::string line = to_json(r);
    line += '\n';
    ssize_t ignored = ::write(rec.trace_fd, line.data(), line.size());
    (void)ignored;
  }
  if (rec.stats) {
    std::lock_guard lock(rec.mu);
    Totals& t = rec.totals[r.routine];
    if (r.remote) {
      ++t.remote_calls;
      t.remote_s += r.t_total_s;
    } else {
      ++t.local_calls;
      t.local_s += r.t_total_s;
    }
    t.bytes_to += r.bytes_to_server;
    t.bytes_from += r.bytes_from_server;
  }
}

}  // namespace rcpu::client
