// Every user mistake gives a clear tenet::Error naming the culprit, never a crash.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "CoreTestUtil.h"
#include "fd/Derivatives.h"
#include "operator/Operator.h"

namespace tenet {
namespace {

using test::error_message;

#define EXPECT_MENTIONS(msg, part) EXPECT_NE((msg).find(part), std::string::npos) << "message: " << (msg)

struct Acoustic {
  Grid g{{21, 21}, {200., 200.}, DType::Float64};
  Function m{"m", g, 4};
  TimeFunction u{"u", g, 4};
  Eq eq{u.forward(), solve(Expr(m) * dt2(u) - laplace(u), u.forward())};
  Acoustic() { m.fill(1.0); }
};

TEST(core_Errors, MissingScalarArgumentNamesIt) {
  Acoustic a;
  Operator op({a.eq});
  ApplyArgs args;
  args.time_M = 2;
  std::string msg = error_message([&] { op.apply(args); });
  EXPECT_MENTIONS(msg, "missing");
  EXPECT_MENTIONS(msg, "'dt'");
}

TEST(core_Errors, UnknownScalarArgumentNamesIt) {
  Acoustic a;
  Operator op({a.eq});
  ApplyArgs args;
  args.time_M = 2;
  args.scalars["dt"] = 1.0;
  args.scalars["velocity"] = 2.0;
  std::string msg = error_message([&] { op.apply(args); });
  EXPECT_MENTIONS(msg, "velocity");
}

TEST(core_Errors, FieldOverrideWithAnotherShapeNamesBoth) {
  Acoustic a;
  Operator op({a.eq});
  Grid other({31, 21}, {300., 200.}, DType::Float64);
  Function m2("m_big", other, 4);
  ApplyArgs args;
  args.time_M = 2;
  args.scalars["dt"] = 1.0;
  args.fields["m"] = m2.data();
  std::string msg = error_message([&] { op.apply(args); });
  EXPECT_MENTIONS(msg, "shape");
  EXPECT_MENTIONS(msg, "m_big");
}

TEST(core_Errors, FieldOverrideOfUnknownNameNamesIt) {
  Acoustic a;
  Operator op({a.eq});
  Function q("q", a.g, 4);
  ApplyArgs args;
  args.time_M = 2;
  args.scalars["dt"] = 1.0;
  args.fields["q"] = q.data();
  std::string msg = error_message([&] { op.apply(args); });
  EXPECT_MENTIONS(msg, "'q'");
}

TEST(core_Errors, FunctionsOnDifferentGridsInOneEquation) {
  Grid g1({21, 21}, {1., 1.}, DType::Float64), g2({31, 31}, {1., 1.}, DType::Float64);
  Function a("a", g1, 2), b("b_other", g2, 2);
  std::string msg = error_message([&] { Operator op({Eq(a(), Expr(b) * 2)}); });
  EXPECT_MENTIONS(msg, "b_other");
  EXPECT_MENTIONS(msg, "grid");
}

TEST(core_Errors, TimeRangeBeyondSavedBufferNamesTheField) {
  Grid g({11}, {1.}, DType::Float64);
  TimeFunctionOptions to;
  to.time_order = 1;
  to.save = 10;
  TimeFunction u("u_saved", g, 2, to);
  Operator op({Eq(u.forward(), Expr(u()) + 1)});
  ApplyArgs args;
  args.time_m = 0;
  args.time_M = 9;  // writes u[10]: one past the last saved level
  std::string msg = error_message([&] { op.apply(args); });
  EXPECT_MENTIONS(msg, "u_saved");
  EXPECT_MENTIONS(msg, "10");
  args.time_M = 8;
  EXPECT_NO_THROW(op.apply(args));
}

TEST(core_Errors, SparseTimeRangeBeyondItsSamples) {
  Grid g({11}, {1.}, DType::Float64);
  TimeFunction u("u", g, 2);
  SparseTimeFunction rec("rec_short", g, 1, 5);
  rec.set_coordinates({0.5});
  Operator op({rec.interpolate(u())});
  ApplyArgs args;
  args.time_M = 5;
  std::string msg = error_message([&] { op.apply(args); });
  EXPECT_MENTIONS(msg, "rec_short");
}

TEST(core_Errors, EquationThatCannotBeScheduled) {
  Grid g({21}, {1.}, DType::Float64);
  TimeFunction u("u", g, 2);
  const Expr &x = g.dim(0), &t = g.time_dim();
  Eq bad(u.forward(), Expr(u.at(t + 1, {x + 1})) + u());
  std::string msg = error_message([&] { Operator op({bad}); });
  EXPECT_MENTIONS(msg, "cannot schedule");
  EXPECT_MENTIONS(msg, "u[t + 1, x + 1]");
}

TEST(core_Errors, ReadingBeyondTheHaloNamesTheField) {
  Grid g({21}, {1.}, DType::Float64);
  Function a("a", g, 2), b("b_narrow", g, 2);
  std::string msg = error_message([&] { Operator op({Eq(a(), dx2(b(), 8))}); });
  EXPECT_MENTIONS(msg, "b_narrow");
  EXPECT_MENTIONS(msg, "halo");
}

TEST(core_Errors, CompilerErrorNamesTheGeneratedSource) {
  test::TempDir dir("cc-error");
  test::ScopedEnv cache("TENET_CACHE_DIR", dir.str());
  test::ScopedEnv flags("TENET_CFLAGS", "-fno-such-flag-for-tenet");
  Acoustic a;
  std::string msg = error_message([&] { Operator op({a.eq}); });
  EXPECT_MENTIONS(msg, dir.str());
  EXPECT_MENTIONS(msg, ".c");
  EXPECT_MENTIONS(msg, "no-such-flag");
}

TEST(core_Errors, CompilerThatFailsIsReported) {
  test::TempDir dir("cc-false");
  test::ScopedEnv cache("TENET_CACHE_DIR", dir.str());
  test::ScopedEnv cc("TENET_CC", "false");
  Acoustic a;
  std::string msg = error_message([&] { Operator op({a.eq}); });
  // detected before compiling: the message names the compiler and how to choose another
  EXPECT_MENTIONS(msg, "'false'");
  EXPECT_MENTIONS(msg, "TENET_CC");
}

TEST(core_Errors, WrongDataSizeNamesTheFunction) {
  Grid g({11, 11}, {1., 1.}, DType::Float64);
  Function f("f_data", g, 2);
  std::vector<double> v(120);
  std::string msg = error_message([&] { f.set_data(std::span<const double>(v)); });
  EXPECT_MENTIONS(msg, "f_data");
  EXPECT_MENTIONS(msg, "120");
  EXPECT_MENTIONS(msg, "121");
  SparseTimeFunction s("s_data", g, 2, 3);
  msg = error_message([&] { s.set_data(std::span<const double>(v)); });
  EXPECT_MENTIONS(msg, "s_data");
  TimeFunction u("u_buf", g, 2);
  std::vector<double> ok(121);
  msg = error_message([&] { u.set_data(std::span<const double>(ok), 7); });
  EXPECT_MENTIONS(msg, "u_buf");
  std::vector<double> sum(120);
  msg = error_message([&] { f.add_data_to(std::span<double>(sum)); });
  EXPECT_MENTIONS(msg, "f_data");
  EXPECT_MENTIONS(msg, "120");
}

TEST(core_Data, AddDataToSumsTheInteriorLikeGetData) {
  for (DType dt : {DType::Float32, DType::Float64}) {
    Grid g({5, 4, 7}, {1., 1., 1.}, dt);
    Function f("f", g, 4);
    std::vector<double> v(static_cast<std::size_t>(g.size()));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.25 * static_cast<double>(i) - 3.0;
    f.set_data(std::span<const double>(v));
    f.fill(99.0);  // halo included, then the interior again: the halo must not leak in
    f.set_data(std::span<const double>(v));
    std::vector<double> sum(v.size(), 1.0);
    f.add_data_to(std::span<double>(sum));
    f.add_data_to(std::span<double>(sum));
    const std::vector<double> got = f.get_data();
    for (std::size_t i = 0; i < v.size(); ++i) {
      ASSERT_EQ(got[i], v[i]) << i;
      ASSERT_EQ(sum[i], 1.0 + 2.0 * v[i]) << i;
    }
  }
}

TEST(core_Errors, SparseCoordinatesOutsideTheGrid) {
  Grid g({11, 11}, {100., 100.}, DType::Float64);
  SparseTimeFunction src("src_out", g, 2, 3);
  std::string msg = error_message([&] { src.set_coordinates({50., 50., 50., 100.5}); });
  EXPECT_MENTIONS(msg, "src_out");
  EXPECT_MENTIONS(msg, "100.5");
  msg = error_message([&] { src.set_coordinates({50., 50., -1., 3.}); });
  EXPECT_MENTIONS(msg, "src_out");
  msg = error_message([&] { src.set_coordinates({50., 50.}); });  // too few values
  EXPECT_MENTIONS(msg, "src_out");
  // Just outside: the message shows the digits that make it so.
  msg = error_message([&] { src.set_coordinates({50., 50., 50., 100.0000001}); });
  EXPECT_MENTIONS(msg, "100.0000001");
}

TEST(core_Errors, FillOfATimeBufferThatDoesNotExistAndNegativeHalos) {
  Grid g({11, 11}, {100., 100.}, DType::Float64);
  TimeFunction u("u_fill", g, 2);
  EXPECT_MENTIONS(error_message([&] { u.fill(1.0, 99); }), "time buffer 99");
  EXPECT_MENTIONS(error_message([&] { u.fill(1.0, -7); }), "time buffer -7");
  FunctionOptions o;
  o.halo = -5;
  EXPECT_MENTIONS(error_message([&] { Function f("f_halo", g, 2, o); }), "halo of -5");
}

TEST(core_Errors, SparseDataOfOtherPointsInAnInjection) {
  Grid g({11, 11}, {10., 10.});
  TimeFunction u("u", g, 2);
  SparseTimeFunction a("a_pts", g, 2, 5), b("b_pts", g, 3, 5);
  a.set_coordinates(std::vector<double>{1, 1, 5, 5});
  b.set_coordinates(std::vector<double>{2, 2, 3, 3, 4, 4});
  std::string msg = error_message([&] { Operator({a.inject(u.forward(), Expr(b))}); });
  EXPECT_MENTIONS(msg, "a_pts");
  EXPECT_MENTIONS(msg, "b_pts");
  EXPECT_MENTIONS(msg, "points");
}

TEST(core_Errors, UnsupportedSpaceOrder) {
  Grid g({11}, {1.}, DType::Float64);
  std::string msg = error_message([&] { Function f("f_zero", g, 0); });
  EXPECT_MENTIONS(msg, "f_zero");
  EXPECT_MENTIONS(msg, "space order");
  msg = error_message([&] { Function f("f_big", g, 40); });
  EXPECT_MENTIONS(msg, "f_big");
  Function odd("f_odd", g, 3);
  msg = error_message([&] { dx(odd()); });
  EXPECT_MENTIONS(msg, "space order 3");
  msg = error_message([&] { dx2(odd(), 18); });
  EXPECT_MENTIONS(msg, "18");
}

TEST(core_Errors, EmptyTimeRange) {
  Acoustic a;
  Operator op({a.eq});
  ApplyArgs args;
  args.scalars["dt"] = 1.0;
  args.time_m = 5;
  args.time_M = 4;
  std::string msg = error_message([&] { op.apply(args); });
  EXPECT_MENTIONS(msg, "time range");
  EXPECT_MENTIONS(msg, "time_M");
  args.time_m = 0;
  args.time_M = -1;  // the default: never set
  msg = error_message([&] { op.apply(args); });
  EXPECT_MENTIONS(msg, "time_M");
}

TEST(core_Errors, DerivativeAlongAMissingDimension) {
  Grid g({11, 11}, {1., 1.}, DType::Float64);
  Function f("f2d", g, 2);
  std::string msg = error_message([&] { dz(f()); });
  EXPECT_MENTIONS(msg, "f2d");
  msg = error_message([&] { dt2(f()); });
  EXPECT_MENTIONS(msg, "f2d");
}

TEST(core_Errors, SecondTimeDerivativeNeedsTimeOrderTwo) {
  Grid g({11}, {1.}, DType::Float64);
  TimeFunctionOptions to;
  to.time_order = 1;
  TimeFunction u("u_first", g, 2, to);
  std::string msg = error_message([&] { dt2(u); });
  EXPECT_MENTIONS(msg, "time order");
}

TEST(core_Errors, BadGridsAndNames) {
  EXPECT_MENTIONS(error_message([] { Grid g({11, 11}, {1.}); }), "extent");
  EXPECT_MENTIONS(error_message([] { Grid g({1}, {1.}); }), "at least 2");
  EXPECT_MENTIONS(error_message([] { Grid g({5, 5, 5, 5}, {1., 1., 1., 1.}); }), "3D");
  Grid g({11}, {1.});
  EXPECT_MENTIONS(error_message([&] { Function f("bad name", g, 2); }), "bad name");
  EXPECT_MENTIONS(error_message([&] { Operator op(std::vector<Eq>{}); }), "at least one");
}

// Names that are valid C identifiers but taken in the generated C (macros of the headers it
// includes, its own helpers and locals, the implementation's leading '_', OpenMP's omp_) are
// renamed there; they once gave a raw compiler error. Each gives the same result as 'm'.
TEST(core_Errors, NamesTakenInTheGeneratedCodeAreRenamed) {
  auto run = [](const std::string &name) {
    Grid g({21, 21}, {200., 200.}, DType::Float64);
    Function m(name, g, 4);
    m.fill(1.0);
    TimeFunction u("u", g, 4);
    u.fill(0.0);
    u.set_data(std::vector<double>(21 * 21, 1.0), 1);
    OperatorOptions o;
    o.passes.time_tiling = TimeTiling::Always;
    Operator op({Eq(u.forward(), solve(Expr(m) * dt2(u) - laplace(u), u.forward()))}, o);
    ApplyArgs a;
    a.time_M = 4;
    a.scalars["dt"] = 0.1;
    op.apply(a);
    return u.get_data();
  };
  const std::vector<double> want = run("m");
  for (const char *name : {"NAN", "M_PI", "FP_NAN", "math_errhandling", "vreal_", "csr_", "_mm_getcsr", "M", "MIN",
                           "omp_get_thread_num", "sched_yield"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(run(name), want);
  }
}

TEST(core_Errors, SizesWhoseProductOverflowsAreRejected) {
  // 2^62 x 4 multiplies to 0 in 64 bits, (2^62 + 1) x 4 x 4 to 16: both once made buffers too small.
  EXPECT_MENTIONS(error_message([] { Grid g({std::int64_t(1) << 62, 4}, {1., 1.}); }), "2^40");
  EXPECT_MENTIONS(error_message([] { Grid g({(std::int64_t(1) << 62) + 1, 4, 4}, {1., 1., 1.}); }), "2^40");
}

TEST(core_Errors, TimeRangeNearTheEndOfInt64) {
  Acoustic a;
  Operator op({a.eq});
  ApplyArgs args;
  args.scalars["dt"] = 1.0;
  args.time_m = std::numeric_limits<std::int64_t>::max() - 2;
  args.time_M = std::numeric_limits<std::int64_t>::max();
  EXPECT_MENTIONS(error_message([&] { op.apply(args); }), "time_M");
}

TEST(core_Errors, TimeStepMustBePositive) {
  Acoustic a;
  Operator op({a.eq});
  ApplyArgs args;
  args.time_M = 2;
  for (double dt : {0.0, -1e-3}) {
    args.scalars["dt"] = dt;
    EXPECT_MENTIONS(error_message([&] { op.apply(args); }), "must be positive");
  }
}

TEST(core_Errors, ConstantNamedLikeTheTimeStep) {
  Acoustic a;
  Constant c("dt", 2.0);  // would silently take ApplyArgs::scalars["dt"]
  std::string msg = error_message([&] { Operator op({Eq(a.u.forward(), a.eq.rhs * Expr(c))}); });
  EXPECT_MENTIONS(msg, "'dt'");
  EXPECT_MENTIONS(msg, "rename");
}

TEST(core_Errors, SavedFieldCannotStandInForACyclingOne) {
  Acoustic a;
  Operator op({a.eq});
  TimeFunctionOptions o;
  o.save = 3;  // as many levels as u's modulo buffers: same allocation, other meaning
  TimeFunction saved("u_saved", a.g, 4, o);
  ApplyArgs args;
  args.scalars["dt"] = 1.0;
  args.time_M = 10;
  args.fields["u"] = saved.data();
  std::string msg = error_message([&] { op.apply(args); });
  EXPECT_MENTIONS(msg, "u_saved");
  EXPECT_MENTIONS(msg, "history");
}

TEST(core_Errors, TimeFunctionsOnTwoGridsOfOneShape) {
  Grid g1({21, 21}, {1., 1.}, DType::Float64), g2({21, 21}, {1., 1.}, DType::Float64);
  TimeFunction u("u_one", g1, 2), v("v_two", g2, 2);
  std::string msg = error_message([&] { Operator op({Eq(u.forward(), Expr(u) + 1), Eq(v.forward(), Expr(v) + Expr(u))}); });
  EXPECT_MENTIONS(msg, "v_two");
  EXPECT_MENTIONS(msg, "Grid");
}

}  // namespace
}  // namespace tenet
