/** \file GradientTestUtil.h  Small acoustic shots for the gradient tests: a background model,
 * observed data from a model with an anomaly, and bitwise comparison of gradients. */
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "seismic/Acoustic.h"
#include "seismic/Gradient.h"

namespace tenet::test {

struct Shot {
  std::unique_ptr<AcousticProblem> problem;  // background model (no anomaly)
  std::vector<double> observed;              // data of the model with the anomaly
};

inline AcousticOptions shot_options(DType dtype, double tn) {
  AcousticOptions o;
  o.space_order = 4;
  o.f0 = 0.03;
  o.tn = tn;
  o.dtype = dtype;
  return o;
}

/// A 2D shot of `shape` (physical, plus `nbl` absorbing points), with observed data.
inline Shot make_shot(DType dtype, std::vector<std::int64_t> shape = {24, 20}, int nbl = 6, double tn = 90.0,
                      bool in_place = true) {
  const std::vector<double> spacing(shape.size(), 10.0);
  VelocityModel truth = layered_model(shape, spacing, nbl, 3, 0.5);
  VelocityModel background = layered_model(shape, spacing, nbl, 3, 0.0);
  // The same dt for both (the stable one of the faster model).
  AcousticOptions o = shot_options(dtype, tn);
  o.dt = 0.8 * critical_dt(spacing, o.space_order, truth.vmax());
  o.in_place = in_place;
  AcousticProblem observed(truth, o);
  observed.forward();
  Shot s;
  s.observed = observed.rec().get_data();
  s.problem = std::make_unique<AcousticProblem>(background, o);
  return s;
}

/// True when both vectors hold exactly the same bits.
inline bool bitwise_equal(const std::vector<double> &a, const std::vector<double> &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

inline double max_relative_gap(const std::vector<double> &a, const std::vector<double> &b) {
  double scale = 0, gap = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, std::fabs(a[i]));
    gap = std::max(gap, std::fabs(a[i] - b[i]));
  }
  return scale == 0 ? gap : gap / scale;
}

inline double norm(const std::vector<double> &a) {
  double s = 0;
  for (double v : a) s += v * v;
  return std::sqrt(s);
}

}  // namespace tenet::test
