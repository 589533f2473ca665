// The FWI gradient is the derivative of the misfit: central finite differences of J on a tiny
// grid, parameter by parameter; and the checkpointing adapter works for equations other than
// the acoustic example (a first-order-in-time diffusion with a coefficient field).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "GradientTestUtil.h"
#include "fd/Derivatives.h"

namespace tenet {
namespace {

using test::bitwise_equal;
using test::max_relative_gap;

TEST(GradientCheck, MatchesFiniteDifferencesOfTheMisfit) {
  test::Shot shot = test::make_shot(DType::Float64, {12, 10}, 4, 60.0);
  AcousticProblem &p = *shot.problem;
  GradientOptions o;
  o.strategy = GradientStrategy::Revolve;
  o.snapshots = 3;
  FwiGradient g(gradient_problem(p), o);
  const GradientResult r = g.compute(shot.observed);
  ASSERT_GT(r.misfit, 0.0);

  // The points with the largest sensitivity, and a few others spread over the grid.
  std::vector<std::size_t> order(r.gradient.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::fabs(r.gradient[a]) > std::fabs(r.gradient[b]);
  });
  std::vector<std::size_t> points(order.begin(), order.begin() + 3);
  for (std::size_t k : {order.size() / 7, order.size() / 3, order.size() / 2}) points.push_back(order[k]);

  const std::vector<double> m0 = p.m().get_data();
  const double gmax = std::fabs(r.gradient[order[0]]);
  for (std::size_t i : points) {
    const double h = 1e-5 * m0[i];
    std::vector<double> m = m0;
    m[i] = m0[i] + h;
    p.m().set_data(std::span<const double>(m));
    const double jp = g.compute(shot.observed).misfit;
    m[i] = m0[i] - h;
    p.m().set_data(std::span<const double>(m));
    const double jm = g.compute(shot.observed).misfit;
    const double fd = (jp - jm) / (2 * h);
    std::printf("point %zu: gradient %.12g, finite difference %.12g\n", i, r.gradient[i], fd);
    EXPECT_NEAR(fd, r.gradient[i], 1e-7 * gmax + 1e-6 * std::fabs(r.gradient[i])) << "point " << i;
  }
  p.m().set_data(std::span<const double>(m0));
  // The object was reused with other parameters in between: back at m0, the same gradient.
  EXPECT_TRUE(bitwise_equal(g.compute(shot.observed).gradient, r.gradient));
}

// u_t = div(k grad u) + sources, first order in time (two modulo buffers), gradient w.r.t. k.
struct Diffusion {
  Grid grid;
  Function k;
  TimeFunction u;
  SparseTimeFunction src, rec;
  std::int64_t nt = 40;
  std::vector<Eq> eqs;

  explicit Diffusion(DType dtype)
      : grid({20, 18}, {190.0, 170.0}, dtype),
        k("k", grid, 4),
        u("u", grid, 4, [] {
          TimeFunctionOptions t;
          t.time_order = 1;
          return t;
        }()),
        src("src", grid, 1, 40),
        rec("rec", grid, 5, 40) {
    std::vector<double> kv(static_cast<std::size_t>(grid.size()));
    for (std::size_t i = 0; i < kv.size(); ++i) kv[i] = 0.6 + 0.3 * std::sin(0.37 * static_cast<double>(i));
    k.set_data(std::span<const double>(kv));
    src.set_coordinates({95.0, 40.0});
    std::vector<double> sv(static_cast<std::size_t>(nt));
    for (std::size_t i = 0; i < sv.size(); ++i) sv[i] = std::exp(-0.05 * (static_cast<double>(i) - 8) * (static_cast<double>(i) - 8));
    src.set_data(std::span<const double>(sv));
    rec.set_coordinates({20.0, 150.0, 60.0, 150.0, 100.0, 150.0, 140.0, 150.0, 175.0, 140.0});
    const Expr dt = grid.dt();
    eqs.emplace_back(u.forward(), Expr(u) + dt * Expr(k) * laplace(u), "diffusion");
    eqs.push_back(src.inject(u.forward(), src() * dt));
    eqs.push_back(rec.interpolate(u()));
  }

  GradientProblem problem() {
    GradientProblem g;
    g.equations = eqs;
    g.state = {u.data()};
    g.parameter = k.data();
    g.receivers = rec.data();
    g.time_m = 0;
    g.time_M = nt - 2;
    g.scalars["dt"] = 10.0;
    return g;
  }
};

class GenericGradient : public ::testing::TestWithParam<DType> {};

TEST_P(GenericGradient, FirstOrderSystemCheckpointsBitwise) {
  Diffusion d(GetParam());
  std::vector<double> observed(static_cast<std::size_t>(d.nt * 5));
  for (std::size_t i = 0; i < observed.size(); ++i) observed[i] = 0.01 * std::cos(0.3 * static_cast<double>(i));
  const GradientProblem problem = d.problem();
  GradientOptions all;
  all.strategy = GradientStrategy::StoreAll;
  const GradientResult ref = compute_gradient(problem, observed, all);
  ASSERT_GT(test::norm(ref.gradient), 0.0);
  // Time order 1: a checkpoint holds the one level a step reads (not both modulo buffers).
  EXPECT_EQ(ref.state_bytes, d.u.data()->buffer_count() * d.u.data()->element_size());
  for (int s : {2, 4}) {
    GradientOptions o;
    o.strategy = GradientStrategy::Revolve;
    o.snapshots = s;
    const GradientResult r = compute_gradient(problem, observed, o);
    EXPECT_TRUE(bitwise_equal(r.gradient, ref.gradient)) << "S = " << s << ", gap " << max_relative_gap(r.gradient, ref.gradient);
    EXPECT_EQ(r.misfit, ref.misfit);
  }
  const GradientResult full = compute_gradient(problem, observed, GradientOptions{});
  EXPECT_LE(max_relative_gap(full.gradient, ref.gradient), GetParam() == DType::Float64 ? 1e-12 : 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, GenericGradient, ::testing::Values(DType::Float64, DType::Float32),
                         [](const auto &info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace tenet
