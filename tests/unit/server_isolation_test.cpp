// Nothing a session did not write leaves rcpud: the server's operand buffers are pooled across
// sessions, so an output the backend leaves unwritten must not carry another session's bytes.
// Probed the way an attacker would: raw requests on the server's own protocol.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "client/core/remote_connection.h"
#include "common/lapack.h"
#include "protocol/lapack_request.h"
#include "protocol/wire.h"
#include "rcpu_opcodes.h"
#include "server/core/server.h"
#include "server/kinds.h"
#include "transport/connect.h"

namespace rcpu {
namespace {

using namespace rcpu::protocol;

struct LapackReply {
  std::int64_t info = 0;
  std::vector<std::vector<double>> outputs;  // by operand index; empty for operands not written
};

// One stop-and-wait LAPACK call on a fresh authenticated connection: `inputs[i]` for each operand
// the server reads (packed column-major).
LapackReply raw_lapack(const std::string& endpoint, Opcode op, char opt, std::int64_t m, std::int64_t n,
                       const std::vector<std::vector<double>>& inputs) {
  auto conn = transport::connect(endpoint, 2000);
  client::client_handshake(*conn, endpoint, kCapLevel3 | kCapLapack);
  LapackArgs a;
  a.opcode = std::uint32_t(op);
  a.opts[0] = opt;
  a.dims[0] = m;
  a.dims[1] = n;
  const LapackRequest req = make_lapack_request(*lapack_routine(a.opcode), a);
  send_message(*conn, Kind::request, 1, a.opcode, req);
  for (const OperandDesc& d : req.operands)
    if ((d.role == Role::in || d.role == Role::inout) && d.bytes())
      send_matrix(*conn, 1, a.opcode, d.index, inputs.at(d.index).data(), d.rows, d.cols, d.rows, d.elem_size);
  const FrameHeader h = recv_header(*conn);
  EXPECT_EQ(h.kind, Kind::response);
  LapackReply r;
  r.info = recv_body<LapackResponse>(*conn, h).info;
  r.outputs.resize(kMaxLapackOperands);
  for (const OperandDesc& d : req.operands)
    if ((d.role == Role::out || d.role == Role::inout) && d.bytes()) {
      r.outputs[d.index].resize(d.bytes() / sizeof(double));
      recv_matrix(*conn, 1, d.index, r.outputs[d.index].data(), d.bytes());
    }
  return r;
}

TEST(ServerIsolation, LapackOutputsNeverCarryAnotherSessionsResult) {
  server::ServerOptions o;
  o.listen = "127.0.0.1:0";
  server::Server srv(o, backend::make_cpu_backend({}), server::server_kinds());
  std::thread run([&] { srv.run(); });
  const std::int64_t n = 64;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> a(std::size_t(n * n));
  for (double& x : a) x = u(rng);

  // Session 1: a real dgesdd; its U, S and VT are in the server's pooled buffers afterwards.
  const LapackReply first = raw_lapack(srv.endpoint(), Opcode::dgesdd, 'S', n, n, {a});
  ASSERT_EQ(first.info, 0);
  // Session 2: A holds a NaN, so LAPACK returns INFO = -4 and writes nothing.
  a[5] = std::numeric_limits<double>::quiet_NaN();
  const LapackReply second = raw_lapack(srv.endpoint(), Opcode::dgesdd, 'S', n, n, {a});
  EXPECT_EQ(second.info, -4);
  std::size_t outputs = 0;
  for (std::size_t i = 1; i < second.outputs.size(); ++i) {  // operand 0 is A, this session's own
    if (second.outputs[i].empty()) continue;
    ++outputs;
    std::size_t from_first = 0;
    for (std::size_t j = 0; j < second.outputs[i].size(); ++j)
      if (second.outputs[i][j] != 0 && j < first.outputs[i].size() && second.outputs[i][j] == first.outputs[i][j])
        ++from_first;
    EXPECT_EQ(from_first, 0u) << "operand " << i << " carried values of the other session's result";
  }
  EXPECT_GE(outputs, 3u);  // S, U, VT
  srv.stop();
  run.join();
}

}  // namespace
}  // namespace rcpu
