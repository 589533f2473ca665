// Adjoints of time-stepping operators: acoustic (second order in time) and a staggered
// pressure/velocity system (first order, coupled fields). Dot tests, tangent against adjoint,
// Taylor tests of the FWI objective and of the linearised data, a finite-difference check of
// the gradient, code structure and thread-count independence.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "AdTestUtil.h"
#include "ad/Differentiate.h"
#include "fd/Derivatives.h"
#include "operator/Operator.h"
#include "passes/Passes.h"

namespace tenet {
namespace {

using test::dot;
using test::relative_gap;

// A small acoustic problem: m u_tt - laplace(u) + damp u_t = 0, sources and receivers.
struct Acoustic {
  Grid g;
  std::unique_ptr<Function> m, damp;
  std::unique_ptr<TimeFunction> u;
  std::unique_ptr<SparseTimeFunction> src, rec;
  std::vector<Eq> eqs;
  std::int64_t nt;
  double dt;

  /// in_place: u keeps 2 buffers (u[t+1] overwrites u[t-1]; TimeFunctionOptions::buffers).
  /// nsrc, nrec beyond 2 and 4: points spread over the whole grid, the first at its lowest
  /// corner, the second at its highest, the third and fourth in the same cell as the fifth.
  Acoustic(std::vector<std::int64_t> shape, int so, std::int64_t nt_, bool save, DType dtype = DType::Float64,
           bool in_place = false, int nsrc = 2, int nrec = 4)
      : g([&] {
          std::vector<double> extent;
          for (auto n : shape) extent.push_back(10.0 * static_cast<double>(n - 1));
          return Grid(shape, extent, dtype);
        }()),
        nt(nt_) {
    const int nd = g.ndim();
    m = std::make_unique<Function>("m", g, so);
    damp = std::make_unique<Function>("damp", g, so);
    TimeFunctionOptions to;
    to.time_order = 2;
    to.save = save ? nt : 0;
    to.buffers = in_place ? 2 : 0;
    u = std::make_unique<TimeFunction>("u", g, so, to);
    // Smooth background with a bump, and some damping.
    std::vector<double> mv, dv;
    test::for_each_point(g, [&](const std::vector<std::int64_t> &at) {
      double r2 = 0;
      for (int d = 0; d < nd; ++d) {
        double c = static_cast<double>(at[static_cast<std::size_t>(d)]) / static_cast<double>(g.shape()[static_cast<std::size_t>(d)] - 1) - 0.5;
        r2 += c * c;
      }
      double v = 1.5 + 0.5 * std::exp(-20 * r2);
      mv.push_back(1.0 / (v * v));
      dv.push_back(0.002 * (1 + r2));
    });
    m->set_data(std::span<const double>(mv));
    damp->set_data(std::span<const double>(dv));
    dt = 0.5 * 10.0 / (2.0 * std::sqrt(static_cast<double>(nd))) / 2.0;
    src = std::make_unique<SparseTimeFunction>("src", g, nsrc, nt);
    rec = std::make_unique<SparseTimeFunction>("rec", g, nrec, nt);
    std::vector<double> sc, rc;
    auto spread = [&](int p, int d, double seed) {
      const int q = p == 2 || p == 3 ? 4 : p;
      if (q < 2) return static_cast<double>(q);
      const double f = std::fmod(seed + 0.6180339887 * q * (1 + d), 1.0);
      return q == 4 ? std::max(0.0, f + 0.002 * (p - 4)) : f;
    };
    for (int p = 0; p < nsrc; ++p)
      for (int d = 0; d < nd; ++d)
        sc.push_back((nsrc == 2 ? 0.3 + 0.35 * p + 0.05 * d : spread(p, d, 0.37)) * g.extent()[static_cast<std::size_t>(d)]);
    for (int p = 0; p < nrec; ++p)
      for (int d = 0; d < nd; ++d)
        rc.push_back((nrec == 4 ? 0.12 + 0.23 * p + 0.031 * d : spread(p, d, 0.11)) * g.extent()[static_cast<std::size_t>(d)]);
    src->set_coordinates(sc);
    rec->set_coordinates(rc);
    src->set_data(std::span<const double>(test::random_vector(static_cast<std::size_t>(nt * nsrc), 5)));
    Expr pde = Expr(*m) * dt2(*u) - laplace(*u) + Expr(*damp) * tenet::dt(*u);
    eqs = {solve_eq(pde, u->forward(), "acoustic"), src->inject(u->forward(), (*src)() * g.dt() * g.dt() / Expr(*m)),
           rec->interpolate((*u)())};
  }

  ApplyArgs args() const {
    ApplyArgs a;
    a.time_m = 1;
    a.time_M = nt - 2;
    a.scalars["dt"] = dt;
    return a;
  }
};

double acoustic_dot_test(std::vector<std::int64_t> shape, int so, std::int64_t nt, bool time_gather = true) {
  Acoustic p(shape, so, nt, false);
  Operator fwd(p.eqs);
  fwd.apply(p.args());
  DiffRequest req;
  req.time_gather = time_gather;
  DerivativeOperator adj = adjoint(p.eqs, req);
  SparseTimeFunction recbar = SparseTimeFunction::from_data(adj.of("rec"));
  recbar.set_data(std::span<const double>(test::random_vector(static_cast<std::size_t>(nt * 4), 9)));
  adj.apply(p.args());
  double lhs = dot(p.rec->get_data(), recbar.get_data());
  double rhs = dot(p.src->get_data(), SparseTimeFunction::from_data(adj.of("src")).get_data());
  return relative_gap(lhs, rhs);
}

TEST(TimeSteppingAdjoint, AcousticSourceToReceiverDotTest) {
  EXPECT_LE(acoustic_dot_test({41}, 4, 60), 1e-12);
  EXPECT_LE(acoustic_dot_test({41}, 16, 60), 1e-12);
  for (int so : {2, 4, 8, 12})
    EXPECT_LE(acoustic_dot_test({23, 19}, so, 40), 1e-12) << "order " << so;
  EXPECT_LE(acoustic_dot_test({13, 12, 11}, 8, 25), 1e-12);
}

TEST(TimeSteppingAdjoint, InPlaceForwardAndAdjointGiveTheSameResults) {
  std::vector<std::vector<double>> srcbar, recs;
  for (bool in_place : {false, true}) {
    Acoustic p({23, 19}, 8, 40, false, DType::Float64, in_place);
    Operator fwd(p.eqs);
    fwd.apply(p.args());
    DiffRequest req;
    req.at_rest = true;
    DerivativeOperator adj = adjoint(p.eqs, req);
    EXPECT_EQ(adj.of("u")->nbuf, 2);  // the adjoint reads z[t+2] only where it writes z[t]
    SparseTimeFunction recbar = SparseTimeFunction::from_data(adj.of("rec"));
    recbar.set_data(std::span<const double>(test::random_vector(static_cast<std::size_t>(p.nt * 4), 9)));
    adj.apply(p.args());
    recs.push_back(p.rec->get_data());
    srcbar.push_back(SparseTimeFunction::from_data(adj.of("src")).get_data());
    EXPECT_LE(relative_gap(dot(recs.back(), recbar.get_data()), dot(p.src->get_data(), srcbar.back())), 1e-12);
  }
  EXPECT_EQ(recs[0], recs[1]);
  EXPECT_EQ(srcbar[0], srcbar[1]);
}

// The forward on `threads` threads, then its adjoint with the gradient (built with `o`), seeded
// with random receiver residuals: the adjoint's code, and what both produced (the receivers'
// data, every buffer of u, the sources' adjoint, the gradient).
struct Sweeps {
  std::string adjoint_code;
  std::vector<std::vector<double>> results;
};
Sweeps run_forward_and_adjoint(Acoustic &p, Operator &fwd, const OperatorOptions &o, int threads,
                               bool time_gather = true) {
  ApplyArgs a = p.args();
  a.threads = threads;
  fwd.apply(a);
  DiffRequest req;
  req.parameters = {p.m->data()};
  req.at_rest = true;
  req.time_gather = time_gather;
  DerivativeOperator adj = adjoint(p.eqs, req, o);
  SparseTimeFunction recbar = SparseTimeFunction::from_data(adj.of("rec"));
  recbar.set_data(
      std::span<const double>(test::random_vector(static_cast<std::size_t>(p.nt * p.rec->data()->npoint), 9)));
  // The kernels directly: with a cycling u (the cases without save) the values are not the
  // gradient, which DerivativeOperator::apply refuses, but tiled and untiled must agree bitwise.
  adj.run_prepare(a);
  adj.op->apply(a);
  Sweeps s{adj.op->ccode(), {p.rec->get_data()}};
  for (int b = 0; b < p.u->data()->nbuf; ++b) s.results.push_back(p.u->get_data(b));
  s.results.push_back(SparseTimeFunction::from_data(adj.of("src")).get_data());
  s.results.push_back(Function::from_data(adj.of("m")).get_data());
  return s;
}

// Time tiling (passes/TileTime.cpp) runs the same operations on every point in the same
// order: forward (in place, three buffers, the whole history) and adjoint with the gradient
// give bitwise the results of untiled kernels, 2D and 3D, float32 and float64, several tiles
// and a last block of fewer steps (30 steps in blocks of 8, in 2D of 16), on 1, 2 and 3 threads. Grids
// wide enough along y pipeline their tiles across the threads (stages along y, built for 2
// threads; at least (T + 1) R wide, so in 3D (T = 8) 11 rows hold 2 at order 2, in 2D (T = 16)
// 40 columns at order 4 and 80 at order 8):
// the same, also on 5 threads (more than the stages that fit: the others wait).
TEST(TimeSteppingAdjoint, TimeTilingGivesBitwiseTheSameForwardAndAdjoint) {
  struct Case {
    std::vector<std::int64_t> shape;
    int so;
    bool save, in_place;
    DType dtype;
    bool time_gather = true;  // false: the level-scatter adjoint, over domain + halo
    bool stages = false;      // expected: tiles pipelined along y
  };
  for (const Case &c : {Case{{70, 23}, 8, false, true, DType::Float32}, Case{{70, 23}, 8, false, false, DType::Float64},
                        Case{{70, 40}, 4, true, false, DType::Float64, true, true},
                        Case{{30, 80}, 8, false, true, DType::Float32, true, true},
                        Case{{37, 11, 9}, 4, false, true, DType::Float64},
                        Case{{37, 11, 9}, 2, true, false, DType::Float32, true, true},
                        Case{{70, 40}, 4, false, false, DType::Float64, false, true},
                        Case{{20, 150, 9}, 8, false, true, DType::Float32, true, true},
                        Case{{18, 120, 10}, 4, true, false, DType::Float64, true, true}}) {
    // Untiled on 2 threads; tiled on 2, 1, 3 and 5.
    const int threads[] = {2, 2, 1, 3, 5};
    const int runs = c.stages ? 5 : 4;
    std::vector<std::vector<double>> results[5];
    for (int run = 0; run < runs; ++run) {
      const int tiled = run > 0 ? 1 : 0;
      Acoustic p(c.shape, c.so, 32, c.save, c.dtype, c.in_place);
      OperatorOptions o;
      o.passes.time_tiling = tiled ? TimeTiling::Always : TimeTiling::Never;
      o.passes.threads = 2;
      Operator fwd(p.eqs, o);
      EXPECT_EQ(fwd.ccode().find("x_tile") != std::string::npos, tiled == 1) << fwd.ccode();
      // Pipelined stages count their tiles; tiles shared by the team meet at the spinning barrier.
      EXPECT_EQ(fwd.ccode().find("pipe_done_") != std::string::npos, tiled == 1 && c.stages);
      EXPECT_EQ(fwd.ccode().find("tile_barrier_(tile_bar_") != std::string::npos, tiled == 1 && !c.stages);
      const Sweeps sw = run_forward_and_adjoint(p, fwd, o, threads[run], c.time_gather);
      // The level-scatter adjoint writes two levels of u_bar per step: left untiled (and still
      // the same results).
      const std::string &code = sw.adjoint_code;
      EXPECT_EQ(code.find("x_tile") != std::string::npos, tiled == 1 && c.time_gather) << code;
      EXPECT_EQ(code.find("pipe_done_") != std::string::npos, tiled == 1 && c.stages && c.time_gather);
      EXPECT_EQ(code.find("tile_barrier_(tile_bar_") != std::string::npos, tiled == 1 && c.time_gather && !c.stages);
      const auto &r = results[run] = sw.results;
      double peak = 0;
      for (double v : r.back()) peak = std::max(peak, std::fabs(v));
      EXPECT_GT(peak, 0.0);
    }
    for (int run = 1; run < runs; ++run) {
      ASSERT_EQ(results[0].size(), results[run].size());
      for (std::size_t i = 0; i < results[0].size(); ++i)
        EXPECT_EQ(results[0][i], results[run][i])
            << "result " << i << ", shape " << c.shape.size() << "D order " << c.so << ", " << threads[run] << " threads";
    }
  }
}

// Time-tiled kernels list the points of a sparse loop with many by x tile, once per call, so
// that a tile step visits its own (codegen/CodeGenC.cpp): the same results bitwise as untiled
// kernels, with points on the grid's lowest and highest corners (owners beyond the interior),
// several in one cell (their order kept), and spread over every tile; 2D (stages, and tiles
// shared by the team) and 3D (stages), forward and adjoint with the gradient, on 1-3 threads.
TEST(TimeSteppingAdjoint, TimeTiledSparseLoopsVisitEachTilesPointsWithTheSameResults) {
  struct Case {
    std::vector<std::int64_t> shape;
    int so;
    bool in_place, stages;
  };
  for (const Case &c : {Case{{70, 40}, 4, true, true}, Case{{53, 17}, 8, false, false},
                        Case{{37, 40, 9}, 4, true, true}}) {
    const int threads[] = {2, 2, 1, 3};
    std::vector<std::vector<double>> results[4];
    for (int run = 0; run < 4; ++run) {
      const bool tiled = run > 0;
      Acoustic p(c.shape, c.so, 32, false, DType::Float64, c.in_place, 23, 37);
      OperatorOptions o;
      o.passes.time_tiling = tiled ? TimeTiling::Always : TimeTiling::Never;
      o.passes.threads = 2;
      Operator fwd(p.eqs, o);
      // The receivers' loop (37 points) is listed, the sources' (23) too; untiled, neither.
      EXPECT_EQ(fwd.ccode().find("bkt1_list_") != std::string::npos, tiled) << fwd.ccode();
      EXPECT_EQ(fwd.ccode().find("pipe_done_") != std::string::npos, tiled && c.stages);
      const Sweeps sw = run_forward_and_adjoint(p, fwd, o, threads[run]);
      EXPECT_EQ(sw.adjoint_code.find("bkt1_list_") != std::string::npos, tiled);
      const auto &r = results[run] = sw.results;
      for (const auto &v : r) {
        double peak = 0;
        for (double x : v) peak = std::max(peak, std::fabs(x));
        EXPECT_GT(peak, 0.0);
      }
    }
    for (int run = 1; run < 4; ++run) {
      ASSERT_EQ(results[0].size(), results[run].size());
      for (std::size_t i = 0; i < results[0].size(); ++i)
        EXPECT_EQ(results[0][i], results[run][i])
            << "result " << i << ", " << c.shape.size() << "D order " << c.so << ", " << threads[run] << " threads";
    }
  }
}

TEST(TimeSteppingAdjoint, AcousticDotTestInTheGeneralLevelScatterForm) {
  EXPECT_LE(acoustic_dot_test({41}, 8, 60, false), 1e-12);
  EXPECT_LE(acoustic_dot_test({23, 19}, 4, 40, false), 1e-12);
  EXPECT_LE(acoustic_dot_test({13, 12, 11}, 8, 25, false), 1e-12);
}

TEST(TimeSteppingAdjoint, TimeGatherAndLevelScatterFormsGiveTheSameGradient) {
  std::vector<std::vector<double>> grads;
  for (bool time_gather : {true, false}) {
    Acoustic p({21, 18}, 8, 50, true);
    Operator fwd(p.eqs);
    fwd.apply(p.args());
    DiffRequest req;
    req.parameters = {p.m->data()};
    req.time_gather = time_gather;
    DerivativeOperator adj = adjoint(p.eqs, req);
    EXPECT_EQ(adj.op->ccode().find("time-gather") != std::string::npos, time_gather);
    SparseTimeFunction::from_data(adj.of("rec")).set_data(std::span<const double>(p.rec->get_data()));
    adj.apply(p.args());
    grads.push_back(Function::from_data(adj.of("m")).get_data());
  }
  double scale = 0, err = 0;
  for (std::size_t i = 0; i < grads[0].size(); ++i) {
    scale = std::max(scale, std::fabs(grads[1][i]));
    err = std::max(err, std::fabs(grads[0][i] - grads[1][i]));
  }
  ASSERT_GT(scale, 0.0);
  EXPECT_LE(err / scale, 1e-12);
}

TEST(TimeSteppingAdjoint, StaggeredPressureVelocityDotTest) {
  // First-order acoustic system on a staggered grid: two coupled fields, time order 1.
  Grid g({21, 17}, {200.0, 160.0}, DType::Float64);
  const std::int64_t nt = 40;
  TimeFunctionOptions to;
  to.time_order = 1;
  TimeFunction p("p", g, 4, to), vx("vx", g, 4, to), vy("vy", g, 4, to);
  Function b("b", g, 4), k("k", g, 4);
  test::fill_random(b, 1, 0.8, 1.2);
  test::fill_random(k, 2, 2.0, 2.5);
  SparseTimeFunction src("src", g, 1, nt), rec("rec", g, 3, nt);
  src.set_coordinates({100.0, 80.0});
  rec.set_coordinates({30.0, 20.0, 150.0, 40.0, 90.0, 130.0});
  src.set_data(std::span<const double>(test::random_vector(nt, 3)));
  const Expr dtv = g.dt();
  std::vector<Eq> eqs = test::staggered_acoustic(p, vx, vy, b, k, 4);
  eqs.push_back(src.inject(p.forward(), src() * dtv));
  eqs.push_back(rec.interpolate(p()));
  ApplyArgs a;
  a.time_m = 0;
  a.time_M = nt - 2;
  a.scalars["dt"] = 2.0;
  Operator fwd(eqs);
  fwd.apply(a);
  DerivativeOperator adj = adjoint(eqs, {});
  SparseTimeFunction recbar = SparseTimeFunction::from_data(adj.of("rec"));
  recbar.set_data(std::span<const double>(test::random_vector(static_cast<std::size_t>(nt * 3), 4)));
  adj.apply(a);
  double lhs = dot(rec.get_data(), recbar.get_data());
  double rhs = dot(src.get_data(), SparseTimeFunction::from_data(adj.of("src")).get_data());
  ASSERT_NE(lhs, 0.0);
  EXPECT_LE(relative_gap(lhs, rhs), 1e-12);
  // Two loop nests per step (p reads the new velocities at neighbours): time tiling does not
  // apply, even when asked for wherever valid; the kernel stays as it was.
  OperatorOptions tiled;
  tiled.passes.time_tiling = TimeTiling::Always;
  EXPECT_EQ(Operator(eqs, tiled).ccode().find("x_tile"), std::string::npos);
}

// FWI objective and its gradient from a saved forward history and the adjoint.
class Fwi {
 public:
  Fwi(std::vector<std::int64_t> shape, std::int64_t nt) : p_(std::move(shape), 4, nt, true) {
    fwd_ = std::make_unique<Operator>(p_.eqs);
    DiffRequest req;
    req.parameters = {p_.m->data()};
    adj_ = std::make_unique<DerivativeOperator>(adjoint(p_.eqs, req));
    born_ = std::make_unique<DerivativeOperator>(tangent(p_.eqs, req, {}, true));
    // Observed data from a model with a stronger bump.
    m0_ = p_.m->get_data();
    std::vector<double> mt = m0_;
    for (std::size_t i = 0; i < mt.size(); ++i) mt[i] *= 0.97 + 0.06 * std::sin(0.37 * static_cast<double>(i));
    observed_ = modelled(mt);
  }

  Acoustic &problem() { return p_; }
  const std::vector<double> &m0() const { return m0_; }

  std::vector<double> modelled(const std::vector<double> &m) {
    p_.m->set_data(std::span<const double>(m));
    p_.u->fill(0.0);
    fwd_->apply(p_.args());
    return p_.rec->get_data();
  }

  double objective(const std::vector<double> &m) {
    auto d = modelled(m);
    double j = 0;
    for (std::size_t i = 0; i < d.size(); ++i) j += 0.5 * (d[i] - observed_[i]) * (d[i] - observed_[i]);
    return j;
  }

  std::vector<double> gradient(const std::vector<double> &m) {
    auto d = modelled(m);
    for (std::size_t i = 0; i < d.size(); ++i) d[i] -= observed_[i];
    return adjoint_with_seed(m, d);
  }

  // The adjoint linearised at m applied to a receiver seed: J'(m)^T seed, w.r.t. m.
  std::vector<double> adjoint_with_seed(const std::vector<double> &m, const std::vector<double> &seed) {
    modelled(m);  // the forward history the adjoint reads
    SparseTimeFunction::from_data(adj_->of("rec")).set_data(std::span<const double>(seed));
    TimeFunction::from_data(adj_->of("u")).fill(0.0);
    Function::from_data(adj_->of("m")).fill(0.0);
    adj_->apply(p_.args());
    return Function::from_data(adj_->of("m")).get_data();
  }

  // Linearised data along dm (Born), forward and tangent in one operator.
  std::vector<double> born(const std::vector<double> &m, const std::vector<double> &dm) {
    p_.m->set_data(std::span<const double>(m));
    p_.u->fill(0.0);
    Function::from_data(born_->of("m")).set_data(std::span<const double>(dm));
    TimeFunction::from_data(born_->of("u")).fill(0.0);
    born_->apply(p_.args());
    return SparseTimeFunction::from_data(born_->of("rec")).get_data();
  }

 private:
  Acoustic p_;
  std::unique_ptr<Operator> fwd_;
  std::unique_ptr<DerivativeOperator> adj_, born_;
  std::vector<double> m0_, observed_;
};

std::vector<double> axpy(const std::vector<double> &x, double h, const std::vector<double> &d) {
  std::vector<double> r(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) r[i] = x[i] + h * d[i];
  return r;
}

TEST(TimeSteppingAdjoint, TaylorTestOfTheFwiObjective) {
  Fwi f({25, 21}, 60);
  const auto &m0 = f.m0();
  auto dm = test::random_vector(m0.size(), 17, -0.002, 0.002);
  const double j0 = f.objective(m0);
  const auto g = f.gradient(m0);
  const double gdm = dot(g, dm);
  std::vector<double> r1, r2;
  for (int i = 0; i <= 6; ++i) {
    double h = std::ldexp(1.0, -i);
    double j = f.objective(axpy(m0, h, dm));
    r1.push_back(std::fabs(j - j0));
    r2.push_back(std::fabs(j - j0 - h * gdm));
  }
  for (int i = 0; i < 6; ++i) {
    double s1 = std::log2(r1[static_cast<std::size_t>(i)] / r1[static_cast<std::size_t>(i + 1)]);
    double s2 = std::log2(r2[static_cast<std::size_t>(i)] / r2[static_cast<std::size_t>(i + 1)]);
    EXPECT_NEAR(s1, 1.0, 0.1) << "halving " << i;
    EXPECT_NEAR(s2, 2.0, 0.2) << "halving " << i;
  }
}

TEST(TimeSteppingAdjoint, TaylorTestOfTheLinearisedData) {
  Fwi f({25, 21}, 60);
  const auto &m0 = f.m0();
  auto dm = test::random_vector(m0.size(), 19, -0.05, 0.05);
  const auto d0 = f.modelled(m0);
  const auto born = f.born(m0, dm);
  std::vector<double> r1, r2;
  for (int i = 0; i <= 6; ++i) {
    double h = std::ldexp(1.0, -i);
    auto d = f.modelled(axpy(m0, h, dm));
    double a = 0, b = 0;
    for (std::size_t k = 0; k < d.size(); ++k) {
      a += (d[k] - d0[k]) * (d[k] - d0[k]);
      b += (d[k] - d0[k] - h * born[k]) * (d[k] - d0[k] - h * born[k]);
    }
    r1.push_back(std::sqrt(a));
    r2.push_back(std::sqrt(b));
  }
  for (int i = 0; i < 6; ++i) {
    EXPECT_NEAR(std::log2(r1[static_cast<std::size_t>(i)] / r1[static_cast<std::size_t>(i + 1)]), 1.0, 0.1) << i;
    EXPECT_NEAR(std::log2(r2[static_cast<std::size_t>(i)] / r2[static_cast<std::size_t>(i + 1)]), 2.0, 0.2) << i;
  }
}

TEST(TimeSteppingAdjoint, TangentDotTestAgainstAdjoint) {
  // <Born(dm), r> == <dm, J^T r>, both linearised at m0, for random dm and receiver seed r.
  Fwi f({19, 17}, 40);
  const auto &m0 = f.m0();
  auto dm = test::random_vector(m0.size(), 23);
  auto born = f.born(m0, dm);
  auto r = test::random_vector(born.size(), 29);
  auto g = f.adjoint_with_seed(m0, r);
  double lhs = dot(born, r), rhs = dot(dm, g);
  ASSERT_NE(lhs, 0.0);
  EXPECT_LE(relative_gap(lhs, rhs), 1e-12);
}

TEST(TimeSteppingAdjoint, GradientMatchesFiniteDifferences) {
  Fwi f({9, 8}, 30);
  const auto &m0 = f.m0();
  const auto g = f.gradient(m0);
  double gmax = 0;
  for (double v : g) gmax = std::max(gmax, std::fabs(v));
  ASSERT_GT(gmax, 0.0);
  int checked = 0;
  for (std::size_t i = 0; i < m0.size(); i += 1) {
    const double eps = 1e-6 * m0[i];
    auto mp = m0, mm = m0;
    mp[i] += eps;
    mm[i] -= eps;
    double fd = (f.objective(mp) - f.objective(mm)) / (2 * eps);
    EXPECT_NEAR(fd, g[i], 1e-6 * gmax + 1e-6 * std::fabs(g[i])) << "parameter " << i;
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

TEST(TimeSteppingAdjoint, AdjointCodeHasNoAtomicsAndFewLoopNests) {
  Acoustic p({30, 28, 26}, 8, 10, false, DType::Float32);
  Operator fwd(p.eqs);
  DiffRequest req;
  req.parameters = {p.m->data()};
  DerivativeOperator adj = adjoint(p.eqs, req);
  const std::string code = adj.op->ccode();
  EXPECT_EQ(code.find("atomic"), std::string::npos);
  auto count = [](const std::string &s, const std::string &what) {
    std::size_t n = 0;
    for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
    return n;
  };
  // Every dense nest is one `omp parallel for`; sparse loops are serial point loops.
  EXPECT_EQ(count(fwd.ccode(), "#pragma omp parallel for"), 1u);
  EXPECT_LE(count(code, "#pragma omp parallel for"), count(fwd.ccode(), "#pragma omp parallel for") + 1);
  EXPECT_LE(count(code, "for (long"), count(fwd.ccode(), "for (long") + 4);
  EXPECT_NE(code.find("#pragma omp simd"), std::string::npos);
}

// Summed by parts, every term of the gradient's increment carries the one forward level u[t]:
// it is written as u[t] times the rest (one multiplication by it per point, not one per term).
TEST(TimeSteppingAdjoint, GradientIncrementMultipliesByTheForwardLevelOnce) {
  for (bool in_place : {false, true}) {
    Acoustic p({20, 18}, 4, 10, !in_place, DType::Float64, in_place);
    DiffRequest req;
    req.parameters = {p.m->data()};
    req.at_rest = true;
    DerivativeOperator adj = adjoint(p.eqs, req);
    const std::string mbar = adj.of("m")->name();
    int found = 0;
    for (const Eq &e : adj.equations) {
      if (e.kind != EqKind::Increment || field_of(e.lhs)->name() != mbar) continue;
      ++found;
      std::size_t u_reads = 0;
      for (const Expr &a : accesses(e.rhs)) u_reads += field_of(a) == p.u->data().get();
      EXPECT_EQ(u_reads, 1u) << e.str();
      ASSERT_EQ(e.rhs.kind(), NodeKind::Mul) << e.str();
      const auto &f = e.rhs.ops();
      EXPECT_EQ(std::count_if(f.begin(), f.end(), [&](const Expr &x) { return field_of(x) == p.u->data().get(); }), 1)
          << e.str();
    }
    EXPECT_EQ(found, 1) << "in place " << in_place;
  }
}

TEST(TimeSteppingAdjoint, AdjointBitwiseIdenticalWithOneAndTwoThreads) {
  std::vector<std::vector<double>> results;
  for (int threads : {1, 2}) {
    Acoustic p({40, 36, 20}, 8, 20, true, DType::Float32);
    Operator fwd(p.eqs);
    ApplyArgs a = p.args();
    a.threads = threads;
    fwd.apply(a);
    DiffRequest req;
    req.parameters = {p.m->data()};
    DerivativeOperator adj = adjoint(p.eqs, req);
    SparseTimeFunction::from_data(adj.of("rec")).set_data(std::span<const double>(p.rec->get_data()));
    adj.apply(a);
    results.push_back(Function::from_data(adj.of("m")).get_data());
  }
  ASSERT_EQ(results[0].size(), results[1].size());
  EXPECT_TRUE(std::equal(results[0].begin(), results[0].end(), results[1].begin(),
                         [](double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }));
  double norm = 0;
  for (double v : results[0]) norm += v * v;
  EXPECT_GT(norm, 0.0);
}

}  // namespace
}  // namespace tenet
