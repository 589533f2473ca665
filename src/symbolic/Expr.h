/** \file Expr.h  The immutable, hash-consed expression graph at the root of Tenet.
 *
 * Why our own and not a computer-algebra system: Devito's use of sympy made operators take
 * 10-30 s to build and leaked caches. We need a handful of node kinds, one canonical form and
 * a few transformations (expand, collect, substitute, differentiate), fast.
 *
 * Every node is interned: building an expression that is structurally equal to a live one
 * returns the same node, so equality is pointer equality and children compare in O(1). The
 * intern table holds weak references only, so expressions die with their last handle.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "symbolic/Rational.h"

namespace tenet {

enum class NodeKind { Number, Symbol, Access, Call, Pow, Mul, Add };

/// What a Symbol stands for. Names are for display only; identity is the id.
enum class SymbolKind {
  Scalar,     ///< a runtime scalar argument: dt, grid spacing, user constant
  Dimension,  ///< a space or time dimension (x, y, z, t) or a sparse point index
  Index,      ///< an integer loop variable or bound made by lowering
  Temp,       ///< a temporary made by lowering (CSE, hoisting)
};

/// Elementary functions. Floor and Mod are for index arithmetic made by lowering.
enum class Fn { Sqrt, Exp, Log, Sin, Cos, Abs, Min, Max, Floor, Mod };
const char *fn_name(Fn f);

/// Anything an Access can refer to (Function, TimeFunction, sparse data). The symbolic layer
/// needs only its identity and display name.
class FieldBase {
 public:
  FieldBase(std::string name);
  virtual ~FieldBase() = default;
  std::uint64_t id() const { return id_; }
  const std::string &name() const { return name_; }

 private:
  std::uint64_t id_;
  std::string name_;
};

struct Node;

/// A handle to an interned expression node. Cheap to copy.
class Expr {
 public:
  Expr() = default;
  Expr(double v);        // NOLINT: numbers convert implicitly, as in maths
  Expr(int v);           // NOLINT
  Expr(std::int64_t v);  // NOLINT
  explicit Expr(std::shared_ptr<const Node> n) : n_(std::move(n)) {}

  bool defined() const { return n_ != nullptr; }
  const Node *get() const { return n_.get(); }
  const Node *operator->() const { return n_.get(); }
  NodeKind kind() const;
  std::size_t hash() const;
  /// Structural equality (pointer equality thanks to interning).
  bool same_as(const Expr &o) const { return n_ == o.n_; }
  friend bool operator==(const Expr &a, const Expr &b) { return a.n_ == b.n_; }
  friend bool operator!=(const Expr &a, const Expr &b) { return a.n_ != b.n_; }

  bool is_number() const { return defined() && kind() == NodeKind::Number; }
  bool is_exact() const;          ///< an exact rational number
  bool is_zero() const;
  bool is_one() const;
  bool is_symbol() const { return defined() && kind() == NodeKind::Symbol; }
  bool is_access() const { return defined() && kind() == NodeKind::Access; }
  double number_value() const;    ///< the value of a Number (throws otherwise)
  const Rational &rational() const;  ///< the value of an exact Number

  /// The operands: Add terms, Mul factors, Pow {base, exponent}, Call arguments, Access
  /// indices. Empty for Number and Symbol.
  const std::vector<Expr> &ops() const;

  /// Human-readable form, e.g. `m[x, y]*(u[t+1, x, y] - 2*u[t, x, y])`.
  std::string str() const;

 private:
  std::shared_ptr<const Node> n_;
};

struct Node {
  NodeKind kind = NodeKind::Number;
  std::size_t hash = 0;
  // Number
  bool exact = true;
  Rational q;
  double value = 0.0;
  // Symbol
  std::uint64_t id = 0;
  std::string name;
  SymbolKind symbol_kind = SymbolKind::Scalar;
  std::shared_ptr<const double> default_value;  ///< Scalar symbols of Constants
  // Access
  std::shared_ptr<const FieldBase> field;
  // Call
  Fn fn = Fn::Sqrt;
  // Children (see Expr::ops)
  std::vector<Expr> ops;
};

// ---- Construction (all results canonical) ----
Expr number(const Rational &q);
Expr number(double v);
Expr rational(std::int64_t num, std::int64_t den);
/// A new symbol, distinct from every other symbol whatever its name.
Expr symbol(const std::string &name, SymbolKind kind = SymbolKind::Scalar);
/// A new Scalar symbol whose value at apply time defaults to *value (a Constant).
Expr scalar_with_default(const std::string &name, std::shared_ptr<const double> value);
Expr access(std::shared_ptr<const FieldBase> field, std::vector<Expr> indices);
Expr add(std::vector<Expr> terms);
Expr mul(std::vector<Expr> factors);
Expr pow(const Expr &base, const Expr &exponent);
Expr call(Fn fn, std::vector<Expr> args);

Expr operator+(const Expr &a, const Expr &b);
Expr operator-(const Expr &a, const Expr &b);
Expr operator*(const Expr &a, const Expr &b);
Expr operator/(const Expr &a, const Expr &b);
Expr operator-(const Expr &a);
Expr &operator+=(Expr &a, const Expr &b);
Expr &operator-=(Expr &a, const Expr &b);
Expr &operator*=(Expr &a, const Expr &b);

Expr sqrt(const Expr &a);
Expr exp(const Expr &a);
Expr log(const Expr &a);
Expr sin(const Expr &a);
Expr cos(const Expr &a);
Expr abs(const Expr &a);
Expr min(const Expr &a, const Expr &b);
Expr max(const Expr &a, const Expr &b);
Expr floor(const Expr &a);
/// Integer remainder a mod b for a >= 0, b > 0 (time buffer indices).
Expr mod(const Expr &a, const Expr &b);

/// A total, deterministic order on expressions (independent of addresses and of symbol ids
/// when names differ), used to sort operands canonically.
int compare(const Expr &a, const Expr &b);

/// Number of live interned nodes (for leak tests).
std::size_t interned_node_count();

}  // namespace tenet

template <>
struct std::hash<tenet::Expr> {
  std::size_t operator()(const tenet::Expr &e) const noexcept { return e.hash(); }
};
