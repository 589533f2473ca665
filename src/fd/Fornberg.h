/** \file Fornberg.h  Finite-difference weights for any derivative on any set of points. */
#pragma once

#include <vector>

#include "symbolic/Expr.h"
#include "symbolic/Rational.h"

namespace tenet {

/// Weights w_j with f^(m)(x0) ~ sum_j w_j f(points[j]) (unit spacing), by Fornberg's recursion
/// (Math. Comp. 51, 1988). Computed exactly in rationals; if the numbers outgrow 64 bits the
/// weights are computed in long double and returned as floating numbers instead.
/// Throws tenet::Error when there are not more points than the derivative order.
std::vector<Expr> fornberg_weights(int derivative, const std::vector<Rational> &points, const Rational &x0);

/// The same in double precision (for tests and for irrational point sets).
std::vector<double> fornberg_weights_double(int derivative, const std::vector<double> &points, double x0);

}  // namespace tenet
