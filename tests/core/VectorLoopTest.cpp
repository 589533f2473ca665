// Innermost loops written with explicit vectors (passes/VectorizeInnerLoops.cpp) compute what
// the plain `omp simd` loops compute, halos included: for row lengths shorter than, equal to
// and not a multiple of a vector, in the interior and over domain + halo, float32 and
// float64, with increments; and loops the plan cannot hold are left scalar. Field storage puts
// the first interior point of a row on a cache line, large buffers staggered.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include "fd/Derivatives.h"
#include "ir/VectorPlan.h"
#include "operator/Operator.h"
#include "passes/Passes.h"
#include "symbolic/Transform.h"

namespace tenet {
namespace {

struct Case {
  std::vector<std::int64_t> shape;
  DType dtype;
};

class VectorLoops : public ::testing::TestWithParam<Case> {};

// A smooth, non-symmetric field so that every shifted neighbour matters.
std::vector<double> pattern(const Grid &g, double phase) {
  std::vector<double> v(static_cast<std::size_t>(g.size()));
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = std::sin(0.37 * static_cast<double>(i) + phase) + 0.25 * std::cos(0.011 * static_cast<double>(i * i % 977));
  return v;
}

struct Result {
  std::vector<double> u, acc, halo;
  std::string code;
};

Result run(const Case &c, int vector_bytes) {
  std::vector<double> spacing(c.shape.size(), 1.0);
  Grid g(c.shape, spacing, c.dtype);
  Function m("m", g, 8), acc("acc", g, 8), halo("halo", g, 8);
  TimeFunction u("u", g, 8);
  m.set_data(std::span<const double>(pattern(g, 0.3)));
  u.set_data(std::span<const double>(pattern(g, 1.1)), 0);
  u.set_data(std::span<const double>(pattern(g, 2.9)), 1);
  acc.set_data(std::span<const double>(pattern(g, 0.7)));
  OperatorOptions opts;
  opts.passes.vector_bytes = vector_bytes;
  // The last one runs over domain plus halo (as adjoint fields do): rows start at -4.
  Eq over_halo = Inc(halo(), Expr(m) * u() + Expr(2), "over the halo");
  over_halo.extend = 4;
  std::vector<Eq> eqs = {Eq(u.forward(), solve(Expr(m) * dt2(u) - laplace(u), u.forward()), "wave"),
                         Inc(acc(), Expr(m) * u() * u() - dx(u) / Expr(m), "increment"), over_halo};
  Operator op(eqs, opts);
  ApplyArgs a;
  a.time_m = 1;
  a.time_M = 4;
  a.scalars["dt"] = 0.05;
  op.apply(a);
  auto all = [](const Function &f) {  // halo included
    const FieldData &d = *f.data();
    std::vector<double> v(d.count());
    for (std::size_t i = 0; i < v.size(); ++i)
      v[i] = d.dtype == DType::Float32 ? static_cast<const float *>(d.buffer.get())[i]
                                       : static_cast<const double *>(d.buffer.get())[i];
    return v;
  };
  // Halos included: the last, partial vector of a row stores whole vectors and must leave
  // the lanes beyond the row as they were.
  return {all(u), all(acc), all(halo), op.ccode()};
}

TEST_P(VectorLoops, ExplicitVectorsMatchScalarLoops) {
  const Case c = GetParam();
  Result vec = run(c, 64), scalar = run(c, 0);
  EXPECT_NE(vec.code.find("vreal_"), std::string::npos) << "no vector loop generated";
  EXPECT_EQ(scalar.code.find("vreal_"), std::string::npos);
  // The same arithmetic in another order of operations (contraction into FMAs may differ).
  const double tol = c.dtype == DType::Float32 ? 2e-5 : 1e-12;
  double peak = 0;
  for (double v : scalar.u) peak = std::max(peak, std::fabs(v));
  ASSERT_GT(peak, 0.0);
  for (std::size_t i = 0; i < vec.u.size(); ++i) ASSERT_NEAR(vec.u[i], scalar.u[i], tol * peak) << "u at " << i;
  for (std::size_t i = 0; i < vec.acc.size(); ++i)
    ASSERT_NEAR(vec.acc[i], scalar.acc[i], tol * peak * 10) << "acc at " << i;
  double touched = 0;
  for (std::size_t i = 0; i < vec.halo.size(); ++i) {
    // Relative: the increments reach a few thousand (one float32 ulp there is 2.4e-4), and
    // where FMA contraction differs (e.g. -mavx2 builds) the two differ by an ulp.
    ASSERT_NEAR(vec.halo[i], scalar.halo[i], tol * 10 * std::max(1.0, std::fabs(scalar.halo[i])))
        << "halo field at " << i;
    touched += std::fabs(vec.halo[i]);
  }
  EXPECT_GT(touched, 0.0);
}

INSTANTIATE_TEST_SUITE_P(core_Shapes, VectorLoops,
                         ::testing::Values(Case{{9, 10, 37}, DType::Float32}, Case{{6, 7, 5}, DType::Float32},
                                           Case{{5, 6, 16}, DType::Float32}, Case{{7, 5, 33}, DType::Float64},
                                           Case{{6, 6, 8}, DType::Float64}, Case{{13, 41}, DType::Float32},
                                           Case{{11, 19}, DType::Float64}));

// Every kind of row the vector loops carry along the innermost dimension (centred, one-sided
// either way, staggered, an order-16 reach), at row lengths around one and two vectors, in
// float32 and float64: the same values as the scalar loops, halos included. (A row read only
// at offsets <= 0 once went wrong from the second vector of a row on.)
// Vector loads need byte `lead` (a row's first interior point) on a 64-byte boundary, small or
// large buffer; large ones start at different offsets within a page (eight in turn), so that
// arrays read at the same point do not share cache sets; all start zeroed.
TEST(core_AlignedBuffer, RowsStartOnCacheLinesAndLargeBuffersAreStaggered) {
  for (std::size_t lead : {0, 4, 16, 40})
    for (std::size_t bytes : {std::size_t(1000), std::size_t(5) << 20}) {
      AlignedBuffer b(bytes, lead);
      EXPECT_EQ((reinterpret_cast<std::uintptr_t>(b.get()) + lead) % 64, 0u) << bytes << " bytes, lead " << lead;
      const auto *c = static_cast<const unsigned char *>(b.get());
      EXPECT_TRUE(std::all_of(c, c + bytes, [](unsigned char v) { return v == 0; }));
    }
  std::vector<AlignedBuffer> large;
  std::set<std::uintptr_t> in_page;
  for (int i = 0; i < 8; ++i) {
    large.emplace_back(std::size_t(5) << 20, 16);
    in_page.insert(reinterpret_cast<std::uintptr_t>(large.back().get()) % 4096);
  }
  EXPECT_EQ(in_page.size(), 8u) << "eight large buffers in a row share offsets within a page";
}

TEST(core_VectorLoops, EveryKindOfRowAtLengthsAroundOneAndTwoVectors) {
  for (DType dtype : {DType::Float32, DType::Float64})
    for (std::int64_t n : {7, 8, 17, 23, 33, 40}) {
      SCOPED_TRACE(std::string(dtype_name(dtype)) + ", rows of " + std::to_string(n));
      auto run_kind = [&](int vector_bytes) {
        Grid g({5, n}, {1.0, 1.0}, dtype);
        // One input per kind, so that each is a row of its own (rows of one field merge).
        Function c("c", g, 16), u1("u1", g, 16), u2("u2", g, 16), u3("u3", g, 16), u4("u4", g, 16),
            centred("centred", g, 16), backward("backward", g, 16), forward("forward", g, 16),
            staggered("staggered", g, 16);
        c.set_data(std::span<const double>(pattern(g, 0.2)));
        double phase = 0.9;
        for (Function *u : {&u1, &u2, &u3, &u4}) u->set_data(std::span<const double>(pattern(g, phase += 0.4)));
        OperatorOptions opts;
        opts.passes.vector_bytes = vector_bytes;
        Operator op({Eq(centred(), Expr(c) * dy(u1, 16), "centred"),
                     Eq(backward(), dy(u2, 2, Side::Backward), "backward"),
                     Inc(forward(), Expr(c) * dy(u3, 4, Side::Forward), "forward"),
                     Eq(staggered(), dy(Expr(c) * u4(), 4, Side::StaggeredBackward), "staggered")},
                    opts);
        op.apply(ApplyArgs{});
        std::vector<double> all;
        for (const Function *f : {&centred, &backward, &forward, &staggered}) {
          const FieldData &d = *f->data();
          for (std::size_t i = 0; i < d.count(); ++i)
            all.push_back(d.dtype == DType::Float32 ? static_cast<const float *>(d.buffer.get())[i]
                                                    : static_cast<const double *>(d.buffer.get())[i]);
        }
        return std::make_pair(all, op.ccode());
      };
      const auto [vec, code] = run_kind(64);
      const auto [scalar, plain] = run_kind(0);
      if (n >= 16) {
        EXPECT_NE(code.find("vreal_"), std::string::npos) << "no vector loop";
      }
      ASSERT_EQ(vec.size(), scalar.size());
      const double tol = dtype == DType::Float32 ? 1e-4 : 1e-11;
      for (std::size_t i = 0; i < vec.size(); ++i)
        ASSERT_NEAR(vec[i], scalar[i], tol * (1 + std::fabs(scalar[i]))) << "element " << i;
    }
}

TEST(core_VectorPlan, RotatedRowsPrefetchAndTheLoopsThatStayScalar) {
  Grid g({8, 8, 40}, {1.0, 1.0, 1.0});
  Function m("m", g, 4);
  TimeFunction u("u", g, 4);
  Operator op({Eq(u.forward(), solve(Expr(m) * dt2(u) - laplace(u), u.forward()))});
  const std::string &c = op.ccode();
  EXPECT_NE(c.find("= shift_(u_r"), std::string::npos) << c;
  EXPECT_NE(c.find("__builtin_prefetch"), std::string::npos) << c;
  // Rows two iterations ahead in the next-outer dimension are prefetched into L2 only when
  // the arrays exceed a last-level cache (here 4 levels of 10.6 MB; the 8x8x40 grid above
  // does not).
  EXPECT_EQ(c.find(", 0, 2);"), std::string::npos) << c;
  EXPECT_EQ(c.find(", 1, 2);"), std::string::npos) << c;
  {
    Grid big({128, 128, 128}, {1.0, 1.0, 1.0});
    Function mb("m", big, 8);
    TimeFunction ub("u", big, 8, [] {
      TimeFunctionOptions o;
      o.time_order = 2;
      return o;
    }());
    Operator wave({Eq(ub.forward(), solve(Expr(mb) * dt2(ub) - laplace(ub), ub.forward()))});
    EXPECT_NE(wave.ccode().find("[2 * u_n3 + z + 4], 0, 2);"), std::string::npos) << wave.ccode();
    // Rows are addressed from one pointer per time level at constant offsets.
    EXPECT_NE(wave.ccode().find("[-4 * (u_n2 * u_n3) + z + 4]"), std::string::npos) << wave.ccode();
    // In place (u[t + 1] over u[t - 1], two buffers) the row written is the row of u[t - 1]
    // read at the same point: its lines are prefetched once, by the read (four prefetches of
    // the same lines before).
    TimeFunction ui("u", big, 8, [] {
      TimeFunctionOptions o;
      o.buffers = 2;
      return o;
    }());
    Operator in_place({Eq(ui.forward(), solve(Expr(mb) * dt2(ui) - laplace(ui), ui.forward()))});
    const std::string &ic = in_place.ccode();
    std::size_t written = ic.find("float *u_row");
    while (written != std::string::npos && ic.compare(written - 6, 6, "const ") == 0)
      written = ic.find("float *u_row", written + 1);  // the pointer of the row written is not const
    ASSERT_NE(written, std::string::npos) << ic;
    const std::string row = ic.substr(written + 7, ic.find(' ', written + 7) - written - 7);  // u_rowN
    EXPECT_EQ(ic.find("__builtin_prefetch(&" + row + "["), std::string::npos) << row << "\n" << ic;
    EXPECT_NE(ic.find(", 0, 0);"), std::string::npos) << ic;
  }
  // A row written and then read at the same point in the same loop body keeps the order of
  // its statements: the later statement reads the stored value from its register (as the
  // gradient update reads the adjoint level its step has just computed), also after an
  // increment.
  Function v("v", g, 4), w("w", g, 4), y("y", g, 4);
  m.set_data(std::span<const double>(pattern(g, 0.5)));
  y.set_data(std::span<const double>(pattern(g, 1.5)));
  Operator chain({Eq(v(), Expr(m) * Expr(m) + Expr(1), "write"), Eq(w(), Expr(v) * Expr(2), "read back"),
                  Inc(y(), Expr(m), "increment"), Inc(w(), Expr(y) * Expr(3), "read the increment back")});
  EXPECT_NE(chain.ccode().find("*(vreal_ *)&v_row"), std::string::npos) << chain.ccode();
  const auto y0 = y.get_data();
  chain.apply(ApplyArgs{});
  auto mv = m.get_data(), wv = w.get_data(), yv = y.get_data();
  for (std::size_t i = 0; i < wv.size(); ++i) {
    const double vi = static_cast<float>(static_cast<float>(mv[i] * mv[i]) + 1.0);
    const double yi = static_cast<float>(y0[i] + mv[i]);
    ASSERT_NEAR(yv[i], yi, 1e-5) << i;
    ASSERT_NEAR(wv[i], 2 * vi + 3 * yi, 1e-4) << i;
  }
  // Calls are not vector arithmetic: sqrt keeps the loop scalar.
  Operator withcall({Eq(u.forward(), sqrt(Expr(m)) * u(), "call")});
  EXPECT_EQ(withcall.ccode().find("vreal_"), std::string::npos);
}

// Stores of a level larger than a last-level cache that the step does not read bypass the
// caches (non-temporal `stream_`, each thread fenced before the barrier): a forward that saves
// every level streams its writes; in place (u[t+1] over u[t-1], the line just read) it does
// not; the results are the same bits either way, float32 and float64, rows with a partial last
// vector included.
TEST(core_VectorLoops, StreamedStoresOnlyWhereTheLineIsNotRead) {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    // One level: 158 x 158 x 208 floats (20.8 MB), 128 x 128 x 144 doubles (18.9 MB).
    Grid g(dtype == DType::Float32 ? std::vector<std::int64_t>{150, 150, 181} : std::vector<std::int64_t>{120, 120, 131},
           {1.0, 1.0, 1.0}, dtype);
    Function m("m", g, 8);
    m.set_data(std::span<const double>(pattern(g, 0.4)));
    auto wave = [&](int save, int buffers) {
      TimeFunctionOptions o;
      o.save = save;
      o.buffers = buffers;
      TimeFunction u("u", g, 8, o);
      u.set_data(std::span<const double>(pattern(g, 1.3)), 0);
      u.set_data(std::span<const double>(pattern(g, 2.1)), 1);
      OperatorOptions untiled;  // time tiling keeps written levels in the cache instead
      untiled.passes.time_tiling = TimeTiling::Never;
      Operator op({Eq(u.forward(), solve(Expr(m) * dt2(u) - laplace(u), u.forward()), "wave")}, untiled);
      ApplyArgs a;
      a.time_m = 1;
      a.time_M = 1;
      a.scalars["dt"] = 0.1;
      op.apply(a);
      return std::make_pair(op.ccode(), u.get_data(save > 0 ? 2 : 0));
    };
    const auto [saved_code, saved] = wave(3, 0);
    const auto [in_place_code, in_place] = wave(0, 2);
    // The written level's row pointer (not const) and the streaming store through it.
    EXPECT_NE(saved_code.find(" *u_row0 = &u[t + 1][x + 4][y + 4][0];"), std::string::npos) << saved_code;
    EXPECT_NE(saved_code.find("stream_((vreal_ *)&u_row0[z + 4]"), std::string::npos) << saved_code;
    EXPECT_NE(saved_code.find("_mm_sfence();"), std::string::npos) << saved_code;
    EXPECT_EQ(in_place_code.find("stream_("), std::string::npos) << in_place_code;
    ASSERT_EQ(saved.size(), in_place.size());
    double peak = 0;
    for (std::size_t i = 0; i < saved.size(); ++i) {
      ASSERT_EQ(saved[i], in_place[i]) << dtype_name(dtype) << " point " << i;
      peak = std::max(peak, std::fabs(saved[i]));
    }
    EXPECT_GT(peak, 0.0);
  }
  // By default (TimeTiling::Auto) a 3D forward saving its history streams its stores untiled,
  // while a 2D one is time-tiled (passes/TileTime.cpp: 2001^2 order 4, the gradient's forward
  // part 0.36 s tiled against 0.50 s streamed) and keeps its written levels in the cache.
  {
    TimeFunctionOptions o;
    o.save = 3;
    Grid g3({150, 150, 181}, {1.0, 1.0, 1.0});
    Function m3("m", g3, 8);
    TimeFunction u3("u", g3, 8, o);
    Operator op3({Eq(u3.forward(), solve(Expr(m3) * dt2(u3) - laplace(u3), u3.forward()))});
    EXPECT_NE(op3.ccode().find("stream_("), std::string::npos);
    EXPECT_EQ(op3.ccode().find("x_tile"), std::string::npos);
    Grid g2({2100, 2100}, {1.0, 1.0});  // 17.6 MB a level
    Function m2("m", g2, 8);
    TimeFunction u2("u", g2, 8, o);
    Operator op2({Eq(u2.forward(), solve(Expr(m2) * dt2(u2) - laplace(u2), u2.forward()))});
    EXPECT_NE(op2.ccode().find("x_tile"), std::string::npos);
    EXPECT_EQ(op2.ccode().find("stream_("), std::string::npos);
  }
  // Levels that fit in the cache are read from it by the next step: plain stores.
  Grid small({64, 64, 64}, {1.0, 1.0, 1.0});
  Function ms("m", small, 8);
  TimeFunctionOptions o;
  o.save = 3;
  TimeFunction us("u", small, 8, o);
  Operator op({Eq(us.forward(), solve(Expr(ms) * dt2(us) - laplace(us), us.forward()))});
  EXPECT_EQ(op.ccode().find("stream_("), std::string::npos);
}

}  // namespace
}  // namespace tenet
