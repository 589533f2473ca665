/** \file AdTestUtil.h  Helpers for the automatic-differentiation tests: random data, inner
 * products over the domain, and a plain interpreter of expressions used to build naive
 * reference adjoints independently of the code generator. */
#pragma once

#include <cmath>
#include <functional>
#include <map>
#include <random>
#include <span>
#include <vector>

#include "fd/Derivatives.h"
#include "symbolic/Transform.h"
#include "types/Eq.h"
#include "types/Function.h"

namespace tenet::test {

/// The first-order acoustic system on a staggered grid, two coupled kinds of field: velocities
/// from the pressure's gradient (buoyancy b), then the pressure from the new velocities'
/// divergence (modulus k), derivatives of order `order`.
inline std::vector<Eq> staggered_acoustic(const TimeFunction &p, const TimeFunction &vx, const TimeFunction &vy,
                                          const Function &b, const Function &k, int order) {
  const Expr dt = p.data()->grid.dt();
  return {Eq(vx.forward(), vx() - dt * Expr(b) * dx(p, order, Side::StaggeredForward), "vx"),
          Eq(vy.forward(), vy() - dt * Expr(b) * dy(p, order, Side::StaggeredForward), "vy"),
          Eq(p.forward(), p() - dt * Expr(k) * (dx(vx.forward(), order, Side::StaggeredBackward) +
                                                dy(vy.forward(), order, Side::StaggeredBackward)), "p")};
}

inline std::vector<double> random_vector(std::size_t n, unsigned seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<double> v(n);
  for (double &x : v) x = d(gen);
  return v;
}

inline void fill_random(Function &f, unsigned seed, double lo = -1.0, double hi = 1.0, int buffer = 0) {
  auto v = random_vector(static_cast<std::size_t>(f.grid().size()), seed, lo, hi);
  f.set_data(std::span<const double>(v), buffer);
}

inline double dot(const std::vector<double> &a, const std::vector<double> &b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

inline double relative_gap(double a, double b) { return std::fabs(a - b) / std::max(std::fabs(a), std::fabs(b)); }

/// Evaluates an expression at grid point `at` (interior indices), reading fields through their
/// views (halo included) and scalars from `scalars`. Independent of lowering and codegen.
class Interpreter {
 public:
  explicit Interpreter(std::map<const Node *, double> scalars) : scalars_(std::move(scalars)) {}

  double eval(const Expr &e, const std::vector<std::int64_t> &at) const {
    switch (e.kind()) {
      case NodeKind::Number: return e.number_value();
      case NodeKind::Symbol: return scalars_.at(e.get());
      case NodeKind::Access: {
        const FieldData *f = field_of(e);
        Function fn = Function::from_data(std::const_pointer_cast<FieldData>(
            std::static_pointer_cast<const FieldData>(e->field)));
        std::vector<std::int64_t> idx;
        for (int d = 0; d < f->grid.ndim(); ++d) {
          Expr off = e.ops()[static_cast<std::size_t>(d)] - f->grid.dim(d);
          idx.push_back(at[static_cast<std::size_t>(d)] + static_cast<std::int64_t>(off.number_value()));
        }
        auto v = fn.view<double>();
        if (idx.size() == 1) return v(idx[0]);
        if (idx.size() == 2) return v(idx[0], idx[1]);
        return v(idx[0], idx[1], idx[2]);
      }
      case NodeKind::Add: {
        double s = 0;
        for (const Expr &c : e.ops()) s += eval(c, at);
        return s;
      }
      case NodeKind::Mul: {
        double s = 1;
        for (const Expr &c : e.ops()) s *= eval(c, at);
        return s;
      }
      case NodeKind::Pow: return std::pow(eval(e.ops()[0], at), eval(e.ops()[1], at));
      case NodeKind::Call: {
        double a = eval(e.ops()[0], at);
        switch (e->fn) {
          case Fn::Sqrt: return std::sqrt(a);
          case Fn::Exp: return std::exp(a);
          case Fn::Log: return std::log(a);
          case Fn::Sin: return std::sin(a);
          case Fn::Cos: return std::cos(a);
          case Fn::Abs: return std::fabs(a);
          case Fn::Min: return std::min(a, eval(e.ops()[1], at));
          case Fn::Max: return std::max(a, eval(e.ops()[1], at));
          case Fn::Floor: return std::floor(a);
          case Fn::Mod: return std::fmod(a, eval(e.ops()[1], at));
        }
      }
    }
    return 0;
  }

 private:
  std::map<const Node *, double> scalars_;
};

/// Calls f(point) for every interior point of the grid, C order.
inline void for_each_point(const Grid &g, const std::function<void(const std::vector<std::int64_t> &)> &f) {
  std::vector<std::int64_t> at(static_cast<std::size_t>(g.ndim()), 0);
  const auto &s = g.shape();
  std::function<void(int)> go = [&](int d) {
    if (d == g.ndim()) {
      f(at);
      return;
    }
    for (at[static_cast<std::size_t>(d)] = 0; at[static_cast<std::size_t>(d)] < s[static_cast<std::size_t>(d)];
         ++at[static_cast<std::size_t>(d)])
      go(d + 1);
  };
  go(0);
}

}  // namespace tenet::test
