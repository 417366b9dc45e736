// The client's configuration, read once from the environment at the first call (never in a
// library constructor). `rcpu config` prints the same values with their sources.
#pragma once

#include <string>

namespace rcpu::client {

enum class PolicyMode { auto_, local, remote };
enum class FallbackMode { local, error };

struct Config {
  std::string server;                             // RCPU_SERVER=host:port[,host:port...]; empty = none
  PolicyMode policy = PolicyMode::auto_;          // RCPU_POLICY=auto|local|remote
  FallbackMode fallback = FallbackMode::local;    // RCPU_FALLBACK=local|error
  double auto_min_flops = 2.0 * 512 * 512 * 512;  // RCPU_AUTO_MIN_FLOPS: auto sends calls at least this big
  // RCPU_FFT_AUTO_MIN_FLOPS: auto sends FFTs of at least this cost (5 N log2 N per transform);
  // the default, 5 * 2^18 * 18, is a complex transform of 2^18 points.
  double fft_auto_min_flops = 5.0 * 262144 * 18;
  std::string local_blas;    // RCPU_LOCAL_BLAS=/path/lib.so; empty = search the defaults
  std::string local_lapack;  // RCPU_LOCAL_LAPACK=/path/lib.so; empty = the local BLAS if it has
                             // LAPACK (OpenBLAS does), else the reference liblapack.so.3
  std::string trace_path;    // RCPU_TRACE=file (JSON lines)
  bool stats = false;        // RCPU_STATS=1: summary table on stderr at exit
};

// Parsed once, thread-safe; later changes to the environment are not seen.
const Config& config();

// Parses a Config from an environment lookup (used by config() and by the unit tests).
Config parse_config(const char* (*getenv_fn)(const char*));

const char* policy_name(PolicyMode m);

}  // namespace rcpu::client
