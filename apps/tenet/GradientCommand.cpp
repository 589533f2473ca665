// `tenet gradient`: the FWI gradient at the smoothed starting model against data modelled in the
// true model, summed over the shots, with the memory planner choosing the checkpointing; writes
// the gradient (.npy, PNG) and a JSON summary under --out.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "Commands.h"
#include "Survey.h"
#include "seismic/Image.h"
#include "seismic/Models.h"
#include "seismic/SeismicIO.h"
#include "support/Error.h"
#include "support/Progress.h"

namespace tenet::cli {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void run(const SurveyOptions &s) {
  install_interrupt_handler();
  VelocityModel truth = survey_model(s);
  VelocityModel start = starting_model(s, truth);
  const auto sources = survey_sources(s, truth);
  const auto receivers = survey_receivers(s, truth);
  AcousticOptions ao = survey_acoustic(s, truth, start.vmax());  // one dt for both models
  ao.src = sources[0];
  ao.rec = receivers;
  ensure_directory(s.out);
  const auto t0 = Clock::now();

  AcousticProblem work(start, ao);
  MemoryPlan plan = plan_memory(s, work);
  say(s, "tenet gradient: %s model %s points at %g m, %zu shots x %zu receivers, f0 %g Hz, %g ms (%lld steps of "
         "%.4f ms), order %d, %s\n",
      s.model.c_str(),
      [&] {
        std::string t;
        for (std::size_t i = 0; i < truth.shape.size(); ++i) t += internal::cat(i ? " x " : "", truth.shape[i]);
        return t;
      }().c_str(),
      s.spacing, sources.size(), receivers.size() / truth.shape.size(), s.f0 * 1000, s.tn,
      static_cast<long long>(work.nt()), work.dt(), s.space_order, s.dtype.c_str());
  say(s, "%s\n", plan.explanation.c_str());

  // Observed data: the same survey in the true model.
  std::vector<std::vector<double>> observed;
  {
    AcousticProblem truth_problem(truth, ao);
    Progress bar("observed data", static_cast<std::int64_t>(sources.size()), !s.quiet);
    observed = model_shots(truth_problem, sources, s.threads,
                           [&](std::size_t i, const std::vector<double> &) { bar.update(static_cast<std::int64_t>(i + 1)); });
    bar.finish();
  }
  const double seconds_observed = since(t0);

  const auto tg = Clock::now();
  // Summed over shots straight from the gradient field (no float64 copy of each shot's).
  GradientOptions gopts = plan.options;
  gopts.copy_gradient = false;
  FwiGradient fg(gradient_problem(work), gopts);
  std::vector<double> gradient(static_cast<std::size_t>(work.grid().size()), 0.0);
  double misfit = 0;
  std::size_t peak_memory = 0, peak_disk = 0;
  std::int64_t recomputed = 0, forward_steps = 0;
  nlohmann::json per_shot = nlohmann::json::array();
  std::string schedule;
  {
    Progress bar("gradient", static_cast<std::int64_t>(sources.size()), !s.quiet);
    for (std::size_t i = 0; i < sources.size(); ++i) {
      work.src().set_coordinates(sources[i]);
      GradientResult r = fg.compute(std::span<const double>(observed[i]));
      Function::from_data(r.gradient_field).add_data_to(gradient);
      misfit += r.misfit;
      peak_memory = std::max(peak_memory, r.stats.peak_bytes_memory);
      peak_disk = std::max(peak_disk, r.stats.peak_bytes_disk);
      recomputed += r.stats.recomputed_steps;
      forward_steps += r.stats.forward_steps;
      schedule = r.schedule;
      per_shot.push_back({{"shot", i + 1},
                          {"misfit", r.misfit},
                          {"seconds", r.seconds_total},
                          {"recomputed_steps", r.stats.recomputed_steps},
                          {"peak_checkpoint_bytes", r.stats.peak_bytes_memory}});
      bar.update(static_cast<std::int64_t>(i + 1));
    }
    bar.finish();
  }
  const double seconds_gradient = since(tg);

  // The absorbing layer is no part of the model: write the physical part.
  const auto g = crop_padding(gradient, truth.shape, truth.nbl);
  const std::string d = s.out + "/";
  write_npy(d + "gradient.npy", Array{truth.shape, g}, NpyType::Float64);
  if (truth.shape.size() == 2) {
    write_field_png(d + "gradient.png", g, truth.shape[0], truth.shape[1], true, true, 99.0);
  } else {  // the middle y slice
    VelocityModel slice;  // reuse velocity_section's slicing on a model-shaped array
    slice.shape = truth.shape;
    slice.nbl = 0;
    slice.velocity = g;
    write_field_png(d + "gradient.png", velocity_section(slice), truth.shape[0], truth.shape[2], true, true, 99.0);
  }
  double gmax = 0;
  for (double v : g) gmax = std::max(gmax, std::fabs(v));

  const std::size_t shots = sources.size();
  nlohmann::json j = {
      {"model", s.model},
      {"shape", truth.shape},
      {"spacing_m", truth.spacing},
      {"smooth_points", s.smooth},
      {"shots", shots},
      {"dtype", s.dtype},
      {"dt_ms", work.dt()},
      {"time_steps", work.nt()},
      {"parameter", "squared slowness m = 1/v^2 (s^2/km^2); gradient dJ/dm, physical domain, shape as the model"},
      {"misfit", misfit},
      {"misfit_per_shot", per_shot},
      {"gradient_max_abs", gmax},
      {"seconds", since(t0)},
      {"seconds_observed_data", seconds_observed},
      {"seconds_gradient", seconds_gradient},
      {"memory",
       {{"budget_bytes", plan.budget},
        {"full_history_bytes", plan.full_history_bytes},
        {"strategy", strategy_name(plan.options.strategy)},
        {"schedule", schedule},
        {"checkpoints", plan.snapshots},
        {"checkpoint_bytes", plan.state_bytes},
        {"peak_checkpoint_bytes", peak_memory},
        {"peak_disk_bytes", peak_disk},
        {"recomputed_steps", recomputed},
        {"recomputed_steps_per_shot", shots ? recomputed / static_cast<std::int64_t>(shots) : 0},
        {"predicted_recomputed_steps_per_shot", plan.recomputed_steps},
        {"forward_steps", forward_steps},
        {"explanation", plan.explanation}}},
      {"outputs", {d + "gradient.npy", d + "gradient.png", d + "summary.json"}}};
  write_text_atomically(d + "summary.json", j.dump(2) + "\n", "gradient summary");
  say(s, "misfit %.6g over %zu shots; gradient in %.1f s (%s, %lld recomputed steps, peak checkpoints %s)\n", misfit,
      shots, seconds_gradient, strategy_name(plan.options.strategy), static_cast<long long>(recomputed),
      format_bytes(static_cast<double>(peak_memory)).c_str());
  say(s, "wrote %sgradient.npy, %sgradient.png, %ssummary.json\n", d.c_str(), d.c_str(), d.c_str());
}

}  // namespace

void add_gradient_command(CLI::App &app) {
  auto o = std::make_shared<SurveyOptions>();
  CLI::App *c = app.add_subcommand(
      "gradient", "The FWI gradient at the smoothed starting model, summed over the shots, within --memory");
  add_survey_options(c, *o, true);
  c->callback([o] { run(*o); });
}

}  // namespace tenet::cli
