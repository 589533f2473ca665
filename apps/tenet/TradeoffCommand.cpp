// `tenet tradeoff`: the error-memory trade-off of the gradient for (a) checkpointing only,
// (b) compression only (every step stored compressed) and (c) both, on a grid of memory
// budgets and error tolerances; writes a CSV, two plots and a JSON summary.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "Commands.h"
#include "Survey.h"
#include "compress/CompressedStorage.h"
#include "seismic/Gradient.h"
#include "seismic/Plot.h"
#include "seismic/SeismicIO.h"
#include "support/Error.h"

namespace tenet::cli {

namespace {

struct TradeoffOptions {
  SurveyOptions survey;
  /// Budgets as fractions of the full history: from a handful of checkpoints (where recomputation
  /// dominates) to a fifth of the history.
  std::vector<double> fractions = {0.001, 0.002, 0.004, 0.01, 0.03, 0.1};
  std::vector<double> tolerances = {1e-3, 1e-4, 1e-5};  ///< relative error bounds of the compressor
  std::string codec = "sz";
};

struct Row {
  std::string strategy;
  double tolerance = 0;       // 0: exact
  double fraction = 0;
  std::size_t budget = 0;
  bool feasible = false;
  int snapshots = 0;
  std::int64_t recomputed = 0;
  double seconds = 0, error = 0;
  std::size_t peak_bytes = 0;
};

double relative_error(const std::vector<double> &g, const std::vector<double> &ref) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    num += (g[i] - ref[i]) * (g[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return den > 0 ? std::sqrt(num / den) : 0.0;
}

// Runs one configuration; an over-budget storage or schedule makes it infeasible.
Row run_one(const GradientProblem &problem, const std::vector<double> &observed, const std::vector<double> &ref,
            GradientOptions o, Row row) {
  try {
    GradientResult r = compute_gradient(problem, observed, o);
    row.feasible = true;
    row.seconds = r.seconds_total;
    row.error = relative_error(r.gradient, ref);
    row.recomputed = r.stats.recomputed_steps;
    row.peak_bytes = r.stats.peak_bytes_memory;
    row.snapshots = r.snapshots;
  } catch (const Error &) {
    row.feasible = false;
  }
  return row;
}

void run(const TradeoffOptions &t) {
  const SurveyOptions &s = t.survey;
  for (double f : t.fractions) TENET_USER_CHECK(f > 0 && f <= 1, "--fractions must lie in (0, 1]");
  for (double e : t.tolerances) TENET_USER_CHECK(e > 0 && e < 1, "--tolerances must lie in (0, 1)");
  TENET_USER_CHECK(t.codec == "sz" || t.codec == "zfp", "--codec '", t.codec,
                   "': the trade-off compares lossy codecs, sz or zfp");
  VelocityModel truth = survey_model(s);
  VelocityModel start = starting_model(s, truth);
  AcousticOptions ao = survey_acoustic(s, truth);
  auto sources = survey_sources(s, truth);
  ao.src = sources[sources.size() / 2];
  ao.rec = survey_receivers(s, truth);
  std::vector<double> observed;
  {
    AcousticProblem p(truth, ao);
    p.forward(s.threads);
    observed = p.rec().get_data();
  }
  AcousticProblem work(start, ao);
  ensure_directory(s.out);  // after the checks above, so that a mistake leaves no empty output
  const GradientProblem problem = gradient_problem(work);
  GradientOptions exact;
  exact.strategy = GradientStrategy::StoreAll;
  exact.threads = s.threads;
  const GradientResult ref = compute_gradient(problem, observed, exact);
  const std::size_t state = ref.state_bytes;
  const int steps = static_cast<int>(work.nt() - 2);
  const double full = static_cast<double>(state) * steps;
  say(s, "tenet tradeoff: %d steps, one checkpoint %s, full history %s; exact gradient (store-all) in %.3f s\n",
      steps, format_bytes(static_cast<double>(state)).c_str(), format_bytes(full).c_str(), ref.seconds_total);

  std::vector<Row> rows;
  for (double f : t.fractions) {
    // At least a byte: a budget of 0 would mean "unlimited" to the storage.
    const auto budget = std::max<std::size_t>(1, static_cast<std::size_t>(f * full));
    // (a) checkpointing only: as many exact checkpoints as fit.
    Row a{"checkpointing", 0, f, budget};
    int sa = static_cast<int>(std::min<std::size_t>(budget / state, static_cast<std::size_t>(steps)));
    if (sa >= 1) {
      GradientOptions o = exact;
      o.strategy = GradientStrategy::Revolve;
      o.snapshots = sa;
      a = run_one(problem, observed, ref.gradient, o, a);
    }
    rows.push_back(a);
    for (double tol : t.tolerances) {
      // (b) compression only: every state stored compressed, within the budget.
      {
        CompressedStorage storage(make_compressor(t.codec, {CompressionMode::Relative, tol}), budget, 2);
        GradientOptions o = exact;
        o.memory_storage = &storage;
        rows.push_back(run_one(problem, observed, ref.gradient, o, Row{"compression", tol, f, budget}));
      }
      // (c) both: Revolve with compressed checkpoints; the number that fits follows from the
      // compression ratio, measured on a first try and reduced until the budget holds.
      double ratio = 0;
      for (const Row &r : rows)
        if (r.strategy == "compression" && r.tolerance == tol && r.feasible && r.peak_bytes > 0)
          ratio = std::max(ratio, static_cast<double>(state) * steps / static_cast<double>(r.peak_bytes));
      if (ratio <= 0) {
        CompressedStorage probe(make_compressor(t.codec, {CompressionMode::Relative, tol}), 0, 1);
        GradientOptions o = exact;
        o.strategy = GradientStrategy::Revolve;
        o.snapshots = std::min(steps, 8);
        o.memory_storage = &probe;
        GradientResult r = compute_gradient(problem, observed, o);
        ratio = static_cast<double>(state) * r.stats.snapshots_stored / std::max<double>(1.0, static_cast<double>(probe.peak_bytes()) * r.stats.snapshots_stored / std::max(1, o.snapshots));
      }
      Row c{"both", tol, f, budget};
      int sc = static_cast<int>(std::min<double>(steps, 0.9 * static_cast<double>(budget) * ratio / static_cast<double>(state)));
      for (int attempt = 0; attempt < 4 && sc >= 1 && !c.feasible; ++attempt) {
        CompressedStorage storage(make_compressor(t.codec, {CompressionMode::Relative, tol}), budget, 2);
        GradientOptions o = exact;
        o.strategy = sc >= steps ? GradientStrategy::StoreAll : GradientStrategy::Revolve;
        o.snapshots = sc;
        o.memory_storage = &storage;
        c = run_one(problem, observed, ref.gradient, o, Row{"both", tol, f, budget});
        sc = static_cast<int>(0.75 * sc);
      }
      rows.push_back(c);
    }
    say(s, "  budget %5.1f%% (%s) done\n", 100 * f, format_bytes(static_cast<double>(budget)).c_str());
  }

  // CSV, plots, summary.
  const std::string d = s.out + "/";
  std::string csv = "strategy,tolerance,budget_fraction,budget_bytes,feasible,snapshots,recomputed_steps,seconds,"
                    "gradient_relative_error,peak_checkpoint_bytes\n";
  for (const Row &r : rows) {
    char line[256];
    std::snprintf(line, sizeof line, "%s,%g,%g,%zu,%d,%d,%lld,%.6f,%.6e,%zu\n", r.strategy.c_str(), r.tolerance,
                  r.fraction, r.budget, r.feasible ? 1 : 0, r.snapshots, static_cast<long long>(r.recomputed), r.seconds,
                  r.error, r.peak_bytes);
    csv += line;
  }
  write_bytes_atomically(d + "tradeoff.csv", std::span<const char>(csv.data(), csv.size()), "tradeoff.csv");

  const std::uint8_t colours[][3] = {{31, 119, 180}, {214, 39, 40}, {44, 160, 44},  {148, 103, 189},
                                     {255, 127, 14}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127}};
  std::vector<PlotSeries> err_series, time_series;
  auto series = [&](const std::string &strategy, double tol, int colour, const std::string &label) {
    PlotSeries e, tm;
    e.label = tm.label = label;
    for (int k = 0; k < 3; ++k) e.rgb[k] = tm.rgb[k] = colours[colour % 8][k];
    for (const Row &r : rows)
      if (r.strategy == strategy && r.tolerance == tol && r.feasible) {
        e.x.push_back(100 * r.fraction);
        e.y.push_back(std::max(r.error, 1e-16));
        tm.x.push_back(100 * r.fraction);
        tm.y.push_back(r.seconds / ref.seconds_total);
      }
    if (strategy != "checkpointing") err_series.push_back(e);
    time_series.push_back(tm);
  };
  series("checkpointing", 0, 0, "checkpointing (exact)");
  int colour = 1;
  for (double tol : t.tolerances) {
    char lb[64], lc[64];
    std::snprintf(lb, sizeof lb, "compression %g", tol);
    std::snprintf(lc, sizeof lc, "both %g", tol);
    series("compression", tol, colour, lb);
    series("both", tol, colour + 1, lc);
    colour += 2;
  }
  PlotOptions pe;
  pe.title = "gradient error vs memory";
  pe.xlabel = "memory (% of full history)";
  pe.ylabel = "relative error";
  pe.log_x = pe.log_y = true;
  write_plot(d + "tradeoff_error.png", err_series, pe);
  PlotOptions pt;
  pt.title = "gradient time vs memory";
  pt.xlabel = "memory (% of full history)";
  pt.ylabel = "time / store-all time";
  pt.log_x = pt.log_y = true;
  write_plot(d + "tradeoff_time.png", time_series, pt);

  // Where does (c) dominate: at a budget and tolerance, (c) is feasible, faster than (a),
  // and (b) is infeasible or needs more memory than the budget.
  nlohmann::json dom = nlohmann::json::array();
  for (const Row &c : rows) {
    if (c.strategy != "both" || !c.feasible) continue;
    const Row *a = nullptr, *b = nullptr;
    for (const Row &r : rows) {
      if (r.fraction != c.fraction) continue;
      if (r.strategy == "checkpointing") a = &r;
      if (r.strategy == "compression" && r.tolerance == c.tolerance) b = &r;
    }
    bool beats_a = !a || !a->feasible || c.seconds < a->seconds;
    bool beats_b = !b || !b->feasible || c.error <= b->error;
    if (beats_a && beats_b)
      dom.push_back({{"budget_fraction", c.fraction},
                     {"tolerance", c.tolerance},
                     {"seconds_both", c.seconds},
                     {"seconds_checkpointing", a && a->feasible ? a->seconds : -1.0},
                     {"compression_only_feasible", b && b->feasible},
                     {"error_both", c.error}});
  }
  nlohmann::json rj = nlohmann::json::array();
  for (const Row &r : rows)
    rj.push_back({{"strategy", r.strategy}, {"tolerance", r.tolerance}, {"budget_fraction", r.fraction},
                  {"feasible", r.feasible}, {"snapshots", r.snapshots}, {"recomputed_steps", r.recomputed},
                  {"seconds", r.seconds}, {"gradient_relative_error", r.error}, {"peak_bytes", r.peak_bytes}});
  nlohmann::json j = {{"steps", steps},
                      {"checkpoint_bytes", state},
                      {"full_history_bytes", full},
                      {"store_all_seconds", ref.seconds_total},
                      {"codec", t.codec},
                      {"rows", rj},
                      {"combined_dominates", dom},
                      {"outputs", {d + "tradeoff.csv", d + "tradeoff_error.png", d + "tradeoff_time.png"}}};
  std::string text = j.dump(2) + "\n";
  write_bytes_atomically(d + "tradeoff.json", std::span<const char>(text.data(), text.size()), "tradeoff.json");
  say(s, "combined strategy dominates checkpointing-only and compression-only at %zu of %zu (budget, tolerance) "
         "points\n", dom.size(), t.fractions.size() * t.tolerances.size());
  say(s, "wrote %stradeoff.csv, tradeoff_error.png, tradeoff_time.png, tradeoff.json\n", d.c_str());
}

}  // namespace

void add_tradeoff_command(CLI::App &app) {
  auto o = std::make_shared<TradeoffOptions>();
  o->survey.shape = {201, 81};
  o->survey.shots = 1;
  o->survey.tn = 1200.0;
  CLI::App *c = app.add_subcommand("tradeoff", "Error-memory trade-off of the gradient: checkpointing, compression, both");
  add_survey_options(c, o->survey, true);
  c->add_option("--fractions", o->fractions, "memory budgets as fractions of the full history")->delimiter(',');
  c->add_option("--tolerances", o->tolerances, "relative error bounds of the compressor")->delimiter(',');
  c->add_option("--codec", o->codec, "lossy codec: sz or zfp")->capture_default_str();
  c->callback([o] { run(*o); });
}

}  // namespace tenet::cli
