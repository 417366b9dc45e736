// The client does not trust the server's numbers: a server that authenticates (it holds the key)
// but answers a dgetrf with pivots out of range, or with an INFO no LAPACK could return, gets a
// failed call, and the application's arrays and INFO stay as they were (the caller then runs the
// call locally). A real rcpud never answers so; a fake one here does.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "fake_lapack_server.h"

namespace rcpu {
namespace {

using namespace rcpu::protocol;

// Serves one connection: the real handshake (it holds the test key), then one LAPACK request
// answered with `info` and every integer output filled with `pivot`.
void fake_server(transport::Listener& listener, std::int64_t info, std::int32_t pivot) {
  try {
    FrameHeader h;
    LapackRequest req;
    const std::unique_ptr<transport::Connection> conn = testing::accept_lapack_request(listener, h, req);
    if (!conn) return;
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

testing::RemoteDgetrf dgetrf_against_fake(std::int64_t info, std::int32_t pivot) {
  return testing::dgetrf_against(60, [&](transport::Listener& l) { fake_server(l, info, pivot); });
}

TEST(UntrustedServer, PivotsOutOfRangeFailTheCallAndWriteNothing) {
  const testing::RemoteDgetrf o = dgetrf_against_fake(0, 1000000);
  EXPECT_EQ(o.result.status, client::RemoteStatus::failed);
  EXPECT_NE(o.result.cause.find("pivot 1000000"), std::string::npos) << o.result.cause;
  EXPECT_TRUE(o.untouched);
  EXPECT_EQ(dgetrf_against_fake(0, 0).result.status, client::RemoteStatus::failed);  // pivots are 1-based
}

TEST(UntrustedServer, AnImpossibleInfoFailsTheCall) {
  const testing::RemoteDgetrf o = dgetrf_against_fake(std::int64_t(1) << 40, 1);
  EXPECT_EQ(o.result.status, client::RemoteStatus::failed);
  EXPECT_NE(o.result.cause.find("impossible info"), std::string::npos) << o.result.cause;
  EXPECT_TRUE(o.untouched);
}

TEST(UntrustedServer, PlausibleAnswersAreTakenAsGiven) {
  const testing::RemoteDgetrf o = dgetrf_against_fake(0, 60);  // every row swapped with the last: odd, but legal
  EXPECT_EQ(o.result.status, client::RemoteStatus::ok) << o.result.cause;
  EXPECT_FALSE(o.untouched);
}

}  // namespace
}  // namespace rcpu
