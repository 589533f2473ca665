/** \file VectorPlan.h  Which innermost loops can be written with explicit vectors, and how. */
#pragma once

#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "ir/Kernel.h"

namespace tenet {

/// One row of a field that an explicitly vectorised loop touches: all accesses that differ
/// only in their offset along the loop's dimension.
struct VectorRow {
  Expr at;                  ///< the access at offset 0 along the loop dimension
  std::set<int> offsets;    ///< offsets read along the loop dimension
  bool written = false;
  /// Written once and read afterwards, at offset 0 only: later statements read the value
  /// just stored from its register (e.g. the adjoint level a step computes, read again by
  /// the gradient update in the same loop).
  bool forwarded = false;
};

/// The plan for one innermost loop over the last grid dimension whose body is arithmetic
/// (+ - * /, small integer powers) on grid fields at constant offsets: rows read at several
/// offsets are loaded once per vector and the neighbours shifted out of registers.
struct VectorPlan {
  int width = 0;                                        ///< elements per vector
  std::vector<VectorRow> rows;
  std::unordered_map<Expr, std::pair<int, int>> where;  ///< access -> (row, offset)
};

/// The plan for `loop` with vectors of `vector_bytes`, or nothing when the loop does not
/// qualify: not over the last dimension, calls (sqrt, exp, ...), accesses to other data or at
/// offsets beyond one vector, integer temporaries, or a row both written and read (but for a
/// row written once and read at offset 0 by later statements only, see VectorRow::forwarded).
std::optional<VectorPlan> plan_vector_loop(const Kernel &k, const Stmt &loop, int vector_bytes);

}  // namespace tenet
