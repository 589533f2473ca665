/** \file Survey.h  Settings shared by the modelling and inversion subcommands (model, geometry,
 * wavelet, memory, output), from the command line or a TOML file (--config), and what they
 * build: velocity models, source and receiver positions, acoustic options, memory plans. */
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "seismic/Acoustic.h"
#include "seismic/Gradient.h"

namespace tenet::cli {

struct SurveyOptions {
  std::string model = "marmousi";          ///< marmousi | circle | layered | a .npy/.segy/.sgy file
  std::vector<std::int64_t> shape = {301, 101};  ///< physical grid (x, [y,] z); files give their own
  double spacing = 10.0;                   ///< m
  int nbl = 40;                            ///< absorbing layer, points per side
  std::string units = "auto";              ///< velocity units of model files: km/s, m/s, auto
  int space_order = 8;
  double f0 = 0.010;                       ///< kHz (10 Hz)
  double tn = 1500.0;                      ///< ms
  double dt = 0.0;                         ///< ms; 0: 0.9 of the stable limit
  std::string dtype = "float32";
  int shots = 10;
  std::int64_t receiver_every = 1;         ///< receivers every N grid points
  double depth = 0.0;                      ///< source/receiver depth (m); 0: two grid points
  double smooth = 12.0;                    ///< initial model: Gaussian smoothing (grid points)
  std::string memory;                      ///< budget for the gradient (e.g. 2GiB); empty: 1/4 of RAM
  std::string scratch;                     ///< directory for disk checkpoints (only when given)
  std::string out = "out";
  int threads = 0;
  bool quiet = false;
};

/// Adds the survey options to `cmd` (with --config FILE for a TOML file of the same names).
void add_survey_options(CLI::App *cmd, SurveyOptions &o, bool memory_options);

/// The true (or given) velocity model, checked.
VelocityModel survey_model(const SurveyOptions &o);
/// The inversion's starting model: the true model smoothed by `smooth` points.
VelocityModel starting_model(const SurveyOptions &o, const VelocityModel &truth);
/// Source positions (a line of `shots` along x) and receivers (fixed spread), checked.
std::vector<std::vector<double>> survey_sources(const SurveyOptions &o, const VelocityModel &m);
std::vector<double> survey_receivers(const SurveyOptions &o, const VelocityModel &m);
/// Acoustic options (space order, f0, tn, dtype, checked dt) for the model.
AcousticOptions survey_acoustic(const SurveyOptions &o, const VelocityModel &m, double vmax_bound = 0.0);

/// Bytes from text such as "2GiB", "512MiB", "1.5GB", "1000000".
std::size_t parse_bytes(const std::string &text, const std::string &setting);
std::string format_bytes(double bytes);

/// The planner: the fastest gradient strategy whose checkpoints fit in `budget` bytes.
struct MemoryPlan {
  GradientOptions options;
  std::size_t budget = 0;
  std::size_t full_history_bytes = 0;  ///< what keeping every time level would take
  std::size_t state_bytes = 0;         ///< one checkpoint
  int snapshots = 0;
  std::int64_t recomputed_steps = 0;   ///< predicted per gradient
  std::string explanation;             ///< printed for the user
};
MemoryPlan plan_memory(const SurveyOptions &o, AcousticProblem &problem);

/// Creates the output directory; throws a clear error when that fails.
void ensure_directory(const std::string &dir);
/// Prints unless quiet.
void say(const SurveyOptions &o, const char *fmt, ...);

}  // namespace tenet::cli
