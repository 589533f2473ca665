/** \file BenchCommon.h  What the stencil benchmarks (`tenet bench forward`, `adjoint`,
 * `gradient`) share: options, the acoustic fields, the streaming baseline, cold/warm build
 * timing and best-of-N throughput. */
#pragma once

#include <omp.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "Commands.h"
#include "fd/Derivatives.h"
#include "operator/Operator.h"
#include "support/Error.h"

namespace tenet::cli {

struct BenchOptions {
  std::vector<std::int64_t> shape = {256, 256, 256};
  int space_order = 8;
  std::int64_t steps = 50;
  std::string dtype = "float32";
  int threads = 0;
  bool autotune = true;
  bool json = false;
  int buffers = 2;  ///< u's time buffers: 2 in place (u[t+1] overwrites u[t-1]), 3 the classic layout
  std::string time_tiling = "auto";  ///< --time-tiling (forward and adjoint benches)
};

/// The options every stencil benchmark takes (`buffers`: also --buffers, for the benchmarks of
/// the acoustic fields below).
inline void add_bench_options(CLI::App *c, BenchOptions &o, bool buffers = false) {
  c->add_option("--shape", o.shape, "grid shape, e.g. 256,256,256")->delimiter(',')->capture_default_str();
  c->add_option("--space-order", o.space_order, "space order")->capture_default_str();
  c->add_option("--steps", o.steps, "time steps per timed run")->capture_default_str();
  c->add_option("--dtype", o.dtype, "float32 or float64")->capture_default_str();
  c->add_option("--threads", o.threads, "OpenMP threads (0: default)");
  c->add_flag("!--no-autotune", o.autotune, "keep the default block sizes");
  c->add_flag("--json", o.json, "print one JSON object");
  if (buffers) {
    c->add_option("--buffers", o.buffers, "time buffers of u: 2 (in place: u[t+1] overwrites u[t-1]) or 3")
        ->capture_default_str();
    c->add_option("--time-tiling", o.time_tiling,
                  "auto (grids beyond the cache), always (wherever valid) or never: the stencil kernels' time tiling")
        ->check(CLI::IsMember({"auto", "always", "never"}))
        ->capture_default_str();
  }
}

/// Options of the benchmarked stencil operators (not of the streaming baseline).
inline OperatorOptions bench_operator_options(const BenchOptions &o, const std::string &name = "Kernel") {
  OperatorOptions opts;
  opts.name = name;
  opts.passes.time_tiling = o.time_tiling == "always" ? TimeTiling::Always
                            : o.time_tiling == "never" ? TimeTiling::Never
                                                       : TimeTiling::Auto;
  return opts;
}

inline void check_bench_options(const BenchOptions &o) {
  check_shape_sizes(o.shape, 1, 3, "256,256,256");
  TENET_USER_CHECK(o.steps >= 1, "--steps must be at least 1");
  TENET_USER_CHECK(o.buffers == 2 || o.buffers == 3, "--buffers must be 2 (in place) or 3, not ", o.buffers);
}

inline int bench_threads(const BenchOptions &o) { return o.threads > 0 ? o.threads : omp_get_max_threads(); }

/// A grid of spacing 10 m in every dimension.
inline Grid bench_grid(const BenchOptions &o) {
  std::vector<double> extent(o.shape.size(), 0);
  for (std::size_t d = 0; d < o.shape.size(); ++d) extent[d] = 10.0 * static_cast<double>(o.shape[d] - 1);
  return Grid(o.shape, extent, parse_dtype(o.dtype));
}

/// The acoustic fields. With 2 buffers u keeps its levels in place (u[t+1] overwrites u[t-1],
/// which the update reads only at the point it writes), and so does the streaming baseline.
struct Fields {
  Grid grid;
  Function m, damp;
  TimeFunction u;
  Fields(const Grid &g, int so, int buffers)
      : grid(g), m("m", g, so), damp("damp", g, so), u("u", g, so, [buffers] {
          TimeFunctionOptions t;
          t.time_order = 2;
          t.buffers = buffers;
          return t;
        }()) {}
};

/// A smooth pseudo-random pulse, so that the arithmetic runs on ordinary (not denormal) numbers.
inline void fill_pulse(Function &f, int buffer) {
  std::vector<double> pulse(static_cast<std::size_t>(f.grid().size()));
  for (std::size_t i = 0; i < pulse.size(); ++i) pulse[i] = 1e-3 * static_cast<double>((i * 2654435761u) % 1000) / 1000.0;
  f.set_data(std::span<const double>(pulse), buffer);
}

/// m = 1/1.5^2, no damping, u at rest but for the pulse in its first two buffers.
inline void init_fields(Fields &f) {
  f.m.fill(1.0 / (1.5 * 1.5));
  f.damp.fill(0.0);
  fill_pulse(f.u, 0);
  fill_pulse(f.u, 1);
}

/// dt (ms) stable for h = 10 m, v = 1.5 km/s at every order used here.
inline constexpr double kBenchDt = 0.5;

inline Expr acoustic_pde(Fields &f) { return Expr(f.m) * dt2(f.u) - laplace(f.u) + Expr(f.damp) * dt(f.u); }
/// The update every acoustic benchmark times (forward, adjoint, gradient): u[t+1] solved from
/// the PDE, with its residual kept for differentiation.
inline Eq acoustic_update(Fields &f) { return solve_eq(acoustic_pde(f), f.u.forward(), "acoustic wave equation"); }

// Same arrays, read and written once per point, no neighbours: what the memory system allows.
inline std::vector<Eq> baseline_equations(Fields &f) {
  Expr rhs = Expr(f.m) * (Expr(2) * f.u() - f.u.backward()) + Expr(f.damp) * f.u.backward();
  return {Eq(f.u.forward(), rhs, "streaming baseline")};
}

/// The baseline's operator: one pass over memory per step, so never time-tiled (tiled, its
/// steps would run from the cache and it would no longer measure the memory system).
inline OperatorOptions baseline_options() {
  OperatorOptions o;
  o.passes.time_tiling = TimeTiling::Never;
  return o;
}

struct BuildTimes {
  double build_cold = 0, jit_cold = 0, build_warm = 0, jit_warm = 0;
};

/// Runs `build` (returning its build and JIT seconds) with an empty kernel cache (cold) and
/// again from that cache (warm); the temporary cache is removed afterwards.
inline BuildTimes time_builds(const std::function<std::pair<double, double>()> &build) {
  BuildTimes t;
  const char *old = std::getenv("TENET_CACHE_DIR");
  std::string saved = old ? old : "";
  char templ[] = "/tmp/tenet-bench-XXXXXX";
  const char *dir = ::mkdtemp(templ);
  TENET_USER_CHECK(dir != nullptr, "cannot create a temporary directory for the cold-cache timing");
  ::setenv("TENET_CACHE_DIR", dir, 1);
  auto restore = [&] {
    if (old) ::setenv("TENET_CACHE_DIR", saved.c_str(), 1);
    else ::unsetenv("TENET_CACHE_DIR");
    std::filesystem::remove_all(dir);
  };
  try {
    std::tie(t.build_cold, t.jit_cold) = build();
    std::tie(t.build_warm, t.jit_warm) = build();
  } catch (...) {
    restore();
    throw;
  }
  restore();
  return t;
}

/// Warm-up (with autotuning when asked) on a few steps, then the best of `reps` timed runs
/// over steps 1..o.steps.
inline double best_gpts(Operator &op, const BenchOptions &o, double dt, int reps = 2) {
  ApplyArgs a;
  const auto names = op.scalar_names();
  if (std::find(names.begin(), names.end(), "dt") != names.end()) a.scalars["dt"] = dt;  // an adjoint may not read it
  a.threads = o.threads;
  a.time_m = 1;
  a.time_M = std::min<std::int64_t>(3, o.steps);  // warm-up (and autotuning)
  a.autotune = o.autotune;
  op.apply(a);
  a.autotune = false;
  a.time_M = o.steps;
  double best = 0;
  for (int rep = 0; rep < reps; ++rep) best = std::max(best, op.apply(a).gpts);
  return best;
}

}  // namespace tenet::cli
