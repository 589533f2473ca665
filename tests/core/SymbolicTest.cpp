// The symbolic layer: canonical form, expand, substitute, diff, linear coefficients and solve,
// printing, and the elementary functions with their derivatives (checked numerically).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <regex>
#include <string>
#include <unordered_map>

#include "CoreTestUtil.h"
#include "fd/Derivatives.h"
#include "symbolic/CPrinter.h"
#include "symbolic/Expr.h"
#include "symbolic/Transform.h"
#include "types/Function.h"

namespace tenet {
namespace {

using Values = std::unordered_map<Expr, double>;

// An evaluator written for the tests, independent of the library's printers: symbols and
// accesses take their values from `v`.
double eval(const Expr &e, const Values &v) {
  switch (e.kind()) {
    case NodeKind::Number: return e.number_value();
    case NodeKind::Symbol:
    case NodeKind::Access: {
      auto it = v.find(e);
      if (it == v.end()) {
        ADD_FAILURE() << "no value for " << e.str();
        return NAN;
      }
      return it->second;
    }
    case NodeKind::Add: {
      double s = 0;
      for (const Expr &t : e.ops()) s += eval(t, v);
      return s;
    }
    case NodeKind::Mul: {
      double p = 1;
      for (const Expr &t : e.ops()) p *= eval(t, v);
      return p;
    }
    case NodeKind::Pow: return std::pow(eval(e.ops()[0], v), eval(e.ops()[1], v));
    case NodeKind::Call: {
      double a = eval(e.ops()[0], v);
      switch (e->fn) {
        case Fn::Sqrt: return std::sqrt(a);
        case Fn::Exp: return std::exp(a);
        case Fn::Log: return std::log(a);
        case Fn::Sin: return std::sin(a);
        case Fn::Cos: return std::cos(a);
        case Fn::Abs: return std::fabs(a);
        case Fn::Min: return std::fmin(a, eval(e.ops()[1], v));
        case Fn::Max: return std::fmax(a, eval(e.ops()[1], v));
        case Fn::Floor: return std::floor(a);
        case Fn::Mod: return std::fmod(a, eval(e.ops()[1], v));
      }
    }
  }
  return NAN;
}

class core_Symbolic : public ::testing::Test {
 protected:
  Expr x = symbol("x"), y = symbol("y"), z = symbol("z");
};

TEST_F(core_Symbolic, SumsAreTheSameNodeInAnyOrder) {
  EXPECT_EQ(x + y, y + x);
  EXPECT_EQ((x + y) + z, x + (y + z));
  EXPECT_EQ((z + x) + y, y + (x + z));
  EXPECT_EQ((x + y).hash(), (y + x).hash());
  EXPECT_NE(x + y, x + z);
}

TEST_F(core_Symbolic, ProductsAreTheSameNodeInAnyOrder) {
  EXPECT_EQ(x * y, y * x);
  EXPECT_EQ((x * y) * z, z * (y * x));
  EXPECT_NE(x * y, x * z);
}

TEST_F(core_Symbolic, LikeTermsAndFactorsCombine) {
  EXPECT_EQ(2 * x - x, x);
  EXPECT_TRUE((x - x).is_zero());
  EXPECT_EQ(x + x, 2 * x);
  EXPECT_EQ(3 * x * y - y * x, 2 * x * y);
  EXPECT_EQ(x * x, pow(x, 2));
  EXPECT_EQ(x * x * x / x, pow(x, 2));
  EXPECT_TRUE((x / x).is_one());
  EXPECT_EQ(pow(pow(x, 2), 3), pow(x, 6));
  EXPECT_EQ(x * 0, Expr(0));
}

TEST_F(core_Symbolic, IntegerPowerOfProductDistributes) {
  EXPECT_EQ(pow(x * y, 2), pow(x, 2) * pow(y, 2));
  EXPECT_EQ(pow(2 * x, 3), 8 * pow(x, 3));
  EXPECT_EQ(pow(x * y, -1), 1 / x / y);
}

TEST_F(core_Symbolic, ExactRationalArithmetic) {
  Expr a = rational(1, 3) + rational(1, 6);
  ASSERT_TRUE(a.is_exact());
  EXPECT_EQ(a.rational().num, 1);
  EXPECT_EQ(a.rational().den, 2);
  EXPECT_EQ(rational(2, 4), rational(1, 2));
  EXPECT_EQ(Expr(1) / Expr(3) * 3, Expr(1));
  EXPECT_EQ(Expr(2.0), Expr(2));  // an integral double is the exact integer
  EXPECT_FALSE(Expr(0.1).is_exact());
  EXPECT_THROW(rational(1, 0), Error);
}

TEST_F(core_Symbolic, SymbolsWithTheSameNameAreDistinct) {
  Expr a1 = symbol("a"), a2 = symbol("a");
  EXPECT_NE(a1, a2);
  EXPECT_NE(a1 + a2, 2 * a1);
  EXPECT_EQ(a1 + a2, a2 + a1);
}

TEST_F(core_Symbolic, ExpandDistributesProductsAndPowersOfSums) {
  EXPECT_EQ(expand(pow(x + y, 2)), pow(x, 2) + 2 * x * y + pow(y, 2));
  EXPECT_EQ(expand((x + 1) * (x - 1)), pow(x, 2) - 1);
  EXPECT_EQ(expand(x * (y + z)), x * y + x * z);
  EXPECT_EQ(expand(pow(x + 1, 3) - pow(x, 3)), 3 * pow(x, 2) + 3 * x + 1);
  EXPECT_TRUE(expand((x + y) * (x - y) - pow(x, 2) + pow(y, 2)).is_zero());
}

TEST_F(core_Symbolic, SubstituteReplacesWholeSubexpressions) {
  Expr e = pow(x, 2) + y;
  EXPECT_EQ(substitute(e, {{x, y + 1}}), pow(y + 1, 2) + y);
  EXPECT_EQ(expand(substitute(e, {{x, y + 1}})), pow(y, 2) + 3 * y + 1);
  // a compound subexpression as key
  EXPECT_EQ(substitute(sin(x * y) + x * y, {{x * y, z}}), sin(z) + z);
  // simultaneous, not sequential
  EXPECT_EQ(substitute(x + 2 * y, {{x, y}, {y, x}}), y + 2 * x);
}

TEST_F(core_Symbolic, SubstituteReplacesAccesses) {
  Grid g({11}, {1.0}, DType::Float64);
  TimeFunction u("u", g, 2);
  Expr e = u.forward() * 3 + u();
  Expr r = substitute(e, {{u.forward(), x}});
  EXPECT_EQ(r, 3 * x + u());
  EXPECT_FALSE(contains(r, u.forward()));
}

TEST_F(core_Symbolic, DiffWithRespectToSymbol) {
  EXPECT_EQ(diff(pow(x, 3) + 2 * x * y, x), 3 * pow(x, 2) + 2 * y);
  EXPECT_EQ(diff(pow(x, 3) + 2 * x * y, y), 2 * x);
  EXPECT_TRUE(diff(pow(y, 3) + 7, x).is_zero());
  EXPECT_EQ(diff(1 / x, x), -1 / pow(x, 2));
}

TEST_F(core_Symbolic, DiffWithRespectToAccessTreatsOtherIndicesAsIndependent) {
  Grid g({11}, {1.0}, DType::Float64);
  Function f("f", g, 2);
  const Expr &X = g.dim(0);
  Expr f0 = f(), fp = f({X + 1}), fm = f({X - 1});
  Expr e = pow(fp, 2) + 3 * f0 * fp + 5 * fm;
  EXPECT_EQ(diff(e, f0), 3 * fp);
  EXPECT_EQ(diff(e, fp), 2 * fp + 3 * f0);
  EXPECT_EQ(diff(e, fm), Expr(5));
  EXPECT_TRUE(diff(e, f({X + 2})).is_zero());
}

TEST_F(core_Symbolic, LinearCoefficientsSplitAnAffineExpression) {
  Expr e = x * (2 * y + 1) + z - 3 * x + sin(y);
  auto [a, b] = linear_coefficients(e, x);
  EXPECT_FALSE(contains(a, x));
  EXPECT_FALSE(contains(b, x));
  EXPECT_EQ(expand(a), 2 * y - 2);
  EXPECT_EQ(b, z + sin(y));
}

TEST_F(core_Symbolic, LinearCoefficientsRejectNonLinearNamingTheVariable) {
  std::string msg = test::error_message([&] { linear_coefficients(x * x + y, x); });
  EXPECT_NE(msg.find("linear"), std::string::npos) << msg;
  EXPECT_NE(msg.find("x"), std::string::npos) << msg;
  msg = test::error_message([&] { linear_coefficients(sin(x) + y, x); });
  EXPECT_NE(msg.find("x"), std::string::npos) << msg;
}

TEST_F(core_Symbolic, CollectGroupsByPower) {
  auto c = collect((x + y) * (x + 1) + 2 * x, x);
  std::map<std::int64_t, Expr> by;
  for (auto &[k, e] : c) by[k] = e;
  ASSERT_EQ(by.size(), 3u);
  EXPECT_EQ(by[2], Expr(1));
  EXPECT_EQ(by[1], y + 3);
  EXPECT_EQ(by[0], y);
}

// solve() on the acoustic equation: plugging the solution back in gives zero (evaluated at
// random values of every access and symbol).
TEST_F(core_Symbolic, SolveSatisfiesTheEquation) {
  Grid g({21, 21}, {1.0, 1.0}, DType::Float64);
  Function m("m", g, 4), damp("damp", g, 4);
  TimeFunction u("u", g, 4);
  Expr pde = Expr(m) * dt2(u) - laplace(u) + Expr(damp) * dt(u);
  Expr sol = solve(pde, u.forward());
  EXPECT_FALSE(contains(sol, u.forward()));
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> U(0.5, 2.0);
  Values v;
  for (const Expr &a : accesses(pde)) v[a] = U(rng);
  for (const Expr &s : symbols(pde))
    if (s->symbol_kind == SymbolKind::Scalar) v[s] = U(rng);
  Values v2 = v;
  v2[u.forward()] = eval(sol, v);
  EXPECT_NEAR(eval(pde, v2), 0.0, 1e-9 * std::fabs(eval(pde, v)) + 1e-12);
  // solve also names what it cannot do
  std::string msg = test::error_message([&] { solve(pow(u.forward(), 2) - 1, u.forward()); });
  EXPECT_NE(msg.find("u[t + 1"), std::string::npos) << msg;
}

TEST_F(core_Symbolic, StrIsReadable) {
  Grid g({11, 11}, {1.0, 1.0}, DType::Float64);
  TimeFunction u("u", g, 4);
  const Expr &X = g.dim(0), &Y = g.dim(1), &T = g.time_dim();
  EXPECT_EQ(u.at(T + 1, {X - 2, Y}).str(), "u[t + 1, x - 2, y]");
  EXPECT_EQ(rational(-1, 3).str(), "-1/3");
  EXPECT_EQ((x + y).str(), "x + y");
  EXPECT_EQ((x - y).str(), "x - y");
  EXPECT_EQ((2 * x * y).str(), "2*x*y");
  EXPECT_EQ(pow(x, 2).str(), "x^2");
  EXPECT_EQ((x / y).str(), "x/y");
  EXPECT_EQ((x * (y + z)).str(), "x*(y + z)");
  EXPECT_EQ(sqrt(x).str(), "sqrt(x)");
}

TEST_F(core_Symbolic, PrintCUsesTheElementType) {
  CPrintOptions f32, f64;
  f32.dtype = DType::Float32;
  f64.dtype = DType::Float64;
  Expr e = Expr(0.5) * x + sqrt(y) + rational(1, 3) + exp(z) + log(x) + sin(y) + cos(z) + abs(x) +
           min(x, y) + max(y, z);
  std::string s32 = print_c(e, f32), s64 = print_c(e, f64);
  for (const char *fn : {"sqrtf(", "expf(", "logf(", "sinf(", "cosf(", "fabsf(", "fminf(", "fmaxf("})
    EXPECT_NE(s32.find(fn), std::string::npos) << fn << " in " << s32;
  for (const char *fn : {"sqrt(", "exp(", "log(", "sin(", "cos(", "fabs(", "fmin(", "fmax("})
    EXPECT_NE(s64.find(fn), std::string::npos) << fn << " in " << s64;
  EXPECT_EQ(s64.find("sqrtf"), std::string::npos) << s64;
  // every floating literal in float32 code carries the F suffix (nothing promoted to double)
  std::regex literal(R"((^|[^A-Za-z_0-9.])([0-9]+\.[0-9]*([eE][-+]?[0-9]+)?)([^0-9eE]|$))");
  int n32 = 0;
  for (auto it = std::sregex_iterator(s32.begin(), s32.end(), literal); it != std::sregex_iterator(); ++it) {
    ++n32;
    EXPECT_EQ((*it)[4].str().substr(0, 1), "F") << "literal " << (*it)[2] << " without F in " << s32;
  }
  EXPECT_GE(n32, 2) << s32;
  EXPECT_EQ(s64.find('F'), std::string::npos) << s64;
}

// Long float sums print as short chains added pairwise (C keeps the written order, so one long
// sum is one long dependency chain); the terms and their signs are those of the flat sum.
TEST_F(core_Symbolic, LongSumsPrintAsShortChains) {
  CPrintOptions f32;
  auto sum_of = [](int n) {
    Expr e(0);
    for (int i = 0; i < n; ++i) e = e + Expr(i % 3 == 0 ? -(i + 1) : i + 1) * symbol("s" + std::to_string(i));
    return e;
  };
  auto terms_in = [](const std::string &chain) {  // top-level terms of a chain without parentheses
    int n = 1;
    for (std::size_t i = 0; i + 2 < chain.size(); ++i) n += chain.compare(i, 3, " + ") == 0 || chain.compare(i, 3, " - ") == 0;
    return n;
  };
  std::string nine = print_c(sum_of(9), f32);
  EXPECT_EQ(nine.find('('), std::string::npos) << nine;
  EXPECT_EQ(terms_in(nine), 9) << nine;
  for (int n : {10, 25, 49}) {
    std::string s = print_c(sum_of(n), f32);
    // innermost groups: text between a '(' and the next ')' with no '(' inside
    std::regex group(R"(\(([^()]*)\))");
    int groups = 0, total = 0;
    for (auto it = std::sregex_iterator(s.begin(), s.end(), group); it != std::sregex_iterator(); ++it) {
      int k = terms_in((*it)[1].str());
      EXPECT_LE(k, 9) << (*it)[1] << " in " << s;
      ++groups;
      total += k;
    }
    EXPECT_EQ(groups, (n + 8) / 9) << s;
    EXPECT_EQ(total, n) << s;
    std::string flat;
    for (char c : s)
      if (c != '(' && c != ')') flat += c;
    flat = std::regex_replace(flat, std::regex(R"( \+ -)"), " - ");
    // the same signed terms as the flat sum (in the canonical order, which is not i's)
    auto signed_terms = [](const std::string &chain) {
      std::vector<std::string> t;
      std::string cur = chain;
      std::smatch m;
      std::regex term(R"(^ ?([-+]?) ?([^ ]+))");
      while (std::regex_search(cur, m, term)) {
        std::string signed_term(1, m[1] == "-" ? '-' : '+');
        t.push_back(signed_term.append(m[2].str()));
        cur = m.suffix();
      }
      std::sort(t.begin(), t.end());
      return t;
    };
    std::vector<std::string> want;
    for (int i = 0; i < n; ++i)
      want.push_back(std::string(i % 3 == 0 ? "-" : "+") + (i == 0 ? "" : std::to_string(i + 1) + ".0F*") + "s" +
                     std::to_string(i));
    std::sort(want.begin(), want.end());
    EXPECT_EQ(signed_terms(flat), want) << s;
  }
}

TEST_F(core_Symbolic, CLiteralsRoundTrip) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> U(-1e3, 1e3);
  for (int i = 0; i < 200; ++i) {
    double v = U(rng) * std::pow(10.0, (i % 21) - 10);
    std::string d = c_literal(v, DType::Float64);
    EXPECT_EQ(std::strtod(d.c_str(), nullptr), v) << d;
    std::string f = c_literal(v, DType::Float32);
    ASSERT_FALSE(f.empty());
    EXPECT_EQ(f.back(), 'F') << f;
    EXPECT_EQ(std::strtof(f.c_str(), nullptr), static_cast<float>(v)) << f;
  }
  EXPECT_EQ(c_literal(-2.5, DType::Float32), "-2.5F");
}

TEST_F(core_Symbolic, ElementaryFunctionsFoldOnNumbers) {
  EXPECT_EQ(sqrt(Expr(4)), Expr(2));
  EXPECT_EQ(exp(Expr(0)), Expr(1));
  EXPECT_EQ(log(Expr(1)), Expr(0));
  EXPECT_EQ(sin(Expr(0)), Expr(0));
  EXPECT_EQ(cos(Expr(0)), Expr(1));
  EXPECT_EQ(abs(Expr(-3)), Expr(3));
  EXPECT_EQ(abs(rational(-1, 3)), rational(1, 3));
  EXPECT_EQ(min(Expr(2), Expr(3)), Expr(2));
  EXPECT_EQ(max(Expr(2), Expr(3)), Expr(3));
  EXPECT_DOUBLE_EQ(exp(Expr(1)).number_value(), std::exp(1.0));
  EXPECT_DOUBLE_EQ(sin(Expr(0.25)).number_value(), std::sin(0.25));
  EXPECT_EQ(min(x, y), min(y, x));
  EXPECT_EQ(max(x, x), x);
  EXPECT_THROW(sqrt(Expr(-1)), Error);
  EXPECT_THROW(log(Expr(0)), Error);
}

// d/dx of each function, evaluated, against a centred difference of the function itself.
void expect_derivative_matches(const Expr &f, const Expr &var, Values at) {
  Expr d = diff(f, var);
  const double x0 = at[var], h = 1e-5 * std::max(1.0, std::fabs(x0));
  Values p = at, m = at;
  p[var] = x0 + h;
  m[var] = x0 - h;
  double fd = (eval(f, p) - eval(f, m)) / (2 * h);
  double an = eval(d, at);
  EXPECT_NEAR(an, fd, 1e-6 * std::max(1.0, std::fabs(fd))) << "d/d" << var.str() << " " << f.str() << " = " << d.str();
}

TEST_F(core_Symbolic, DerivativesOfElementaryFunctionsMatchFiniteDifferences) {
  Expr g = pow(x, 2) * y + x + 2;  // positive for the points below
  std::vector<Expr> fs = {sqrt(g), exp(g / 10), log(g), sin(g), cos(g), abs(x - y), abs(g * (x - 1)),
                          pow(g, rational(3, 2)), pow(g, -2), pow(y, x), sin(x) * cos(y) / sqrt(g),
                          exp(sin(x * y)) * log(g + 1)};
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> U(0.2, 1.8);
  for (int trial = 0; trial < 5; ++trial) {
    Values at{{x, U(rng)}, {y, U(rng) + 0.1}};
    for (const Expr &f : fs) {
      expect_derivative_matches(f, x, at);
      expect_derivative_matches(f, y, at);
    }
  }
}

// min and max are differentiable wherever their arguments differ (like abs away from 0).
TEST_F(core_Symbolic, DerivativesOfMinAndMaxMatchFiniteDifferences) {
  std::vector<Expr> fs = {min(x, y), max(x, y), min(pow(x, 2), y + 1), max(sin(x), x * y), min(x, 2 * x + y)};
  std::mt19937 rng(12);
  std::uniform_real_distribution<double> U(0.2, 1.8);
  for (int trial = 0; trial < 8; ++trial) {
    Values at{{x, U(rng)}, {y, U(rng)}};
    for (const Expr &f : fs) {
      Expr d;
      try {
        d = diff(f, x);
      } catch (const Error &e) {
        ADD_FAILURE() << "diff(" << f.str() << ", x) threw: " << e.what();
        return;
      }
      expect_derivative_matches(f, x, at);
      expect_derivative_matches(f, y, at);
    }
  }
}

TEST_F(core_Symbolic, QueriesFindAccessesAndSymbols) {
  Grid g({11}, {1.0}, DType::Float64);
  TimeFunction u("u", g, 2);
  Expr e = u.forward() * x + u() * u() + y;
  auto acc = accesses(e);
  ASSERT_EQ(acc.size(), 2u);
  EXPECT_TRUE((acc[0] == u() && acc[1] == u.forward()) || (acc[1] == u() && acc[0] == u.forward()));
  EXPECT_TRUE(contains(e, x));
  EXPECT_FALSE(contains(e, z));
  auto syms = symbols(e);
  EXPECT_NE(std::find(syms.begin(), syms.end(), x), syms.end());
  EXPECT_NE(std::find(syms.begin(), syms.end(), y), syms.end());
}

TEST_F(core_Symbolic, InternedNodesDieWithTheirLastHandle) {
  const std::size_t before = interned_node_count();
  {
    Expr a = symbol("tmp_a"), b = symbol("tmp_b");
    Expr e = expand(pow(a + b + 1, 4)) * sin(a);
    EXPECT_GT(interned_node_count(), before + 10);
  }
  EXPECT_LE(interned_node_count(), before);
}

}  // namespace
}  // namespace tenet
