/** \file Derivatives.h  Finite-difference derivatives of expressions, and solve(). */
#pragma once

#include <vector>

#include "symbolic/Expr.h"
#include "types/Eq.h"

namespace tenet {

/// Where the stencil sits relative to the point of evaluation x.
enum class Side {
  Centered,           ///< symmetric points around x
  Forward,            ///< one-sided: x, x+h, ... (first derivatives at boundaries)
  Backward,           ///< one-sided: ..., x-h, x
  StaggeredForward,   ///< evaluated at x + h/2 from points around it (stored at x)
  StaggeredBackward,  ///< evaluated at x - h/2 (stored at x)
};

/// `e` with every access that depends on `dim` moved by `k` points along it.
Expr shift(const Expr &e, const Expr &dim, int k);

/// The `deriv`-th derivative of `e` along `dim` (a space or time dimension of the grid of the
/// fields in `e`) with accuracy `order` (0: the highest space order of those fields for space,
/// the time order for time). Built factored as (sum_j w_j e(x + j h)) * h^-deriv so that the
/// spacing is one factor, hoisted once by lowering and applied once by the adjoint.
Expr derivative(const Expr &e, const Expr &dim, int deriv, int order = 0, Side side = Side::Centered);

/// Derivatives along grid dimension 0, 1, 2 (x, y, z).
Expr dx(const Expr &e, int order = 0, Side side = Side::Centered);
Expr dy(const Expr &e, int order = 0, Side side = Side::Centered);
Expr dz(const Expr &e, int order = 0, Side side = Side::Centered);
Expr dx2(const Expr &e, int order = 0);
Expr dy2(const Expr &e, int order = 0);
Expr dz2(const Expr &e, int order = 0);
/// Sum of second derivatives over every dimension of the grid.
Expr laplace(const Expr &e, int order = 0);
std::vector<Expr> grad(const Expr &e, int order = 0, Side side = Side::Centered);
Expr div(const std::vector<Expr> &v, int order = 0, Side side = Side::Centered);

/// Time derivatives: first order -> forward difference (time order 1) or centred (time order
/// 2); second order -> centred, needs time order 2.
Expr dt(const Expr &e);
Expr dt2(const Expr &e);

/// Solves `eq == 0` for `target` (usually u.forward()); `eq` must be linear in it.
Expr solve(const Expr &eq, const Expr &target);

/// The equation target = solve(residual, target), remembering the residual so that automatic
/// differentiation can use the implicit function theorem.
Eq solve_eq(const Expr &residual, const Expr &target, std::string note = "");

}  // namespace tenet
