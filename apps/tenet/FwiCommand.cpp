// `tenet fwi`: full-waveform inversion on a built-in or given model, with images, the model
// after each iteration, a misfit plot and a JSON summary under --out.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "Commands.h"
#include "Survey.h"
#include "seismic/Fwi.h"
#include "seismic/Image.h"
#include "seismic/Models.h"
#include "seismic/Plot.h"
#include "seismic/SeismicIO.h"
#include "support/Error.h"

namespace tenet::cli {

namespace {

struct FwiOptions {
  SurveyOptions survey;
  int iterations = 12;
  std::string method = "lbfgs";
  double vmin = 1.4, vmax = 5.0;
  std::vector<double> frequencies;
};

void write_model_png(const std::string &path, const VelocityModel &m, double lo, double hi) {
  auto v = physical_velocity(m);
  // Fix the colour range so true, initial and inverted models compare directly.
  v.push_back(lo);
  v.push_back(hi);
  std::vector<std::int64_t> s = m.shape;
  TENET_USER_CHECK(s.size() == 2, "PNG images are written for 2D models");
  std::vector<double> img(v.begin(), v.end() - 2);
  // Pin the scale by clamping to [lo, hi] and marking the extremes in the first pixels.
  for (double &x : img) x = std::clamp(x, lo, hi);
  img[0] = lo;
  img[1] = hi;
  write_field_png(path, img, s[0], s[1], false, true);
}

void run(const FwiOptions &o) {
  const SurveyOptions &s = o.survey;
  TENET_USER_CHECK(o.iterations >= 1, "--iterations must be at least 1");
  TENET_USER_CHECK(o.method == "lbfgs" || o.method == "gd", "--method '", o.method, "': use lbfgs or gd");
  TENET_USER_CHECK(o.vmin >= 0.05 && o.vmax > o.vmin && o.vmax <= 20, "--vmin/--vmax: need 0.05 <= vmin < vmax <= 20 km/s (got ",
                   o.vmin, ", ", o.vmax, ")");
  VelocityModel truth = survey_model(s);
  TENET_USER_CHECK(truth.shape.size() == 2, "tenet fwi runs 2D models (3D works through the library API)");
  VelocityModel start = starting_model(s, truth);
  if (start.vmin() < o.vmin || start.vmax() > o.vmax)
    std::fprintf(stderr,
                 "tenet fwi: warning: the starting model spans %.3g to %.3g km/s, beyond --vmin %.3g / --vmax %.3g: "
                 "the inversion clips it to the bounds from its first step\n",
                 start.vmin(), start.vmax(), o.vmin, o.vmax);
  FwiConfig c;
  c.true_model = truth;
  c.initial_model = start;
  c.acoustic = survey_acoustic(s, truth, o.vmax);
  c.sources = survey_sources(s, truth);
  c.receivers = survey_receivers(s, truth);
  c.vmin = o.vmin;
  c.vmax = o.vmax;
  c.optimizer.iterations = o.iterations;
  c.optimizer.method = o.method == "gd" ? OptimizeOptions::Method::GradientDescent : OptimizeOptions::Method::LBFGS;
  c.frequencies = o.frequencies;
  for (double f : c.frequencies) TENET_USER_CHECK(f > 0, "--frequencies must be positive (kHz)");
  c.threads = s.threads;
  c.progress = !s.quiet;
  // Plan the gradient's memory on a problem of the right size.
  AcousticOptions probe_opts = c.acoustic;
  probe_opts.src = c.sources[0];
  probe_opts.rec = c.receivers;
  MemoryPlan plan;
  {
    AcousticProblem probe(start, probe_opts);
    plan = plan_memory(s, probe);
    say(s, "tenet fwi: %s model %lld x %lld (+%d absorbing) at %g m, %d shots, %zu receivers, f0 %g Hz, %g ms "
           "(%lld steps of %.3f ms), order %d, %s\n",
        s.model.c_str(), static_cast<long long>(truth.shape[0]), static_cast<long long>(truth.shape[1]), truth.nbl,
        s.spacing, static_cast<int>(c.sources.size()), c.receivers.size() / 2, s.f0 * 1000, s.tn,
        static_cast<long long>(probe.nt()), probe.dt(), s.space_order, s.dtype.c_str());
  }
  c.gradient = plan.options;
  say(s, "%s\n", plan.explanation.c_str());

  const double lo = std::min(o.vmin, truth.vmin()), hi = std::max(truth.vmax(), start.vmax());
  ensure_directory(s.out);  // after every check, so that a mistake leaves no empty output behind
  const std::string d = s.out + "/";
  write_model_png(d + "true_model.png", truth, lo, hi);
  write_model_png(d + "initial_model.png", start, lo, hi);
  write_npy(d + "true_model.npy", Array{truth.shape, physical_velocity(truth)});
  write_npy(d + "initial_model.npy", Array{start.shape, physical_velocity(start)});

  FwiResult r = run_fwi(c, [&](const FwiIteration &it, const VelocityModel &m) {
    char name[64];
    std::snprintf(name, sizeof name, "model_stage%d_iter%02d.npy", it.stage, it.iteration);
    write_npy(d + name, Array{m.shape, physical_velocity(m)});
    say(s, "  stage %d iteration %2d: misfit %.6g  (%.1f s)\n", it.stage, it.iteration, it.misfit, it.seconds);
    return true;
  });
  write_model_png(d + "inverted_model.png", r.model, lo, hi);
  write_npy(d + "inverted_model.npy", Array{r.model.shape, physical_velocity(r.model)});
  if (!r.first_gradient.empty()) {
    auto g = crop_padding(r.first_gradient, truth.shape, truth.nbl);
    write_field_png(d + "gradient.png", g, truth.shape[0], truth.shape[1], true, true, 99.0);
    write_npy(d + "gradient.npy", Array{truth.shape, g});
  }
  PlotSeries ms;
  ms.label = "misfit";
  for (std::size_t i = 0; i < r.history.size(); ++i) {
    ms.x.push_back(static_cast<double>(i));
    ms.y.push_back(r.history[i].misfit);
  }
  PlotOptions po;
  po.title = "fwi misfit";
  po.xlabel = "iteration";
  po.ylabel = "misfit";
  po.log_y = true;
  write_plot(d + "misfit.png", {ms}, po);

  // Model error inside the physical domain, before and after.
  auto tv = physical_velocity(truth), sv = physical_velocity(start), iv = physical_velocity(r.model);
  double e0 = 0, e1 = 0;
  for (std::size_t i = 0; i < tv.size(); ++i) {
    e0 += (sv[i] - tv[i]) * (sv[i] - tv[i]);
    e1 += (iv[i] - tv[i]) * (iv[i] - tv[i]);
  }
  nlohmann::json hist = nlohmann::json::array();
  for (const auto &h : r.history)
    hist.push_back({{"stage", h.stage}, {"iteration", h.iteration}, {"misfit", h.misfit}, {"seconds", h.seconds}});
  const ExecutionStats &st = r.last_gradient.stats;
  const double reduction = r.history.front().misfit / r.history.back().misfit;
  nlohmann::json j = {
      {"model", s.model},
      {"shape", truth.shape},
      {"spacing_m", s.spacing},
      {"shots", c.sources.size()},
      {"iterations", o.iterations},
      {"method", o.method},
      {"dt_ms", r.dt},
      {"time_steps", r.nt},
      {"misfit", hist},
      {"misfit_reduction", reduction},
      {"model_rms_error_km_s", {{"initial", std::sqrt(e0 / tv.size())}, {"inverted", std::sqrt(e1 / tv.size())}}},
      {"seconds", r.seconds},
      {"peak_rss_bytes", [] {
         struct rusage u {};
         ::getrusage(RUSAGE_SELF, &u);
         return static_cast<long long>(u.ru_maxrss) * 1024;  // Linux reports KiB
       }()},
      {"memory",
       {{"budget_bytes", plan.budget},
        {"full_history_bytes", plan.full_history_bytes},
        {"strategy", strategy_name(plan.options.strategy)},
        {"checkpoints", plan.snapshots},
        {"checkpoint_bytes", plan.state_bytes},
        {"peak_checkpoint_bytes", st.peak_bytes_memory},
        {"peak_disk_bytes", st.peak_bytes_disk},
        {"codec", plan.codec.empty() ? "none" : plan.codec},
        {"tolerance", plan.tolerance},
        {"compression_ratio", plan.compression_ratio},
        {"recomputed_steps_per_gradient", st.recomputed_steps},
        {"predicted_recomputed_steps_per_gradient", plan.recomputed_steps}}},
      {"outputs", {d + "true_model.png", d + "initial_model.png", d + "inverted_model.png", d + "gradient.png",
                   d + "misfit.png", d + "summary.json"}}};
  write_text_atomically(d + "summary.json", j.dump(2) + "\n", "fwi summary");
  const std::string lower = r.history.back().misfit > 0 ? internal::cat(" (", std::round(reduction * 10) / 10, "x lower)")
                            : r.history.front().misfit > 0 ? std::string(" (to zero)")
                                                           : std::string(" (the data match the starting model)");
  say(s, "misfit %.6g -> %.6g%s in %.1f s; model rms error %.3f -> %.3f km/s\n", r.history.front().misfit,
      r.history.back().misfit, lower.c_str(), r.seconds, std::sqrt(e0 / tv.size()), std::sqrt(e1 / tv.size()));
  say(s, "wrote %strue_model.png, initial_model.png, inverted_model.png, gradient.png, misfit.png, summary.json "
         "and the model after each iteration (.npy)\n", d.c_str());
}

}  // namespace

void add_fwi_command(CLI::App &app) {
  auto o = std::make_shared<FwiOptions>();
  CLI::App *c = app.add_subcommand("fwi", "Full-waveform inversion: L-BFGS on the checkpointed gradient of the misfit");
  add_survey_options(c, o->survey, true);
  c->add_option("--iterations", o->iterations, "iterations per frequency stage")->capture_default_str();
  c->add_option("--method", o->method, "lbfgs, or gd (gradient descent with line search)")->capture_default_str();
  c->add_option("--vmin", o->vmin, "lower velocity bound (km/s)")->capture_default_str();
  c->add_option("--vmax", o->vmax, "upper velocity bound (km/s)")->capture_default_str();
  c->add_option("--frequencies", o->frequencies, "frequency continuation: peak frequencies of the stages (kHz)")
      ->delimiter(',');
  c->callback([o] { run(*o); });
}

}  // namespace tenet::cli
