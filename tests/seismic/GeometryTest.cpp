// Acquisition geometry, position checks, time axis and the CFL check.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "seismic/Geometry.h"
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

VelocityModel model2d() { return circle_model({101, 51}, {10, 10}, 10, 1.5, 2.5, 0.1); }
VelocityModel model3d() { return circle_model({21, 11, 31}, {10, 20, 10}, 4, 1.5, 2.5, 0.1); }

}  // namespace

TEST(seismic_geometry, FixedSpread2D) {
  const auto r = fixed_spread(model2d(), 4, 20.0);
  ASSERT_EQ(r.size(), 2u * 26u);  // x = 0, 40, ..., 1000
  EXPECT_EQ(r[0], 0.0);
  EXPECT_EQ(r[1], 20.0);
  EXPECT_EQ(r[2], 40.0);
  EXPECT_EQ(r[50], 1000.0);
  EXPECT_NO_THROW(check_positions(model2d(), r, "receivers"));
}

TEST(seismic_geometry, FixedSpread3DCoversTheSurface) {
  const auto r = fixed_spread(model3d(), 5, 0.0);
  ASSERT_EQ(r.size(), 3u * 5u * 3u);  // x: 0, 50, ..., 200; y: 0, 100, 200
  EXPECT_EQ(r[3 * 4 + 1], 100.0);     // (0, 1): y = 5 points * 20 m
  EXPECT_EQ(r[3 * 14 + 0], 200.0);
  EXPECT_EQ(r[3 * 14 + 1], 200.0);
  EXPECT_NO_THROW(check_positions(model3d(), r, "receivers"));
}

TEST(seismic_geometry, SourceLine) {
  const auto s = source_line(model2d(), 4, 15.0);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0], (std::vector<double>{125.0, 15.0}));
  EXPECT_EQ(s[3], (std::vector<double>{875.0, 15.0}));
  const auto s3 = source_line(model3d(), 1, 5.0);
  EXPECT_EQ(s3[0], (std::vector<double>{100.0, 100.0, 5.0}));
}

TEST(seismic_geometry, BadSpreadSettings) {
  EXPECT_NE(error_of([] { fixed_spread(model2d(), 0, 10); }).find(">= 1 grid point"), std::string::npos);
  std::string e = error_of([] { fixed_spread(model2d(), 2, 600); });
  EXPECT_NE(e.find("receiver depth 600 m lies outside the model"), std::string::npos) << e;
  EXPECT_NE(e.find("0 .. 500 m"), std::string::npos) << e;
  EXPECT_NE(error_of([] { source_line(model2d(), 0, 10); }).find("number of sources"), std::string::npos);
  EXPECT_NE(error_of([] { source_line(model2d(), 3, -1); }).find("source depth -1 m"), std::string::npos);
}

TEST(seismic_geometry, PositionOutsideTheModelNamesSettingAndCoordinate) {
  std::vector<double> r = {0, 10, 500, 10, 1200, 10};
  std::string e = error_of([&] { check_positions(model2d(), r, "--receivers"); });
  EXPECT_NE(e.find("--receivers: point 2 (x = 1200, z = 10 m)"), std::string::npos) << e;
  EXPECT_NE(e.find("x = 1200 m is not in [0, 1000] m"), std::string::npos) << e;
  r = {100, -5};
  e = error_of([&] { check_positions(model2d(), r, "--source"); });
  EXPECT_NE(e.find("z = -5 m is not in [0, 500] m"), std::string::npos) << e;
  r = {100, 10, 20};
  EXPECT_NE(error_of([&] { check_positions(model2d(), r, "--source"); }).find("do not form points of 2"),
            std::string::npos);
  r = {100, 250, 10};  // y beyond 200 m in 3D
  e = error_of([&] { check_positions(model3d(), r, "--receivers"); });
  EXPECT_NE(e.find("y = 250 m is not in [0, 200] m"), std::string::npos) << e;
  r = {NAN, 10};
  EXPECT_NE(error_of([&] { check_positions(model2d(), r, "--source"); }).find("outside"), std::string::npos);
}

TEST(seismic_geometry, TimeAxisMatchesTheProblemsStepCount) {
  const TimeAxis a = time_axis(1000.0, 0.5);
  EXPECT_EQ(a.nt, 2001);
  const auto t = a.times();
  EXPECT_EQ(t.front(), 0.0);
  EXPECT_EQ(t.back(), 1000.0);
  EXPECT_EQ(time_axis(10.0, 3.0).nt, 5);  // 0, 3, 6, 9, 12 covers 10
  EXPECT_NE(error_of([] { time_axis(-1, 1); }).find("tn"), std::string::npos);
  EXPECT_NE(error_of([] { time_axis(100, 0); }).find("dt"), std::string::npos);
}

TEST(seismic_geometry, CflChoosesOrRejectsTheTimeStep) {
  const VelocityModel m = model2d();
  const double crit = critical_dt(m.spacing, 8, m.vmax());
  EXPECT_DOUBLE_EQ(checked_dt(m, 8, 0.0), 0.9 * crit);
  EXPECT_EQ(checked_dt(m, 8, 0.5 * crit), 0.5 * crit);
  const std::string e = error_of([&] { checked_dt(m, 8, 2 * crit, "--dt"); });
  EXPECT_NE(e.find("--dt = "), std::string::npos) << e;
  EXPECT_NE(e.find("is unstable"), std::string::npos) << e;
  EXPECT_NE(e.find("use dt <= " + internal::cat(crit) + " ms"), std::string::npos) << e;
  EXPECT_NE(e.find("vmax 2.5 km/s"), std::string::npos) << e;
  EXPECT_NE(error_of([&] { checked_dt(m, 8, -1.0); }).find("must be positive"), std::string::npos);
  EXPECT_NE(error_of([&] { checked_dt(m, 3, 0.0); }).find("space order"), std::string::npos);
  // Higher velocity, smaller stable step.
  EXPECT_LT(checked_dt(circle_model({101, 51}, {10, 10}, 10, 1.5, 5.0, 0.1), 8, 0.0), checked_dt(m, 8, 0.0));
}
