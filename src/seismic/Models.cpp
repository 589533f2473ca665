#include "seismic/Models.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>

#include "support/Error.h"
#include "support/Shape.h"

namespace tenet {
namespace {

using std::int64_t;
using std::size_t;

constexpr double kPi = 3.14159265358979323846;

int64_t product(const std::vector<int64_t> &shape) { return value_count(shape, "model"); }

void check_grid(const std::vector<int64_t> &shape, const std::vector<double> &spacing, int nbl, const char *fn) {
  TENET_USER_CHECK(shape.size() >= 2 && shape.size() <= 3, fn, ": give 2 or 3 dimensions (x, z or x, y, z), not ",
                   shape.size());
  TENET_USER_CHECK(spacing.size() == shape.size(), fn, ": give one spacing per dimension (", shape.size(),
                   "), not ", spacing.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    TENET_USER_CHECK(shape[d] >= 2, fn, ": every dimension needs at least 2 points; dimension ", d, " has ",
                     shape[d]);
    TENET_USER_CHECK(spacing[d] > 0 && std::isfinite(spacing[d]), fn, ": the spacing of dimension ", d,
                     " must be positive (m), not ", spacing[d]);
  }
  TENET_USER_CHECK(nbl >= 0 && nbl <= 100000, fn, ": the absorbing layer width nbl must be between 0 and 100000 points, not ",
                   nbl);
  std::vector<int64_t> padded(shape);
  for (auto &n : padded) n += 2 * static_cast<int64_t>(nbl);
  (void)value_count(padded, fn);
}

const char *axis_name(size_t d, size_t nd) {
  if (d == nd - 1) return "z";
  return d == 0 ? "x" : "y";
}

/// Fills a physical array by calling f(position in m [ndim]) at every point.
template <class F>
std::vector<double> sample(const std::vector<int64_t> &shape, const std::vector<double> &spacing, F &&f) {
  const size_t nd = shape.size();
  std::vector<double> out(static_cast<size_t>(product(shape)));
  std::vector<double> pos(nd);
  for (size_t i = 0; i < out.size(); ++i) {
    size_t rest = i;
    for (size_t d = nd; d-- > 0;) {
      pos[d] = static_cast<double>(rest % static_cast<size_t>(shape[d])) * spacing[d];
      rest /= static_cast<size_t>(shape[d]);
    }
    out[i] = f(pos);
  }
  return out;
}

/// Uniform doubles in [0, 1) from the raw bits of mt19937_64, whose sequence the standard fixes
/// (std::uniform_real_distribution is implementation-defined, so it is not used).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : gen_(seed) {}
  double uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

 private:
  std::mt19937_64 gen_;
};

/// A stack of layers along a stratigraphic coordinate: tops[k] <= s < tops[k+1] has velocity v[k].
struct LayerStack {
  std::vector<double> tops, v;
  double at(double s) const {
    auto it = std::upper_bound(tops.begin(), tops.end(), s);
    if (it == tops.begin()) return v.front();
    return v[static_cast<size_t>(it - tops.begin()) - 1];
  }
};

/// A normal fault: the fault plane is at x = x0 + z * run + curve * z^2 (listric: it flattens
/// with depth when run and curve have the same sign). The hanging wall (the side the plane dips
/// toward) has its layers moved down by `throw_` and rotated: they dip by `tilt` more per unit
/// of distance from the fault, up to `reach`.
struct Fault {
  double x0, run, curve, throw_, tilt, reach;
  /// How far down the layers at (x, z) have moved (0 on the footwall).
  double offset(double x, double z) const {
    const double d = (x - (x0 + z * run + curve * z * z)) * (run > 0 ? 1 : -1);
    if (d <= 0) return 0;
    return throw_ + tilt * std::min(d, reach);
  }
};

}  // namespace

VelocityModel circle_model(const std::vector<int64_t> &shape, const std::vector<double> &spacing, int nbl,
                           double v_background, double v_anomaly, double radius_fraction) {
  check_grid(shape, spacing, nbl, "circle_model");
  TENET_USER_CHECK(v_background > 0 && v_anomaly > 0 && std::isfinite(v_background) && std::isfinite(v_anomaly),
                   "circle_model: velocities must be positive (km/s); got background ", v_background, ", anomaly ",
                   v_anomaly);
  TENET_USER_CHECK(radius_fraction > 0 && radius_fraction <= 0.5,
                   "circle_model: radius_fraction must be in (0, 0.5] (a fraction of the smallest extent), not ",
                   radius_fraction);
  double extent = std::numeric_limits<double>::max();
  for (size_t d = 0; d < shape.size(); ++d) extent = std::min(extent, static_cast<double>(shape[d] - 1) * spacing[d]);
  const double r = radius_fraction * extent;
  auto values = sample(shape, spacing, [&](const std::vector<double> &p) {
    double r2 = 0;
    for (size_t d = 0; d < p.size(); ++d) {
      const double c = 0.5 * static_cast<double>(shape[d] - 1) * spacing[d];
      r2 += (p[d] - c) * (p[d] - c);
    }
    return r2 <= r * r ? v_anomaly : v_background;
  });
  return from_physical(shape, spacing, nbl, values);
}

VelocityModel marmousi_like_model(const std::vector<int64_t> &shape, const std::vector<double> &spacing, int nbl,
                                  std::uint64_t seed) {
  check_grid(shape, spacing, nbl, "marmousi_like_model");
  TENET_USER_CHECK(shape.size() == 2, "marmousi_like_model: the model is a 2D section; give 2 dimensions (nx, nz), not ",
                   shape.size());
  // Everything below is in units of the depth extent: X in [0, aspect], Z in [0, 1].
  const double depth = static_cast<double>(shape[1] - 1) * spacing[1];
  const double aspect = static_cast<double>(shape[0] - 1) * spacing[0] / depth;
  Rng rng(seed);

  // Sea floor and the unconformity that truncates the deformed sequence.
  const double sea_phase = rng.uniform(0, 2 * kPi), sea_amp = rng.uniform(0.008, 0.02);
  const double sea_depth = rng.uniform(0.06, 0.09);
  auto sea_floor = [&](double X) { return sea_depth + sea_amp * std::sin(2 * kPi * 1.3 * X / aspect + sea_phase); };
  const double unc_phase = rng.uniform(0, 2 * kPi), unc_amp = rng.uniform(0.015, 0.035);
  const double unc_depth = rng.uniform(0.26, 0.32);
  auto unconformity = [&](double X) {
    return unc_depth + unc_amp * std::sin(2 * kPi * 0.8 * X / aspect + unc_phase) + 0.02 * X / aspect;
  };

  // Young sediments: nearly flat, slightly dipping layers from 1.6 to ~2.2 km/s.
  LayerStack young;
  const double young_dip = rng.uniform(-0.03, 0.03);
  for (double s = -0.2; s < 0.6; s += rng.uniform(0.015, 0.04)) {
    young.tops.push_back(s);
    const double t = std::clamp((s - 0.05) / 0.3, 0.0, 1.0);
    young.v.push_back(std::clamp(1.6 + 0.55 * t + rng.uniform(-0.07, 0.07), 1.55, 2.4));
  }

  // Old sequence: layers of random thickness, velocity increasing with stratigraphic depth,
  // a few fast (carbonate-like) and slow (overpressured shale) beds, and a fast basement.
  LayerStack old;
  for (double s = -0.6; s < 2.0; s += rng.uniform(0.012, 0.05)) {
    old.tops.push_back(s);
    const double t = std::clamp((s - 0.2) / 0.7, 0.0, 1.0);
    double v = 1.95 + 2.2 * std::pow(t, 0.85) + rng.uniform(-0.22, 0.22);
    const double r = rng.uniform();
    if (r < 0.12) v += rng.uniform(0.35, 0.7);
    else if (r < 0.18) v -= rng.uniform(0.3, 0.5);
    if (s > 0.92) v = rng.uniform(4.3, 4.5);
    old.v.push_back(std::clamp(v, 1.75, 4.5));
  }

  // Folding: an anticline and a broad undulation, stronger at depth (older layers are more
  // deformed).
  const double anticline_x = rng.uniform(0.35, 0.65) * aspect, anticline_w = rng.uniform(0.12, 0.2) * aspect;
  const double anticline_a = rng.uniform(0.08, 0.13);
  const double wave_len = rng.uniform(0.4, 0.7) * aspect, wave_phase = rng.uniform(0, 2 * kPi);
  const double wave_a = rng.uniform(0.03, 0.05);
  auto fold = [&](double X, double Z) {
    const double g = (X - anticline_x) / anticline_w;
    return (0.4 + 0.8 * Z) * (anticline_a * std::exp(-g * g) + wave_a * std::sin(2 * kPi * X / wave_len + wave_phase));
  };

  // Normal faults: most dip east (domino blocks stepping down and rotating), a few antithetic
  // ones dip west.
  std::vector<Fault> faults;
  const int nfaults = 6 + static_cast<int>(rng.uniform() * 4);
  for (int i = 0; i < nfaults; ++i) {
    const double x0 = (0.05 + 0.85 * (i + rng.uniform(0.1, 0.9)) / nfaults) * aspect;
    const double dir = rng.uniform() < 0.8 ? 1 : -1;
    const double run = dir * rng.uniform(0.35, 0.6);  // tan of the angle from vertical
    const double curve = dir * rng.uniform(0.3, 0.8);
    faults.push_back({x0, run, curve, rng.uniform(0.03, 0.08), rng.uniform(-0.25, 0.25), rng.uniform(0.1, 0.3)});
  }

  auto velocity = [&](const std::vector<double> &p) {
    const double X = p[0] / depth, Z = p[1] / depth;
    if (Z < sea_floor(X)) return 1.5;
    if (Z < unconformity(X)) return young.at(Z + young_dip * X);
    double s = Z - fold(X, Z);
    for (const Fault &f : faults) s -= f.offset(X, Z);
    return old.at(s);
  };
  return from_physical(shape, spacing, nbl, sample(shape, spacing, velocity));
}

std::vector<double> pad_edges(const std::vector<double> &physical, const std::vector<int64_t> &shape, int nbl) {
  TENET_USER_CHECK(nbl >= 0, "pad_edges: nbl must be >= 0, not ", nbl);
  TENET_USER_CHECK(static_cast<int64_t>(physical.size()) == product(shape), "pad_edges: the array has ",
                   physical.size(), " values but the shape needs ", product(shape));
  const size_t nd = shape.size();
  std::vector<int64_t> ps(shape);
  for (auto &n : ps) n += 2 * static_cast<int64_t>(nbl);
  std::vector<double> out(static_cast<size_t>(product(ps)));
  for (size_t i = 0; i < out.size(); ++i) {
    size_t rest = i, src = 0, stride = 1;
    for (size_t d = nd; d-- > 0;) {
      const auto n = static_cast<size_t>(ps[d]);
      const int64_t q = std::clamp<int64_t>(static_cast<int64_t>(rest % n) - nbl, 0, shape[d] - 1);
      rest /= n;
      src += static_cast<size_t>(q) * stride;
      stride *= static_cast<size_t>(shape[d]);
    }
    out[i] = physical[src];
  }
  return out;
}

std::vector<double> crop_padding(const std::vector<double> &padded, const std::vector<int64_t> &shape, int nbl) {
  std::vector<int64_t> ps(shape);
  for (auto &n : ps) n += 2 * static_cast<int64_t>(nbl);
  TENET_USER_CHECK(nbl >= 0 && static_cast<int64_t>(padded.size()) == product(ps), "crop_padding: the array has ",
                   padded.size(), " values but the padded shape needs ", product(ps));
  const size_t nd = shape.size();
  std::vector<double> out(static_cast<size_t>(product(shape)));
  for (size_t i = 0; i < out.size(); ++i) {
    size_t rest = i, src = 0, stride = 1;
    for (size_t d = nd; d-- > 0;) {
      const auto n = static_cast<size_t>(shape[d]);
      src += (rest % n + static_cast<size_t>(nbl)) * stride;
      rest /= n;
      stride *= static_cast<size_t>(ps[d]);
    }
    out[i] = padded[src];
  }
  return out;
}

VelocityModel from_physical(const std::vector<int64_t> &shape, const std::vector<double> &spacing, int nbl,
                            const std::vector<double> &values) {
  check_grid(shape, spacing, nbl, "from_physical");
  TENET_USER_CHECK(static_cast<int64_t>(values.size()) == product(shape), "from_physical: ", values.size(),
                   " velocities given but the shape needs ", product(shape),
                   "; the array must cover the physical model (without the absorbing layer), C order, depth last");
  VelocityModel m;
  m.shape = shape;
  m.spacing = spacing;
  m.nbl = nbl;
  m.velocity = pad_edges(values, shape, nbl);
  return m;
}

std::vector<double> physical_velocity(const VelocityModel &model) {
  return crop_padding(model.velocity, model.shape, model.nbl);
}

VelocityModel smooth_model(const VelocityModel &model, double sigma_points) {
  TENET_USER_CHECK(sigma_points >= 0 && std::isfinite(sigma_points),
                   "smooth_model: the smoothing length must be >= 0 grid points, not ", sigma_points);
  if (sigma_points == 0) return model;
  // Beyond the model's longest side the result is as flat as it gets; the kernel's cost grows
  // with the length (1e9 points overflowed its radius).
  const int64_t longest = *std::max_element(model.shape.begin(), model.shape.end());
  TENET_USER_CHECK(sigma_points <= static_cast<double>(longest), "smooth_model: the smoothing length ", sigma_points,
                   " grid points is longer than the model's longest side (", longest, " points); give at most ",
                   longest);
  const int radius = static_cast<int>(std::ceil(3 * sigma_points));
  std::vector<double> w(static_cast<size_t>(2 * radius + 1));
  double wsum = 0;
  for (int k = -radius; k <= radius; ++k)
    wsum += w[static_cast<size_t>(k + radius)] = std::exp(-0.5 * k * k / (sigma_points * sigma_points));
  for (auto &x : w) x /= wsum;

  std::vector<double> a = physical_velocity(model), b(a.size());
  const auto &shape = model.shape;
  // Separable: one 1D convolution per axis, clamping indices at the edges.
  for (size_t d = 0; d < shape.size(); ++d) {
    size_t inner = 1;
    for (size_t e = d + 1; e < shape.size(); ++e) inner *= static_cast<size_t>(shape[e]);
    const auto n = static_cast<int64_t>(shape[d]);
    const size_t outer = a.size() / (inner * static_cast<size_t>(n));
    for (size_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < n; ++i)
        for (size_t in = 0; in < inner; ++in) {
          double acc = 0;
          for (int k = -radius; k <= radius; ++k) {
            const int64_t j = std::clamp<int64_t>(i + k, 0, n - 1);
            acc += w[static_cast<size_t>(k + radius)] * a[(o * static_cast<size_t>(n) + static_cast<size_t>(j)) * inner + in];
          }
          b[(o * static_cast<size_t>(n) + static_cast<size_t>(i)) * inner + in] = acc;
        }
    std::swap(a, b);
  }
  return from_physical(model.shape, model.spacing, model.nbl, a);
}

void check_model(const VelocityModel &model, const std::string &what) {
  const auto &shape = model.shape;
  const size_t nd = shape.size();
  TENET_USER_CHECK(nd >= 2 && nd <= 3, what, ": the model needs 2 or 3 dimensions, not ", nd);
  TENET_USER_CHECK(model.spacing.size() == nd, what, ": give one grid spacing per dimension (", nd, "), not ",
                   model.spacing.size());
  for (size_t d = 0; d < nd; ++d) {
    TENET_USER_CHECK(shape[d] >= 2, what, ": dimension ", axis_name(d, nd), " has ", shape[d],
                     " points; give at least 2");
    TENET_USER_CHECK(model.spacing[d] > 0 && std::isfinite(model.spacing[d]), what, ": the spacing along ",
                     axis_name(d, nd), " must be positive (m), not ", model.spacing[d]);
  }
  TENET_USER_CHECK(model.nbl >= 0, what, ": the absorbing layer width must be >= 0 points, not ", model.nbl);
  const auto ps = model.padded_shape();
  TENET_USER_CHECK(static_cast<int64_t>(model.velocity.size()) == product(ps), what, ": ", model.velocity.size(),
                   " velocities for a padded grid of ", product(ps),
                   " points; build the model with from_physical() to add the absorbing layer");

  // Rocks and water lie between about 1.4 and 8 km/s; outside [0.05, 20] the units are wrong.
  auto bad = [](double v) { return !(v >= 0.05) || !std::isfinite(v) || v > 20.0; };
  auto complain = [&](double v, const std::string &where) {
    if (v > 0 && v < 0.05)
      throw Error(internal::cat(what, ": velocity ", v, " km/s ", where,
                                " is implausible (< 0.05 km/s); Tenet works in km/s: if the model is in km/s but "
                                "was read as m/s (--units), read it as km/s"));
    if (v > 20.0 && std::isfinite(v))
      throw Error(internal::cat(what, ": velocity ", v, " km/s ", where,
                                " is implausible (> 20 km/s); Tenet works in km/s: if the model is in m/s, "
                                "divide it by 1000"));
    throw Error(internal::cat(what, ": velocity ", v, " km/s ", where,
                              "; velocities must be positive and finite (km/s): fix or clip the model there"));
  };
  // The physical points first, in C order, so that the first bad point named is one the user
  // gave (the absorbing layer repeats the edges).
  const auto phys = physical_velocity(model);
  for (size_t i = 0; i < phys.size(); ++i) {
    if (!bad(phys[i])) continue;
    std::vector<int64_t> idx(nd);
    size_t rest = i;
    for (size_t d = nd; d-- > 0;) {
      idx[d] = static_cast<int64_t>(rest % static_cast<size_t>(shape[d]));
      rest /= static_cast<size_t>(shape[d]);
    }
    std::string where = "at point (";
    for (size_t d = 0; d < nd; ++d) where += internal::cat(d ? ", " : "", "i", axis_name(d, nd), " = ", idx[d]);
    where += ") (";
    for (size_t d = 0; d < nd; ++d)
      where += internal::cat(d ? ", " : "", axis_name(d, nd), " = ", static_cast<double>(idx[d]) * model.spacing[d], " m");
    where += ")";
    complain(phys[i], where);
  }
  for (size_t i = 0; i < model.velocity.size(); ++i)
    if (bad(model.velocity[i]))
      complain(model.velocity[i], internal::cat("in the absorbing layer (padded index ", i,
                                                "); rebuild the padding with from_physical()"));
}

std::vector<double> to_km_per_s(std::vector<double> values, const std::string &units, const std::string &what) {
  double scale = 1;
  if (units == "m/s") {
    scale = 1e-3;
  } else if (units == "auto") {
    double vmax = 0;
    for (double v : values)
      if (std::isfinite(v)) vmax = std::max(vmax, v);
    if (vmax > 100) scale = 1e-3;
  } else {
    TENET_USER_CHECK(units == "km/s", what, ": unknown velocity units '", units, "'; use km/s, m/s or auto");
  }
  if (scale != 1)
    for (auto &v : values) v *= scale;
  return values;
}

WavelengthCheck points_per_wavelength(const VelocityModel &model, double f0, int space_order) {
  TENET_USER_CHECK(f0 > 0 && std::isfinite(f0), "the peak frequency f0 must be positive (kHz), not ", f0);
  TENET_USER_CHECK(space_order >= 2 && space_order % 2 == 0, "the space order must be even and >= 2, not ",
                   space_order);
  TENET_USER_CHECK(!model.velocity.empty() && !model.spacing.empty(), "points_per_wavelength: the model is empty");
  const double fmax = 2.5 * f0;
  const double h = *std::max_element(model.spacing.begin(), model.spacing.end());
  const double vmin = model.vmin();
  WavelengthCheck c;
  c.points = vmin / (fmax * h);
  c.required = space_order <= 2 ? 10.0 : space_order == 4 ? 6.0 : 5.0;
  if (c.points < c.required) {
    c.warning = internal::cat(
        "warning: only ", std::round(c.points * 10) / 10, " grid points per shortest wavelength (vmin ", vmin,
        " km/s, f0 ", f0, " kHz with frequencies up to ~", fmax, " kHz, spacing ", h, " m); space order ",
        space_order, " needs about ", c.required, " or the waves disperse: use a spacing <= ",
        vmin / (fmax * c.required), " m, or f0 <= ", vmin / (2.5 * h * c.required), " kHz",
        space_order < 8 ? ", or a higher space order" : "");
  }
  return c;
}

}  // namespace tenet
