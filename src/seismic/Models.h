/** \file Models.h  Velocity models: built-in generators (layered, circle/sphere, a Marmousi-like
 * 2D section), models from physical-domain arrays, smoothing for FWI starting models,
 * validation, and the points-per-wavelength check.
 *
 * Units as in Acoustic.h: velocity in km/s, distances in m, frequency in kHz. Arrays are in C
 * order with the last dimension the depth. "Physical" arrays cover the model without the
 * absorbing layer; a VelocityModel holds the padded grid, whose absorbing layer (`nbl` points on
 * every side) is filled by replicating the edge values outward.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "seismic/Acoustic.h"

namespace tenet {

/// A constant background with a circular (2D) or spherical (3D) anomaly in the middle of the
/// physical domain. The radius is `radius_fraction` times the smallest physical extent
/// ((n - 1) * h over the dimensions).
VelocityModel circle_model(const std::vector<std::int64_t> &shape, const std::vector<double> &spacing, int nbl,
                           double v_background, double v_anomaly, double radius_fraction = 0.15);

/// A 2D section in the spirit of Marmousi, generated from `seed` (the same seed and shape give
/// bitwise the same model on every platform): a water layer on top (1.5 km/s) over a
/// slightly undulating sea floor, flat-lying young sediments above an unconformity, and below it
/// folded layers cut by normal faults; velocities grow with depth from ~1.6 to ~4.5 km/s, with
/// a few fast beds. The geology is defined in coordinates relative to the physical extent, so a
/// finer grid samples the same section.
VelocityModel marmousi_like_model(const std::vector<std::int64_t> &shape, const std::vector<double> &spacing,
                                  int nbl, std::uint64_t seed = 1);

/// Builds a model from physical-domain velocities (km/s, C order, `values.size()` equal to the
/// product of `shape`), padding the absorbing layer by edge replication.
VelocityModel from_physical(const std::vector<std::int64_t> &shape, const std::vector<double> &spacing, int nbl,
                            const std::vector<double> &values);

/// Extends a physical-domain array of `shape` by `nbl` points on every side, each new point
/// taking the value of the nearest physical point (edge replication).
std::vector<double> pad_edges(const std::vector<double> &physical, const std::vector<std::int64_t> &shape, int nbl);

/// The physical part of a padded array (the inverse of pad_edges).
std::vector<double> crop_padding(const std::vector<double> &padded, const std::vector<std::int64_t> &shape, int nbl);

/// The model's velocities without the absorbing layer (C order over `model.shape`).
std::vector<double> physical_velocity(const VelocityModel &model);

/// Gaussian smoothing of the physical velocities with standard deviation `sigma_points` grid
/// points in every direction (edges replicated), the absorbing layer padded again from the
/// result. For FWI starting models. sigma_points = 0 returns the model unchanged.
VelocityModel smooth_model(const VelocityModel &model, double sigma_points);

/// Throws tenet::Error unless the model is usable: 2 or 3 dimensions, positive sizes and
/// spacings, a velocity array of the padded size, and velocities that are finite, positive and
/// plausible in km/s (<= 20; larger values are taken for m/s). The message names the first bad
/// point with its indices and position. `what` names the model in messages (e.g. "--model").
void check_model(const VelocityModel &model, const std::string &what = "velocity model");

/// Converts velocities read from a file to km/s. `units`: "km/s", "m/s", or "auto" (m/s when the
/// largest value exceeds 100, as no rock is faster than 100 km/s). `what` names the file.
std::vector<double> to_km_per_s(std::vector<double> values, const std::string &units, const std::string &what);

/// Grid points per shortest wavelength: vmin / (f_max * h_max), with f_max = 2.5 f0 (where a
/// Ricker wavelet's amplitude spectrum has fallen to ~3% of its peak).
struct WavelengthCheck {
  double points = 0;    ///< points per shortest wavelength
  double required = 0;  ///< recommended minimum for the space order
  std::string warning;  ///< empty when points >= required; otherwise the text to print
};

/// Computes the points per wavelength and, when below the recommended minimum for the space
/// order (10 for order 2, 6 for order 4, 5 for order >= 6), a warning that says what to change.
WavelengthCheck points_per_wavelength(const VelocityModel &model, double f0, int space_order);

}  // namespace tenet
