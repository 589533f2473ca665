// `tenet model`: the velocity model (built-in or from a file) and the smoothed starting model
// as PNG and .npy (and SEG-Y with --segy) under --out, with the grid's points per wavelength
// and the time step it allows.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "Commands.h"
#include "Survey.h"
#include "seismic/Geometry.h"
#include "seismic/Models.h"
#include "seismic/SeismicIO.h"
#include "support/Error.h"

namespace tenet::cli {

namespace {

struct ModelOptions {
  SurveyOptions survey;
  bool segy = false;
};

void write_model_files(const std::string &stem, const VelocityModel &m, bool segy, double lo, double hi,
                       std::vector<std::string> &written) {
  write_velocity_png(stem + ".png", m, lo, hi);
  write_npy(stem + ".npy", Array{m.shape, physical_velocity(m)});
  written.push_back(stem + ".png");
  written.push_back(stem + ".npy");
  if (segy) {
    TENET_USER_CHECK(m.shape.size() == 2, "--segy: SEG-Y models are 2D sections; this model is 3D (use the .npy file)");
    write_segy_model(stem + ".segy", m.shape, physical_velocity(m), m.spacing[0], m.spacing[1]);
    written.push_back(stem + ".segy");
  }
}

void run(const ModelOptions &o) {
  const SurveyOptions &s = o.survey;
  install_interrupt_handler();
  VelocityModel truth = survey_model(s);
  VelocityModel start = starting_model(s, truth);
  TENET_USER_CHECK(!o.segy || truth.shape.size() == 2, "--segy: SEG-Y models are 2D sections; this model is 3D "
                   "(leave out --segy: the .npy files hold it)");

  std::string dims;
  for (std::size_t d = 0; d < truth.shape.size(); ++d) dims += internal::cat(d ? " x " : "", truth.shape[d]);
  // The model's own spacings (a SEG-Y file carries them): one figure where they are all equal.
  const auto &sp = truth.spacing;
  std::string spacing = internal::cat(sp[0]);
  if (std::any_of(sp.begin(), sp.end(), [&](double h) { return h != sp[0]; }))
    for (std::size_t d = 1; d < sp.size(); ++d) spacing += internal::cat(" x ", sp[d]);
  say(s, "tenet model: %s, %s points at %s m (+%d absorbing points per side), %.3f .. %.3f km/s\n", s.model.c_str(),
      dims.c_str(), spacing.c_str(), truth.nbl, truth.vmin(), truth.vmax());

  // The survey's geometry, checked against the model (so that --depth errors show here too).
  const auto sources = survey_sources(s, truth);
  const auto receivers = survey_receivers(s, truth);
  const std::size_t nd = truth.shape.size();
  say(s, "  %zu shots at x = %g .. %g m, %zu receivers, at depth %g m\n", sources.size(), sources.front()[0],
      sources.back()[0], receivers.size() / nd, sources.front()[nd - 1]);

  // What the grid allows: points per wavelength (warning when too few) and the stable time step.
  WavelengthCheck w = points_per_wavelength(truth, s.f0, s.space_order);
  say(s, "  %.1f grid points per shortest wavelength at f0 = %g Hz (space order %d wants >= %g)\n", w.points,
      s.f0 * 1000, s.space_order, w.required);
  if (!w.warning.empty())
    say(s, "%s%s\n", w.warning.rfind("warning", 0) == 0 ? "" : "warning: ", w.warning.c_str());
  const double dcrit = critical_dt(truth.spacing, s.space_order, truth.vmax());
  const double dt = checked_dt(truth, s.space_order, s.dt, "--dt");
  const TimeAxis axis = time_axis(s.tn, dt);
  say(s, "  dt = %.4f ms (stable up to %.4f ms): %lld time steps for %g ms\n", dt, dcrit,
      static_cast<long long>(axis.nt), s.tn);

  // One colour scale for both models.
  const double lo = std::min(truth.vmin(), start.vmin()), hi = std::max(truth.vmax(), start.vmax());
  ensure_directory(s.out);  // after every check, so that a mistake leaves no empty output
  const std::string d = s.out + "/";
  std::vector<std::string> written;
  write_model_files(d + "true_model", truth, o.segy, lo, hi, written);
  write_model_files(d + "initial_model", start, o.segy, lo, hi, written);

  nlohmann::json j = {{"model", s.model},
                      {"shape", truth.shape},
                      {"spacing_m", truth.spacing},
                      {"nbl", truth.nbl},
                      {"vmin_km_s", truth.vmin()},
                      {"vmax_km_s", truth.vmax()},
                      {"smooth_points", s.smooth},
                      {"points_per_wavelength", w.points},
                      {"points_per_wavelength_required", w.required},
                      {"warning", w.warning},
                      {"dt_ms", dt},
                      {"critical_dt_ms", dcrit},
                      {"time_steps", axis.nt},
                      {"outputs", written}};
  write_text_atomically(d + "model.json", j.dump(2) + "\n", "model summary");
  written.push_back(d + "model.json");
  std::string list;
  for (const auto &f : written) list += "\n  " + f;
  say(s, "wrote:%s\n", list.c_str());
}

}  // namespace

void add_model_command(CLI::App &app) {
  auto o = std::make_shared<ModelOptions>();
  CLI::App *c = app.add_subcommand(
      "model", "Write the velocity model and the smoothed starting model (PNG, .npy, SEG-Y) and check the grid");
  add_survey_options(c, o->survey, false);
  c->add_option("--smooth", o->survey.smooth, "starting model: Gaussian smoothing of the true model (grid points)")
      ->capture_default_str();
  c->add_flag("--segy", o->segy, "also write the models as SEG-Y (2D)");
  c->callback([o] { run(*o); });
}

}  // namespace tenet::cli
