// What every remote call of the client reports, whatever its kind (Level 3: blas/level3_remote.h,
// LAPACK: lapack/lapack_remote.h, FFT: fftw/remote_fft.h), and the controls of the connection to the
// server named by RCPU_SERVER. Remote calls are thread-safe (a pool of connections, one call per
// connection at a time) and fork-safe (a child never uses its parent's sockets).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "client/core/trace.h"
#include "protocol/messages.h"

namespace rcpu::client {

struct RemoteTiming {
  double to_server_s = 0;    // request + operands written to the socket
  double on_server_s = 0;    // as reported by the server: unpack + compute
  double from_server_s = 0;  // the wait after sending, less on_server_s: the results' trip back
  std::uint64_t bytes_sent = 0, bytes_received = 0;
  std::string backend;  // which server backend ran the call ("cuda", "cpu")
  bool tiled = false;   // pipelined tiles (else stop-and-wait)
  std::int64_t panel_cols = 0;
  int streams = 1;       // connections the call was striped over
  bool striped = false;  // FFT: one transform's bytes cut over `streams` connections (else batches split)
};

enum class RemoteStatus {
  ok,           // results are in the application's arrays
  unavailable,  // no server configured, or it cannot be reached (connect refused / timed out)
  failed,       // the connection broke during the call, or the server answered with an error
  rerun_local,  // LAPACK: it ran, but its info asks for LAPACK's own partial results (spec: local-if-info)
};

struct RemoteResult {
  RemoteStatus status = RemoteStatus::unavailable;
  // Level 3 only: a tiled call with an inout output (beta != 0, trmm/trsm) writes each result tile into the
  // application's C as soon as it has arrived whole. If such a call fails after some tiles, those
  // columns are final and `columns_left` lists the output column ranges [first, first + count)
  // still to compute locally (see blas/local_columns.h; it may be empty: every column arrived); the
  // inputs are untouched. partial == false: nothing was written, the whole call runs locally.
  bool partial = false;
  std::vector<std::pair<std::int64_t, std::int64_t>> columns_left;
  // A short, stable description of why it did not run remotely ("connect 127.0.0.1:7000:
  // Connection refused", "server error: out of memory"), used to warn once per cause.
  std::string cause;
  RemoteTiming timing;
};

// A result that did not run remotely, with its cause (the remote paths' common way out).
inline RemoteResult remote_failure(RemoteStatus status, std::string cause) {
  RemoteResult r;
  r.status = status;
  r.cause = std::move(cause);
  return r;
}

// A duration in seconds, as the trace records times.
inline double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A random 128-bit token naming a striped call to the server (the other connections JOIN it), from
// the OS's random source: nobody can predict another client's tokens.
protocol::CallToken call_token();

// The trace fields every remote call fills the same way (Level 3, LAPACK, FFT): remote, bytes,
// times, backend, streams, link emulation. The caller adds why, transfer and the total time.
void describe_remote(const RemoteTiming& t, CallRecord& r);

// Whether RCPU_SERVER names a server at all (no I/O).
bool remote_configured();

// What the server said in its handshake.
struct RemoteServerInfo {
  std::string endpoint;        // "127.0.0.1:7000"
  std::string server_version;  // "rcpud 0.1.0"
  std::string backend;         // "cpu", "cuda"
  std::uint64_t max_request_bytes = 0;
  std::uint64_t capabilities = 0;  // protocol::kCap* bits of HELLO_OK
};

// Takes (or opens) a pooled connection to check that the server is reachable and accepts this
// client; fills `info` when given. Same back-off as the calls: for `rcpu` tooling and tests.
RemoteResult remote_probe(RemoteServerInfo* info);

// Closes every idle pooled connection and forgets the back-off state and the configured server;
// the next call reads RCPU_SERVER again. Connections in use by other threads are closed when they
// are returned. For tests and tools; applications never need it.
void remote_reset();

}  // namespace rcpu::client
