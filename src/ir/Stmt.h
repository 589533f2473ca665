/** \file Stmt.h  The loop IR: immutable statement nodes behind a shared handle, and a mutator.
 *
 * Expressions inside statements are symbolic Exprs (accesses keep their logical indices until
 * code generation adds halo offsets). A pass is a free function Stmt -> Stmt (passes/).
 */
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "symbolic/Expr.h"

namespace tenet {

// One list of statement kinds: the enum and the mutator's visit methods follow it.
#define TENET_STMT_KINDS(X) X(Block) X(For) X(Assign) X(Define) X(Comment) X(Guard)

enum class StmtKind {
#define TENET_ENUM(k) k,
  TENET_STMT_KINDS(TENET_ENUM)
#undef TENET_ENUM
};

enum class ForKind {
  Serial,    ///< runs in order
  Parallel,  ///< iterations independent: OpenMP `parallel for` (collapse counts loops below)
  Simd,      ///< innermost, iterations independent: `omp simd`
  Vector,    ///< innermost, written with explicit vectors (passes/VectorizeInnerLoops.cpp)
  Time,      ///< the time loop; may run backwards
  /// The loop over blocks of time steps of a time-tiled kernel (passes/TileTime.cpp): every
  /// thread of one OpenMP parallel region runs it; Parallel loops inside share their
  /// iterations among the region's threads (`omp for`) and Single loops run on one of them.
  TimeTiles,
  Single,  ///< inside TimeTiles: one thread runs the loop, the others wait at its end
  /// Inside TimeTiles, the loop over tiles along y of a pipelined kernel (passes/TileTime.cpp):
  /// each thread runs the tiles of its own stage, a contiguous run of them, waiting only for
  /// its neighbour stages. `lhs` is the symbol of a tile's end (exclusive), `rhs` the least
  /// width of a stage, `step` the width a tile aims at.
  Stages,
};

struct StmtNode;

class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(std::shared_ptr<const StmtNode> n) : n_(std::move(n)) {}
  bool defined() const { return n_ != nullptr; }
  const StmtNode *operator->() const { return n_.get(); }
  const StmtNode *get() const { return n_.get(); }
  StmtKind kind() const;
  friend bool operator==(const Stmt &a, const Stmt &b) { return a.n_ == b.n_; }

 private:
  std::shared_ptr<const StmtNode> n_;
};

struct StmtNode {
  StmtKind kind = StmtKind::Block;
  // For
  Expr var, min, max, step;  ///< inclusive bounds [min, max]
  ForKind for_kind = ForKind::Serial;
  bool backward = false;     ///< Time loops: from max down to min
  int collapse = 1;          ///< Parallel: loops collapsed into one parallel iteration space
  // Assign: lhs (Access) =/+= rhs.  Define: const var = value.
  Expr lhs, rhs;
  bool accumulate = false;
  bool integer = false;      ///< Define of an integer (index) value
  // Comment
  std::string text;
  // Guard: the body runs when `var` lies in [min, max], this tile step's part of the range
  // [lhs, rhs] of a time-tiled loop; the part at an end of that range also takes everything
  // beyond that end, and an empty part (min > max) takes nothing.
  // Block statements, or the For body (one Block)
  std::vector<Stmt> body;
};

Stmt make_block(std::vector<Stmt> stmts);
Stmt make_for(Expr var, Expr min, Expr max, Stmt body, ForKind kind = ForKind::Serial, Expr step = Expr(1),
              bool backward = false, int collapse = 1);
Stmt make_assign(Expr lhs, Expr rhs, bool accumulate = false);
Stmt make_define(Expr var, Expr value, bool integer = false);
Stmt make_comment(std::string text);
Stmt make_guard(Expr var, Expr min, Expr max, Expr range_min, Expr range_max, Stmt body);

/// Rebuilds statements bottom-up; a node is rebuilt only when a child changed.
class IRMutator {
 public:
  virtual ~IRMutator() = default;
  virtual Stmt mutate(const Stmt &s);
  virtual Expr mutate(const Expr &e) { return e; }

 protected:
#define TENET_VISIT(k) virtual Stmt visit_##k(const Stmt &s);
  TENET_STMT_KINDS(TENET_VISIT)
#undef TENET_VISIT
};

/// Calls `f` on every statement, pre-order.
void walk(const Stmt &s, const std::function<void(const Stmt &)> &f);

/// A readable dump of the loop IR (for tests and debugging).
std::string to_string(const Stmt &s, int indent = 0);

}  // namespace tenet
