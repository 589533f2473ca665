// `tenet forward`: models every shot of the survey in the true model and writes each shot
// record (.npy or SEG-Y) and its gather as a PNG, with a JSON summary, under --out.
#include <chrono>
#include <cstdio>
#include <filesystem>
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

struct ForwardOptions {
  SurveyOptions survey;
  std::string format = "npy";
};

void run(const ForwardOptions &o) {
  const SurveyOptions &s = o.survey;
  TENET_USER_CHECK(o.format == "npy" || o.format == "segy", "--format '", o.format, "': use npy or segy");
  install_interrupt_handler();
  VelocityModel truth = survey_model(s);
  const auto sources = survey_sources(s, truth);
  const auto receivers = survey_receivers(s, truth);
  AcousticOptions ao = survey_acoustic(s, truth);
  ao.src = sources[0];
  ao.rec = receivers;
  ensure_directory(s.out);
  const auto t0 = std::chrono::steady_clock::now();
  AcousticProblem p(truth, ao);
  const int ndim = static_cast<int>(truth.shape.size());
  const std::int64_t nrec = static_cast<std::int64_t>(receivers.size()) / ndim;
  say(s, "tenet forward: %s model, %zu shots x %lld receivers, f0 %g Hz, %g ms (%lld steps of %.4f ms), order %d, %s\n",
      s.model.c_str(), sources.size(), static_cast<long long>(nrec), s.f0 * 1000, s.tn,
      static_cast<long long>(p.nt()), p.dt(), s.space_order, s.dtype.c_str());

  const std::string d = s.out + "/";
  std::vector<std::string> written;
  nlohmann::json shots = nlohmann::json::array();
  Progress bar("shots", static_cast<std::int64_t>(sources.size()), !s.quiet);
  model_shots(p, sources, s.threads, [&](std::size_t i, const std::vector<double> &data) {
    char stem[64];
    std::snprintf(stem, sizeof stem, "shot_%03zu", i + 1);
    std::string file = d + stem + (o.format == "npy" ? ".npy" : ".segy");
    if (o.format == "npy") {
      write_npy(file, Array{{p.nt(), nrec}, data});
    } else {
      ShotRecord r;
      r.ndim = ndim;
      r.dt = p.dt();
      r.nt = p.nt();
      r.nrec = nrec;
      r.source = sources[i];
      r.receivers = receivers;
      r.data = data;
      r.shot_id = static_cast<int>(i + 1);
      write_segy_shot(file, r);
    }
    // Time down, receivers across; clipped at the 99th percentile so the reflections show.
    write_field_png(d + stem + ".png", data, p.nt(), nrec, true, false, 99.0);
    written.push_back(file);
    written.push_back(d + stem + ".png");
    shots.push_back({{"shot", i + 1}, {"source_m", sources[i]}, {"file", file}, {"image", d + stem + ".png"}});
    bar.update(static_cast<std::int64_t>(i + 1));
  });
  bar.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  nlohmann::json j = {{"model", s.model},
                      {"shape", truth.shape},
                      {"spacing_m", truth.spacing},
                      {"dtype", s.dtype},
                      {"f0_khz", s.f0},
                      {"dt_ms", p.dt()},
                      {"time_steps", p.nt()},
                      {"receivers", nrec},
                      {"receiver_positions_m", receivers},
                      {"format", o.format},
                      {"layout", "[time][receiver], sample k at k * dt_ms"},
                      {"seconds", seconds},
                      {"shots", shots}};
  write_text_atomically(d + "shots.json", j.dump(2) + "\n", "shot summary");
  // Shots of an earlier run with more of them would sit beside these as if they belonged.
  int stale = 0;
  std::error_code ec;
  for (const auto &e : std::filesystem::directory_iterator(s.out, ec)) {
    const std::string name = e.path().filename().string();
    unsigned long n = 0;
    char ext[8] = {0};
    if (std::sscanf(name.c_str(), "shot_%lu.%7s", &n, ext) == 2 && n > sources.size() &&
        (std::string(ext) == "npy" || std::string(ext) == "segy" || std::string(ext) == "png"))
      stale += std::filesystem::remove(e.path(), ec);
  }
  if (stale > 0) say(s, "removed %d files of shots beyond %zu left by an earlier run\n", stale, sources.size());
  say(s, "modelled %zu shots in %.1f s; wrote %sshot_001%s .. and .png gathers, and %sshots.json\n", sources.size(),
      seconds, d.c_str(), o.format == "npy" ? ".npy" : ".segy", d.c_str());
}

}  // namespace

void add_forward_command(CLI::App &app) {
  auto o = std::make_shared<ForwardOptions>();
  CLI::App *c = app.add_subcommand("forward", "Model the shots in the true model; write shot records and PNG gathers");
  add_survey_options(c, o->survey, false);
  c->add_option("--format", o->format, "shot record files: npy or segy")->capture_default_str();
  c->callback([o] { run(*o); });
}

}  // namespace tenet::cli
