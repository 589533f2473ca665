/** \file Eq.h  Equations: assignments, increments, injections and interpolations. */
#pragma once

#include <memory>
#include <string>

#include "symbolic/Expr.h"
#include "types/Function.h"

namespace tenet {

enum class EqKind {
  Assign,       ///< lhs = rhs on every point of the iteration space
  Increment,    ///< lhs += rhs
  Inject,       ///< target field += weights * rhs at the sparse points
  Interpolate,  ///< sparse[t, p] = sum of weights * rhs at the corners
};

/// One statement of an Operator. The iteration space of Assign/Increment is the grid interior
/// (every grid point), extended by `extend` halo points on each side when asked: adjoint fields
/// iterate over domain plus halo (DESIGN.md).
struct Eq {
  EqKind kind = EqKind::Assign;
  Expr lhs;
  Expr rhs;
  std::shared_ptr<FieldData> sparse;  ///< Inject / Interpolate
  int extend = 0;
  bool accumulate = false;  ///< Interpolate: sparse[t, p] += ... instead of =
  /// When the update solves residual == 0 for lhs (see solve_eq), the residual: automatic
  /// differentiation then uses the implicit function theorem, dF/dp = -(dR/dp)/(dR/dlhs),
  /// which is pointwise where the solved form would need a second stencil.
  Expr residual;
  std::string note;  ///< where it came from, shown as a comment in the generated code

  Eq() = default;
  Eq(Expr lhs, Expr rhs, std::string note = "");
  std::string str() const;
};

/// lhs += rhs
Eq Inc(Expr lhs, Expr rhs, std::string note = "");

}  // namespace tenet
