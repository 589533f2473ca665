/** \file Survey.h  Settings shared by the modelling and inversion subcommands (model, geometry,
 * wavelet, memory, output), from the command line or a TOML file (--config), and what they
 * build: velocity models, source and receiver positions, acoustic options, memory plans. */
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "seismic/Acoustic.h"
#include "compress/CompressedStorage.h"
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
  double max_gradient_error = 0.0;         ///< allowed relative error of the gradient (0: exact)
  std::string out = "out";
  int threads = 0;
  bool quiet = false;
};

/// Adds the survey options to `cmd` (with --config FILE for a TOML file of the same names).
void add_survey_options(CLI::App *cmd, SurveyOptions &o, bool memory_options);
/// Applies the settings of a TOML file to the options of `cmd` not given on its command line
/// (keys as the long option names, without sections); an unknown key is an error naming it.
/// add_survey_options arranges this for --config; other options of `cmd` are settable too.
void apply_config_file(CLI::App *cmd, const std::string &path);

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
  std::shared_ptr<CheckpointStorage> storage;  ///< compressed checkpoint storage, when chosen
  std::string codec;                   ///< "" for exact checkpoints
  double tolerance = 0.0;              ///< the compressor's relative bound
  double compression_ratio = 1.0;      ///< measured on a wavefield of this problem
  std::size_t budget = 0;
  std::size_t full_history_bytes = 0;  ///< what keeping every time level would take
  std::size_t state_bytes = 0;         ///< one checkpoint
  int snapshots = 0;
  std::int64_t recomputed_steps = 0;   ///< predicted per gradient
  std::string explanation;             ///< printed for the user
};
MemoryPlan plan_memory(const SurveyOptions &o, AcousticProblem &problem);

/// Option checks whose messages say what is wanted (CLI11's own print the whole double range).
extern const CLI::Validator kPositive, kNonNegative;

/// --space-order: even, 2 to 16 (the centred derivatives Tenet has weights for).
void check_space_order(int order);

/// Creates the output directory; throws a clear error when that fails.
void ensure_directory(const std::string &dir, const char *option = "--out");

// --- Shared by model, forward, gradient and check ---------------------------------------------

/// On SIGINT/SIGTERM: removes the temporary files of the atomic writes in progress (so no
/// half-written output or temporary file is left behind) and exits with 128 + the signal.
void install_interrupt_handler();
/// Writes `text` to `path` atomically (temporary file, fsync, rename).
void write_text_atomically(const std::string &path, const std::string &text, const std::string &what = "file");
/// A velocity model as a PNG (x across, depth down; the middle y slice of a 3D model), with the
/// colour scale fixed to [lo, hi] km/s so that several models compare directly.
void write_velocity_png(const std::string &path, const VelocityModel &m, double lo, double hi);
/// The physical velocities [x][z] of a 2D model, or of the middle y slice of a 3D one.
std::vector<double> velocity_section(const VelocityModel &m);

/// Models every shot (source positions `sources`) with `problem` (whose receivers are set),
/// starting at rest; returns each shot's receiver data [nt][nrec]. `on_shot(i, data)` is called
/// after each shot when given (progress, writing files).
std::vector<std::vector<double>> model_shots(
    AcousticProblem &problem, const std::vector<std::vector<double>> &sources, int threads,
    const std::function<void(std::size_t shot, const std::vector<double> &data)> &on_shot = {});
/// The misfit 0.5 * sum (rec - d)^2 over the samples the acoustic forward records
/// (time 1 .. nt-2), as FwiGradient computes it.
double shot_misfit(const AcousticProblem &problem, const std::vector<double> &modelled,
                   const std::vector<double> &observed);
/// Prints unless quiet.
void say(const SurveyOptions &o, const char *fmt, ...);

}  // namespace tenet::cli
