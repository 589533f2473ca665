#include "seismic/Fwi.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "seismic/Models.h"
#include "support/Error.h"
#include "support/Progress.h"

namespace tenet {
namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Physical-domain mask of the padded grid: the absorbing layer is not inverted.
std::vector<char> physical_mask(const VelocityModel &m) {
  auto ps = m.padded_shape();
  std::vector<char> mask(m.velocity.size(), 0);
  const int nd = static_cast<int>(ps.size());
  for (std::size_t i = 0; i < mask.size(); ++i) {
    std::size_t rest = i;
    bool inside = true;
    for (int d = nd - 1; d >= 0; --d) {
      auto n = static_cast<std::size_t>(ps[static_cast<std::size_t>(d)]);
      auto p = static_cast<std::int64_t>(rest % n);
      rest /= n;
      inside &= p >= m.nbl && p < static_cast<std::int64_t>(n) - m.nbl;
    }
    mask[i] = inside;
  }
  return mask;
}

std::vector<std::vector<double>> model_shots(AcousticProblem &p, const std::vector<std::vector<double>> &sources,
                                             int threads) {
  std::vector<std::vector<double>> out;
  for (const auto &s : sources) {
    p.src().set_coordinates(s);
    p.u().fill(0.0);
    p.forward(threads);
    out.push_back(p.rec().get_data());
  }
  return out;
}

}  // namespace

double fwi_dt(const FwiConfig &c) {
  if (c.acoustic.dt > 0) return c.acoustic.dt;
  double vmax = std::max(c.vmax, c.true_model.vmax());
  vmax = std::max(vmax, c.initial_model.vmax());
  return 0.9 * critical_dt(c.true_model.spacing, c.acoustic.space_order, vmax);
}

FwiResult run_fwi(const FwiConfig &c, const std::function<bool(const FwiIteration &, const VelocityModel &)> &on_iteration) {
  TENET_USER_CHECK(!c.sources.empty(), "fwi: no shots; give at least one source position");
  TENET_USER_CHECK(c.true_model.shape == c.initial_model.shape && c.true_model.nbl == c.initial_model.nbl &&
                       c.true_model.spacing == c.initial_model.spacing,
                   "fwi: the initial model must have the grid of the true model");
  TENET_USER_CHECK(std::isfinite(c.vmax) && c.vmin > 0 && c.vmax > c.vmin, "fwi: velocity bounds must satisfy 0 < vmin < "
                   "vmax, finite (got ", c.vmin, ", ", c.vmax, ")");
  check_model(c.true_model, "fwi: the true model");  // km/s, plausible, the right size
  check_model(c.initial_model, "fwi: the initial model");
  TENET_USER_CHECK(c.threads >= 0, "fwi: threads = ", c.threads, " must be 0 (all) or positive");
  const auto t0 = std::chrono::steady_clock::now();
  FwiResult r;
  r.model = c.initial_model;
  r.dt = fwi_dt(c);
  std::vector<double> stages = c.frequencies.empty() ? std::vector<double>{c.acoustic.f0} : c.frequencies;
  const std::vector<char> mask = physical_mask(c.initial_model);
  bool stop = false;
  for (std::size_t stage = 0; stage < stages.size() && !stop; ++stage) {
    AcousticOptions ao = c.acoustic;
    ao.f0 = stages[stage];
    ao.dt = r.dt;
    ao.src = c.sources[0];
    ao.rec = c.receivers;
    // Observed data from the true model at this stage's frequency.
    std::vector<std::vector<double>> observed;
    {
      AcousticProblem truth(c.true_model, ao);
      observed = model_shots(truth, c.sources, c.threads);
      r.nt = truth.nt();
    }
    AcousticProblem work(r.model, ao);
    GradientOptions gopts = c.gradient;
    gopts.copy_gradient = false;  // summed over shots straight from the gradient field
    if (gopts.threads == 0) gopts.threads = c.threads;
    FwiGradient fg(gradient_problem(work), gopts);
    // Variables: m = 1/v^2 on the padded grid; the absorbing layer is held by equal bounds.
    std::vector<double> x(r.model.velocity.size()), lo(x.size()), hi(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      x[i] = 1.0 / (r.model.velocity[i] * r.model.velocity[i]);
      lo[i] = mask[i] ? 1.0 / (c.vmax * c.vmax) : x[i];
      hi[i] = mask[i] ? 1.0 / (c.vmin * c.vmin) : x[i];
    }
    int evaluations = 0;
    auto objective = [&](const std::vector<double> &m, std::vector<double> &g) {
      work.m().set_data(std::span<const double>(m));
      std::fill(g.begin(), g.end(), 0.0);
      double j = 0;
      Progress bar("  shots", static_cast<std::int64_t>(c.sources.size()), c.progress);
      for (std::size_t s = 0; s < c.sources.size(); ++s) {
        work.src().set_coordinates(c.sources[s]);
        GradientResult gr = fg.compute(std::span<const double>(observed[s]));
        j += gr.misfit;
        Function::from_data(gr.gradient_field).add_data_to(g);
        bar.update(static_cast<std::int64_t>(s + 1));
        r.last_gradient = std::move(gr);
      }
      bar.finish();
      for (std::size_t i = 0; i < g.size(); ++i)
        if (!mask[i]) g[i] = 0.0;  // the absorbing layer is not inverted for
      if (r.first_gradient.empty()) r.first_gradient = g;
      ++evaluations;
      return j;
    };
    const std::size_t stage_start = r.history.size();
    const double stage_t0 = since(t0);
    auto to_model = [&](const std::vector<double> &m) {
      for (std::size_t i = 0; i < m.size(); ++i) r.model.velocity[i] = 1.0 / std::sqrt(m[i]);
    };
    OptimizeResult opt = minimize(objective, x, lo, hi, c.optimizer,
                                  [&](const IterationReport &rep, const std::vector<double> &m) {
                                    to_model(m);
                                    FwiIteration it{static_cast<int>(stage), rep.iteration, rep.objective, since(t0)};
                                    r.history.push_back(it);
                                    if (on_iteration && !on_iteration(it, r.model)) {
                                      stop = true;
                                      return false;
                                    }
                                    return true;
                                  });
    to_model(opt.x);
    r.history.insert(r.history.begin() + static_cast<std::ptrdiff_t>(stage_start),
                     FwiIteration{static_cast<int>(stage), 0, opt.objectives.front(), stage_t0});
  }
  r.seconds = since(t0);
  return r;
}

}  // namespace tenet
