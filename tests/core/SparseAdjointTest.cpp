// inject and interpolate are exact adjoints: <interpolate(u), r> == <u, inject(r)> in float64
// to 1e-12, in 1D, 2D and 3D, on fields with and without time, points at random positions.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "CoreTestUtil.h"
#include "operator/Operator.h"

namespace tenet {
namespace {

std::vector<double> random_vector(std::size_t n, std::mt19937 &rng) {
  std::uniform_real_distribution<double> U(-1.0, 1.0);
  std::vector<double> v(n);
  for (double &x : v) x = U(rng);
  return v;
}

// Random points strictly inside, plus one on the far corner of the grid (the last cell).
std::vector<double> random_points(const Grid &g, std::int64_t npoint, std::mt19937 &rng) {
  std::vector<double> c;
  for (std::int64_t p = 0; p < npoint; ++p)
    for (int d = 0; d < g.ndim(); ++d) {
      const auto du = static_cast<std::size_t>(d);
      std::uniform_real_distribution<double> U(g.origin()[du], g.origin()[du] + g.extent()[du]);
      c.push_back(p == npoint - 1 ? g.origin()[du] + g.extent()[du] : U(rng));
    }
  return c;
}

double dot(const std::vector<double> &a, const std::vector<double> &b) {
  EXPECT_EQ(a.size(), b.size());
  long double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<long double>(a[i]) * b[i];
  return static_cast<double>(s);
}

void dot_test_without_time(std::vector<std::int64_t> shape) {
  std::mt19937 rng(static_cast<unsigned>(shape.size() * 101 + shape[0]));
  std::vector<double> extent;
  for (auto n : shape) extent.push_back(static_cast<double>(n - 1) * 7.5);
  Grid g(shape, extent, DType::Float64, std::vector<double>(shape.size(), -20.0));
  const std::int64_t npoint = 17;
  SparseTimeFunction rec("rec", g, npoint, 1), src("src", g, npoint, 1);
  auto coords = random_points(g, npoint, rng);
  rec.set_coordinates(coords);
  src.set_coordinates(coords);
  Function u("u", g, 2), v("v", g, 2);
  Operator forward({rec.interpolate(u())});
  Operator adjoint({src.inject(v(), src())});

  std::vector<double> ud = random_vector(static_cast<std::size_t>(g.size()), rng);
  std::vector<double> r = random_vector(static_cast<std::size_t>(npoint), rng);
  u.set_data(std::span<const double>(ud));
  src.set_data(std::span<const double>(r));
  v.fill(0.0);
  ApplyArgs a;
  a.time_m = 0;
  a.time_M = 0;
  a.threads = 1;
  forward.apply(a);
  adjoint.apply(a);
  const double lhs = dot(rec.get_data(), r), rhs = dot(ud, v.get_data());
  EXPECT_NEAR(lhs, rhs, 1e-12 * std::fabs(lhs)) << shape.size() << "D: " << lhs << " vs " << rhs;
  EXPECT_GT(std::fabs(lhs), 1e-3);  // not trivially zero
}

void dot_test_with_time(std::vector<std::int64_t> shape) {
  std::mt19937 rng(static_cast<unsigned>(shape.size() * 7 + shape[0]));
  std::vector<double> extent(shape.size(), 1.0);
  Grid g(shape, extent, DType::Float64);
  const std::int64_t npoint = 9, nt = 6;
  SparseTimeFunction rec("rec", g, npoint, nt), src("src", g, npoint, nt);
  auto coords = random_points(g, npoint, rng);
  rec.set_coordinates(coords);
  src.set_coordinates(coords);
  TimeFunctionOptions to;
  to.time_order = 1;
  to.save = nt;
  TimeFunction u("u", g, 2, to), v("v", g, 2, to);
  Operator forward({rec.interpolate(u())});
  Operator adjoint({src.inject(v(), src())});

  std::vector<double> all_u;
  for (int t = 0; t < nt; ++t) {
    auto b = random_vector(static_cast<std::size_t>(g.size()), rng);
    u.set_data(std::span<const double>(b), t);
    all_u.insert(all_u.end(), b.begin(), b.end());
  }
  std::vector<double> r = random_vector(static_cast<std::size_t>(nt * npoint), rng);
  src.set_data(std::span<const double>(r));
  v.fill(0.0);
  ApplyArgs a;
  a.time_m = 0;
  a.time_M = nt - 1;
  a.threads = 1;
  forward.apply(a);
  adjoint.apply(a);
  std::vector<double> all_v;
  for (int t = 0; t < nt; ++t) {
    auto b = v.get_data(t);
    all_v.insert(all_v.end(), b.begin(), b.end());
  }
  const double lhs = dot(rec.get_data(), r), rhs = dot(all_u, all_v);
  EXPECT_NEAR(lhs, rhs, 1e-12 * std::fabs(lhs)) << shape.size() << "D with time: " << lhs << " vs " << rhs;
  EXPECT_GT(std::fabs(lhs), 1e-3);
}

TEST(core_SparseAdjoint, DotTest1D) { dot_test_without_time({37}); }
TEST(core_SparseAdjoint, DotTest2D) { dot_test_without_time({23, 31}); }
TEST(core_SparseAdjoint, DotTest3D) { dot_test_without_time({11, 13, 9}); }
TEST(core_SparseAdjoint, DotTestWithTime1D) { dot_test_with_time({29}); }
TEST(core_SparseAdjoint, DotTestWithTime2D) { dot_test_with_time({17, 19}); }
TEST(core_SparseAdjoint, DotTestWithTime3D) { dot_test_with_time({9, 11, 10}); }

// Interpolation is multilinear: exact for a field linear in every coordinate.
TEST(core_SparseAdjoint, InterpolationIsExactForMultilinearFields) {
  std::mt19937 rng(99);
  Grid g({12, 9, 7}, {11., 16., 3.}, DType::Float64, {1., -2., 0.5});
  Function u("u", g, 2);
  auto lin = [](const std::vector<double> &c) { return 1.5 + 2 * c[0] - 0.5 * c[1] + 3 * c[2] + 0.25 * c[0] * c[1] * c[2]; };
  test::fill_interior(u, lin);
  const std::int64_t npoint = 12;
  SparseTimeFunction rec("rec", g, npoint, 1);
  auto coords = random_points(g, npoint, rng);
  rec.set_coordinates(coords);
  Operator op({rec.interpolate(u())});
  ApplyArgs a;
  a.time_M = 0;
  op.apply(a);
  for (std::int64_t p = 0; p < npoint; ++p) {
    std::vector<double> c(coords.begin() + p * 3, coords.begin() + p * 3 + 3);
    EXPECT_NEAR(rec.value(0, p), lin(c), 1e-11) << "point " << p;
  }
}

}  // namespace
}  // namespace tenet
