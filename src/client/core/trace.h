// Per-call observability: RCPU_TRACE=path appends one JSON line per call; RCPU_STATS=1 prints a
// summary table on stderr at exit.
#pragma once

#include <cstdint>
#include <string>

namespace rcpu::client {

struct CallRecord {
  const char* routine = "";  // the entry point the application called: "dgemm_", "cblas_dgemm"
  bool remote = false;
  std::string why;      // "policy=remote", "below-threshold", "fallback", ...
  std::string backend;  // remote calls: the server backend that ran it ("cuda", "cpu")
  bool has_dims = false;
  std::int64_t m = 0, n = 0, k = 0;
  std::uint64_t bytes_to_server = 0, bytes_from_server = 0;
  double t_to_server_s = 0, t_on_server_s = 0, t_from_server_s = 0;
  double t_total_s = 0;
  // Remote calls: "tiled" (pipelined panels of `panel_cols` output columns) or "stop-and-wait".
  std::string transfer;
  std::int64_t panel_cols = 0;
  int streams = 0;                         // connections a tiled call was striped over
  double emulated_link_gbps = 0;           // RCPU_LINK_GBPS was in force: every number here is "emulated"
  int fft_rank = 0, fft_howmany_rank = 0;  // FFTW executions: the transform's rank and batch rank
};

bool recording();  // tracing or statistics requested
void record(const CallRecord& r);

// The JSON text of one record (no newline); exposed for tests.
std::string to_json(const CallRecord& r);

}  // namespace rcpu::client
