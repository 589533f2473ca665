// Velocity models: generators, padding, smoothing, validation, points per wavelength.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "seismic/Models.h"
#include "support/Error.h"

using namespace tenet;

namespace {

template <class F>
std::string error_of(F &&f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "<no error>";
}

double mean(const std::vector<double> &v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }

}  // namespace

TEST(seismic_models, CircleHasTheAnomalyInTheMiddleOnly) {
  const VelocityModel m = circle_model({51, 41}, {10, 10}, 5, 2.5, 3.0, 0.2);
  EXPECT_EQ(m.padded_shape(), (std::vector<std::int64_t>{61, 51}));
  const auto v = physical_velocity(m);
  EXPECT_EQ(v[25 * 41 + 20], 3.0);  // centre
  EXPECT_EQ(v[0], 2.5);
  EXPECT_EQ(v[25 * 41 + 20 + 9], 2.5);  // 90 m from the centre, radius 0.2 * 400 m = 80 m
  EXPECT_EQ(v[25 * 41 + 20 + 7], 3.0);  // 70 m
  EXPECT_EQ(m.vmin(), 2.5);
  EXPECT_EQ(m.vmax(), 3.0);
}

TEST(seismic_models, SphereIn3D) {
  const VelocityModel m = circle_model({21, 21, 21}, {10, 10, 10}, 2, 2.0, 2.4, 0.25);
  const auto v = physical_velocity(m);
  EXPECT_EQ(v[(10 * 21 + 10) * 21 + 10], 2.4);
  EXPECT_EQ(v[(10 * 21 + 10) * 21 + 16], 2.0);  // 60 m > 50 m radius
  EXPECT_EQ(v[(10 * 21 + 14) * 21 + 10], 2.4);  // 40 m
  const double frac = static_cast<double>(std::count(v.begin(), v.end(), 2.4)) / static_cast<double>(v.size());
  EXPECT_NEAR(frac, 4.0 / 3.0 * M_PI * 125.0 / (21.0 * 21.0 * 21.0), 0.01);  // a 5-point radius in 21^3 points
}

TEST(seismic_models, CircleRejectsBadSettings) {
  EXPECT_NE(error_of([] { circle_model({10, 10}, {10, 10}, 2, -1, 2, 0.2); }).find("positive"), std::string::npos);
  EXPECT_NE(error_of([] { circle_model({10, 10}, {10, 10}, 2, 2, 3, 0.9); }).find("radius_fraction"), std::string::npos);
  EXPECT_NE(error_of([] { circle_model({10}, {10}, 2, 2, 3, 0.2); }).find("2 or 3 dimensions"), std::string::npos);
}

TEST(seismic_models, MarmousiLikeIsGeologicallyPlausible) {
  const std::int64_t nx = 300, nz = 100;
  const VelocityModel m = marmousi_like_model({nx, nz}, {10, 10}, 10, 1);
  check_model(m);
  const auto v = physical_velocity(m);
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  EXPECT_EQ(*lo, 1.5);  // water
  EXPECT_LE(*hi, 4.5);
  EXPECT_GE(*hi, 4.0);
  // A water layer on top everywhere.
  for (std::int64_t i = 0; i < nx; ++i) EXPECT_EQ(v[static_cast<size_t>(i * nz + 2)], 1.5);
  // Velocity increases with depth on average: compare the mean of each quarter of the depth.
  std::vector<double> quarter(4, 0.0);
  for (std::int64_t i = 0; i < nx; ++i)
    for (std::int64_t k = 0; k < nz; ++k) quarter[static_cast<size_t>(4 * k / nz)] += v[static_cast<size_t>(i * nz + k)];
  for (int q = 0; q < 3; ++q) EXPECT_LT(quarter[static_cast<size_t>(q)], quarter[static_cast<size_t>(q + 1)]);
  // Many distinct layers, and lateral variation (faults and folds) below the unconformity:
  // at 70% depth, velocity changes along x at many places.
  std::vector<double> distinct(v.begin(), v.end());
  std::sort(distinct.begin(), distinct.end());
  EXPECT_GT(std::unique(distinct.begin(), distinct.end()) - distinct.begin(), 30);
  int changes = 0;
  for (std::int64_t i = 1; i < nx; ++i) changes += v[static_cast<size_t>(i * nz + 70)] != v[static_cast<size_t>((i - 1) * nz + 70)];
  EXPECT_GT(changes, 10);
}

TEST(seismic_models, MarmousiLikeIsDeterministicPerSeed) {
  const auto a = marmousi_like_model({120, 60}, {10, 10}, 4, 42);
  const auto b = marmousi_like_model({120, 60}, {10, 10}, 4, 42);
  const auto c = marmousi_like_model({120, 60}, {10, 10}, 4, 43);
  EXPECT_EQ(a.velocity, b.velocity);
  EXPECT_NE(a.velocity, c.velocity);
  EXPECT_NE(error_of([] { marmousi_like_model({10, 10, 10}, {10, 10, 10}, 2); }).find("2D section"), std::string::npos);
}

TEST(seismic_models, MarmousiLikeSamplesTheSameSectionAtAnyResolution) {
  // Twice as fine: every other point of the fine model is the coarse model's point.
  const auto coarse = physical_velocity(marmousi_like_model({101, 51}, {20, 20}, 0, 3));
  const auto fine = physical_velocity(marmousi_like_model({201, 101}, {10, 10}, 0, 3));
  int same = 0;
  for (int i = 0; i < 101; ++i)
    for (int k = 0; k < 51; ++k) same += coarse[static_cast<size_t>(i * 51 + k)] == fine[static_cast<size_t>(2 * i * 101 + 2 * k)];
  EXPECT_GT(same, 101 * 51 * 99 / 100);  // up to rounding at layer boundaries
}

TEST(seismic_models, PaddingReplicatesEdgesAndCropsBack) {
  std::vector<double> phys = {1, 2, 3, 4, 5, 6};  // 2 x 3
  const auto p = pad_edges(phys, {2, 3}, 2);
  ASSERT_EQ(p.size(), 6u * 7u);
  EXPECT_EQ(p[0], 1);             // corner
  EXPECT_EQ(p[6], 3);             // first row, last column -> phys(0, 2)
  EXPECT_EQ(p[5 * 7 + 0], 4);     // last row -> phys(1, 0)
  EXPECT_EQ(p[2 * 7 + 3], 2);     // phys(0, 1)
  EXPECT_EQ(crop_padding(p, {2, 3}, 2), phys);
  const VelocityModel m = from_physical({2, 3}, {5, 5}, 2, phys);
  EXPECT_EQ(m.velocity, p);
  EXPECT_NE(error_of([&] { from_physical({3, 3}, {5, 5}, 2, phys); }).find("6 velocities given but the shape needs 9"),
            std::string::npos);
}

TEST(seismic_models, SmoothingPreservesTheMeanAndLowersTheContrast) {
  const VelocityModel m = circle_model({80, 60}, {10, 10}, 8, 2.0, 3.0, 0.1);  // radius ~6 points
  const VelocityModel s = smooth_model(m, 4.0);
  const auto a = physical_velocity(m), b = physical_velocity(s);
  EXPECT_NEAR(mean(b), mean(a), 0.002 * mean(a));
  EXPECT_LT(s.vmax(), 2.95);
  EXPECT_GT(s.vmax(), 2.5);
  EXPECT_GE(s.vmin(), 2.0 - 1e-12);
  // The absorbing layer is the padding of the smoothed interior.
  EXPECT_EQ(s.velocity, pad_edges(b, s.shape, s.nbl));
  EXPECT_EQ(smooth_model(m, 0).velocity, m.velocity);
  // A constant model stays constant.
  const VelocityModel c = smooth_model(circle_model({20, 20, 20}, {10, 10, 10}, 2, 2.0, 2.0, 0.2), 2.0);
  for (double x : c.velocity) ASSERT_NEAR(x, 2.0, 1e-12);
}

TEST(seismic_models, CheckModelNamesTheFirstBadPoint) {
  std::vector<double> phys(10 * 8, 2.0);
  phys[3 * 8 + 7] = -1.0;
  phys[5 * 8 + 1] = -2.0;
  const VelocityModel m = from_physical({10, 8}, {10, 5}, 3, phys);
  const std::string e = error_of([&] { check_model(m, "--model"); });
  EXPECT_NE(e.find("--model"), std::string::npos) << e;
  EXPECT_NE(e.find("velocity -1 km/s"), std::string::npos) << e;
  EXPECT_NE(e.find("ix = 3, iz = 7"), std::string::npos) << e;
  EXPECT_NE(e.find("x = 30 m, z = 35 m"), std::string::npos) << e;

  phys[3 * 8 + 7] = 2.0;
  phys[5 * 8 + 1] = 2.0;
  phys[0] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(error_of([&] { check_model(from_physical({10, 8}, {10, 5}, 3, phys)); }).find("positive and finite"),
            std::string::npos);
  phys[0] = 1500;
  EXPECT_NE(error_of([&] { check_model(from_physical({10, 8}, {10, 5}, 3, phys)); }).find("m/s"), std::string::npos);

  VelocityModel broken = m;
  broken.velocity.pop_back();
  EXPECT_NE(error_of([&] { check_model(broken); }).find("from_physical"), std::string::npos);
  VelocityModel pad_bad = from_physical({10, 8}, {10, 5}, 3, std::vector<double>(80, 2.0));
  pad_bad.velocity[0] = 0;
  EXPECT_NE(error_of([&] { check_model(pad_bad); }).find("absorbing layer"), std::string::npos);
  EXPECT_NO_THROW(check_model(marmousi_like_model({50, 30}, {10, 10}, 5)));
}

TEST(seismic_models, UnitsConversion) {
  EXPECT_EQ(to_km_per_s({1500, 4500}, "auto", "f")[1], 4.5);
  EXPECT_EQ(to_km_per_s({1.5, 4.5}, "auto", "f")[1], 4.5);
  EXPECT_EQ(to_km_per_s({2000}, "m/s", "f")[0], 2.0);
  EXPECT_EQ(to_km_per_s({2000}, "km/s", "f")[0], 2000);
  EXPECT_NE(error_of([] { to_km_per_s({1}, "ft/s", "model.sgy"); }).find("model.sgy: unknown velocity units 'ft/s'"),
            std::string::npos);
}

TEST(seismic_models, PointsPerWavelength) {
  const VelocityModel m = circle_model({20, 20}, {10, 10}, 2, 1.5, 2.0, 0.2);
  // vmin / (2.5 f0 h) = 1.5 / (2.5 * 0.01 * 10) = 6.
  WavelengthCheck c = points_per_wavelength(m, 0.010, 8);
  EXPECT_NEAR(c.points, 6.0, 1e-12);
  EXPECT_EQ(c.required, 5.0);
  EXPECT_TRUE(c.warning.empty());
  c = points_per_wavelength(m, 0.010, 2);
  EXPECT_EQ(c.required, 10.0);
  EXPECT_FALSE(c.warning.empty());
  c = points_per_wavelength(m, 0.020, 8);
  EXPECT_NEAR(c.points, 3.0, 1e-12);
  EXPECT_NE(c.warning.find("only 3 grid points per shortest wavelength"), std::string::npos) << c.warning;
  EXPECT_NE(c.warning.find("spacing <= 6 m"), std::string::npos) << c.warning;
  EXPECT_NE(c.warning.find("f0 <= 0.012 kHz"), std::string::npos) << c.warning;
  EXPECT_NE(error_of([&] { points_per_wavelength(m, 0, 8); }).find("f0"), std::string::npos);
}
