// Structure of the generated code: parallel loops, simd on the innermost loop, no atomics in
// dense stencils, warning-free at -Wall -Werror; the JIT cache hits on a second build.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "AcousticFixture.h"
#include "CoreTestUtil.h"
#include "passes/Passes.h"

namespace tenet {
namespace {

std::vector<std::string> lines_of(const std::string &s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

bool starts_with_trimmed(const std::string &l, const std::string &p) {
  auto i = l.find_first_not_of(" \t");
  return i != std::string::npos && l.compare(i, p.size(), p) == 0;
}

// Checks that every simd pragma is followed by a `for` whose body contains no other loop, and
// returns how many there are.
int check_simd_innermost(const std::string &code) {
  auto ls = lines_of(code);
  int count = 0;
  for (std::size_t i = 0; i < ls.size(); ++i) {
    // `omp simd`, or `omp parallel for simd` where the only loop is also the outer one
    if (ls[i].find("#pragma omp") == std::string::npos || ls[i].find(" simd") == std::string::npos) continue;
    ++count;
    EXPECT_LT(i + 1, ls.size());
    if (i + 1 >= ls.size()) break;
    EXPECT_TRUE(starts_with_trimmed(ls[i + 1], "for ")) << "line after simd: " << ls[i + 1];
    int depth = 0;
    bool opened = false;
    for (std::size_t j = i + 2; j < ls.size(); ++j) {
      for (char ch : ls[j]) {
        if (ch == '{') { ++depth; opened = true; }
        if (ch == '}') --depth;
      }
      if (j > i + 2) {
        EXPECT_FALSE(starts_with_trimmed(ls[j], "for ")) << "loop inside the simd loop: " << ls[j];
      }
      if (opened && depth == 0) break;
    }
  }
  return count;
}

class CodeStructure : public ::testing::TestWithParam<int> {};

TEST_P(CodeStructure, DenseStencilIsParallelSimdAndAtomicFree) {
  const int nd = GetParam();
  Grid g(std::vector<std::int64_t>(static_cast<std::size_t>(nd), 24), std::vector<double>(static_cast<std::size_t>(nd), 1.0));
  Function m("m", g, 8);
  TimeFunction u("u", g, 8);
  Operator op({Eq(u.forward(), solve(Expr(m) * dt2(u) - laplace(u), u.forward()), "dense stencil")});
  const std::string &c = op.ccode();
  EXPECT_NE(c.find("#pragma omp parallel for"), std::string::npos) << c;
  EXPECT_GE(check_simd_innermost(c), 1) << c;
  EXPECT_EQ(c.find("atomic"), std::string::npos) << c;
  EXPECT_NE(c.find("dense stencil"), std::string::npos) << "equation comment missing";
  // the spacing factors are hoisted out of the loops, computed once
  auto first_for = c.find("for (");
  auto hx = c.find("h_x*h_x");
  ASSERT_NE(hx, std::string::npos) << c;
  EXPECT_LT(hx, first_for) << "1/h^2 is not hoisted";
}

INSTANTIATE_TEST_SUITE_P(core_Dims, CodeStructure, ::testing::Values(1, 2, 3));

TEST(core_CodeStructure, SparseLoopsAreSerialAndRaceFree) {
  test::AcousticSetup s(2, 21, DType::Float32);
  Operator op(s.eqs);
  const std::string &c = op.ccode();
  // the injection loop is not inside an omp parallel region and uses no atomics
  auto inj = c.find("for (long p_src");
  ASSERT_NE(inj, std::string::npos) << c;
  auto before = c.rfind('\n', inj);
  auto prev_line_start = c.rfind('\n', before - 1);
  EXPECT_EQ(c.substr(prev_line_start, before - prev_line_start).find("omp"), std::string::npos) << c;
  EXPECT_EQ(c.find("atomic"), std::string::npos);
}

TEST(core_CodeStructure, SecondBuildOfTheSameOperatorHitsTheCache) {
  test::TempDir dir("cache");
  test::ScopedEnv cache("TENET_CACHE_DIR", dir.str());
  test::AcousticSetup s(2, 21, DType::Float32);
  Operator first(s.eqs);
  EXPECT_FALSE(first.cache_hit());
  EXPECT_EQ(first.source_path().rfind(dir.str(), 0), 0u) << first.source_path();
  Operator second(s.eqs);
  EXPECT_TRUE(second.cache_hit());
  EXPECT_EQ(first.ccode(), second.ccode());
  // the cached kernel works: same results as the freshly compiled one
  s.u.fill(0.0);
  first.apply(s.args(1));
  auto a = s.rec.get_data();
  s.u.fill(0.0);
  second.apply(s.args(1));
  EXPECT_EQ(a, s.rec.get_data());
}

TEST(core_CodeStructure, DifferentFlagsMissTheCache) {
  test::TempDir dir("cache-flags");
  test::ScopedEnv cache("TENET_CACHE_DIR", dir.str());
  test::AcousticSetup s(1, 21, DType::Float64);
  {
    test::ScopedEnv flags("TENET_CFLAGS", "-O1 -fopenmp");
    Operator op(s.eqs);
    EXPECT_FALSE(op.cache_hit());
  }
  test::ScopedEnv flags("TENET_CFLAGS", "-O2 -fopenmp");
  Operator op(s.eqs);
  EXPECT_FALSE(op.cache_hit());
}

struct WarnCase {
  int ndim;
  DType dtype;
};

class WarningFree : public ::testing::TestWithParam<WarnCase> {};

TEST_P(WarningFree, GeneratedCodeCompilesWithWallWerror) {
  test::ScopedEnv flags("TENET_CFLAGS", "-O3 -march=native -fopenmp -Wall -Wextra -Werror");
  const WarnCase w = GetParam();
  test::AcousticSetup s(w.ndim, 17, w.dtype, 4);
  try {
    Operator op(s.eqs);
    op.apply(s.args(1));
    // Sparse operations only (no dense loop uses the grid bounds), and an injection that uses
    // only the positions of a sparse function (its data pointer is unused), as adjoints do.
    ApplyArgs no_scalars = s.args(1);
    no_scalars.scalars.clear();
    Operator sparse_only({s.rec.interpolate(s.u())});
    sparse_only.apply(no_scalars);
    SparseTimeFunction shared("shared", s.g, s.rec.npoint(), s.rec.nt());  // on rec's points
    shared.data()->point_dim = s.rec.data()->point_dim;
    Operator positions_only(
        {s.rec.inject(s.u.forward(), Expr(SparseTimeFunction::from_data(shared.data())) * Expr(2))});
    positions_only.apply(no_scalars);
  } catch (const Error &e) {
    FAIL() << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(core_All, WarningFree,
                         ::testing::Values(WarnCase{1, DType::Float32}, WarnCase{2, DType::Float32},
                                           WarnCase{3, DType::Float32}, WarnCase{1, DType::Float64},
                                           WarnCase{2, DType::Float64}, WarnCase{3, DType::Float64}));

#if defined(__x86_64__)
// The helpers of the explicit vector loops (the partial last vector, streaming stores) take
// 64-byte vectors; on targets without AVX-512 they must still compile without a warning (a
// function passing such vectors by value draws GCC's -Wpsabi there). A forward saving every
// level of a grid larger than the cache uses both; float32 and float64.
TEST(core_WarningFree, VectorHelpersOnTargetsWithoutAvx512) {
  for (const char *target : {"-mavx2 -mfma", "-msse4.2", "-march=native"}) {
    test::ScopedEnv flags("TENET_CFLAGS", std::string("-O3 ") + target + " -fopenmp -Wall -Wextra -Werror");
    for (DType dtype : {DType::Float32, DType::Float64}) {
      Grid g(dtype == DType::Float32 ? std::vector<std::int64_t>{150, 150, 181} : std::vector<std::int64_t>{120, 120, 131},
             {1.0, 1.0, 1.0}, dtype);
      Function m("m", g, 8);
      TimeFunctionOptions o;
      o.save = 3;
      TimeFunction u("u", g, 8, o);
      try {
        OperatorOptions untiled;  // time-tiled kernels do not stream
        untiled.passes.time_tiling = TimeTiling::Never;
        Operator op({Eq(u.forward(), solve(Expr(m) * dt2(u) - laplace(u), u.forward()))}, untiled);
        EXPECT_NE(op.ccode().find("stream_("), std::string::npos);
        EXPECT_NE(op.ccode().find("first_lanes_("), std::string::npos);
      } catch (const Error &e) {
        FAIL() << target << " " << dtype_name(dtype) << ": " << e.what();
      }
    }
  }
}
#endif

}  // namespace
}  // namespace tenet
