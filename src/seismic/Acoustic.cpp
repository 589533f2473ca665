#include "seismic/Acoustic.h"

#include <algorithm>
#include <cmath>

#include "fd/Derivatives.h"
#include "fd/Fornberg.h"
#include "seismic/Geometry.h"
#include "support/Error.h"

namespace tenet {

std::vector<std::int64_t> VelocityModel::padded_shape() const {
  std::vector<std::int64_t> s = shape;
  for (auto &n : s) n += 2 * static_cast<std::int64_t>(nbl);
  return s;
}
double VelocityModel::vmin() const { return *std::min_element(velocity.begin(), velocity.end()); }
double VelocityModel::vmax() const { return *std::max_element(velocity.begin(), velocity.end()); }

VelocityModel layered_model(const std::vector<std::int64_t> &shape, const std::vector<double> &spacing, int nbl,
                            int layers, double anomaly) {
  TENET_USER_CHECK(shape.size() == spacing.size() && shape.size() >= 2 && shape.size() <= 3,
                   "layered_model: give 2 or 3 dimensions, with one spacing each");
  TENET_USER_CHECK(nbl >= 0 && layers >= 1, "layered_model: nbl and layers must be positive");
  VelocityModel m;
  m.shape = shape;
  m.spacing = spacing;
  m.nbl = nbl;
  auto ps = m.padded_shape();
  const int nd = static_cast<int>(shape.size());
  std::int64_t total = 1;
  for (auto n : ps) total *= n;
  m.velocity.resize(static_cast<std::size_t>(total));
  const double depth_n = static_cast<double>(shape[static_cast<std::size_t>(nd - 1)]);
  for (std::int64_t i = 0; i < total; ++i) {
    std::int64_t rest = i;
    double pos[3];
    for (int d = nd - 1; d >= 0; --d) {
      pos[d] = static_cast<double>(rest % ps[static_cast<std::size_t>(d)] - nbl);
      rest /= ps[static_cast<std::size_t>(d)];
    }
    double depth = std::clamp(pos[nd - 1] / depth_n, 0.0, 0.999999);
    double v = 1.5 + 2.0 * std::floor(depth * layers) / std::max(1, layers - 1) * (layers > 1 ? 1.0 : 0.0) * 0.5;
    if (anomaly != 0) {
      double r2 = 0, radius = 0.15 * depth_n;
      for (int d = 0; d < nd; ++d) {
        double c = 0.5 * static_cast<double>(shape[static_cast<std::size_t>(d)] - 1);
        if (d == nd - 1) c = 0.55 * static_cast<double>(shape[static_cast<std::size_t>(d)] - 1);
        r2 += (pos[d] - c) * (pos[d] - c);
      }
      if (r2 < radius * radius) v += anomaly;
    }
    m.velocity[static_cast<std::size_t>(i)] = v;
  }
  return m;
}

std::vector<double> ricker(double f0, double dt, std::int64_t nt) {
  TENET_USER_CHECK(f0 > 0 && dt > 0 && nt > 0, "ricker: f0, dt and nt must be positive");
  const double t0 = 1.0 / f0, pi = 3.14159265358979323846;
  std::vector<double> w(static_cast<std::size_t>(nt));
  for (std::int64_t k = 0; k < nt; ++k) {
    double a = pi * f0 * (static_cast<double>(k) * dt - t0);
    w[static_cast<std::size_t>(k)] = (1.0 - 2.0 * a * a) * std::exp(-a * a);
  }
  return w;
}

double critical_dt(const std::vector<double> &spacing, int space_order, double vmax) {
  // Leapfrog is stable while dt^2 v^2 * sum_d rho_d <= 4, where rho_d is the largest
  // eigenvalue of the 1D second-derivative stencil: sum_k |w_k| / h_d^2.
  std::vector<Rational> pts;
  for (int k = -space_order / 2; k <= space_order / 2; ++k) pts.emplace_back(k);
  double wsum = 0;
  for (const Expr &w : fornberg_weights(2, pts, Rational(0))) wsum += std::fabs(w.number_value());
  double rho = 0;
  for (double h : spacing) rho += wsum / (h * h);
  return 2.0 / (vmax * std::sqrt(rho));
}

AcousticProblem::AcousticProblem(const VelocityModel &model, const AcousticOptions &o)
    : grid_([&] {
        auto ps = model.padded_shape();
        std::vector<double> extent, origin;
        for (std::size_t d = 0; d < ps.size(); ++d) {
          extent.push_back(static_cast<double>(ps[d] - 1) * model.spacing[d]);
          origin.push_back(-model.nbl * model.spacing[d]);
        }
        return Grid(ps, extent, o.dtype, origin);
      }()) {
  const int nd = grid_.ndim();
  TENET_USER_CHECK(std::all_of(model.velocity.begin(), model.velocity.end(), [](double v) { return v > 0 && std::isfinite(v); }),
                   "the velocity model has non-positive or non-finite values; velocities must be positive (km/s)");
  TENET_USER_CHECK(std::isfinite(o.f0) && o.f0 > 0 && std::isfinite(o.tn) && o.tn > 0,
                   "f0 and tn must be positive and finite (f0 = ", o.f0, " kHz, tn = ", o.tn, " ms)");
  const double dcrit = critical_dt(model.spacing, o.space_order, model.vmax());
  dt_ = o.dt > 0 ? o.dt : 0.9 * dcrit;
  TENET_USER_CHECK(dt_ <= dcrit, "dt = ", dt_, " ms is unstable for this model (vmax ", model.vmax(),
                   " km/s, space order ", o.space_order, "): use dt <= ", dcrit, " ms");
  nt_ = time_axis(o.tn, dt_).nt;
  TENET_USER_CHECK(nt_ >= 3, "tn = ", o.tn, " ms is shorter than two time steps of ", dt_,
                   " ms: nothing to model; record longer");

  m_ = std::make_unique<Function>("m", grid_, o.space_order);
  damp_ = std::make_unique<Function>("damp", grid_, o.space_order);
  TimeFunctionOptions to;
  to.time_order = 2;
  to.save = o.save;
  to.buffers = o.save > 0 || !o.in_place ? 0 : 2;  // in place: u[t+1] overwrites u[t-1]
  u_ = std::make_unique<TimeFunction>("u", grid_, o.space_order, to);

  // Squared slowness, and a damping layer growing quadratically into the absorbing layer.
  std::vector<double> mv(model.velocity.size()), dv(model.velocity.size());
  const auto ps = model.padded_shape();
  const double L = std::max(1, model.nbl);
  const double sigma_max = 3.0 * model.vmax() * std::log(1000.0) / (2.0 * L * *std::min_element(model.spacing.begin(), model.spacing.end()));
  for (std::size_t i = 0; i < mv.size(); ++i) {
    double v = model.velocity[i];
    mv[i] = 1.0 / (v * v);
    std::size_t rest = i;
    double depth = 0;
    for (int d = nd - 1; d >= 0; --d) {
      auto n = static_cast<std::size_t>(ps[static_cast<std::size_t>(d)]);
      double p = static_cast<double>(rest % n);
      rest /= n;
      double dist = std::max({0.0, model.nbl - p, p - (static_cast<double>(n) - 1 - model.nbl)});
      depth = std::max(depth, dist / L);
    }
    dv[i] = sigma_max * depth * depth * mv[i];
  }
  m_->set_data(std::span<const double>(mv));
  damp_->set_data(std::span<const double>(dv));

  // Geometry.
  std::vector<double> src = o.src, rec = o.rec;
  if (src.empty()) {
    for (int d = 0; d < nd; ++d)
      src.push_back(d == nd - 1 ? 2.0 * model.spacing[static_cast<std::size_t>(d)]
                                : 0.5 * static_cast<double>(model.shape[static_cast<std::size_t>(d)] - 1) * model.spacing[static_cast<std::size_t>(d)]);
  }
  if (rec.empty()) {
    const std::int64_t nx = model.shape[0];
    for (std::int64_t i = 0; i < nx; ++i)
      for (int d = 0; d < nd; ++d) {
        const auto du = static_cast<std::size_t>(d);
        if (d == 0) rec.push_back(static_cast<double>(i) * model.spacing[0]);
        else if (d == nd - 1) rec.push_back(2.0 * model.spacing[du]);
        else rec.push_back(0.5 * static_cast<double>(model.shape[du] - 1) * model.spacing[du]);
      }
  }
  TENET_USER_CHECK(src.size() == static_cast<std::size_t>(nd), "the source position needs ", nd, " coordinates");
  TENET_USER_CHECK(!rec.empty() && rec.size() % static_cast<std::size_t>(nd) == 0, "receiver coordinates come in groups of ", nd);
  src_ = std::make_unique<SparseTimeFunction>("src", grid_, 1, nt_);
  rec_ = std::make_unique<SparseTimeFunction>("rec", grid_, static_cast<std::int64_t>(rec.size()) / nd, nt_);
  src_->set_coordinates(src);
  rec_->set_coordinates(rec);
  src_->set_data(std::span<const double>(ricker(o.f0, dt_, nt_)));

  const TimeFunction &u = *u_;
  Expr pde = Expr(*m_) * dt2(u) - laplace(u) + Expr(*damp_) * tenet::dt(u);
  eqs_.push_back(solve_eq(pde, u.forward(), "acoustic wave equation m*u.dt2 - laplace(u) + damp*u.dt = 0"));
  const Expr dt_sym = grid_.dt();
  eqs_.push_back(src_->inject(u.forward(), (*src_)() * dt_sym * dt_sym / Expr(*m_)));
  eqs_.back().note = "source injection";
  eqs_.push_back(rec_->interpolate(u()));
  eqs_.back().note = "receivers";
  OperatorOptions oo;
  oo.name = "acoustic_forward";
  op_ = std::make_unique<Operator>(eqs_, oo);
}

bool worth_tuning(const Grid &g) { return g.size() >= (std::int64_t{1} << 20); }

PerfReport AcousticProblem::forward(int threads) {
  ApplyArgs a;
  a.time_m = 1;
  a.time_M = nt_ - 2;
  a.scalars["dt"] = dt_;
  a.threads = threads;
  a.autotune = worth_tuning(grid_);
  return op_->apply(a);
}

}  // namespace tenet
