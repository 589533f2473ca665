// The wave equation u_tt = c^2 laplace(u) against the standing wave
// u = cos(c k sqrt(d) t) prod_i sin(k x_i), in 1D, 2D and 3D (float64). The halo is zero (no
// boundary condition), so the error is measured only in the centre [0.4, 0.6]^d at a final
// time T = 0.15, well before the boundary's pollution, travelling at about c, arrives (the
// margin also keeps the discrete precursors, which decay fast beyond c t, negligible).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "CoreTestUtil.h"
#include "fd/Derivatives.h"
#include "operator/Operator.h"

namespace tenet {
namespace {

constexpr double kC = 1.0, kK = 2 * M_PI, kT = 0.15, kLo = 0.4, kHi = 0.6;

double exact(const std::vector<double> &x, double t) {
  double v = std::cos(kC * kK * std::sqrt(static_cast<double>(x.size())) * t);
  for (double xi : x) v *= std::sin(kK * xi);
  return v;
}

// Max error in the centre region after `steps` steps of dt = T / steps on n^ndim points.
double wave_error(int ndim, std::int64_t n, int space_order, std::int64_t steps) {
  Grid g(std::vector<std::int64_t>(static_cast<std::size_t>(ndim), n), std::vector<double>(static_cast<std::size_t>(ndim), 1.0),
         DType::Float64);
  Function m("m", g, space_order);
  TimeFunction u("u", g, space_order);
  m.fill(1.0 / (kC * kC));
  const double dt = kT / static_cast<double>(steps);
  test::fill_interior(u, [](const std::vector<double> &x) { return exact(x, 0.0); }, 0);
  test::fill_interior(u, [dt](const std::vector<double> &x) { return exact(x, dt); }, 1);
  Operator op({Eq(u.forward(), solve(Expr(m) * dt2(u) - laplace(u), u.forward()), "wave")});
  ApplyArgs a;
  a.time_m = 1;
  a.time_M = steps - 1;  // the last step writes time level `steps`
  a.scalars["dt"] = dt;
  a.threads = 1;
  op.apply(a);
  std::vector<double> got = u.get_data(static_cast<int>(steps % u.nbuf()));
  double err = 0;
  for (std::size_t p = 0; p < got.size(); ++p) {
    auto x = test::point_coords(g, static_cast<std::int64_t>(p));
    bool centre = true;
    for (double xi : x) centre &= xi >= kLo - 1e-12 && xi <= kHi + 1e-12;
    if (centre) err = std::max(err, std::fabs(got[p] - exact(x, kT)));
  }
  return err;
}

void expect_order(double coarse, double fine, double refinement, double nominal, const char *what) {
  const double observed = std::log(coarse / fine) / std::log(refinement);
  if (std::getenv("TENET_TEST_VERBOSE")) std::printf("%s: %.3e -> %.3e, order %.3f\n", what, coarse, fine, observed);
  EXPECT_NEAR(observed, nominal, 0.3) << what << ": errors " << coarse << " -> " << fine;
  EXPECT_GT(fine, 1e-11) << what << ": error at round-off level";
  EXPECT_LT(coarse, 0.1) << what << ": not even close to the solution";
}

// Space and time together: order 2 in space with dt proportional to h gives order 2.
TEST(core_WaveEquation, SecondOrderInSpaceAndTime1D) {
  expect_order(wave_error(1, 41, 2, 15), wave_error(1, 81, 2, 30), 2, 2, "1D, so 2, dt ~ h");
}
TEST(core_WaveEquation, SecondOrderInSpaceAndTime2D) {
  expect_order(wave_error(2, 41, 2, 15), wave_error(2, 81, 2, 30), 2, 2, "2D, so 2, dt ~ h");
}
TEST(core_WaveEquation, SecondOrderInSpaceAndTime3D) {
  expect_order(wave_error(3, 21, 2, 8), wave_error(3, 41, 2, 16), 2, 2, "3D, so 2, dt ~ h");
}

// Space order 4 with dt proportional to h^2: fourth order in h.
TEST(core_WaveEquation, FourthOrderInSpace1D) {
  expect_order(wave_error(1, 41, 4, 30), wave_error(1, 81, 4, 120), 2, 4, "1D, so 4, dt ~ h^2");
}
TEST(core_WaveEquation, FourthOrderInSpace2D) {
  expect_order(wave_error(2, 41, 4, 30), wave_error(2, 81, 4, 120), 2, 4, "2D, so 4, dt ~ h^2");
}
TEST(core_WaveEquation, FourthOrderInSpace3D) {
  expect_order(wave_error(3, 21, 4, 15), wave_error(3, 41, 4, 60), 2, 4, "3D, so 4, dt ~ h^2");
}

// Time alone: a fine, high-order grid (space error negligible) and dt halved: order 2.
TEST(core_WaveEquation, SecondOrderInTime1D) {
  expect_order(wave_error(1, 81, 12, 30), wave_error(1, 81, 12, 60), 2, 2, "1D, dt halved");
}
TEST(core_WaveEquation, SecondOrderInTime2D) {
  expect_order(wave_error(2, 81, 12, 30), wave_error(2, 81, 12, 60), 2, 2, "2D, dt halved");
}
TEST(core_WaveEquation, SecondOrderInTime3D) {
  expect_order(wave_error(3, 41, 12, 30), wave_error(3, 41, 12, 60), 2, 2, "3D, dt halved");
}

}  // namespace
}  // namespace tenet
