/** \file Transform.h  Rewriting expressions: substitute, expand, differentiate, collect, query. */
#pragma once

#include <functional>
#include <unordered_map>
#include <vector>

#include "symbolic/Expr.h"

namespace tenet {

using ExprMap = std::unordered_map<Expr, Expr>;

/// Replaces every occurrence of a key (a whole subexpression) by its value, bottom-up.
Expr substitute(const Expr &e, const ExprMap &replacements);

/// Rebuilds `e` bottom-up, applying `f` to each node after its children were rebuilt; `f`
/// returns the node itself to keep it. Results stay canonical.
Expr rewrite(const Expr &e, const std::function<Expr(const Expr &)> &f);

/// Distributes products over sums and expands integer powers of sums.
Expr expand(const Expr &e);

/// Derivative with respect to a Symbol or an Access (accesses with other indices are
/// independent variables).
Expr diff(const Expr &e, const Expr &var);

/// For `e` linear in `var`: {a, b} with e == a*var + b and neither containing `var`.
/// Throws tenet::Error naming `var` when `e` is not linear in it.
std::pair<Expr, Expr> linear_coefficients(const Expr &e, const Expr &var);

/// Collects the terms of expand(e) by their power of `var`: sum_k c_k * var^k, returned as
/// (k -> c_k) for integer k.
std::vector<std::pair<std::int64_t, Expr>> collect(const Expr &e, const Expr &var);

/// True when `var` (a node) occurs anywhere in `e`.
bool contains(const Expr &e, const Expr &var);

/// Every Access in `e`, in first-visit order, each once.
std::vector<Expr> accesses(const Expr &e);
/// Every Symbol in `e`, in first-visit order, each once.
std::vector<Expr> symbols(const Expr &e);

/// Visits every node (pre-order, shared subtrees once).
void visit(const Expr &e, const std::function<void(const Expr &)> &f);

}  // namespace tenet
