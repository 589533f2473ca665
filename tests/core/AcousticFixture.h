/** \file AcousticFixture.h  The isotropic acoustic example (damped, Ricker source, a line of
 * receivers) in 1D, 2D or 3D, float32 or float64, for the code-structure and thread tests. */
#pragma once

#include <cmath>
#include <memory>
#include <vector>

#include "fd/Derivatives.h"
#include "operator/Operator.h"

namespace tenet::test {

/// A parameter of the acoustic tests: dimensions, points per dimension, precision.
struct AcousticCase {
  int ndim;
  std::int64_t n;
  DType dtype;
};

struct AcousticSetup {
  Grid g;
  Function m, damp;
  TimeFunction u;
  SparseTimeFunction src, rec;
  std::vector<Eq> eqs;
  static constexpr std::int64_t kSteps = 30;

  static std::vector<std::int64_t> shape_for(int ndim, std::int64_t n) { return std::vector<std::int64_t>(static_cast<std::size_t>(ndim), n); }

  static TimeFunctionOptions with_buffers(int buffers) {
    TimeFunctionOptions o;
    o.buffers = buffers;
    return o;
  }

  /// `buffers`: u's modulo buffers (0: time_order + 1; 2: in place).
  AcousticSetup(int ndim, std::int64_t n, DType dtype, int order = 8, int buffers = 0)
      : g(shape_for(ndim, n), std::vector<double>(static_cast<std::size_t>(ndim), 10.0 * static_cast<double>(n - 1)), dtype),
        m("m", g, order),
        damp("damp", g, order),
        u("u", g, order, with_buffers(buffers)),
        src("src", g, 1, kSteps + 2),
        rec("rec", g, 7, kSteps + 2) {
    const double h = g.spacing()[0];
    m.fill(1.0 / (1.5 * 1.5));
    // a damping layer growing towards every boundary
    std::vector<double> dv(static_cast<std::size_t>(g.size()));
    for (std::size_t p = 0; p < dv.size(); ++p) {
      std::int64_t r = static_cast<std::int64_t>(p);
      double d = 0;
      for (int k = ndim - 1; k >= 0; --k) {
        std::int64_t i = r % n;
        r /= n;
        std::int64_t edge = std::min(i, n - 1 - i);
        if (edge < 5) d += 0.02 * static_cast<double>(5 - edge);
      }
      dv[p] = d;
    }
    damp.set_data(std::span<const double>(dv));
    std::vector<double> sc(static_cast<std::size_t>(ndim), 0.43 * g.extent()[0]);
    src.set_coordinates(sc);
    std::vector<double> rc;
    for (int p = 0; p < 7; ++p)
      for (int d = 0; d < ndim; ++d) rc.push_back(d == 0 ? (0.1 + 0.13 * p) * g.extent()[0] + 0.3 * h : 0.61 * g.extent()[0]);
    rec.set_coordinates(rc);
    const double f0 = 0.015, t0 = 1.0 / f0;
    for (std::int64_t t = 0; t < src.nt(); ++t) {
      double a = M_PI * f0 * (static_cast<double>(t) * dt_value() * 8 - t0 / 4);
      src.set_value(t, 0, (1 - 2 * a * a) * std::exp(-a * a));
    }
    Expr pde = Expr(m) * dt2(u) - laplace(u) + Expr(damp) * dt(u);
    eqs = {Eq(u.forward(), solve(pde, u.forward()), "acoustic"),
           src.inject(u.forward(), src() * g.dt() * g.dt() / m), rec.interpolate(u())};
  }
  double dt_value() const { return 0.3 * g.spacing()[0] * 1.5 / 1.5 / std::sqrt(static_cast<double>(g.ndim())); }
  ApplyArgs args(int threads) const {
    ApplyArgs a;
    a.time_m = 1;
    a.time_M = kSteps;
    a.scalars["dt"] = dt_value();
    a.threads = threads;
    return a;
  }
};

}  // namespace tenet::test
