#include "fd/Derivatives.h"

#include <algorithm>

#include "fd/Fornberg.h"
#include "support/Error.h"
#include "symbolic/Transform.h"
#include "types/Function.h"

namespace tenet {
namespace {

struct FieldsInfo {
  const FieldData *field = nullptr;  // a grid field defining the dimension
  int space_order = 0;
  int time_order = 0;
};

FieldsInfo inspect(const Expr &e, const Expr &dim) {
  FieldsInfo info;
  for (const Expr &a : accesses(e)) {
    const FieldData *f = field_of(a);
    if (!f || f->kind == FieldKind::Table) continue;
    bool has = f->grid.dim_index(dim) >= 0 || f->grid.time_dim() == dim;
    if (!has) continue;
    if (!info.field) info.field = f;
    if (f->kind != FieldKind::Sparse) info.space_order = std::max(info.space_order, f->space_order);
    info.time_order = std::max(info.time_order, f->time_order);
  }
  TENET_USER_CHECK(info.field != nullptr, "cannot take a derivative along ", dim.str(), " of ", e.str(),
                   ": no function in it is defined on that dimension");
  return info;
}

std::vector<Rational> range(int lo, int hi) {
  std::vector<Rational> p;
  for (int i = lo; i <= hi; ++i) p.emplace_back(i);
  return p;
}

Expr grid_derivative(const Expr &e, int axis, int deriv, int order, Side side) {
  for (const Expr &a : accesses(e)) {
    const FieldData *f = field_of(a);
    if (f && f->kind != FieldKind::Table) {
      TENET_USER_CHECK(axis < f->grid.ndim(), "no dimension ", axis, " in the ", f->grid.ndim(), "D grid of ",
                       f->name());
      return derivative(e, f->grid.dim(axis), deriv, order, side);
    }
  }
  throw Error(internal::cat("cannot differentiate ", e.str(), ": it contains no grid function"));
}

const Grid &grid_of(const Expr &e) {
  for (const Expr &a : accesses(e)) {
    const FieldData *f = field_of(a);
    if (f && f->kind != FieldKind::Table) return f->grid;
  }
  throw Error(internal::cat("cannot differentiate ", e.str(), ": it contains no grid function"));
}

}  // namespace

Expr shift(const Expr &e, const Expr &dim, int k) {
  if (k == 0) return e;
  return rewrite(e, [&](const Expr &x) -> Expr {
    if (!x.is_access()) return x;
    std::vector<Expr> idx = x.ops();
    bool changed = false;
    for (Expr &i : idx)
      if (contains(i, dim)) {
        i = i + Expr(k);
        changed = true;
      }
    return changed ? access(x->field, std::move(idx)) : x;
  });
}

Expr derivative(const Expr &e, const Expr &dim, int deriv, int order, Side side) {
  TENET_USER_CHECK(deriv >= 1, "derivative order ", deriv, " must be at least 1");
  FieldsInfo info = inspect(e, dim);
  const Grid &g = info.field->grid;
  const bool is_time = g.time_dim() == dim;
  Expr h = is_time ? g.dt() : g.spacing_symbol(g.dim_index(dim));
  std::vector<Rational> points;
  Rational x0(0);
  if (is_time) {
    int to = order > 0 ? order : info.time_order;
    TENET_USER_CHECK(to >= 1, "cannot take a time derivative of ", e.str(), ": it has no time function");
    if (deriv == 1) {
      points = to == 1 ? range(0, 1) : range(-1, 1);
      if (side == Side::Backward) points = range(-1, 0);
      if (side == Side::Forward) points = range(0, 1);
    } else {
      TENET_USER_CHECK(deriv == 2 && to >= 2, "a second time derivative needs time order 2 (", e.str(),
                       " has time order ", to, "); create the TimeFunction with time_order = 2");
      points = range(-1, 1);
    }
  } else {
    int p = order > 0 ? order : info.space_order;
    switch (side) {
      case Side::Centered: {
        TENET_USER_CHECK(p % 2 == 0 && p >= 2 && p <= 16, "space order ", p, " for a centred derivative of ",
                         e.str(), ": use an even order from 2 to 16");
        int r = (deriv + p - 1) / 2;
        points = range(-r, r);
        break;
      }
      case Side::Forward: points = range(0, deriv + p - 1); break;
      case Side::Backward: points = range(-(deriv + p - 1), 0); break;
      case Side::StaggeredForward:
      case Side::StaggeredBackward: {
        TENET_USER_CHECK(p % 2 == 0 && p >= 2 && p <= 16, "space order ", p, " for a staggered derivative: use an "
                         "even order from 2 to 16");
        int r = p / 2 + (deriv - 1) / 2;
        bool fwd = side == Side::StaggeredForward;
        points = fwd ? range(-r + 1, r) : range(-r, r - 1);
        x0 = *Rational::make(fwd ? 1 : -1, 2);
        break;
      }
    }
  }
  std::vector<Expr> w = fornberg_weights(deriv, points, x0);
  std::vector<Expr> terms;
  for (std::size_t j = 0; j < points.size(); ++j) {
    if (w[j].is_zero()) continue;
    terms.push_back(w[j] * shift(e, dim, static_cast<int>(points[j].num)));
  }
  return mul({add(std::move(terms)), pow(h, Expr(-deriv))});
}

Expr dx(const Expr &e, int order, Side side) { return grid_derivative(e, 0, 1, order, side); }
Expr dy(const Expr &e, int order, Side side) { return grid_derivative(e, 1, 1, order, side); }
Expr dz(const Expr &e, int order, Side side) { return grid_derivative(e, 2, 1, order, side); }
Expr dx2(const Expr &e, int order) { return grid_derivative(e, 0, 2, order, Side::Centered); }
Expr dy2(const Expr &e, int order) { return grid_derivative(e, 1, 2, order, Side::Centered); }
Expr dz2(const Expr &e, int order) { return grid_derivative(e, 2, 2, order, Side::Centered); }

Expr laplace(const Expr &e, int order) {
  const Grid &g = grid_of(e);
  std::vector<Expr> terms;
  for (int i = 0; i < g.ndim(); ++i) terms.push_back(derivative(e, g.dim(i), 2, order));
  return add(std::move(terms));
}

std::vector<Expr> grad(const Expr &e, int order, Side side) {
  const Grid &g = grid_of(e);
  std::vector<Expr> out;
  for (int i = 0; i < g.ndim(); ++i) out.push_back(derivative(e, g.dim(i), 1, order, side));
  return out;
}

Expr div(const std::vector<Expr> &v, int order, Side side) {
  TENET_USER_CHECK(!v.empty(), "div of an empty vector");
  const Grid &g = grid_of(v[0]);
  TENET_USER_CHECK(static_cast<int>(v.size()) == g.ndim(), "div: ", v.size(), " components for a ", g.ndim(),
                   "D grid");
  std::vector<Expr> terms;
  for (int i = 0; i < g.ndim(); ++i) terms.push_back(derivative(v[static_cast<std::size_t>(i)], g.dim(i), 1, order, side));
  return add(std::move(terms));
}

Expr dt(const Expr &e) { return derivative(e, grid_of(e).time_dim(), 1); }
Expr dt2(const Expr &e) { return derivative(e, grid_of(e).time_dim(), 2); }

Expr solve(const Expr &eq, const Expr &target) {
  TENET_USER_CHECK(target.is_access(), "solve: the target ", target.str(), " must be a function access");
  auto [a, b] = linear_coefficients(eq, target);
  return mul({Expr(-1), b, pow(a, Expr(-1))});
}

}  // namespace tenet

namespace tenet {

Eq solve_eq(const Expr &residual, const Expr &target, std::string note) {
  Eq e(target, solve(residual, target), std::move(note));
  e.residual = residual;
  return e;
}

}  // namespace tenet
