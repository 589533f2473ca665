#include "seismic/Geometry.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "support/Error.h"

namespace tenet {
namespace {

using std::int64_t;
using std::size_t;

const char *axis_name(size_t d, size_t nd) {
  if (d == nd - 1) return "z";
  return d == 0 ? "x" : "y";
}

double extent(const VelocityModel &m, size_t d) { return static_cast<double>(m.shape[d] - 1) * m.spacing[d]; }

void check_dims(const VelocityModel &m, const char *fn) {
  TENET_USER_CHECK((m.shape.size() == 2 || m.shape.size() == 3) && m.spacing.size() == m.shape.size(), fn,
                   ": the model needs 2 or 3 dimensions with one spacing each");
}

void check_depth(const VelocityModel &m, double depth, const char *fn, const char *setting) {
  const size_t z = m.shape.size() - 1;
  TENET_USER_CHECK(std::isfinite(depth) && depth >= 0 && depth <= extent(m, z), fn, ": the ", setting, " depth ",
                   depth, " m lies outside the model, whose depth is 0 .. ", extent(m, z), " m");
}

}  // namespace

std::vector<double> fixed_spread(const VelocityModel &model, int64_t every, double depth) {
  check_dims(model, "fixed_spread");
  TENET_USER_CHECK(every >= 1, "fixed_spread: the receiver interval must be >= 1 grid point, not ", every);
  check_depth(model, depth, "fixed_spread", "receiver");
  const size_t nd = model.shape.size();
  std::vector<double> out;
  if (nd == 2) {
    for (int64_t i = 0; i < model.shape[0]; i += every) {
      out.push_back(static_cast<double>(i) * model.spacing[0]);
      out.push_back(depth);
    }
  } else {
    for (int64_t i = 0; i < model.shape[0]; i += every)
      for (int64_t j = 0; j < model.shape[1]; j += every) {
        out.push_back(static_cast<double>(i) * model.spacing[0]);
        out.push_back(static_cast<double>(j) * model.spacing[1]);
        out.push_back(depth);
      }
  }
  return out;
}

std::vector<std::vector<double>> source_line(const VelocityModel &model, int64_t count, double depth) {
  check_dims(model, "source_line");
  TENET_USER_CHECK(count >= 1, "source_line: the number of sources must be >= 1, not ", count);
  check_depth(model, depth, "source_line", "source");
  const size_t nd = model.shape.size();
  std::vector<std::vector<double>> out;
  for (int64_t i = 0; i < count; ++i) {
    std::vector<double> p;
    p.push_back((static_cast<double>(i) + 0.5) * extent(model, 0) / static_cast<double>(count));
    if (nd == 3) p.push_back(0.5 * extent(model, 1));
    p.push_back(depth);
    out.push_back(std::move(p));
  }
  return out;
}

void check_positions(const VelocityModel &model, const std::vector<double> &coords, const std::string &setting) {
  check_dims(model, "check_positions");
  const size_t nd = model.shape.size();
  TENET_USER_CHECK(coords.size() % nd == 0, setting, ": ", coords.size(), " coordinates do not form points of ", nd,
                   " (", nd == 2 ? "x, z" : "x, y, z", ")");
  std::string box;
  for (size_t d = 0; d < nd; ++d) box += internal::cat(d ? " x " : "", "[0, ", extent(model, d), "]");
  for (size_t i = 0; i < coords.size() / nd; ++i)
    for (size_t d = 0; d < nd; ++d) {
      const double v = coords[i * nd + d];
      if (std::isfinite(v) && v >= 0 && v <= extent(model, d)) continue;
      std::string point;
      for (size_t e = 0; e < nd; ++e) point += internal::cat(e ? ", " : "", axis_name(e, nd), " = ", coords[i * nd + e]);
      throw Error(internal::cat(setting, ": point ", i, " (", point, " m) lies outside the model: ", axis_name(d, nd),
                                " = ", v, " m is not in [0, ", extent(model, d), "] m (the model spans ", box,
                                " m); move it inside"));
    }
}

std::vector<double> TimeAxis::times() const {
  std::vector<double> t(static_cast<size_t>(nt));
  for (size_t k = 0; k < t.size(); ++k) t[k] = static_cast<double>(k) * dt;
  return t;
}

TimeAxis time_axis(double tn, double dt) {
  TENET_USER_CHECK(std::isfinite(tn) && tn > 0, "the recording time tn must be positive (ms), not ", tn);
  TENET_USER_CHECK(std::isfinite(dt) && dt > 0, "the time step dt must be positive (ms), not ", dt);
  TimeAxis a;
  a.dt = dt;
  a.tn = tn;
  // Beyond 10^8 steps (and past 2^63, where the count wraps negative) tn or dt is mistyped.
  const double steps = std::ceil(tn / dt);
  TENET_USER_CHECK(steps <= 1e8, "tn / dt = ", tn, " ms / ", dt, " ms is ", steps,
                   " time steps, more than 10^8; check the recording time, the time step and the grid spacing "
                   "(dt follows from the spacing and the fastest velocity)");
  a.nt = static_cast<int64_t>(steps) + 1;
  return a;
}

double checked_dt(const VelocityModel &model, int space_order, double requested_dt, const std::string &setting) {
  check_dims(model, "checked_dt");
  TENET_USER_CHECK(space_order >= 2 && space_order % 2 == 0, "the space order must be even and >= 2, not ",
                   space_order);
  TENET_USER_CHECK(std::isfinite(requested_dt) && requested_dt >= 0, setting, " = ", requested_dt,
                   " ms: the time step must be positive (or 0 to choose it from the CFL condition)");
  const double vmax = model.vmax();
  const double dcrit = critical_dt(model.spacing, space_order, vmax);
  if (requested_dt == 0) return 0.9 * dcrit;
  TENET_USER_CHECK(requested_dt <= dcrit, setting, " = ", requested_dt, " ms is unstable for this model (vmax ", vmax,
                   " km/s, smallest spacing ", *std::min_element(model.spacing.begin(), model.spacing.end()), " m, space order ",
                   space_order, "): use dt <= ", dcrit, " ms, or 0 to let Tenet choose ", 0.9 * dcrit, " ms");
  return requested_dt;
}

}  // namespace tenet
