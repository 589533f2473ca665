// `tenet bench forward`: throughput of the acoustic forward operator against a same-run
// baseline that streams the same arrays once per point with no neighbours.
#include <cstdio>
#include <omp.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "Commands.h"
#include "fd/Derivatives.h"
#include "operator/Operator.h"
#include "support/Error.h"

namespace tenet::cli {

namespace {

struct BenchOptions {
  std::vector<std::int64_t> shape = {256, 256, 256};
  int space_order = 8;
  std::int64_t steps = 50;
  std::string dtype = "float32";
  int threads = 0;
  bool autotune = true;
  bool json = false;
};

struct Fields {
  Grid grid;
  Function m, damp;
  TimeFunction u;
  Fields(const Grid &g, int so)
      : grid(g), m("m", g, so), damp("damp", g, so), u("u", g, so, [] {
          TimeFunctionOptions t;
          t.time_order = 2;
          return t;
        }()) {}
};

std::vector<Eq> stencil_equations(Fields &f) {
  Expr pde = Expr(f.m) * dt2(f.u) - laplace(f.u) + Expr(f.damp) * dt(f.u);
  return {Eq(f.u.forward(), solve(pde, f.u.forward()), "acoustic wave equation")};
}

// Same arrays, read and written once per point, no neighbours: what the memory system allows.
std::vector<Eq> baseline_equations(Fields &f) {
  Expr rhs = Expr(f.m) * (Expr(2) * f.u() - f.u.backward()) + Expr(f.damp) * f.u.backward();
  return {Eq(f.u.forward(), rhs, "streaming baseline")};
}

// Builds an operator with an empty cache (cold) and again from the cache (warm).
struct BuildTimes {
  double build_cold = 0, jit_cold = 0, build_warm = 0, jit_warm = 0;
};

BuildTimes time_builds(Fields &f) {
  BuildTimes t;
  const char *old = std::getenv("TENET_CACHE_DIR");
  std::string saved = old ? old : "";
  char templ[] = "/tmp/tenet-bench-XXXXXX";
  const char *dir = ::mkdtemp(templ);
  TENET_USER_CHECK(dir != nullptr, "cannot create a temporary directory for the cold-cache timing");
  ::setenv("TENET_CACHE_DIR", dir, 1);
  try {
    Operator cold(stencil_equations(f));
    t.build_cold = cold.build_seconds();
    t.jit_cold = cold.jit_seconds();
    Operator warm(stencil_equations(f));
    t.build_warm = warm.build_seconds();
    t.jit_warm = warm.jit_seconds();
  } catch (...) {
    if (old) ::setenv("TENET_CACHE_DIR", saved.c_str(), 1);
    else ::unsetenv("TENET_CACHE_DIR");
    std::filesystem::remove_all(dir);
    throw;
  }
  if (old) ::setenv("TENET_CACHE_DIR", saved.c_str(), 1);
  else ::unsetenv("TENET_CACHE_DIR");
  std::filesystem::remove_all(dir);
  return t;
}

double best_gpts(Operator &op, const BenchOptions &o, double dt) {
  ApplyArgs a;
  a.scalars["dt"] = dt;
  a.threads = o.threads;
  a.time_m = 1;
  a.time_M = std::min<std::int64_t>(3, o.steps);  // warm-up (and autotuning)
  a.autotune = o.autotune;
  op.apply(a);
  a.autotune = false;
  a.time_M = o.steps;
  double best = 0;
  for (int rep = 0; rep < 2; ++rep) best = std::max(best, op.apply(a).gpts);
  return best;
}

void run_bench(const BenchOptions &o) {
  TENET_USER_CHECK(o.shape.size() >= 1 && o.shape.size() <= 3, "--shape takes 1 to 3 sizes");
  TENET_USER_CHECK(o.steps >= 1, "--steps must be at least 1");
  std::vector<double> extent(o.shape.size(), 0);
  for (std::size_t d = 0; d < o.shape.size(); ++d) extent[d] = 10.0 * static_cast<double>(o.shape[d] - 1);
  Grid g(o.shape, extent, parse_dtype(o.dtype));
  Fields f(g, o.space_order);
  f.m.fill(1.0 / (1.5 * 1.5));
  f.damp.fill(0.0);
  // A smooth initial pulse, so that the arithmetic runs on ordinary (not denormal) numbers.
  std::vector<double> pulse(static_cast<std::size_t>(g.size()));
  for (std::size_t i = 0; i < pulse.size(); ++i) pulse[i] = 1e-3 * static_cast<double>((i * 2654435761u) % 1000) / 1000.0;
  f.u.set_data(std::span<const double>(pulse), 0);
  f.u.set_data(std::span<const double>(pulse), 1);
  const double dt = 0.5;  // ms: stable for h = 10 m, v = 1.5 km/s at every order used here

  BuildTimes bt = time_builds(f);
  Operator stencil(stencil_equations(f));
  Operator baseline(baseline_equations(f));
  double gpts = best_gpts(stencil, o, dt);
  double base = best_gpts(baseline, o, dt);
  nlohmann::json j = {{"shape", o.shape},
                      {"space_order", o.space_order},
                      {"dtype", o.dtype},
                      {"steps", o.steps},
                      {"threads", o.threads > 0 ? o.threads : omp_get_max_threads()},
                      {"gpts", gpts},
                      {"seconds_per_step", static_cast<double>(g.size()) / (gpts * 1e9)},
                      {"baseline_gpts", base},
                      {"efficiency", gpts / base},
                      {"block_sizes", stencil.block_sizes()},
                      {"build_seconds", {{"cold", bt.build_cold}, {"warm", bt.build_warm}}},
                      {"jit_seconds", {{"cold", bt.jit_cold}, {"warm", bt.jit_warm}}},
                      {"total_build_seconds", {{"cold", bt.build_cold + bt.jit_cold}, {"warm", bt.build_warm + bt.jit_warm}}}};
  if (o.json) {
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("forward %s order %d %s: %.3f Gpts/s (%.4f s/step), baseline %.3f Gpts/s, efficiency %.2f\n",
              nlohmann::json(o.shape).dump().c_str(), o.space_order, o.dtype.c_str(), gpts,
              static_cast<double>(g.size()) / (gpts * 1e9), base, gpts / base);
  std::printf("build %.3f s + jit %.3f s cold; %.4f s + %.4f s from the cache\n", bt.build_cold, bt.jit_cold,
              bt.build_warm, bt.jit_warm);
}

}  // namespace

void add_bench_forward_command(CLI::App &bench) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App *c = bench.add_subcommand("forward", "Acoustic forward throughput against a same-run streaming baseline");
  c->add_option("--shape", o->shape, "grid shape, e.g. 256,256,256")->delimiter(',')->capture_default_str();
  c->add_option("--space-order", o->space_order, "space order")->capture_default_str();
  c->add_option("--steps", o->steps, "time steps per timed run")->capture_default_str();
  c->add_option("--dtype", o->dtype, "float32 or float64")->capture_default_str();
  c->add_option("--threads", o->threads, "OpenMP threads (0: default)");
  c->add_flag("!--no-autotune", o->autotune, "keep the default block sizes");
  c->add_flag("--json", o->json, "print one JSON object");
  c->callback([o] { run_bench(*o); });
}

}  // namespace tenet::cli
