/** \file Optimize.h  Bound-constrained minimisation for inversion: projected L-BFGS and
 * projected gradient descent, both with a backtracking (Armijo) line search. */
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace tenet {

/// Returns f(x) and writes its gradient into `grad` (sized like x).
using ObjectiveFunction = std::function<double(const std::vector<double> &x, std::vector<double> &grad)>;

struct OptimizeOptions {
  enum class Method { LBFGS, GradientDescent };
  Method method = Method::LBFGS;
  int iterations = 10;
  int memory = 5;                 ///< L-BFGS correction pairs
  double armijo = 1e-4;           ///< sufficient-decrease constant
  int max_line_search = 12;       ///< halvings before giving up on an iteration
  /// Size of the first step: the largest change of any variable, as a fraction of the range
  /// (upper - lower) where bounds are finite, else of max|x|.
  double first_step = 0.05;
  double tolerance = 0.0;         ///< stop when the projected gradient norm falls below it
};

struct IterationReport {
  int iteration = 0;              ///< 1-based
  double objective = 0.0;         ///< after the step
  double step = 0.0;              ///< accepted line-search step
  int evaluations = 0;            ///< objective evaluations so far
  double gradient_norm = 0.0;     ///< of the projected gradient at the new point
};

struct OptimizeResult {
  std::vector<double> x;
  std::vector<double> objectives;  ///< initial, then after each iteration
  int evaluations = 0;
  std::string stop_reason;
};

/// Minimises f over lower <= x <= upper (empty bounds: unbounded), calling `on_iteration`
/// after each accepted step (return false to stop early).
OptimizeResult minimize(const ObjectiveFunction &f, std::vector<double> x0, const std::vector<double> &lower,
                        const std::vector<double> &upper, const OptimizeOptions &opts,
                        const std::function<bool(const IterationReport &, const std::vector<double> &x)> &on_iteration = {});

}  // namespace tenet
