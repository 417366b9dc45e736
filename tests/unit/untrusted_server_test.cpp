// The client does not trust the server's numbers: a server that authenticates (it holds the key)
// but answers a dgetrf with pivots out of range, or with an INFO no LAPACK could return, gets a
// failed call, and the application's arrays and INFO stay as they were (the caller then runs the
// call locally). A real rcpud never answers so; a fake one here does.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
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

namespace rcpu {
namespace {

using namespace rcpu::protocol;

// Serves one connection: the real handshake (it holds the test key), then one LAPACK request
// answered with `info` and every integer output filled with `pivot`.
void fake_server(transport::Listener& listener, std::int64_t info, std::int32_t pivot) {
  std::unique_ptr<transport::Connection> conn = listener.accept(10000);
  if (!conn) return;
  try {
    FrameHeader h = recv_header(*conn);
    const Hello hello = recv_body<Hello>(*conn, h);
    const server::AuthOutcome auth =
        server::authenticate_client(*conn, h, hello, server::make_auth_policy({}, {}, "", false));
    if (!auth.principal) return;
    send_message(*conn, Kind::hello_ok, h.request_id, 0,
                 HelloOk{"fake", "fake", kCapLevel3 | kCapTiles | kCapLapack, 1ull << 30});
    h = recv_header(*conn);
    const LapackRequest req = recv_body<LapackRequest>(*conn, h);
    std::vector<std::vector<std::uint8_t>> data(req.operands.size());
    for (std::size_t i = 0; i < req.operands.size(); ++i) {
      const OperandDesc& d = req.operands[i];
      data[i].resize(d.bytes());
      if (d.role == Role::in || d.role == Role::inout)
        recv_matrix(*conn, h.request_id, d.index, data[i].data(), d.bytes());
      if (d.elem_size == 4)
        for (std::size_t k = 0; k < d.bytes() / 4; ++k) std::memcpy(data[i].data() + 4 * k, &pivot, 4);
    }
    LapackResponse resp;
    resp.info = info;
    resp.backend = "fake";
    send_message(*conn, Kind::response, h.request_id, h.opcode, resp);
    for (std::size_t i = 0; i < req.operands.size(); ++i) {
      const OperandDesc& d = req.operands[i];
      if (d.role == Role::out || d.role == Role::inout)
        send_matrix(*conn, h.request_id, h.opcode, d.index, data[i].data(), d.rows, d.cols, d.rows, d.elem_size);
    }
    (void)recv_header(*conn);  // until the client hangs up
  } catch (const std::exception&) {
  }
}

struct Outcome {
  client::RemoteResult result;
  bool untouched = false;
};

Outcome dgetrf_against_fake(std::int64_t info, std::int32_t pivot) {
  std::unique_ptr<transport::Listener> listener = transport::listen("127.0.0.1:0");
  std::thread server([&] { fake_server(*listener, info, pivot); });
  ::setenv("RCPU_SERVER", listener->address().c_str(), 1);
  client::remote_reset();

  const std::int64_t n = 60;
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
  Outcome out;
  out.result = client::run_lapack_remote(rt, x, ops);
  out.untouched =
      app_info == -99 && a == std::vector<double>(a.size(), 3.0) && ipiv == std::vector<abi::blas_int>(ipiv.size(), -7);
  client::remote_reset();  // closes the connection: the fake server's last read ends
  server.join();
  ::unsetenv("RCPU_SERVER");
  return out;
}

TEST(UntrustedServer, PivotsOutOfRangeFailTheCallAndWriteNothing) {
  const Outcome o = dgetrf_against_fake(0, 1000000);
  EXPECT_EQ(o.result.status, client::RemoteStatus::failed);
  EXPECT_NE(o.result.cause.find("pivot 1000000"), std::string::npos) << o.result.cause;
  EXPECT_TRUE(o.untouched);
  EXPECT_EQ(dgetrf_against_fake(0, 0).result.status, client::RemoteStatus::failed);  // pivots are 1-based
}

TEST(UntrustedServer, AnImpossibleInfoFailsTheCall) {
  const Outcome o = dgetrf_against_fake(std::int64_t(1) << 40, 1);
  EXPECT_EQ(o.result.status, client::RemoteStatus::failed);
  EXPECT_NE(o.result.cause.find("impossible info"), std::string::npos) << o.result.cause;
  EXPECT_TRUE(o.untouched);
}

TEST(UntrustedServer, PlausibleAnswersAreTakenAsGiven) {
  const Outcome o = dgetrf_against_fake(0, 60);  // every row swapped with the last: odd, but legal
  EXPECT_EQ(o.result.status, client::RemoteStatus::ok) << o.result.cause;
  EXPECT_FALSE(o.untouched);
}

}  // namespace
}  // namespace rcpu
