// The LAPACK half of the spec (spec/offload/lapack.txt, generated lapack_offload.cpp): shapes,
// checks and flops of a few routines against LAPACK's documentation, the request check the server
// applies, the codec of the LAPACK messages, and the policy's decision.
#include <gtest/gtest.h>

#include <random>

#include "client/core/config.h"
#include "client/core/policy.h"
#include "common/lapack.h"
#include "lapack_families.h"
#include "protocol/lapack_request.h"
#include "protocol/messages.h"
#include "rcpu_opcodes.h"

using namespace rcpu;
using namespace rcpu::protocol;

namespace {

LapackArgs args(Opcode op, std::initializer_list<char> opts, std::initializer_list<std::int64_t> dims) {
  LapackArgs a;
  a.opcode = std::uint32_t(op);
  int i = 0;
  for (char c : opts) a.opts[i++] = c;
  i = 0;
  for (std::int64_t d : dims) a.dims[i++] = d;
  return a;
}

}  // namespace

TEST(LapackSpec, EveryMemberHasAnOpcodeInItsOwnRange) {
  int found = 0;
  for (std::uint32_t code = 0x0200; code < 0x0400; ++code)
    if (const LapackRoutine* r = lapack_routine(code)) {
      ++found;
      EXPECT_STREQ(opcode_name(code), r->name);
      EXPECT_EQ(dtype_letter(r->dtype)[0], r->name[0]);
    }
  EXPECT_EQ(found, kLapackRoutines);                // every member of the spec's families (lapack_families.h)
  EXPECT_EQ(kLapackRoutines, 4 * kLapackFamilies);  // s/d/c/z each
  EXPECT_EQ(lapack_routine(0x0102), nullptr);       // dgemm is Level 3
}

TEST(LapackSpec, GesvdShapesFollowJobuAndJobvt) {
  const LapackRoutine* r = lapack_routine(std::uint32_t(Opcode::zgesvd));
  ASSERT_NE(r, nullptr);
  LapackOperand o[kMaxLapackOperands];
  r->shapes(args(Opcode::zgesvd, {'S', 'A'}, {7, 5}), o);
  EXPECT_EQ(r->nops, 4);
  EXPECT_EQ(o[1].kind, ElemKind::R);  // singular values are real
  EXPECT_EQ(o[1].elem, 8u);
  EXPECT_EQ(o[2].rows, 7);  // U: m x min(m,n)
  EXPECT_EQ(o[2].cols, 5);
  EXPECT_EQ(o[3].rows, 5);  // VT: n x n
  EXPECT_EQ(o[3].cols, 5);
  r->shapes(args(Opcode::zgesvd, {'N', 'O'}, {7, 5}), o);
  EXPECT_EQ(o[2].rows * o[2].cols, 0);  // not referenced
  EXPECT_EQ(o[3].rows * o[3].cols, 0);
  EXPECT_FALSE(r->valid(args(Opcode::zgesvd, {'O', 'O'}, {7, 5})));  // LAPACK: INFO = -2
}

TEST(LapackSpec, ChecksAndTriangles) {
  const LapackRoutine* potrf = lapack_routine(std::uint32_t(Opcode::dpotrf));
  LapackOperand o[kMaxLapackOperands];
  potrf->shapes(args(Opcode::dpotrf, {'L'}, {9}), o);
  EXPECT_EQ(o[0].tri, 'L');
  EXPECT_TRUE(potrf->local_if_info);
  EXPECT_FALSE(potrf->valid(args(Opcode::dpotrf, {'X'}, {9})));
  EXPECT_FALSE(potrf->valid(args(Opcode::dpotrf, {'U'}, {-1})));
  const LapackRoutine* ormqr = lapack_routine(std::uint32_t(Opcode::dormqr));
  EXPECT_TRUE(ormqr->valid(args(Opcode::dormqr, {'L', 'T'}, {10, 4, 3})));
  EXPECT_FALSE(ormqr->valid(args(Opcode::dormqr, {'L', 'C'}, {10, 4, 3})));  // real: N or T
  EXPECT_TRUE(lapack_routine(std::uint32_t(Opcode::zunmqr))->valid(args(Opcode::zunmqr, {'L', 'C'}, {10, 4, 3})));
  EXPECT_FALSE(ormqr->valid(args(Opcode::dormqr, {'R', 'N'}, {10, 4, 5})));  // k > n
  const LapackRoutine* syevd = lapack_routine(std::uint32_t(Opcode::dsyevd));
  syevd->shapes(args(Opcode::dsyevd, {'V', 'U'}, {6}), o);
  EXPECT_EQ(o[0].tri, 0);  // eigenvectors: all of A
  syevd->shapes(args(Opcode::dsyevd, {'N', 'U'}, {6}), o);
  EXPECT_EQ(o[0].tri, 'U');  // only the referenced triangle is destroyed
}

TEST(LapackSpec, Flops) {
  const LapackRoutine* getrf = lapack_routine(std::uint32_t(Opcode::dgetrf));
  EXPECT_NEAR(getrf->flops(args(Opcode::dgetrf, {}, {3000, 3000})), 2.0 / 3 * 27e9, 0.01 * 18e9);
  const LapackRoutine* zpotrf = lapack_routine(std::uint32_t(Opcode::zpotrf));
  EXPECT_NEAR(zpotrf->flops(args(Opcode::zpotrf, {'U'}, {3000})), 4.0 * 9e9, 1e6);
  EXPECT_EQ(getrf->flops(args(Opcode::dgetrf, {}, {0, 3000})), 0.0);
}

TEST(LapackRequest, ServerCheckAcceptsWhatTheClientBuildsAndNothingElse) {
  const LapackRoutine* r = lapack_routine(std::uint32_t(Opcode::dgesdd));
  const LapackArgs a = args(Opcode::dgesdd, {'S'}, {30, 20});
  LapackRequest req = make_lapack_request(*r, a);
  EXPECT_FALSE(check_lapack_request(r->opcode, req));
  const LapackRequest round = decode<LapackRequest>(encode(req));
  EXPECT_FALSE(check_lapack_request(r->opcode, round));
  LapackRequest bad = req;
  bad.operands[2].rows = 31;  // U larger than the call says
  EXPECT_TRUE(check_lapack_request(r->opcode, bad));
  bad = req;
  bad.dims[0] = std::int64_t(1) << 40;  // beyond LP64 LAPACK
  EXPECT_TRUE(check_lapack_request(r->opcode, bad));
  bad = req;
  bad.opts[0] = 'X';
  EXPECT_TRUE(check_lapack_request(r->opcode, bad));
  EXPECT_TRUE(check_lapack_request(0x0102, req));  // a Level-3 opcode
  LapackResponse resp;
  resp.info = 17;
  resp.backend = "cpu";
  EXPECT_EQ(decode<LapackResponse>(encode(resp)).info, 17);
}

TEST(LapackRequest, RandomBytesNeverDecodeIntoAnAcceptedRequest) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::uint8_t> bytes(rng() % 200);
    for (auto& b : bytes) b = std::uint8_t(rng());
    try {
      const LapackRequest req = decode<LapackRequest>(bytes);
      (void)check_lapack_request(0x0202, req);
    } catch (const DecodeError&) {
    }
  }
}

TEST(LapackPolicy, SmallFactorizationsStayLocal) {
  client::Config c;
  c.policy = client::PolicyMode::auto_;
  const LapackRoutine* getrf = lapack_routine(std::uint32_t(Opcode::dgetrf));
  EXPECT_FALSE(client::decide_lapack(c, getrf->flops(args(Opcode::dgetrf, {}, {500, 500})), true).remote);
  EXPECT_TRUE(client::decide_lapack(c, getrf->flops(args(Opcode::dgetrf, {}, {2000, 2000})), true).remote);
  // The spec's auto-scale: getrf measured slower remote than local up to n = 8000 stays local
  // there under auto; geqrf goes from about n = 1500 on.
  EXPECT_EQ(getrf->auto_scale, 4096.0);
  const auto a8000 = args(Opcode::dgetrf, {}, {8000, 8000});
  EXPECT_FALSE(client::decide_lapack(c, getrf->flops(a8000), true, getrf->auto_scale).remote);
  const auto a16000 = args(Opcode::dgetrf, {}, {16000, 16000});
  EXPECT_TRUE(client::decide_lapack(c, getrf->flops(a16000), true, getrf->auto_scale).remote);
  const LapackRoutine* geqrf = lapack_routine(std::uint32_t(Opcode::dgeqrf));
  const LapackRoutine* syevd = lapack_routine(std::uint32_t(Opcode::dsyevd));
  EXPECT_EQ(syevd->auto_scale, 1.0);
  const auto q1000 = args(Opcode::dgeqrf, {}, {1000, 1000}), q2000 = args(Opcode::dgeqrf, {}, {2000, 2000});
  EXPECT_FALSE(client::decide_lapack(c, geqrf->flops(q1000), true, geqrf->auto_scale).remote);
  EXPECT_TRUE(client::decide_lapack(c, geqrf->flops(q2000), true, geqrf->auto_scale).remote);
  c.policy = client::PolicyMode::remote;
  EXPECT_TRUE(client::decide_lapack(c, 1.0, true).remote);
  EXPECT_FALSE(client::decide_lapack(c, 0.0, true).remote);  // quick return: local
  EXPECT_FALSE(client::decide_lapack(c, 1e12, false).remote);
  c.policy = client::PolicyMode::local;
  EXPECT_FALSE(client::decide_lapack(c, 1e12, true).remote);
}
