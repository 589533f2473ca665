/** \file Geometry.h  Acquisition geometry and time axis: receiver spreads, lines of sources, the
 * check that every position lies inside the model, and the time step from the CFL condition.
 *
 * Positions are in m in physical coordinates (0 at the first physical grid point, the depth
 * axis last and pointing down), flattened [n][ndim] as AcousticOptions takes them.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "seismic/Acoustic.h"

namespace tenet {

/// Receivers every `every` grid points along the surface, at `depth` m: a line across x in 2D, a
/// grid over x and y in 3D. Both ends are included when the spacing divides the width.
std::vector<double> fixed_spread(const VelocityModel &model, std::int64_t every, double depth);

/// `count` sources evenly spread along x at `depth` m, each at the centre of its share of the
/// width ((i + 1/2) * width / count), at mid-y in 3D. Each entry is one position [ndim].
std::vector<std::vector<double>> source_line(const VelocityModel &model, std::int64_t count, double depth);

/// Throws tenet::Error unless every position of `coords` ([n][ndim]) lies inside the physical
/// model ([0, (n_d - 1) h_d] on each axis). The message names `setting` (e.g. "--receivers"),
/// the offending point's index and coordinates, and the model's extent.
void check_positions(const VelocityModel &model, const std::vector<double> &coords, const std::string &setting);

/// The sampled times 0, dt, ..., (nt - 1) dt covering [0, tn] (ms).
struct TimeAxis {
  double dt = 0;        ///< ms
  double tn = 0;        ///< ms, the requested end
  std::int64_t nt = 0;  ///< ceil(tn / dt) + 1, as AcousticProblem counts its steps
  std::vector<double> times() const;
};
TimeAxis time_axis(double tn, double dt);

/// The time step to use: 0.9 of the critical value when `requested_dt` is 0, `requested_dt`
/// when it is stable, otherwise tenet::Error "dt = X ms is unstable ...: use dt <= Y ms".
/// `setting` names where the dt came from in messages (e.g. "--dt").
double checked_dt(const VelocityModel &model, int space_order, double requested_dt,
                  const std::string &setting = "dt");

}  // namespace tenet
