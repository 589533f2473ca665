// Fornberg weights against published tables (Fornberg, Math. Comp. 51, 1988, Tables 1-3),
// exactly as rationals.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "CoreTestUtil.h"
#include "fd/Fornberg.h"

namespace tenet {
namespace {

using Q = std::pair<std::int64_t, std::int64_t>;

std::vector<Rational> ints(int lo, int hi) {
  std::vector<Rational> p;
  for (int i = lo; i <= hi; ++i) p.emplace_back(i);
  return p;
}

std::vector<Rational> halves(std::vector<std::pair<int, int>> pts) {
  std::vector<Rational> p;
  for (auto [n, d] : pts) p.push_back(*Rational::make(n, d));
  return p;
}

void expect_exact(const std::vector<Expr> &w, const std::vector<Q> &want, const std::string &what) {
  ASSERT_EQ(w.size(), want.size()) << what;
  for (std::size_t i = 0; i < w.size(); ++i) {
    ASSERT_TRUE(w[i].is_exact()) << what << " weight " << i << " = " << w[i].str() << " is not an exact rational";
    EXPECT_EQ(w[i].rational().num, want[i].first) << what << " weight " << i << " = " << w[i].str();
    EXPECT_EQ(w[i].rational().den, want[i].second) << what << " weight " << i << " = " << w[i].str();
  }
}

TEST(core_Fornberg, CentredFirstDerivative) {
  expect_exact(fornberg_weights(1, ints(-1, 1), 0), {{-1, 2}, {0, 1}, {1, 2}}, "order 2");
  expect_exact(fornberg_weights(1, ints(-2, 2), 0), {{1, 12}, {-2, 3}, {0, 1}, {2, 3}, {-1, 12}}, "order 4");
  expect_exact(fornberg_weights(1, ints(-3, 3), 0), {{-1, 60}, {3, 20}, {-3, 4}, {0, 1}, {3, 4}, {-3, 20}, {1, 60}},
               "order 6");
  expect_exact(fornberg_weights(1, ints(-4, 4), 0),
               {{1, 280}, {-4, 105}, {1, 5}, {-4, 5}, {0, 1}, {4, 5}, {-1, 5}, {4, 105}, {-1, 280}}, "order 8");
}

TEST(core_Fornberg, CentredSecondDerivative) {
  expect_exact(fornberg_weights(2, ints(-1, 1), 0), {{1, 1}, {-2, 1}, {1, 1}}, "order 2");
  expect_exact(fornberg_weights(2, ints(-2, 2), 0), {{-1, 12}, {4, 3}, {-5, 2}, {4, 3}, {-1, 12}}, "order 4");
  expect_exact(fornberg_weights(2, ints(-3, 3), 0),
               {{1, 90}, {-3, 20}, {3, 2}, {-49, 18}, {3, 2}, {-3, 20}, {1, 90}}, "order 6");
  expect_exact(fornberg_weights(2, ints(-4, 4), 0),
               {{-1, 560}, {8, 315}, {-1, 5}, {8, 5}, {-205, 72}, {8, 5}, {-1, 5}, {8, 315}, {-1, 560}}, "order 8");
}

TEST(core_Fornberg, CentredHigherDerivatives) {
  // Table 1, third and fourth derivatives, accuracy 2
  expect_exact(fornberg_weights(3, ints(-2, 2), 0), {{-1, 2}, {1, 1}, {0, 1}, {-1, 1}, {1, 2}}, "d3 order 2");
  expect_exact(fornberg_weights(4, ints(-2, 2), 0), {{1, 1}, {-4, 1}, {6, 1}, {-4, 1}, {1, 1}}, "d4 order 2");
}

TEST(core_Fornberg, OneSidedFirstDerivative) {
  // Table 2 (forward differences)
  expect_exact(fornberg_weights(1, ints(0, 1), 0), {{-1, 1}, {1, 1}}, "order 1");
  expect_exact(fornberg_weights(1, ints(0, 2), 0), {{-3, 2}, {2, 1}, {-1, 2}}, "order 2");
  expect_exact(fornberg_weights(1, ints(0, 3), 0), {{-11, 6}, {3, 1}, {-3, 2}, {1, 3}}, "order 3");
  expect_exact(fornberg_weights(1, ints(0, 4), 0), {{-25, 12}, {4, 1}, {-3, 1}, {4, 3}, {-1, 4}}, "order 4");
  // backward differences are the mirror image with opposite signs
  expect_exact(fornberg_weights(1, ints(-2, 0), 0), {{1, 2}, {-2, 1}, {3, 2}}, "backward order 2");
}

TEST(core_Fornberg, OneSidedSecondDerivative) {
  expect_exact(fornberg_weights(2, ints(0, 2), 0), {{1, 1}, {-2, 1}, {1, 1}}, "order 1");
  expect_exact(fornberg_weights(2, ints(0, 3), 0), {{2, 1}, {-5, 1}, {4, 1}, {-1, 1}}, "order 2");
}

TEST(core_Fornberg, StaggeredFirstDerivative) {
  // Table 3 (half-way points), derivative at 0 from points at +-1/2, +-3/2, ...
  expect_exact(fornberg_weights(1, halves({{-1, 2}, {1, 2}}), 0), {{-1, 1}, {1, 1}}, "order 2");
  expect_exact(fornberg_weights(1, halves({{-3, 2}, {-1, 2}, {1, 2}, {3, 2}}), 0),
               {{1, 24}, {-9, 8}, {9, 8}, {-1, 24}}, "order 4");
  expect_exact(fornberg_weights(1, halves({{-5, 2}, {-3, 2}, {-1, 2}, {1, 2}, {3, 2}, {5, 2}}), 0),
               {{-3, 640}, {25, 384}, {-75, 64}, {75, 64}, {-25, 384}, {3, 640}}, "order 6");
  // the same stencil on integer points evaluated at x0 = 1/2 (how staggered derivatives are built)
  expect_exact(fornberg_weights(1, ints(-1, 2), *Rational::make(1, 2)), {{1, 24}, {-9, 8}, {9, 8}, {-1, 24}},
               "order 4 at 1/2");
}

TEST(core_Fornberg, InterpolationWeightsAtMidpoint) {
  // zeroth derivative = Lagrange interpolation
  expect_exact(fornberg_weights(0, ints(0, 1), *Rational::make(1, 2)), {{1, 2}, {1, 2}}, "linear");
  expect_exact(fornberg_weights(0, ints(-1, 2), *Rational::make(1, 2)), {{-1, 16}, {9, 16}, {9, 16}, {-1, 16}},
               "cubic");
}

// Order 16 (17 points) stays exact, weights are antisymmetric/symmetric, and they sum to 0.
TEST(core_Fornberg, HighOrderStaysExactAndConsistent) {
  for (int deriv : {1, 2}) {
    auto w = fornberg_weights(deriv, ints(-8, 8), 0);
    ASSERT_EQ(w.size(), 17u);
    Expr sum = 0, moment = 0, second = 0;
    for (std::size_t j = 0; j < w.size(); ++j) {
      ASSERT_TRUE(w[j].is_exact()) << w[j].str();
      const std::int64_t xj = static_cast<std::int64_t>(j) - 8;
      Expr mirror = w[16 - j];
      EXPECT_EQ(w[j], deriv == 1 ? -mirror : mirror);
      sum += w[j];
      moment += w[j] * Expr(xj);
      second += w[j] * Expr(xj * xj);
    }
    EXPECT_TRUE(sum.is_zero());
    EXPECT_EQ(moment, Expr(deriv == 1 ? 1 : 0));
    EXPECT_EQ(second, Expr(deriv == 2 ? 2 : 0));
  }
  auto w2 = fornberg_weights(2, ints(-8, 8), 0);
  // centre weight of the order-16 second derivative: -2 * sum_{k=1}^{8} 1/k^2 (closed form)
  EXPECT_EQ(w2[8], rational(-1077749, 352800));
}

TEST(core_Fornberg, DoubleVersionAgreesWithRationals) {
  std::vector<double> pts = {-2.5, -1.5, -0.5, 0.5, 1.5, 2.5};
  auto wd = fornberg_weights_double(1, pts, 0.0);
  std::vector<double> want = {-3.0 / 640, 25.0 / 384, -75.0 / 64, 75.0 / 64, -25.0 / 384, 3.0 / 640};
  ASSERT_EQ(wd.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(wd[i], want[i], 1e-14);
}

TEST(core_Fornberg, TooFewOrRepeatedPointsAreErrors) {
  std::string msg = test::error_message([] { fornberg_weights(2, ints(0, 1), 0); });
  EXPECT_NE(msg.find("2"), std::string::npos) << msg;
  msg = test::error_message([] { fornberg_weights(1, {Rational(0), Rational(1), Rational(1)}, 0); });
  EXPECT_NE(msg.find("distinct"), std::string::npos) << msg;
}

}  // namespace
}  // namespace tenet
