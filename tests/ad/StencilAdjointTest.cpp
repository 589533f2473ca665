// Dot tests of generated adjoints of single stencil statements v = F(u): <F u, vb> == <u, F^T vb>
// in float64, over dimensions, space orders, offset patterns and grid sizes; accumulate mode;
// and the gather adjoint against a naive serial scatter adjoint built from the same equation.
#include <gtest/gtest.h>

#include "AdTestUtil.h"
#include "ad/Differentiate.h"
#include "fd/Derivatives.h"
#include "operator/Operator.h"

namespace tenet {
namespace {

using test::dot;
using test::fill_random;
using test::relative_gap;

using RhsBuilder = std::function<Expr(const Function &u, const Function &c)>;

struct Case {
  std::vector<std::int64_t> shape;
  int space_order;
  RhsBuilder rhs;
};

Grid make_grid(const std::vector<std::int64_t> &shape) {
  std::vector<double> extent;
  for (std::size_t d = 0; d < shape.size(); ++d) extent.push_back(0.1 * static_cast<double>(shape[d] - 1) * (1.0 + 0.3 * d));
  return Grid(shape, extent, DType::Float64);
}

// Returns the relative gap of the dot test; with `accumulate`, the adjoint adds onto a non-zero
// initial ubar and the test checks that the initial value is kept.
double stencil_dot_test(const Case &k, bool accumulate, unsigned seed = 7) {
  Grid g = make_grid(k.shape);
  Function u("u", g, k.space_order), v("v", g, k.space_order), c("c", g, k.space_order);
  fill_random(u, seed);
  fill_random(c, seed + 1, 0.5, 1.5);
  std::vector<Eq> eqs{Eq(v(), k.rhs(u, c))};
  Operator fwd(eqs);
  fwd.apply({});
  DiffRequest req;
  req.parameters = {u.data()};
  DerivativeOperator adj = adjoint(eqs, req);
  Function vbar = Function::from_data(adj.of("v")), ubar = Function::from_data(adj.of("u"));
  fill_random(vbar, seed + 2);
  std::vector<double> ub0(static_cast<std::size_t>(g.size()), 0.0);
  if (accumulate) {
    fill_random(ubar, seed + 3);
    ub0 = ubar.get_data();
  }
  const std::vector<double> vb = vbar.get_data();
  adj.apply({});
  std::vector<double> ub = ubar.get_data();
  for (std::size_t i = 0; i < ub.size(); ++i) ub[i] -= ub0[i];
  return relative_gap(dot(v.get_data(), vb), dot(u.get_data(), ub));
}

Expr consecutive(const Function &u, const Function &c) { return Expr(c) * laplace(u); }

TEST(StencilAdjoint, LaplacianTimesCoefficientEveryOrderAndDimension) {
  for (int ndim = 1; ndim <= 3; ++ndim) {
    for (int so = 2; so <= 16; so += 2) {
      if (ndim == 3 && so > 8 && so != 16) continue;  // keep 3D quick: orders 2, 4, 6, 8, 16
      std::int64_t n = so + 1 + 2;                   // just above the 2r+1 minimum
      std::vector<std::int64_t> shape;
      for (int d = 0; d < ndim; ++d) shape.push_back(n + d);  // uneven
      EXPECT_LE(stencil_dot_test({shape, so, consecutive}, false), 1e-12) << ndim << "D order " << so;
    }
  }
}

TEST(StencilAdjoint, SmallestGridsOfSize2rPlus1) {
  for (int so : {2, 8, 16}) {
    std::int64_t n = so + 1;
    EXPECT_LE(stencil_dot_test({{n}, so, consecutive}, false), 1e-12) << so;
    EXPECT_LE(stencil_dot_test({{n, n + 3}, so, consecutive}, false), 1e-12) << so;
  }
}

TEST(StencilAdjoint, GappedOffsets) {
  RhsBuilder gapped = [](const Function &u, const Function &c) {
    const Expr &x = u.grid().dim(0), &y = u.grid().dim(1);
    return Expr(2) * shift(u(), x, -2) - Expr(c) * u() + Expr(3) * shift(u(), x, 2) + shift(Expr(c) * u(), y, 2) -
           Expr(0.5) * shift(u(), y, -2);
  };
  EXPECT_LE(stencil_dot_test({{9, 12}, 4, gapped}, false), 1e-12);
  EXPECT_LE(stencil_dot_test({{5, 5}, 4, gapped}, false), 1e-12);
}

TEST(StencilAdjoint, OneSidedDerivatives) {
  RhsBuilder one_sided = [](const Function &u, const Function &c) {
    return Expr(c) * dx(u, 4, Side::Forward) + dy(u, 2, Side::Backward);
  };
  EXPECT_LE(stencil_dot_test({{13, 11}, 8, one_sided}, false), 1e-12);
  // Rows of several vectors: the backward derivative along the row reads u only at offsets
  // -2..0, a row the vector loop carries from one vector to the next (it once loaded the vector
  // after the next there: 0.59 relative error here, unseen with rows of one vector).
  EXPECT_LE(stencil_dot_test({{13, 41}, 8, one_sided}, false), 1e-12);
}

TEST(StencilAdjoint, StaggeredDerivatives) {
  RhsBuilder staggered = [](const Function &u, const Function &c) {
    return dx(Expr(c) * dx(u, 4, Side::StaggeredForward), 4, Side::StaggeredBackward) +
           Expr(c) * dy(u, 8, Side::StaggeredBackward);
  };
  EXPECT_LE(stencil_dot_test({{17, 19}, 8, staggered}, false), 1e-12);
}

TEST(StencilAdjoint, DifferentRadiusPerDimension) {
  RhsBuilder mixed = [](const Function &u, const Function &c) {
    return dx2(u, 2) + Expr(c) * dy2(u, 12) + dz2(u, 6);
  };
  EXPECT_LE(stencil_dot_test({{7, 15, 10}, 12, mixed}, false), 1e-12);
}

TEST(StencilAdjoint, AccumulateModeAddsOntoExistingAdjoint) {
  EXPECT_LE(stencil_dot_test({{12, 9}, 6, consecutive}, true), 1e-12);
  RhsBuilder staggered = [](const Function &u, const Function &c) {
    return Expr(c) * dx(u, 4, Side::StaggeredForward);
  };
  EXPECT_LE(stencil_dot_test({{10, 8, 7}, 4, staggered}, true), 1e-12);
}

TEST(StencilAdjoint, NonlinearRightHandSideMatchesTangent) {
  // The adjoint of a nonlinear statement is the transpose of its linearisation: check
  // <J du, vb> == <du, J^T vb> with J applied by the tangent operator.
  // Coefficients of reads at offset k are evaluated at x - k, so fields read inside them need
  // a halo of twice the stencil radius.
  Grid g = make_grid({14, 11});
  FunctionOptions wide;
  wide.halo = 4;
  Function u("u", g, 4, wide), v("v", g, 4), c("c", g, 4, wide);
  fill_random(u, 1, 0.5, 1.5);
  fill_random(c, 2, 0.5, 1.5);
  const Expr &x = g.dim(0);
  Expr rhs = shift(u(), x, 1) * shift(u(), x, -1) + sin(u()) * Expr(c) + sqrt(Expr(c) * u()) + exp(dx(u)) * u() +
             log(Expr(2) + u() * u()) + abs(u() - Expr(3)) + cos(dy(u) * Expr(c));
  std::vector<Eq> eqs{Eq(v(), rhs)};
  DiffRequest req;
  req.parameters = {u.data()};
  DerivativeOperator tan = tangent(eqs, req, {}, false);
  DerivativeOperator adj = adjoint(eqs, req);
  Function udot = Function::from_data(tan.of("u")), vdot = Function::from_data(tan.of("v"));
  Function vbar = Function::from_data(adj.of("v")), ubar = Function::from_data(adj.of("u"));
  fill_random(udot, 3);
  fill_random(vbar, 4);
  const auto vb = vbar.get_data();
  tan.apply({});
  adj.apply({});
  EXPECT_LE(relative_gap(dot(vdot.get_data(), vb), dot(udot.get_data(), ubar.get_data())), 1e-12);
}

TEST(StencilAdjoint, GatherEqualsNaiveSerialScatter) {
  // Reference: for every point x and every active read r = u[x + k] in F, scatter
  // dF/dr(x) * vb[x] into ubar[x + k], evaluating the derivative with a plain interpreter.
  for (int ndim = 1; ndim <= 3; ++ndim) {
    std::vector<std::int64_t> shape{11, 9, 8};
    shape.resize(static_cast<std::size_t>(ndim));
    Grid g = make_grid(shape);
    FunctionOptions wide;
    wide.halo = 4;
    Function u("u", g, 4, wide), v("v", g, 4), c("c", g, 4, wide);
    fill_random(u, 11, 0.5, 1.5);
    fill_random(c, 12, 0.5, 1.5);
    Expr rhs = Expr(c) * laplace(u) + shift(u(), g.dim(0), 2) * shift(Expr(c), g.dim(0), -1) * u();
    std::vector<Eq> eqs{Eq(v(), rhs)};
    DiffRequest req;
    req.parameters = {u.data()};
    DerivativeOperator adj = adjoint(eqs, req);
    Function vbar = Function::from_data(adj.of("v")), ubar = Function::from_data(adj.of("u"));
    fill_random(vbar, 13);
    Function vb_copy("vb", g, 4);
    vb_copy.set_data(std::span<const double>(vbar.get_data()));
    adj.apply({});

    std::map<const Node *, double> scalars;
    for (int d = 0; d < ndim; ++d) scalars[g.spacing_symbol(d).get()] = g.spacing()[static_cast<std::size_t>(d)];
    test::Interpreter interp(scalars);
    Function reference("ref", g, 4);
    auto ref = reference.view<double>();
    auto vbv = vb_copy.view<double>();
    test::for_each_point(g, [&](const std::vector<std::int64_t> &at) {
      double vb = ndim == 1 ? vbv(at[0]) : ndim == 2 ? vbv(at[0], at[1]) : vbv(at[0], at[1], at[2]);
      for (const Expr &r : accesses(rhs)) {
        if (field_of(r) != u.data().get()) continue;
        double coef = interp.eval(diff(rhs, r), at);
        std::vector<std::int64_t> to = at;
        bool inside = true;
        for (int d = 0; d < ndim; ++d) {
          to[static_cast<std::size_t>(d)] += static_cast<std::int64_t>((r.ops()[static_cast<std::size_t>(d)] - g.dim(d)).number_value());
          inside &= to[static_cast<std::size_t>(d)] >= 0 && to[static_cast<std::size_t>(d)] < shape[static_cast<std::size_t>(d)];
        }
        if (!inside) continue;  // the halo is boundary data, not a parameter
        double &dst = ndim == 1 ? ref(to[0]) : ndim == 2 ? ref(to[0], to[1]) : ref(to[0], to[1], to[2]);
        dst += coef * vb;
      }
    });
    auto got = ubar.get_data(), want = reference.get_data();
    double scale = 0, err = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      scale = std::max(scale, std::fabs(want[i]));
      err = std::max(err, std::fabs(got[i] - want[i]));
    }
    EXPECT_LE(err / scale, 1e-14) << ndim << "D";
  }
}

TEST(StencilAdjoint, ErrorForParameterTheOperatorDoesNotRead) {
  Grid g = make_grid({8, 8});
  Function u("u", g, 2), v("v", g, 2), unrelated("q", g, 2);
  DiffRequest req;
  req.parameters = {unrelated.data()};
  try {
    adjoint({Eq(v(), laplace(u))}, req);
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("'q'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("does not read"), std::string::npos) << e.what();
  }
}

TEST(StencilAdjoint, ErrorForStatementTheTransposerCannotHandle) {
  Grid g = make_grid({8, 8});
  Function u("u", g, 2), v("v", g, 2);
  DiffRequest req;
  req.parameters = {u.data()};
  // An index that is not the dimension plus a constant cannot be shifted into gather form.
  try {
    adjoint({Eq(v(), u({Expr(2) * g.dim(0), g.dim(1)}))}, req);
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("cannot transpose"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("u[2*x, y]"), std::string::npos) << e.what();
  }
  // A parameter that the operator also writes is state, not a parameter.
  try {
    DiffRequest r2;
    r2.parameters = {v.data()};
    adjoint({Eq(v(), laplace(u))}, r2);
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("'v' is written"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tenet
