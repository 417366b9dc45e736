#include <gtest/gtest.h>

#include "common/level3.h"
#include "rcpu_opcodes.h"

using namespace rcpu;

namespace {
Level3Args make(L3Family f, Dtype t) {
  Level3Args x;
  x.family = f;
  x.dtype = t;
  x.m = 5;
  x.n = 7;
  x.k = 3;
  x.lda = x.ldb = x.ldc = 10;
  x.alpha = 1.0;
  x.beta = 1.0;
  return x;
}
}  // namespace

TEST(Level3, GemmShapesFollowTranspose) {
  Level3Args x = make(L3Family::gemm, Dtype::d);
  x.transa = 'T';
  const Level3Shapes s = level3_shapes(x);
  EXPECT_EQ(s.a.rows, 3);
  EXPECT_EQ(s.a.cols, 5);
  EXPECT_EQ(s.b.rows, 3);
  EXPECT_EQ(s.b.cols, 7);
  EXPECT_EQ(s.c.role, Role::inout);
  x.beta = 0.0;
  EXPECT_EQ(level3_shapes(x).c.role, Role::out);
}

TEST(Level3, RankKOutputsOnlyTheirTriangle) {
  Level3Args x = make(L3Family::herk, Dtype::z);
  x.uplo = 'L';
  x.transa = 'C';
  const Level3Shapes s = level3_shapes(x);
  EXPECT_EQ(s.c.tri, 'L');
  EXPECT_EQ(s.c.rows, 7);
  EXPECT_EQ(s.a.rows, 3);
  EXPECT_EQ(s.a.cols, 7);
  EXPECT_EQ(s.b.role, Role::none);
}

TEST(Level3, TriangularSolveUpdatesBInPlace) {
  Level3Args x = make(L3Family::trsm, Dtype::s);
  x.side = 'R';
  const Level3Shapes s = level3_shapes(x);
  EXPECT_EQ(s.a.rows, 7);
  EXPECT_EQ(s.c.role, Role::inout);
  EXPECT_EQ(s.c.ld, 10);
}

TEST(Level3, PackedHasRowsAsLeadingDimensions) {
  Level3Args x = make(L3Family::gemm, Dtype::z);
  x.transb = 'T';
  Level3Args p = level3_packed(x);
  EXPECT_EQ(p.lda, 5);  // A is m x k
  EXPECT_EQ(p.ldb, 7);  // B^T: n x k
  EXPECT_EQ(p.ldc, 5);
  EXPECT_EQ(p.m, x.m);
  EXPECT_EQ(p.alpha, x.alpha);
  // syrk has no B: its leading dimension is at least 1.
  x = make(L3Family::syrk, Dtype::d);
  p = level3_packed(x);
  EXPECT_EQ(p.ldb, 1);
  EXPECT_EQ(p.ldc, 7);
  // trmm/trsm: B is the output (level3_shapes' c), ldb its rows.
  for (L3Family f : {L3Family::trmm, L3Family::trsm}) {
    x = make(f, Dtype::s);
    x.side = 'R';
    p = level3_packed(x);
    EXPECT_EQ(p.lda, 7);  // A is n x n on the right
    EXPECT_EQ(p.ldb, 5);
    EXPECT_EQ(p.ldc, 5);
  }
}

TEST(Level3, ValidateRejectsWhatTheServerMustNotTrust) {
  EXPECT_FALSE(level3_validate(make(L3Family::gemm, Dtype::d)).has_value());
  Level3Args x = make(L3Family::gemm, Dtype::d);
  x.lda = 2;  // < m
  EXPECT_TRUE(level3_validate(x).has_value());
  x = make(L3Family::herk, Dtype::d);  // hermitian on real data
  EXPECT_TRUE(level3_validate(x).has_value());
  x = make(L3Family::syrk, Dtype::z);
  x.transa = 'C';  // zsyrk takes N or T only
  EXPECT_TRUE(level3_validate(x).has_value());
  x = make(L3Family::gemm, Dtype::d);
  x.m = -1;
  EXPECT_TRUE(level3_validate(x).has_value());
  x = make(L3Family::gemm, Dtype::d);
  x.m = x.n = x.k = x.lda = x.ldb = x.ldc = std::int64_t(1) << 30;  // 8 EiB operands
  EXPECT_TRUE(level3_validate(x).has_value());
}

TEST(Level3, FlopsAndTriviality) {
  Level3Args x = make(L3Family::gemm, Dtype::d);
  EXPECT_DOUBLE_EQ(level3_flops(x), 2.0 * 5 * 7 * 3);
  x.dtype = Dtype::z;
  EXPECT_DOUBLE_EQ(level3_flops(x), 8.0 * 5 * 7 * 3);
  EXPECT_FALSE(level3_is_trivial(x));
  x.alpha = 0.0;
  EXPECT_TRUE(level3_is_trivial(x));
}

TEST(Opcodes, EveryFamilyAndTypeRoundTrips) {
  for (int f = 0; f <= int(L3Family::trsm); ++f) {
    for (int t = 0; t <= int(Dtype::z); ++t) {
      const auto fam = L3Family(f);
      const auto dt = Dtype(t);
      const bool hermitian = fam == L3Family::hemm || fam == L3Family::herk || fam == L3Family::her2k;
      const auto code = level3_opcode(fam, dt);
      if (hermitian && !is_complex(dt)) {
        EXPECT_FALSE(code.has_value());
        continue;
      }
      ASSERT_TRUE(code.has_value()) << routine_name(fam, dt);
      L3Family f2;
      Dtype t2;
      ASSERT_TRUE(level3_from_opcode(*code, f2, t2));
      EXPECT_EQ(f2, fam);
      EXPECT_EQ(t2, dt);
      EXPECT_EQ(std::string(opcode_name(*code)), routine_name(fam, dt));
    }
  }
}
