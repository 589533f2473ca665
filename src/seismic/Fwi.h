/** \file Fwi.h  Full-waveform inversion: several shots, the checkpointed gradient of the
 * misfit, bound-constrained L-BFGS (or gradient descent), optional frequency continuation. */
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "seismic/Acoustic.h"
#include "seismic/Gradient.h"
#include "seismic/Optimize.h"

namespace tenet {

struct FwiConfig {
  VelocityModel true_model;     ///< generates the observed data (synthetic inversion)
  VelocityModel initial_model;  ///< same grid as true_model
  AcousticOptions acoustic;     ///< space order, f0, tn, dtype; dt 0 = chosen from vmax below
  std::vector<std::vector<double>> sources;  ///< one position per shot (m)
  std::vector<double> receivers;             ///< [nrec][ndim]; empty = the default spread
  double vmin = 1.4, vmax = 5.0;             ///< bounds on the inverted velocity (km/s)
  OptimizeOptions optimizer;
  GradientOptions gradient;                  ///< strategy and memory for each shot's gradient
  std::vector<double> frequencies;           ///< peak frequencies of the stages (kHz); empty: f0
  int threads = 0;
  bool progress = true;                      ///< progress bar on a terminal
};

struct FwiIteration {
  int stage = 0, iteration = 0;
  double misfit = 0.0;
  double seconds = 0.0;         ///< since the start of the inversion
};

struct FwiResult {
  VelocityModel model;                  ///< the inverted model
  std::vector<FwiIteration> history;    ///< initial misfit of each stage, then each iteration
  std::vector<double> first_gradient;   ///< dJ/dm at the initial model (padded grid, C order)
  double dt = 0.0;
  std::int64_t nt = 0;
  double seconds = 0.0;
  GradientResult last_gradient;         ///< statistics of the last gradient computed
};

/// Runs the inversion. `on_iteration` is called after every accepted step with the current
/// model (return false to stop).
FwiResult run_fwi(const FwiConfig &config,
                  const std::function<bool(const FwiIteration &, const VelocityModel &)> &on_iteration = {});

/// The time step used for both the observed and the modelled data: stable for any velocity
/// up to max(vmax bound, true model's vmax).
double fwi_dt(const FwiConfig &config);

}  // namespace tenet
