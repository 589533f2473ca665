// The bound-constrained optimisers on problems with known minima.
#include <gtest/gtest.h>

#include <cmath>

#include "seismic/Optimize.h"
#include "support/Error.h"

namespace tenet {
namespace {

double rosenbrock(const std::vector<double> &x, std::vector<double> &g) {
  double f = 0;
  std::fill(g.begin(), g.end(), 0.0);
  for (std::size_t i = 0; i + 1 < x.size(); ++i) {
    double a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
    f += 100 * a * a + b * b;
    g[i] += -400 * a * x[i] - 2 * b;
    g[i + 1] += 200 * a;
  }
  return f;
}

TEST(fwi_Optimize, LbfgsFindsTheRosenbrockMinimum) {
  OptimizeOptions o;
  o.iterations = 200;
  o.first_step = 0.1;
  auto r = minimize(rosenbrock, {-1.2, 1.0, -0.5, 0.8}, {}, {}, o);
  for (double v : r.x) EXPECT_NEAR(v, 1.0, 1e-4);
  for (std::size_t i = 1; i < r.objectives.size(); ++i) EXPECT_LE(r.objectives[i], r.objectives[i - 1]);
}

// A first step 20x too long: the line search interpolates the next trial (the minimum of the
// parabola through f, its slope and the failed trial, kept in [0.1, 0.5] of the step) and
// accepts on the third evaluation; halving would take five (each one is a whole FWI gradient).
TEST(fwi_Optimize, LineSearchInterpolatesAfterAnOvershoot) {
  OptimizeOptions o;
  o.method = OptimizeOptions::Method::GradientDescent;
  o.iterations = 1;
  o.first_step = 20.0;  // moves x by 20 x |x0|: from 1 to -19 on f = x^2 / 2
  int calls = 0;
  auto f = [&](const std::vector<double> &x, std::vector<double> &g) {
    ++calls;
    g = {x[0]};
    return 0.5 * x[0] * x[0];
  };
  auto r = minimize(f, {1.0}, {}, {}, o);
  ASSERT_EQ(r.objectives.size(), 2u) << r.stop_reason;
  EXPECT_LT(r.objectives[1], r.objectives[0]);
  EXPECT_EQ(r.evaluations, calls);
  EXPECT_LE(r.evaluations - 1, 3) << "line-search evaluations";
}

TEST(fwi_Optimize, BoundsAreRespectedAndActiveAtTheSolution) {
  // Minimum of |x - c|^2 with c outside the box lies on the box.
  const std::vector<double> c{2.0, -3.0, 0.5};
  auto f = [&](const std::vector<double> &x, std::vector<double> &g) {
    double s = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      g[i] = 2 * (x[i] - c[i]);
      s += (x[i] - c[i]) * (x[i] - c[i]);
    }
    return s;
  };
  for (auto method : {OptimizeOptions::Method::LBFGS, OptimizeOptions::Method::GradientDescent}) {
    OptimizeOptions o;
    o.method = method;
    o.iterations = 100;
    auto r = minimize(f, {0, 0, 0}, {-1, -1, -1}, {1, 1, 1}, o, [&](const IterationReport &, const std::vector<double> &x) {
      for (double v : x) EXPECT_TRUE(v >= -1 && v <= 1);
      return true;
    });
    EXPECT_NEAR(r.x[0], 1.0, 1e-6);
    EXPECT_NEAR(r.x[1], -1.0, 1e-6);
    EXPECT_NEAR(r.x[2], 0.5, 1e-4);
  }
}

TEST(fwi_Optimize, CallbackCanStopAndBadInputIsRejected) {
  OptimizeOptions o;
  o.iterations = 50;
  int calls = 0;
  auto r = minimize(rosenbrock, {-1.2, 1.0}, {}, {}, o, [&](const IterationReport &rep, const std::vector<double> &) {
    ++calls;
    return rep.iteration < 3;
  });
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(r.stop_reason, "stopped by the caller");
  EXPECT_THROW(minimize(rosenbrock, {0.0, 0.0}, {1.0}, {}, o), Error);
  EXPECT_THROW(minimize(rosenbrock, {0.0, 0.0}, {1.0, 1.0}, {0.0, 0.0}, o), Error);
}

// An objective that leaves the gradient the wrong size was read past its end; one starting at
// 0 without bounds had no step scale and stopped at once.
TEST(fwi_Optimize, GradientOfTheWrongSizeAndAStartAtZero) {
  OptimizeOptions o;
  o.iterations = 20;
  auto resized = [](const std::vector<double> &x, std::vector<double> &g) {
    g.assign(x.size() + 3, 1.0);
    return x[0] * x[0];
  };
  try {
    minimize(resized, {1, 2, 3}, {}, {}, o);
    ADD_FAILURE() << "no error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("6 derivatives for 3 variables"), std::string::npos) << e.what();
  }
  auto f = [](const std::vector<double> &x, std::vector<double> &g) {
    g = {2 * (x[0] - 1)};
    return (x[0] - 1) * (x[0] - 1);
  };
  const OptimizeResult r = minimize(f, {0.0}, {}, {}, o);
  EXPECT_NEAR(r.x[0], 1.0, 1e-6) << r.stop_reason;
}

}  // namespace
}  // namespace tenet
