#include "Survey.h"

#include <unistd.h>

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>

#include "checkpoint/Schedule.h"
#include "seismic/Geometry.h"
#include "seismic/Models.h"
#include "seismic/SeismicIO.h"
#include "support/Error.h"

namespace tenet::cli {

void add_survey_options(CLI::App *c, SurveyOptions &o, bool memory_options) {
  c->set_config("--config", "", "read these settings from a TOML file (keys as the long option names)");
  c->allow_config_extras(CLI::config_extras_mode::error);
  c->add_option("--model", o.model, "marmousi, circle, layered, or a velocity file (.npy, .segy/.sgy)")
      ->capture_default_str();
  c->add_option("--shape", o.shape, "physical grid points NX,NZ (or NX,NY,NZ) of built-in models")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--spacing", o.spacing, "grid spacing (m)")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--nbl", o.nbl, "absorbing layer width (grid points per side)")->capture_default_str()->check(CLI::NonNegativeNumber);
  c->add_option("--units", o.units, "velocity units of model files: km/s, m/s or auto")->capture_default_str();
  c->add_option("--space-order", o.space_order, "finite-difference space order (even, 2-16)")->capture_default_str();
  c->add_option("--f0", o.f0, "source peak frequency (kHz)")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--tn", o.tn, "recording time (ms)")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--dt", o.dt, "time step (ms); 0 chooses 0.9 of the stable limit")->capture_default_str();
  c->add_option("--dtype", o.dtype, "float32 or float64")->capture_default_str();
  c->add_option("--shots", o.shots, "number of shots, spread along x")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--receiver-every", o.receiver_every, "a receiver every N grid points")->capture_default_str()->check(CLI::PositiveNumber);
  c->add_option("--depth", o.depth, "source and receiver depth (m); 0: two grid points")->capture_default_str();
  c->add_option("--out", o.out, "output directory")->capture_default_str();
  c->add_option("--threads", o.threads, "OpenMP threads (0: all cores)")->capture_default_str();
  c->add_flag("--quiet", o.quiet, "print nothing but errors");
  if (memory_options) {
    c->add_option("--smooth", o.smooth, "starting model: Gaussian smoothing of the true model (grid points)")
        ->capture_default_str();
    c->add_option("--memory", o.memory, "memory for the gradient's checkpoints, e.g. 2GiB (default: 1/4 of RAM)");
    c->add_option("--scratch", o.scratch, "directory for disk checkpoints (disk is used only when given)");
  }
}

void say(const SurveyOptions &o, const char *fmt, ...) {
  if (o.quiet) return;
  va_list ap;
  va_start(ap, fmt);
  std::vprintf(fmt, ap);
  va_end(ap);
  std::fflush(stdout);
}

void ensure_directory(const std::string &dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  TENET_USER_CHECK(std::filesystem::is_directory(dir), "--out: cannot create the directory '", dir, "' (",
                   ec.message(), ")");
}

VelocityModel survey_model(const SurveyOptions &o) {
  TENET_USER_CHECK(o.shape.size() == 2 || o.shape.size() == 3, "--shape: give 2 or 3 sizes, e.g. 301,101");
  for (auto n : o.shape) TENET_USER_CHECK(n >= 8, "--shape: every size must be at least 8 points (got ", n, ")");
  std::vector<double> spacing(o.shape.size(), o.spacing);
  VelocityModel m;
  auto ends_with = [&](const char *suffix) {
    std::string s = o.model;
    std::string x = suffix;
    return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (o.model == "marmousi") {
    TENET_USER_CHECK(o.shape.size() == 2, "--model marmousi is 2D: give --shape NX,NZ");
    m = marmousi_like_model(o.shape, spacing, o.nbl);
  } else if (o.model == "circle") {
    m = circle_model(o.shape, spacing, o.nbl, 2.0, 2.5, 0.2);
  } else if (o.model == "layered") {
    m = layered_model(o.shape, spacing, o.nbl, 4, 0.4);
  } else if (ends_with(".npy")) {
    Array a = read_npy(o.model);
    TENET_USER_CHECK(a.shape.size() == 2 || a.shape.size() == 3, "--model ", o.model, ": a velocity model must be 2D or 3D, the file holds ",
                     a.shape.size(), "D");
    m = from_physical(a.shape, std::vector<double>(a.shape.size(), o.spacing), o.nbl, to_km_per_s(a.data, o.units, o.model));
  } else if (ends_with(".segy") || ends_with(".sgy")) {
    SegyModel s = read_segy_model(o.model);
    std::vector<double> sp{s.dx > 0 ? s.dx : o.spacing, s.dz > 0 ? s.dz : o.spacing};
    m = from_physical(s.shape, sp, o.nbl, to_km_per_s(s.values, o.units, o.model));
  } else {
    throw Error(internal::cat("--model '", o.model, "': use marmousi, circle, layered, or a .npy / .segy file"));
  }
  check_model(m, "--model");
  return m;
}

VelocityModel starting_model(const SurveyOptions &o, const VelocityModel &truth) {
  TENET_USER_CHECK(o.smooth >= 0, "--smooth must be non-negative");
  return smooth_model(truth, o.smooth);
}

static double default_depth(const SurveyOptions &o, const VelocityModel &m) {
  return o.depth > 0 ? o.depth : 2.0 * m.spacing.back();
}

std::vector<std::vector<double>> survey_sources(const SurveyOptions &o, const VelocityModel &m) {
  auto s = source_line(m, o.shots, default_depth(o, m));
  for (const auto &p : s) check_positions(m, p, "--depth/--shots");
  return s;
}

std::vector<double> survey_receivers(const SurveyOptions &o, const VelocityModel &m) {
  auto r = fixed_spread(m, o.receiver_every, default_depth(o, m));
  check_positions(m, r, "--depth/--receiver-every");
  return r;
}

AcousticOptions survey_acoustic(const SurveyOptions &o, const VelocityModel &m, double vmax_bound) {
  TENET_USER_CHECK(o.space_order % 2 == 0 && o.space_order >= 2 && o.space_order <= 16,
                   "--space-order ", o.space_order, ": use an even order from 2 to 16");
  AcousticOptions a;
  a.space_order = o.space_order;
  a.f0 = o.f0;
  a.tn = o.tn;
  a.dtype = parse_dtype(o.dtype);
  VelocityModel probe = m;
  if (vmax_bound > m.vmax()) probe.velocity.push_back(vmax_bound);  // stable up to the bound
  a.dt = checked_dt(probe, o.space_order, o.dt, "--dt");
  WavelengthCheck w = points_per_wavelength(m, o.f0, o.space_order);
  if (!w.warning.empty()) say(o, "warning: %s\n", w.warning.c_str());
  return a;
}

std::size_t parse_bytes(const std::string &text, const std::string &setting) {
  std::size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (const std::exception &) {
    throw Error(internal::cat(setting, " '", text, "': expected a size such as 2GiB, 512MiB or 1000000"));
  }
  std::string unit = text.substr(pos);
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  double mult = 1;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "KiB" || unit == "K") mult = 1024.0;
  else if (unit == "MiB" || unit == "M") mult = 1024.0 * 1024;
  else if (unit == "GiB" || unit == "G") mult = 1024.0 * 1024 * 1024;
  else if (unit == "TiB" || unit == "T") mult = 1024.0 * 1024 * 1024 * 1024;
  else if (unit == "kB" || unit == "KB") mult = 1e3;
  else if (unit == "MB") mult = 1e6;
  else if (unit == "GB") mult = 1e9;
  else throw Error(internal::cat(setting, " '", text, "': unknown unit '", unit, "'; use B, KiB, MiB, GiB, kB, MB or GB"));
  TENET_USER_CHECK(std::isfinite(v) && v > 0, setting, " '", text, "' must be a positive size");
  return static_cast<std::size_t>(v * mult);
}

std::string format_bytes(double b) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", b, units[u]);
  return buf;
}

MemoryPlan plan_memory(const SurveyOptions &o, AcousticProblem &p) {
  MemoryPlan plan;
  if (o.memory.empty()) {
    long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    plan.budget = pages > 0 && page > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) / 4
                                        : std::size_t{1} << 30;
  } else {
    plan.budget = parse_bytes(o.memory, "--memory");
  }
  const FieldData &u = *p.u().data();
  const std::size_t level = u.buffer_count() * u.element_size();
  plan.state_bytes = u.count() * u.element_size();  // a checkpoint holds every modulo buffer
  plan.full_history_bytes = static_cast<std::size_t>(p.nt()) * level;
  const int steps = static_cast<int>(p.nt() - 2);
  plan.options.threads = o.threads;
  char buf[512];
  if (plan.full_history_bytes <= plan.budget) {
    plan.options.strategy = GradientStrategy::FullHistory;
    plan.snapshots = 0;
    plan.recomputed_steps = 0;
    std::snprintf(buf, sizeof buf,
                  "memory: the full history needs %s of the %s budget: kept in memory, no recomputation",
                  format_bytes(static_cast<double>(plan.full_history_bytes)).c_str(),
                  format_bytes(static_cast<double>(plan.budget)).c_str());
  } else {
    int fit = static_cast<int>(std::min<std::size_t>(plan.budget / plan.state_bytes, static_cast<std::size_t>(steps)));
    TENET_USER_CHECK(fit >= 1, "--memory ", format_bytes(static_cast<double>(plan.budget)),
                     " is smaller than one checkpoint (", format_bytes(static_cast<double>(plan.state_bytes)),
                     "); give at least that much");
    plan.options.strategy = GradientStrategy::Revolve;
    plan.options.snapshots = fit;
    plan.snapshots = fit;
    ScheduleCost cost = analyze_schedule(revolve_schedule(steps, fit));
    plan.recomputed_steps = cost.recomputed_steps;
    std::snprintf(buf, sizeof buf,
                  "memory: the full history would need %s but the budget is %s: %d checkpoints of %s fit; "
                  "Revolve predicts %lld recomputed steps per gradient (%.2f x the %d forward steps)",
                  format_bytes(static_cast<double>(plan.full_history_bytes)).c_str(),
                  format_bytes(static_cast<double>(plan.budget)).c_str(), fit,
                  format_bytes(static_cast<double>(plan.state_bytes)).c_str(),
                  static_cast<long long>(cost.recomputed_steps), static_cast<double>(cost.recomputed_steps) / steps,
                  steps);
  }
  plan.explanation = buf;
  return plan;
}

}  // namespace tenet::cli
