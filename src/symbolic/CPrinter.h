/** \file CPrinter.h  Prints expressions as C, in the element type of a kernel or as integers. */
#pragma once

#include <functional>
#include <string>

#include "support/DType.h"
#include "symbolic/Expr.h"

namespace tenet {

struct CPrintOptions {
  DType dtype = DType::Float32;
  /// How to print an Access (the code generator knows the layout). Required if any occur.
  std::function<std::string(const Expr &)> access;
  /// How to print a Symbol; defaults to its name.
  std::function<std::string(const Expr &)> symbol;
};

/// Arithmetic in the kernel's element type: literals carry the `F` suffix in float32 so that
/// nothing is promoted to double, and functions are the matching libm ones (sqrtf / sqrt).
std::string print_c(const Expr &e, const CPrintOptions &opts);

/// Integer arithmetic for indices and loop bounds; every number must be an integer.
std::string print_c_index(const Expr &e, const CPrintOptions &opts);

/// Whether the C that print_c writes for `e` calls a libm function that may set errno (sqrt,
/// exp, log, sin, cos, pow): under the default -fmath-errno no compiler vectorises a loop that
/// does.
bool calls_errno_math(const Expr &e);

/// A literal of the element type, e.g. `-2.5F` or `0.33333333333333331`.
std::string c_literal(double v, DType dtype);

}  // namespace tenet
