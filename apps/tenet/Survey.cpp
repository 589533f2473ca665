#include "Survey.h"

#include <csignal>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include <omp.h>
#include <toml++/toml.h>

#include "Commands.h"
#include "checkpoint/Schedule.h"
#include "seismic/Geometry.h"
#include "seismic/Image.h"
#include "seismic/Models.h"
#include "seismic/SeismicIO.h"
#include "support/Bytes.h"
#include "support/DType.h"
#include "support/Error.h"

namespace tenet::cli {

// CLI11's PositiveNumber / NonNegativeNumber print the whole double range ("not in range 0 to
// 1797...") in their messages; these say what is wanted.
static CLI::Validator sign_check(bool zero_ok) {
  return CLI::Validator(
      [zero_ok](std::string &text) -> std::string {
        double v = 0;
        std::size_t pos = 0;
        try {
          v = std::stod(text, &pos);
        } catch (const std::exception &) {
          pos = 0;
        }
        if (pos == 0 || pos != text.size() || !std::isfinite(v)) return "'" + text + "' is not a number";
        if (zero_ok ? v < 0 : v <= 0) return internal::cat("must be ", zero_ok ? ">= 0" : "> 0", ", not ", text);
        return {};
      },
      zero_ok ? "NONNEGATIVE" : "POSITIVE");
}
const CLI::Validator kPositive = sign_check(false), kNonNegative = sign_check(true);

// A full TOML reader (toml++), not CLI11's subset, which split quoted strings at '#', kept the
// quotes of literal strings and let a repeated key pass. Each top-level key is a long option:
// its value goes to the option as the command line would give it (an array as its elements).
void apply_config_file(CLI::App *c, const std::string &path) {
  std::error_code ec;
  TENET_USER_CHECK(std::filesystem::exists(path, ec), "--config '", path, "': no such file");
  TENET_USER_CHECK(std::filesystem::is_regular_file(path, ec), "--config '", path, "' is not a file (a directory?)");
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error &e) {
    const auto &at = e.source().begin;
    throw Error(internal::cat("--config '", path, "': not valid TOML at line ", at.line, ", column ", at.column, ": ",
                              e.description()));
  }
  auto known = [&] {
    std::string names;
    for (const CLI::Option *op : c->get_options())
      if (op->get_configurable() && !op->get_lnames().empty() && op->get_group() != "")
        names += internal::cat(names.empty() ? "" : ", ", op->get_lnames().front());
    return names;
  };
  // A scalar as command-line text; nothing for tables and arrays.
  auto text = [](const toml::node &n) -> std::optional<std::string> {
    if (const auto *v = n.as_string()) return v->get();
    if (const auto *v = n.as_integer()) return std::to_string(v->get());
    if (const auto *v = n.as_floating_point()) {
      char b[32];
      std::snprintf(b, sizeof b, "%.17g", v->get());
      return std::string(b);
    }
    if (const auto *v = n.as_boolean()) return std::string(v->get() ? "true" : "false");
    return std::nullopt;
  };
  for (const auto &[key, node] : table) {
    const std::string name(key.str());
    CLI::Option *op = c->get_option_no_throw("--" + name);
    if (op == nullptr || !op->get_configurable() || op->get_lnames().empty())
      throw Error(internal::cat("--config '", path, "': unknown setting '", name, "'",
                                node.is_table() ? " (settings are top-level keys, not [sections])" : "", " for `tenet ",
                                c->get_name(), "`; the settings are: ", known()));
    TENET_USER_CHECK(!node.is_table(), "--config '", path, "': setting '", name, "' is a table; give it a value");
    if (op->count() > 0) continue;  // given on the command line, which wins
    std::vector<std::string> values;
    if (const toml::array *a = node.as_array()) {
      for (const toml::node &e : *a) {
        std::optional<std::string> v = text(e);
        TENET_USER_CHECK(v.has_value(), "--config '", path, "': setting '", name, "' holds a nested array or table");
        values.push_back(*v);
      }
    } else {
      values.push_back(*text(node));
    }
    try {
      if (op->get_expected_min() == 0) {
        TENET_USER_CHECK(node.is_boolean(), "--config '", path, "': setting '", name, "' is a switch: give true or false");
        op->add_result(op->get_flag_value(name, values.front()));
      } else {
        op->add_result(values);
      }
      op->run_callback();
    } catch (const CLI::Error &e) {
      throw Error(internal::cat("--config '", path, "': setting '", name, "': ", e.what()));
    }
  }
}

void add_survey_options(CLI::App *c, SurveyOptions &o, bool memory_options) {
  // CLI11 (2.1) reads set_config() files only for the main app, never for a subcommand's own
  // --config; so the file is applied here, once the subcommand's command line is parsed.
  auto config = std::make_shared<std::string>();
  c->add_option("--config", *config,
                "read these settings from a TOML file (keys as the long option names, e.g. shape = [301, 101]); "
                "the command line wins")
      ->configurable(false);
  c->parse_complete_callback([c, config] {
    if (!config->empty()) apply_config_file(c, *config);
  });
  c->add_option("--model", o.model, "marmousi, circle, layered, or a velocity file (.npy, .segy/.sgy)")
      ->capture_default_str();
  c->add_option("--shape", o.shape, "physical grid points NX,NZ (or NX,NY,NZ) of built-in models")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--spacing", o.spacing, "grid spacing (m)")->capture_default_str()->check(kPositive);
  c->add_option("--nbl", o.nbl, "absorbing layer width (grid points per side)")->capture_default_str()->check(kNonNegative);
  c->add_option("--units", o.units, "velocity units of model files: km/s, m/s or auto")->capture_default_str();
  c->add_option("--space-order", o.space_order, "finite-difference space order (even, 2-16)")->capture_default_str();
  c->add_option("--f0", o.f0, "source peak frequency (kHz)")->capture_default_str()->check(kPositive);
  c->add_option("--tn", o.tn, "recording time (ms)")->capture_default_str()->check(kPositive);
  c->add_option("--dt", o.dt, "time step (ms); 0 chooses 0.9 of the stable limit")->capture_default_str();
  c->add_option("--dtype", o.dtype, "float32 or float64")->capture_default_str();
  c->add_option("--shots", o.shots, "number of shots, spread along x")->capture_default_str()->check(kPositive);
  c->add_option("--receiver-every", o.receiver_every, "a receiver every N grid points")->capture_default_str()->check(kPositive);
  c->add_option("--depth", o.depth, "source and receiver depth (m); 0: two grid points")->capture_default_str();
  c->add_option("--out", o.out, "output directory")->capture_default_str();
  c->add_option("--threads", o.threads, "OpenMP threads (0: all cores)")->capture_default_str();
  c->add_flag("--quiet", o.quiet, "print nothing but errors");
  if (memory_options) {
    c->add_option("--smooth", o.smooth, "starting model: Gaussian smoothing of the true model (grid points)")
        ->capture_default_str();
    c->add_option("--memory", o.memory, "memory for the gradient's checkpoints, e.g. 2GiB (default: 1/4 of RAM)");
    c->add_option("--scratch", o.scratch, "directory for disk checkpoints (disk is used only when given)");
    c->add_option("--max-gradient-error", o.max_gradient_error,
                  "allowed relative error of the gradient; lets the planner compress checkpoints (0: exact)");
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

void ensure_directory(const std::string &dir, const char *option) {
  TENET_USER_CHECK(!dir.empty(), option, ": the directory name is empty");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  TENET_USER_CHECK(std::filesystem::is_directory(dir), option, ": cannot create the directory '", dir, "' (",
                   ec.message(), ")");
}

// The settings every survey command uses, checked before any work or output (each command
// starts with survey_model).
void check_space_order(int order) {
  TENET_USER_CHECK(order % 2 == 0 && order >= 2 && order <= 16, "--space-order ", order,
                   ": use an even order from 2 to 16");
}

static void check_settings(const SurveyOptions &o) {
  check_space_order(o.space_order);
  (void)parse_dtype(o.dtype);
  // More threads than processors only slow a run down (1000 on 2 cores: 10-20x slower).
  TENET_USER_CHECK(o.threads >= 0 && o.threads <= omp_get_num_procs(), "--threads ", o.threads, ": use 0 (all cores) to ",
                   omp_get_num_procs(), " (this machine's processors)");
  TENET_USER_CHECK(std::isfinite(o.f0) && o.f0 > 0, "--f0 ", o.f0, ": the peak frequency must be positive (kHz)");
  TENET_USER_CHECK(std::isfinite(o.tn) && o.tn > 0, "--tn ", o.tn, ": the recording time must be positive (ms)");
  TENET_USER_CHECK(std::isfinite(o.dt) && o.dt >= 0, "--dt ", o.dt, ": give a positive time step (ms), or 0 for 0.9 of ",
                   "the stable limit");
  TENET_USER_CHECK(std::isfinite(o.spacing) && o.spacing > 0, "--spacing ", o.spacing,
                   ": the grid spacing must be positive (m)");
  TENET_USER_CHECK(o.units == "auto" || o.units == "km/s" || o.units == "m/s", "--units '", o.units,
                   "': use auto, km/s or m/s");
  TENET_USER_CHECK(std::isfinite(o.max_gradient_error) && o.max_gradient_error >= 0 && o.max_gradient_error < 1,
                   "--max-gradient-error ", o.max_gradient_error, ": give a relative error in [0, 1) (0: exact)");
}

VelocityModel survey_model(const SurveyOptions &o) {
  check_settings(o);
  check_shape_sizes(o.shape, 2, 3, "301,101");
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
    for (std::size_t d = 0; d < a.shape.size(); ++d)
      TENET_USER_CHECK(a.shape[d] >= 2, "--model ", o.model, ": the model is (", sizes_text(a.shape), ") points, ",
                       a.shape[d], " along dimension ", d, "; a velocity model needs at least 2 points along each "
                       "(is the array transposed or squeezed?)");
    m = from_physical(a.shape, std::vector<double>(a.shape.size(), o.spacing), o.nbl, to_km_per_s(a.data, o.units, o.model));
  } else if (ends_with(".segy") || ends_with(".sgy")) {
    SegyModel s = read_segy_model(o.model);
    std::vector<double> sp{s.dx > 0 ? s.dx : o.spacing, s.dz > 0 ? s.dz : o.spacing};
    m = from_physical(s.shape, sp, o.nbl, to_km_per_s(s.values, o.units, o.model));
  } else {
    throw Error(internal::cat("--model '", o.model, "': use marmousi, circle, layered, or a .npy / .segy file"));
  }
  check_model(m, "--model " + o.model);
  return m;
}

VelocityModel starting_model(const SurveyOptions &o, const VelocityModel &truth) {
  const std::int64_t longest = *std::max_element(truth.shape.begin(), truth.shape.end());
  TENET_USER_CHECK(std::isfinite(o.smooth) && o.smooth >= 0 && o.smooth <= static_cast<double>(longest), "--smooth ",
                   o.smooth, ": give a smoothing length from 0 to the model's longest side, ", longest, " grid points");
  return smooth_model(truth, o.smooth);
}

static double default_depth(const SurveyOptions &o, const VelocityModel &m) {
  const double depth = o.depth > 0 ? o.depth : 2.0 * m.spacing.back();
  // Named here, so that the message says which setting to change.
  const double bottom = static_cast<double>(m.shape.back() - 1) * m.spacing.back();
  TENET_USER_CHECK(std::isfinite(o.depth) && o.depth >= 0, "--depth ", o.depth,
                   " m: the source and receiver depth must be >= 0 (0 chooses two grid points)");
  TENET_USER_CHECK(depth <= bottom, "--depth ", depth, " m puts the sources and receivers below the model, whose depth is 0 .. ",
                   bottom, " m; use a smaller --depth");
  return depth;
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
  // The settings themselves were checked by survey_model, which every command runs first.
  AcousticOptions a;
  a.space_order = o.space_order;
  a.f0 = o.f0;
  a.tn = o.tn;
  a.dtype = parse_dtype(o.dtype);
  VelocityModel probe = m;
  if (vmax_bound > m.vmax()) probe.velocity.push_back(vmax_bound);  // stable up to the bound
  a.dt = checked_dt(probe, o.space_order, o.dt, "--dt");
  (void)time_axis(o.tn, a.dt);  // the step count's checks, before any output
  // Above the time step's Nyquist frequency the wavelet's samples are noise or zeros (a shot
  // record of zeros, a misfit of 0).
  TENET_USER_CHECK(o.f0 < 0.5 / a.dt, "--f0 ", o.f0, " kHz is above the time step's Nyquist frequency (", 0.5 / a.dt,
                   " kHz for dt = ", a.dt, " ms): the source wavelet would not be sampled; f0 is in kHz (10 Hz is ",
                   "0.01)");
  WavelengthCheck w = points_per_wavelength(m, o.f0, o.space_order);
  if (!w.warning.empty()) say(o, "%s%s\n", w.warning.rfind("warning", 0) == 0 ? "" : "warning: ", w.warning.c_str());
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
  // 2^60 bytes (an exbibyte) is beyond any machine; larger values overflowed to 0.
  TENET_USER_CHECK(v * mult <= std::ldexp(1.0, 60), setting, " '", text, "' is more than 1 EiB; give a size this ",
                   "machine can hold, e.g. 2GiB");
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

// With an allowed gradient error, compressed checkpoints fit more states in the budget and cut
// recomputation, but each costs a compression and decompressions. Both are measured here on
// this problem (one forward run, one wavefield compressed), and the faster plan is chosen.
// On the built-in models the gradient's relative error came out 10 to 30 times the compressor's
// relative bound (tenet tradeoff), so the bound is the allowed error / 30.
static void consider_compression(const SurveyOptions &o, AcousticProblem &p, MemoryPlan &plan,
                                 const ScheduleCost &exact, int steps, char *buf, std::size_t size) {
  TENET_USER_CHECK(o.max_gradient_error < 1, "--max-gradient-error ", o.max_gradient_error,
                   " must be below 1 (it is a relative error)");
  const double tol = o.max_gradient_error / 30.0;
  p.u().fill(0.0);
  const PerfReport run = p.forward(o.threads);
  const double t_step = run.seconds / static_cast<double>(std::max<std::int64_t>(1, run.steps));
  auto compressor = make_compressor("sz", {CompressionMode::Relative, tol});
  const FieldData &u = *p.u().data();
  std::vector<std::int64_t> shape(u.alloc.begin() + 1, u.alloc.end());
  std::vector<float> level(u.buffer_count());
  const int last = static_cast<int>((p.nt() - 1) % u.nbuf);
  if (u.dtype == DType::Float32) {
    const float *src = static_cast<const float *>(u.buffer.get()) + static_cast<std::size_t>(last) * u.buffer_count();
    std::copy(src, src + level.size(), level.begin());
  } else {
    const double *src = static_cast<const double *>(u.buffer.get()) + static_cast<std::size_t>(last) * u.buffer_count();
    std::copy(src, src + level.size(), level.begin());
  }
  p.u().fill(0.0);
  const auto t0 = std::chrono::steady_clock::now();
  auto packed = compressor->compress(level.data(), DType::Float32, shape);
  std::vector<float> back(level.size());
  compressor->decompress(packed, back.data(), DType::Float32, shape);
  const double t_codec = 2.0 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // A late wavefield compresses worst; keep a margin for states that compress less well still.
  const double ratio = 0.6 * static_cast<double>(level.size() * sizeof(float)) / static_cast<double>(packed.size());
  const int fit_c = static_cast<int>(std::min<double>(steps, static_cast<double>(plan.budget) * ratio /
                                                                 static_cast<double>(plan.state_bytes)));
  if (fit_c <= plan.snapshots) return;
  ScheduleCost c = analyze_schedule(revolve_schedule(steps, fit_c));
  const double time_exact = static_cast<double>(exact.advanced_steps + steps) * t_step;
  const double time_comp = static_cast<double>(c.advanced_steps + steps) * t_step +
                           static_cast<double>(c.saves[0] + c.loads[0]) * t_codec;
  char more[512];
  std::snprintf(more, sizeof more,
                "; with --max-gradient-error %g, sz at relative bound %.2g compresses a wavefield %.1fx (%.1fx kept "
                "as margin): %d compressed checkpoints, %lld recomputed steps, predicted %.2f s per gradient "
                "against %.2f s exact: %s",
                o.max_gradient_error, tol, ratio / 0.6, ratio, fit_c, static_cast<long long>(c.recomputed_steps),
                time_comp, time_exact, time_comp < time_exact ? "compressed checkpoints chosen" : "exact checkpoints kept");
  std::string text = std::string(buf) + more;
  std::snprintf(buf, size, "%s", text.substr(0, size - 1).c_str());
  if (time_comp >= time_exact) return;
  plan.storage = std::make_shared<CompressedStorage>(make_compressor("sz", {CompressionMode::Relative, tol}),
                                                     plan.budget, 1);
  plan.options.memory_storage = plan.storage.get();
  plan.options.snapshots = fit_c;
  plan.snapshots = fit_c;
  plan.recomputed_steps = c.recomputed_steps;
  plan.codec = "sz";
  plan.tolerance = tol;
  plan.compression_ratio = ratio / 0.6;
}

// With --scratch, disk slots extend the memory ones: the two-level schedule (optimal for the
// costs of a disk write and read, here two forward steps each) over as many disk slots as its
// planning cost allows.
static void consider_disk(const SurveyOptions &o, MemoryPlan &plan, const ScheduleCost &exact, int steps, char *buf,
                          std::size_t size) {
  ensure_directory(o.scratch, "--scratch");
  const double n2 = static_cast<double>(steps) * steps * (plan.snapshots + 1);
  const int disk = static_cast<int>(std::min<double>(steps - plan.snapshots, 1.5e9 / n2 - 1));
  if (disk < 1) return;
  ScheduleCost c = analyze_schedule(two_level_schedule(steps, plan.snapshots, disk, 2.0, 2.0));
  if (c.weighted_cost >= static_cast<double>(exact.advanced_steps)) return;
  plan.options.strategy = GradientStrategy::TwoLevel;
  plan.options.disk_snapshots = disk;
  plan.options.disk_directory = o.scratch;
  plan.recomputed_steps = c.recomputed_steps;
  char more[400];
  std::snprintf(more, sizeof more,
                "; with --scratch %s: %d more checkpoints on disk, two-level schedule: %lld recomputed steps, "
                "%lld disk writes and %lld reads",
                o.scratch.c_str(), disk, static_cast<long long>(c.recomputed_steps), static_cast<long long>(c.saves[1]),
                static_cast<long long>(c.loads[1]));
  std::string text = std::string(buf) + more;
  std::snprintf(buf, size, "%s", text.substr(0, size - 1).c_str());
}

MemoryPlan plan_memory(const SurveyOptions &o, AcousticProblem &p) {
  MemoryPlan plan;
  if (o.memory.empty()) {
    const std::size_t memory = physical_memory_bytes();
    plan.budget = memory > 0 ? memory / 4 : std::size_t{1} << 30;
  } else {
    plan.budget = parse_bytes(o.memory, "--memory");
  }
  const FieldData &u = *p.u().data();
  const std::size_t level = u.buffer_count() * u.element_size();
  plan.state_bytes = checkpoint_bytes(p.op(), {p.u().data()});
  plan.full_history_bytes = static_cast<std::size_t>(p.nt()) * level;
  const int steps = static_cast<int>(p.nt() - 2);
  plan.options.threads = o.threads;
  char buf[1400];
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
    if (!o.scratch.empty()) consider_disk(o, plan, cost, steps, buf, sizeof buf);
    if (o.max_gradient_error > 0 && o.scratch.empty()) consider_compression(o, p, plan, cost, steps, buf, sizeof buf);
  }
  plan.explanation = buf;
  return plan;
}

// --- Shared by model, forward, gradient and check ---------------------------------------------

namespace {
void on_interrupt(int sig) {
  remove_temporary_files();
  ::_exit(128 + sig);
}
}  // namespace

void install_interrupt_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

void write_text_atomically(const std::string &path, const std::string &text, const std::string &what) {
  write_atomically(
      path,
      [&](const std::string &tmp) {
        FILE *f = std::fopen(tmp.c_str(), "w");
        TENET_USER_CHECK(f != nullptr, "cannot write the ", what, " '", tmp, "'");
        bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
        ok = std::fclose(f) == 0 && ok;
        TENET_USER_CHECK(ok, "writing the ", what, " '", tmp, "' failed (disk full?)");
      },
      what);
}

std::vector<double> velocity_section(const VelocityModel &m) {
  auto v = physical_velocity(m);
  if (m.shape.size() == 2) return v;
  const std::int64_t nx = m.shape[0], ny = m.shape[1], nz = m.shape[2], j = ny / 2;
  std::vector<double> s(static_cast<std::size_t>(nx * nz));
  for (std::int64_t i = 0; i < nx; ++i)
    for (std::int64_t k = 0; k < nz; ++k)
      s[static_cast<std::size_t>(i * nz + k)] = v[static_cast<std::size_t>((i * ny + j) * nz + k)];
  return s;
}

void write_velocity_png(const std::string &path, const VelocityModel &m, double lo, double hi) {
  std::vector<double> img = velocity_section(m);
  for (double &x : img) x = std::clamp(x, lo, hi);
  // write_field_png scales to the image's own range: pin it with the extremes in two pixels.
  if (img.size() >= 2) {
    img[0] = lo;
    img[1] = hi;
  }
  write_field_png(path, img, m.shape.front(), m.shape.back(), false, true);
}

std::vector<std::vector<double>> model_shots(
    AcousticProblem &p, const std::vector<std::vector<double>> &sources, int threads,
    const std::function<void(std::size_t, const std::vector<double> &)> &on_shot) {
  std::vector<std::vector<double>> out;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    p.src().set_coordinates(sources[i]);
    p.u().fill(0.0);
    p.forward(threads);
    out.push_back(p.rec().get_data());
    if (on_shot) on_shot(i, out.back());
  }
  return out;
}

double shot_misfit(const AcousticProblem &p, const std::vector<double> &modelled, const std::vector<double> &observed) {
  TENET_INTERNAL_CHECK(modelled.size() == observed.size(), "shot_misfit: sizes differ");
  const std::size_t nt = static_cast<std::size_t>(p.nt());
  TENET_INTERNAL_CHECK(nt > 0 && modelled.size() % nt == 0, "shot_misfit: not [nt][nrec]");
  const std::size_t nrec = modelled.size() / nt;
  double j = 0;
  for (std::size_t t = 1; t + 1 < nt; ++t) {
    double sum = 0;
    for (std::size_t r = 0; r < nrec; ++r) {
      const double d = modelled[t * nrec + r] - observed[t * nrec + r];
      sum += d * d;
    }
    j += 0.5 * sum;
  }
  return j;
}

}  // namespace tenet::cli
