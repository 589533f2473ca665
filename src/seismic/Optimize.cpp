#include "seismic/Optimize.h"

#include <algorithm>
#include <cmath>
#include <deque>

#include "support/Error.h"

namespace tenet {
namespace {

double dot(const std::vector<double> &a, const std::vector<double> &b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

void project(std::vector<double> &x, const std::vector<double> &lo, const std::vector<double> &hi) {
  if (!lo.empty())
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::max(x[i], lo[i]);
  if (!hi.empty())
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::min(x[i], hi[i]);
}

// Norm of the gradient with components that push against an active bound removed.
double projected_gradient_norm(const std::vector<double> &x, const std::vector<double> &g,
                               const std::vector<double> &lo, const std::vector<double> &hi) {
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    bool at_lo = !lo.empty() && x[i] <= lo[i] && g[i] > 0;
    bool at_hi = !hi.empty() && x[i] >= hi[i] && g[i] < 0;
    if (!at_lo && !at_hi) s += g[i] * g[i];
  }
  return std::sqrt(s);
}

struct Pair {
  std::vector<double> s, y;
  double rho;
};

// The L-BFGS two-loop recursion: returns -H g.
std::vector<double> lbfgs_direction(const std::vector<double> &g, const std::deque<Pair> &pairs) {
  std::vector<double> q = g;
  std::vector<double> alpha(pairs.size());
  for (std::size_t k = pairs.size(); k-- > 0;) {
    alpha[k] = pairs[k].rho * dot(pairs[k].s, q);
    for (std::size_t i = 0; i < q.size(); ++i) q[i] -= alpha[k] * pairs[k].y[i];
  }
  if (!pairs.empty()) {
    const Pair &last = pairs.back();
    double gamma = dot(last.s, last.y) / dot(last.y, last.y);
    for (double &v : q) v *= gamma;
  }
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    double beta = pairs[k].rho * dot(pairs[k].y, q);
    for (std::size_t i = 0; i < q.size(); ++i) q[i] += pairs[k].s[i] * (alpha[k] - beta);
  }
  for (double &v : q) v = -v;
  return q;
}

}  // namespace

OptimizeResult minimize(const ObjectiveFunction &f, std::vector<double> x, const std::vector<double> &lower,
                        const std::vector<double> &upper, const OptimizeOptions &opts,
                        const std::function<bool(const IterationReport &, const std::vector<double> &)> &on_iteration) {
  TENET_USER_CHECK(!x.empty(), "minimize: no variables");
  TENET_USER_CHECK(lower.empty() || lower.size() == x.size(), "minimize: lower bounds have the wrong size");
  TENET_USER_CHECK(upper.empty() || upper.size() == x.size(), "minimize: upper bounds have the wrong size");
  TENET_USER_CHECK(opts.iterations >= 0 && opts.memory >= 1, "minimize: iterations >= 0 and memory >= 1 required");
  for (std::size_t i = 0; i < lower.size() && i < upper.size(); ++i)
    TENET_USER_CHECK(lower[i] <= upper[i], "minimize: lower bound ", lower[i], " above (or not comparable with) upper ",
                     "bound ", upper[i], " at variable ", i);
  for (std::size_t i = 0; i < x.size(); ++i)
    TENET_USER_CHECK(std::isfinite(x[i]), "minimize: starting value ", i, " is ", x[i]);
  TENET_USER_CHECK(std::isfinite(opts.first_step) && opts.first_step > 0 && opts.max_line_search >= 1 &&
                       std::isfinite(opts.armijo) && opts.armijo > 0 && opts.armijo < 1,
                   "minimize: need first_step > 0, max_line_search >= 1 and 0 < armijo < 1 (got ", opts.first_step, ", ",
                   opts.max_line_search, ", ", opts.armijo, ")");
  project(x, lower, upper);
  OptimizeResult r;
  std::vector<double> g(x.size());
  // The objective must leave one finite derivative per variable (the loop reads g as x's size).
  const ObjectiveFunction checked = [&](const std::vector<double> &at, std::vector<double> &grad) {
    const double v = f(at, grad);
    TENET_USER_CHECK(grad.size() == at.size(), "minimize: the objective wrote ", grad.size(), " derivatives for ",
                     at.size(), " variables");
    for (std::size_t i = 0; i < grad.size(); ++i)
      TENET_USER_CHECK(std::isfinite(grad[i]) || !std::isfinite(v), "minimize: derivative ", i, " is ", grad[i],
                       " where the objective is ", v);
    return v;
  };
  double fx = checked(x, g);
  TENET_USER_CHECK(std::isfinite(fx), "the objective is not finite at the starting point");
  r.evaluations = 1;
  r.objectives.push_back(fx);
  std::deque<Pair> pairs;
  // The scale of the first step: a fraction of the variables' range.
  double range = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    double span = (!lower.empty() && !upper.empty() && std::isfinite(upper[i] - lower[i])) ? upper[i] - lower[i]
                                                                                            : std::fabs(x[i]);
    range = std::max(range, span);
  }
  if (range == 0) range = 1;  // all variables 0 and unbounded: unit steps to start with
  r.stop_reason = "iterations done";
  double last_step = 0.0;
  for (int it = 1; it <= opts.iterations; ++it) {
    if (projected_gradient_norm(x, g, lower, upper) <= opts.tolerance) {
      r.stop_reason = "gradient below tolerance";
      break;
    }
    // Components pushing against an active bound are frozen: they would only be projected back.
    std::vector<double> gf = g;
    for (std::size_t i = 0; i < x.size(); ++i) {
      bool at_lo = !lower.empty() && x[i] <= lower[i] && g[i] > 0;
      bool at_hi = !upper.empty() && x[i] >= upper[i] && g[i] < 0;
      if (at_lo || at_hi) gf[i] = 0.0;
    }
    std::vector<double> d = opts.method == OptimizeOptions::Method::LBFGS ? lbfgs_direction(gf, pairs)
                                                                          : std::vector<double>(g.size());
    bool scaled = opts.method == OptimizeOptions::Method::LBFGS && !pairs.empty() && dot(d, gf) < 0;
    if (!scaled) {
      for (std::size_t i = 0; i < g.size(); ++i) d[i] = -gf[i];
      if (opts.method == OptimizeOptions::Method::LBFGS) pairs.clear();
    }
    double step = 1.0;
    if (!scaled) {
      // No curvature information: the first step moves the largest variable by `first_step`
      // of the range; gradient descent then starts from twice its last accepted step.
      double dmax = 0;
      for (double v : d) dmax = std::max(dmax, std::fabs(v));
      step = dmax > 0 ? opts.first_step * range / dmax : 0.0;
      if (opts.method == OptimizeOptions::Method::GradientDescent && last_step > 0) step = 2 * last_step;
    }
    bool accepted = false;
    std::vector<double> xn(x.size()), gn(x.size());
    double fn = fx;
    for (int ls = 0; ls < opts.max_line_search && step > 0; ++ls) {
      for (std::size_t i = 0; i < x.size(); ++i) xn[i] = x[i] + step * d[i];
      project(xn, lower, upper);
      std::vector<double> dx(x.size());
      for (std::size_t i = 0; i < x.size(); ++i) dx[i] = xn[i] - x[i];
      if (dot(dx, dx) == 0) break;  // every variable is held by a bound
      fn = checked(xn, gn);
      ++r.evaluations;
      const double slope = dot(g, dx);  // predicted first-order change
      if (std::isfinite(fn) && fn <= fx + opts.armijo * slope) {
        accepted = true;
        break;
      }
      // Next trial: the minimum of the parabola through f(x), the slope and f(xn), kept within
      // [0.1, 0.5] of this step (halving where f(xn) is not finite). An overshoot by 20x then
      // costs two or three evaluations instead of five halvings; each is a full gradient.
      double shrink = 0.5;
      const double curvature = fn - fx - slope;  // > 0 whenever the Armijo test failed
      if (std::isfinite(fn) && curvature > 0) shrink = std::clamp(-slope / (2 * curvature), 0.1, 0.5);
      step *= shrink;
    }
    if (!accepted) {
      r.stop_reason = "line search found no decrease";
      break;
    }
    Pair p;
    p.s.resize(x.size());
    p.y.resize(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      p.s[i] = xn[i] - x[i];
      p.y[i] = gn[i] - g[i];
    }
    double sy = dot(p.s, p.y);
    if (sy > 1e-12 * std::sqrt(dot(p.s, p.s) * dot(p.y, p.y))) {  // keep only positive curvature
      p.rho = 1.0 / sy;
      pairs.push_back(std::move(p));
      if (static_cast<int>(pairs.size()) > opts.memory) pairs.pop_front();
    }
    last_step = step;
    x.swap(xn);
    g.swap(gn);
    fx = fn;
    r.objectives.push_back(fx);
    IterationReport rep{it, fx, step, r.evaluations, projected_gradient_norm(x, g, lower, upper)};
    if (on_iteration && !on_iteration(rep, x)) {
      r.stop_reason = "stopped by the caller";
      break;
    }
  }
  r.x = std::move(x);
  return r;
}

}  // namespace tenet
