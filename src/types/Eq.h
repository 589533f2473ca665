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
  std::string note;  ///< where it came from, shown as a comment in the generated code

  Eq() = default;
  Eq(Expr lhs, Expr rhs, std::string note = "");
  std::string str() const;
};

/// lhs += rhs
Eq Inc(Expr lhs, Expr rhs, std::string note = "");

}  // namespace tenet
