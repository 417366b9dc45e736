// A fake rcpud for the client's side of the tests: it holds the test key and does the real
// handshake, then answers one LAPACK request however a test wants (wrong numbers, a trickle), and
// a dgetrf run through the client's remote LAPACK path against it.
#pragma once

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "client/core/remote.h"
#include "client/lapack/lapack_remote.h"
#include "common/lapack.h"
#include "protocol/lapack_request.h"
#include "protocol/wire.h"
#include "rcpu_opcodes.h"
#include "server/core/authenticate.h"
#include "transport/connect.h"

namespace rcpu::testing {

// Accepts one connection and authenticates it as rcpud would (the test key from RCPU_KEY_FILE),
// then reads its first LAPACK request into `req` (its header into `h`). Null when nobody came or
// the client failed the handshake.
inline std::unique_ptr<transport::Connection> accept_lapack_request(transport::Listener& listener,
                                                                    protocol::FrameHeader& h,
                                                                    protocol::LapackRequest& req) {
  using namespace rcpu::protocol;
  std::unique_ptr<transport::Connection> conn = listener.accept(10000);
  if (!conn) return nullptr;
  h = recv_header(*conn);
  const Hello hello = recv_body<Hello>(*conn, h);
  const server::AuthOutcome auth =
      server::authenticate_client(*conn, h, hello, server::make_auth_policy({}, {}, "", false));
  if (!auth.principal) return nullptr;
  send_message(*conn, Kind::hello_ok, h.request_id, 0,
               HelloOk{"fake", "fake", kCapLevel3 | kCapTiles | kCapLapack, 1ull << 30});
  h = recv_header(*conn);
  req = recv_body<LapackRequest>(*conn, h);
  return conn;
}

struct RemoteDgetrf {
  client::RemoteResult result;
  bool untouched = false;  // A, IPIV and INFO as they were before the call
  double seconds = 0;      // how long the call took
};

// A dgetrf of an n x n matrix of 3s through the client's remote LAPACK path, against a fake
// server `serve` runs on its own thread (given the listener RCPU_SERVER names).
inline RemoteDgetrf dgetrf_against(std::int64_t n, const std::function<void(transport::Listener&)>& serve) {
  std::unique_ptr<transport::Listener> listener = transport::listen("127.0.0.1:0");
  std::thread server([&] { serve(*listener); });
  ::setenv("RCPU_SERVER", listener->address().c_str(), 1);
  client::remote_reset();

  const LapackRoutine& rt = *lapack_routine(std::uint32_t(Opcode::dgetrf));
  client::LapackSite x;
  x.args.opcode = rt.opcode;
  x.args.dims[0] = n;
  x.args.dims[1] = n;
  std::vector<double> a(std::size_t(n * n), 3.0);
  std::vector<abi::blas_int> ipiv(std::size_t(n), -7);
  abi::blas_int app_info = -99;
  x.ptr[0] = a.data();
  x.ld[0] = n;
  x.has_ld[0] = true;
  x.ptr[1] = ipiv.data();
  x.info = &app_info;
  LapackOperand ops[kMaxLapackOperands];
  rt.shapes(x.args, ops);
  RemoteDgetrf out;
  const auto t0 = std::chrono::steady_clock::now();
  out.result = client::run_lapack_remote(rt, x, ops);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.untouched =
      app_info == -99 && a == std::vector<double>(a.size(), 3.0) && ipiv == std::vector<abi::blas_int>(ipiv.size(), -7);
  client::remote_reset();  // closes the connection: the fake server's last read ends
  server.join();
  ::unsetenv("RCPU_SERVER");
  return out;
}

}  // namespace rcpu::testing
