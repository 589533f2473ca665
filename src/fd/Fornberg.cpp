#include "fd/Fornberg.h"

#include <algorithm>

#include "support/Error.h"

namespace tenet {
namespace {

struct Overflow {};

// Rational arithmetic that throws Overflow instead of returning nullopt, so one template
// serves exact and floating computation.
struct Exact {
  Rational q;
  Exact(std::int64_t v = 0) : q(v) {}  // NOLINT
  Exact(Rational r) : q(r) {}          // NOLINT
  static Rational check(std::optional<Rational> r) {
    if (!r) throw Overflow{};
    return *r;
  }
  friend Exact operator+(Exact a, Exact b) { return check(add(a.q, b.q)); }
  friend Exact operator-(Exact a, Exact b) { return check(add(a.q, check(mul(b.q, Rational(-1))))); }
  friend Exact operator*(Exact a, Exact b) { return check(mul(a.q, b.q)); }
  friend Exact operator/(Exact a, Exact b) { return check(div(a.q, b.q)); }
  Exact operator-() const { return check(mul(q, Rational(-1))); }
};

template <class T>
std::vector<T> fornberg(int m, const std::vector<T> &x, T x0) {
  const int n = static_cast<int>(x.size());
  std::vector<std::vector<T>> c(static_cast<std::size_t>(n), std::vector<T>(static_cast<std::size_t>(m + 1), T(0)));
  auto C = [&](int j, int k) -> T & { return c[static_cast<std::size_t>(j)][static_cast<std::size_t>(k)]; };
  T c1 = T(1), c4 = x[0] - x0;
  C(0, 0) = T(1);
  for (int i = 1; i < n; ++i) {
    int mn = std::min(i, m);
    T c2 = T(1), c5 = c4;
    c4 = x[static_cast<std::size_t>(i)] - x0;
    for (int j = 0; j < i; ++j) {
      T c3 = x[static_cast<std::size_t>(i)] - x[static_cast<std::size_t>(j)];
      c2 = c2 * c3;
      if (j == i - 1) {
        for (int k = mn; k >= 1; --k) C(i, k) = c1 * (T(k) * C(i - 1, k - 1) - c5 * C(i - 1, k)) / c2;
        C(i, 0) = -c1 * c5 * C(i - 1, 0) / c2;
      }
      for (int k = mn; k >= 1; --k) C(j, k) = (c4 * C(j, k) - T(k) * C(j, k - 1)) / c3;
      C(j, 0) = c4 * C(j, 0) / c3;
    }
    c1 = c2;
  }
  std::vector<T> w;
  for (int j = 0; j < n; ++j) w.push_back(C(j, m));
  return w;
}

void check_points(int m, std::size_t n) {
  TENET_USER_CHECK(m >= 0, "derivative order ", m, " is negative");
  TENET_USER_CHECK(n > static_cast<std::size_t>(m), "a derivative of order ", m, " needs at least ", m + 1,
                   " points; ", n, " given");
}

}  // namespace

std::vector<Expr> fornberg_weights(int m, const std::vector<Rational> &points, const Rational &x0) {
  check_points(m, points.size());
  for (std::size_t i = 0; i < points.size(); ++i)
    for (std::size_t j = i + 1; j < points.size(); ++j)
      TENET_USER_CHECK(!(points[i] == points[j]), "finite-difference points must be distinct; ", points[i].str(),
                       " appears twice");
  std::vector<Expr> out;
  try {
    std::vector<Exact> x(points.begin(), points.end());
    for (const Exact &w : fornberg<Exact>(m, x, Exact(x0))) out.push_back(number(w.q));
  } catch (const Overflow &) {
    out.clear();
    std::vector<long double> x;
    for (const Rational &p : points) x.push_back(static_cast<long double>(p.num) / static_cast<long double>(p.den));
    long double z = static_cast<long double>(x0.num) / static_cast<long double>(x0.den);
    for (long double w : fornberg<long double>(m, x, z)) out.push_back(number(static_cast<double>(w)));
  }
  return out;
}

std::vector<double> fornberg_weights_double(int m, const std::vector<double> &points, double x0) {
  check_points(m, points.size());
  return fornberg<double>(m, points, x0);
}

}  // namespace tenet
