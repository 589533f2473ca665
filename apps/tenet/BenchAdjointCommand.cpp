// `tenet bench adjoint`: one adjoint step of the acoustic equation (with gradient accumulation)
// against one forward step on the same grid, measured in the same run.
// `tenet bench gradient`: the whole FWI gradient (forward + adjoint) against one forward run,
// with the history in memory or, with --checkpoints / --memory, checkpointed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "BenchCommon.h"
#include "Survey.h"
#include "Commands.h"
#include "ad/Differentiate.h"
#include "seismic/Acoustic.h"
#include "seismic/Gradient.h"

namespace tenet::cli {

namespace {

// ---- bench adjoint ----

// With `gradient`, the adjoint also accumulates dJ/dm (reading the forward field each step),
// summed by parts in time as the FWI gradient does (one forward level per step).
DerivativeOperator make_adjoint(Fields &f, const BenchOptions &o, bool gradient = true) {
  DiffRequest req;
  if (gradient) req.parameters = {f.m.data()};
  req.at_rest = true;
  return adjoint({acoustic_update(f)}, req, bench_operator_options(o, "bench_adjoint"));
}

void run_bench_adjoint(const BenchOptions &o, int reps) {
  check_bench_options(o);
  Grid g = bench_grid(o);
  Fields f(g, o.space_order, o.buffers);
  init_fields(f);
  const double dt = kBenchDt;

  BuildTimes bt = time_builds([&] {
    DerivativeOperator a = make_adjoint(f, o);
    double build = a.op->build_seconds(), jit = a.op->jit_seconds();
    if (a.prepare) {
      build += a.prepare->build_seconds();
      jit += a.prepare->jit_seconds();
    }
    return std::make_pair(build, jit);
  });
  Operator forward({acoustic_update(f)}, bench_operator_options(o));
  Operator baseline(baseline_equations(f), baseline_options());
  DerivativeOperator adj = make_adjoint(f, o, false);
  DerivativeOperator adjg = make_adjoint(f, o, true);
  // The adjoint fields start from the same kind of pulse as the forward one.
  for (DerivativeOperator *d : {&adj, &adjg}) {
    TimeFunction ubar = TimeFunction::from_data(d->of("u"));
    for (int b = 0; b < ubar.data()->nbuf; ++b) fill_pulse(ubar, b);
    ApplyArgs pa;
    pa.scalars["dt"] = dt;
    pa.threads = o.threads;
    d->run_prepare(pa);
  }

  // Interleaved, best of `reps` each, so that a load from elsewhere hits all alike.
  double fwd = 0, back = 0, backg = 0, base = 0;
  for (int r = 0; r < reps; ++r) {
    fwd = std::max(fwd, best_gpts(forward, o, dt, 1));
    back = std::max(back, best_gpts(*adj.op, o, dt, 1));
    backg = std::max(backg, best_gpts(*adjg.op, o, dt, 1));
    base = std::max(base, best_gpts(baseline, o, dt, 1));
  }
  const double seconds_fwd = static_cast<double>(g.size()) / (fwd * 1e9);
  const double seconds_adj = static_cast<double>(g.size()) / (back * 1e9);
  const double seconds_adjg = static_cast<double>(g.size()) / (backg * 1e9);
  nlohmann::json j = {{"shape", o.shape},
                      {"space_order", o.space_order},
                      {"dtype", o.dtype},
                      {"steps", o.steps},
                      {"threads", bench_threads(o)},
                      {"time_buffers", o.buffers},
                      {"time_tiled", {{"forward", forward.kernel().time_tiled}, {"adjoint", adj.op->kernel().time_tiled}}},
                      {"time_tile_stages",
                       {{"forward", forward.kernel().tile_stages}, {"adjoint", adj.op->kernel().tile_stages}}},
                      {"gpts", back},
                      {"seconds_per_step", seconds_adj},
                      {"forward_gpts", fwd},
                      {"forward_seconds_per_step", seconds_fwd},
                      {"ratio_to_forward", seconds_adj / seconds_fwd},
                      {"with_gradient_gpts", backg},
                      {"with_gradient_ratio_to_forward", seconds_adjg / seconds_fwd},
                      {"baseline_gpts", base},
                      {"efficiency", back / base},
                      {"block_sizes", adj.op->block_sizes()},
                      {"build_seconds", {{"cold", bt.build_cold}, {"warm", bt.build_warm}}},
                      {"jit_seconds", {{"cold", bt.jit_cold}, {"warm", bt.jit_warm}}},
                      {"total_build_seconds", {{"cold", bt.build_cold + bt.jit_cold}, {"warm", bt.build_warm + bt.jit_warm}}}};
  if (o.json) {
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("adjoint %s order %d %s: %.3f Gpts/s (%.4f s/step); forward %.3f Gpts/s (%.4f s/step); "
              "adjoint/forward %.3f (with gradient accumulation %.3f); baseline %.3f Gpts/s, efficiency %.2f\n",
              nlohmann::json(o.shape).dump().c_str(), o.space_order, o.dtype.c_str(), back, seconds_adj, fwd,
              seconds_fwd, seconds_adj / seconds_fwd, seconds_adjg / seconds_fwd, base, back / base);
  std::printf("build %.3f s + jit %.3f s cold; %.4f s + %.4f s from the cache\n", bt.build_cold, bt.jit_cold,
              bt.build_warm, bt.jit_warm);
}

// ---- bench gradient ----

struct GradientBenchOptions {
  int checkpoints = 0;
  std::string memory_text;  ///< --memory as given
  std::size_t memory = 0;
  int disk_checkpoints = 0;
  std::string disk_dir;
  double write_cost = 2.0, read_cost = 2.0;
  bool copy_checkpoints = false;
  int reps = 3;
};

// An acoustic shot whose padded grid is exactly --shape and which runs exactly --steps steps.
std::unique_ptr<AcousticProblem> bench_problem(const BenchOptions &o, bool in_place = true) {
  const std::int64_t smallest = *std::min_element(o.shape.begin(), o.shape.end());
  check_shape_sizes(o.shape, 2, 3, "256,256,256");
  const int nbl = static_cast<int>(std::min<std::int64_t>(20, smallest / 8));
  std::vector<std::int64_t> physical = o.shape;
  for (auto &n : physical) n -= 2 * nbl;
  TENET_USER_CHECK(smallest - 2 * nbl >= 4, "bench gradient: --shape is too small");
  std::vector<double> spacing(o.shape.size(), 10.0);
  VelocityModel model = layered_model(physical, spacing, nbl);
  AcousticOptions ao;
  ao.space_order = o.space_order;
  ao.dtype = parse_dtype(o.dtype);
  ao.dt = 0.9 * critical_dt(spacing, o.space_order, model.vmax());
  ao.tn = ao.dt * (static_cast<double>(o.steps) + 0.5);  // nt = steps + 2: the forward runs 1..nt-2
  ao.f0 = 0.015;
  ao.in_place = in_place;
  auto p = std::make_unique<AcousticProblem>(model, ao);
  TENET_INTERNAL_CHECK(p->nt() == o.steps + 2, "bench gradient: nt ", p->nt(), " for ", o.steps, " steps");
  return p;
}

// The middle value (the mean of the two middle ones for an even count).
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0.0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double seconds_of(const std::function<void()> &f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void run_bench_gradient(const BenchOptions &o, const GradientBenchOptions &go) {
  check_bench_options(o);
  std::unique_ptr<AcousticProblem> p = bench_problem(o);
  GradientOptions opts;
  opts.threads = o.threads;
  opts.copy_gradient = false;  // the gradient stays in its field; the float64 copy is timed apart
  opts.checkpoints_by_reference = !go.copy_checkpoints;
  if (go.checkpoints > 0 || go.memory > 0) {
    opts.snapshots = go.checkpoints;
    opts.memory_bytes = go.memory;
    opts.strategy = GradientStrategy::Revolve;
    if (go.disk_checkpoints > 0) {
      opts.strategy = GradientStrategy::TwoLevel;
      opts.disk_snapshots = go.disk_checkpoints;
      opts.disk_directory = go.disk_dir.empty() ? std::filesystem::temp_directory_path().string() : go.disk_dir;
      opts.write_cost = go.write_cost;
      opts.read_cost = go.read_cost;
    }
  }
  TENET_USER_CHECK(go.disk_checkpoints == 0 || opts.strategy == GradientStrategy::TwoLevel,
                   "--disk-checkpoints needs --checkpoints or --memory for the memory level");

  BuildTimes bt = time_builds([&] {
    FwiGradient g(gradient_problem(*p), opts);
    double build = g.forward_operator().build_seconds() + g.adjoint_operator().op->build_seconds();
    double jit = g.forward_operator().jit_seconds() + g.adjoint_operator().op->jit_seconds();
    if (g.adjoint_operator().prepare) {
      build += g.adjoint_operator().prepare->build_seconds();
      jit += g.adjoint_operator().prepare->jit_seconds();
    }
    return std::make_pair(build, jit);
  });
  FwiGradient grad(gradient_problem(*p), opts);
  // Observed data: zero, so the residual is the recorded data itself (the cost does not depend
  // on the values).
  const std::vector<double> observed(static_cast<std::size_t>(p->nt() * p->rec().npoint()), 0.0);

  // Autotune the three operators on a few steps (their data is restored afterwards).
  ApplyArgs tune;
  tune.scalars["dt"] = p->dt();
  tune.threads = o.threads;
  tune.time_m = 1;
  tune.time_M = std::min<std::int64_t>(3, o.steps);
  tune.autotune = o.autotune;
  p->op().apply(tune);
  grad.forward_operator().apply(tune);
  grad.adjoint_operator().run_prepare(tune);
  {
    ApplyArgs t = tune;
    const auto names = grad.adjoint_operator().op->scalar_names();
    if (std::find(names.begin(), names.end(), "dt") == names.end()) t.scalars.clear();
    grad.adjoint_operator().op->apply(t);
  }

  ApplyArgs fa = tune;
  fa.autotune = false;
  fa.time_M = p->nt() - 2;
  double forward = 1e300;
  GradientResult best;
  best.seconds_total = 1e300;
  // The same forward with three time buffers instead of two in place (as FWI codes usually run
  // it; the forward of a full-history gradient saves every level, so it cannot be in place).
  std::unique_ptr<AcousticProblem> p3 = bench_problem(o, false);
  p3->op().apply(tune);
  double forward3 = 1e300;
  // What GradientResult::gradient's float64 copy (copy_gradient, the default) adds: the first
  // (whose fresh 134 MB at 256^3 the system backs on first touch, 0.3 s on some VMs) and the
  // best of the later ones, as every further gradient of an inversion pays.
  double copy_first = -1, copy_out = 1e300;
  // Each repetition's gradient against the forward run just before it: the machine's slow and
  // fast phases (a shared VM's memory bandwidth varies by tens of percent for seconds) then meet
  // both alike, and their median is the robust figure beside the ratio of the bests.
  std::vector<double> pair_ratios;
  // The first gradient faults in its history or checkpoints (4.5 GB at 256^3 order 8 with the
  // whole history: 3 s more on some VMs), as the first of an inversion does; the repetitions
  // time the ones after it, and this one is reported apart.
  const double first_gradient = seconds_of([&] { (void)grad.compute(observed); });
  for (int r = 0; r < go.reps; ++r) {  // interleaved, best of each
    const double fwd_now = seconds_of([&] { p->op().apply(fa); });
    forward = std::min(forward, fwd_now);
    forward3 = std::min(forward3, seconds_of([&] { p3->op().apply(fa); }));
    GradientResult res = grad.compute(observed);
    pair_ratios.push_back(res.seconds_total / fwd_now);
    const double copy = seconds_of([&] { (void)Function::from_data(res.gradient_field).get_data(); });
    if (copy_first < 0) copy_first = copy;
    else copy_out = std::min(copy_out, copy);
    if (res.seconds_total < best.seconds_total) best = std::move(res);
  }
  if (go.reps < 2) copy_out = copy_first;
  const double steps = static_cast<double>(o.steps);
  const double points = static_cast<double>(p->grid().size()) * steps;
  const ExecutionStats &s = best.stats;
  const bool checkpointed = opts.strategy != GradientStrategy::FullHistory;
  const double overhead = checkpointed ? s.seconds_overhead() : 0.0;
  // What the gradient costs by the schedule's count: every forward evaluation at the forward's
  // speed plus the adjoint steps at the adjoint's speed (the adjoint part of reverse steps).
  const double fwd_step = forward / steps;
  nlohmann::json j = {{"shape", o.shape},
                      {"space_order", o.space_order},
                      {"dtype", o.dtype},
                      {"steps", o.steps},
                      {"threads", bench_threads(o)},
                      {"strategy", best.schedule},
                      {"gpts", points / (best.seconds_total * 1e9)},
                      {"seconds", best.seconds_total},
                      {"seconds_per_step", best.seconds_total / steps},
                      {"forward_seconds", forward},
                      {"forward_gpts", points / (forward * 1e9)},
                      {"ratio_to_forward", best.seconds_total / forward},
                      {"ratio_to_forward_median_of_pairs", median(pair_ratios)},
                      {"forward_seconds_3_buffers", forward3},
                      {"ratio_to_forward_3_buffers", best.seconds_total / forward3},
                      {"seconds_copy_out", copy_out},
                      {"seconds_copy_out_first", copy_first},
                      {"seconds_first_gradient", first_gradient},
                      {"ratio_to_forward_with_copy_out", (best.seconds_total + copy_out) / forward},
                      {"seconds_forward_part", best.seconds_forward},
                      {"seconds_reverse_part", best.seconds_adjoint},
                      {"state_bytes", best.state_bytes},
                      {"block_sizes", {{"forward", grad.forward_operator().block_sizes()},
                                       {"adjoint", grad.adjoint_operator().op->block_sizes()}}},
                      {"misfit", best.misfit},
                      {"build_seconds", {{"cold", bt.build_cold}, {"warm", bt.build_warm}}},
                      {"jit_seconds", {{"cold", bt.jit_cold}, {"warm", bt.jit_warm}}},
                      {"total_build_seconds", {{"cold", bt.build_cold + bt.jit_cold}, {"warm", bt.build_warm + bt.jit_warm}}}};
  if (checkpointed) {
    // The reverse part's time holds the adjoint steps and the forward steps run inside them.
    const double adj_step = (s.seconds_reverse - static_cast<double>(best.taped_steps) * fwd_step) /
                            static_cast<double>(std::max<std::int64_t>(1, s.reverse_steps));
    j["snapshots"] = best.snapshots;
    j["disk_snapshots"] = best.disk_snapshots;
    j["predicted"] = {{"advanced_steps", best.predicted.advanced_steps},
                      {"recomputed_steps", best.predicted.recomputed_steps},
                      {"forward_evaluations", best.predicted.forward_evaluations},
                      {"disk_saves", best.predicted.saves[kDiskLevel]},
                      {"disk_loads", best.predicted.loads[kDiskLevel]}};
    j["executed"] = {{"advanced_steps", s.forward_steps},
                     {"recomputed_steps", s.recomputed_steps},
                     {"forward_evaluations", s.forward_steps + best.taped_steps},
                     {"taped_steps", best.taped_steps},
                     {"reverse_steps", s.reverse_steps},
                     {"saves", {s.saves[0], s.saves[1]}},
                     {"loads", {s.loads[0], s.loads[1]}},
                     {"saves_in_place", s.saves_in_place},
                     {"loads_in_place", s.loads_in_place},
                     {"reverse_windows", s.reverse_windows},
                     {"windows_from_slots", s.windows_from_slots}};
    j["seconds_runtime"] = {{"forward", s.seconds_forward},
                            {"reverse", s.seconds_reverse},
                            {"save", s.seconds_save},
                            {"load", s.seconds_load},
                            {"total", s.seconds_total},
                            {"overhead", overhead}};
    j["overhead_fraction"] = s.seconds_total > 0 ? overhead / s.seconds_total : 0.0;
    j["peak_bytes"] = {{"memory", s.peak_bytes_memory}, {"disk", s.peak_bytes_disk}};
    // The cost the schedule predicts at this run's step speeds, against the measured one.
    j["predicted_ratio_to_forward"] =
        (static_cast<double>(best.predicted.forward_evaluations) * fwd_step + steps * adj_step) / forward;
  }
  if (o.json) {
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("gradient (%s) %s order %d %s, %lld steps: %.3f s; forward %.3f s; gradient/forward %.3f "
              "(median of %d pairs %.3f; %.3f with the float64 copy, %.3f s; the first copy %.3f s; "
              "the first gradient %.3f s)\n",
              best.schedule.c_str(), nlohmann::json(o.shape).dump().c_str(), o.space_order, o.dtype.c_str(),
              static_cast<long long>(o.steps), best.seconds_total, forward, best.seconds_total / forward,
              go.reps, median(pair_ratios), (best.seconds_total + copy_out) / forward, copy_out, copy_first,
              first_gradient);
  if (checkpointed) {
    std::printf("snapshots %d memory + %d disk; recomputed %lld steps (predicted %lld); runtime overhead %.2f%% "
                "(save %.3f s, load %.3f s); in place: %lld of %lld saves, %lld of %lld loads, %lld windows "
                "(%lld from their slots)\n",
                best.snapshots, best.disk_snapshots, static_cast<long long>(s.recomputed_steps),
                static_cast<long long>(best.predicted.recomputed_steps),
                100.0 * (s.seconds_total > 0 ? overhead / s.seconds_total : 0.0), s.seconds_save, s.seconds_load,
                static_cast<long long>(s.saves_in_place), static_cast<long long>(s.saves[0] + s.saves[1]),
                static_cast<long long>(s.loads_in_place), static_cast<long long>(s.loads[0] + s.loads[1]),
                static_cast<long long>(s.reverse_windows), static_cast<long long>(s.windows_from_slots));
  }
}

}  // namespace

void add_bench_adjoint_commands(CLI::App &bench) {
  {
    auto o = std::make_shared<BenchOptions>();
    auto reps = std::make_shared<int>(2);
    CLI::App *c = bench.add_subcommand("adjoint", "Acoustic adjoint step against the forward step (and with gradient accumulation), same run");
    add_bench_options(c, *o, true);
    c->add_option("--repeat", *reps, "interleaved repetitions (best of each is kept)")->capture_default_str()->check(kPositive);
    c->callback([o, reps] { run_bench_adjoint(*o, *reps); });
  }
  {
    auto o = std::make_shared<BenchOptions>();
    auto go = std::make_shared<GradientBenchOptions>();
    CLI::App *c = bench.add_subcommand("gradient", "Full FWI gradient (forward + adjoint) against one forward run, "
                                                   "history in memory or checkpointed");
    add_bench_options(c, *o);
    c->add_option("--checkpoints", go->checkpoints, "checkpointed gradient with Revolve and this many memory snapshots "
                                                    "(the initial state included)")->check(kPositive);
    c->add_option("--memory", go->memory_text, "checkpointed gradient with Revolve in this much memory, e.g. 512MiB");
    c->add_option("--disk-checkpoints", go->disk_checkpoints, "add this many disk snapshots (two-level schedule)")
        ->check(kPositive);
    c->add_option("--disk-dir", go->disk_dir, "directory for disk checkpoints (default: the temporary directory)");
    c->add_option("--write-cost", go->write_cost, "disk write cost in forward steps (two-level schedule)")->capture_default_str();
    c->add_option("--read-cost", go->read_cost, "disk read cost in forward steps (two-level schedule)")->capture_default_str();
    c->add_option("--repeat", go->reps, "interleaved repetitions (best of each is kept)")->capture_default_str()->check(kPositive);
    c->add_flag("--copy-checkpoints", go->copy_checkpoints,
                "checkpointed: copy every save and load (no checkpoints by reference), for comparison");
    c->callback([o, go] {
      if (!go->memory_text.empty()) go->memory = parse_bytes(go->memory_text, "--memory");
      TENET_USER_CHECK(go->disk_dir.empty() || go->disk_checkpoints > 0, "--disk-dir needs --disk-checkpoints");
      run_bench_gradient(*o, *go);
    });
  }
}

}  // namespace tenet::cli
