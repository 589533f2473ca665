#include "symbolic/Rational.h"

#include <limits>

namespace tenet {
namespace {

__int128 gcd128(__int128 a, __int128 b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b != 0) {
    __int128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

}  // namespace

std::optional<Rational> Rational::make(__int128 n, __int128 d) {
  if (d == 0) return std::nullopt;
  if (d < 0) {
    n = -n;
    d = -d;
  }
  __int128 g = gcd128(n, d);
  if (g > 1) {
    n /= g;
    d /= g;
  }
  constexpr __int128 lo = std::numeric_limits<std::int64_t>::min() + 1;
  constexpr __int128 hi = std::numeric_limits<std::int64_t>::max();
  if (n < lo || n > hi || d > hi) return std::nullopt;
  Rational r;
  r.num = static_cast<std::int64_t>(n);
  r.den = static_cast<std::int64_t>(d);
  return r;
}

std::string Rational::str() const {
  return den == 1 ? std::to_string(num) : std::to_string(num) + "/" + std::to_string(den);
}

std::optional<Rational> add(const Rational &a, const Rational &b) {
  return Rational::make(static_cast<__int128>(a.num) * b.den + static_cast<__int128>(b.num) * a.den,
                        static_cast<__int128>(a.den) * b.den);
}

std::optional<Rational> mul(const Rational &a, const Rational &b) {
  return Rational::make(static_cast<__int128>(a.num) * b.num, static_cast<__int128>(a.den) * b.den);
}

std::optional<Rational> div(const Rational &a, const Rational &b) {
  if (b.num == 0) return std::nullopt;
  return Rational::make(static_cast<__int128>(a.num) * b.den, static_cast<__int128>(a.den) * b.num);
}

std::optional<Rational> pow(const Rational &a, std::int64_t e) {
  if (e < 0) {
    if (a.num == 0) return std::nullopt;
    auto inv = Rational::make(a.den, a.num);
    return inv ? pow(*inv, -e) : std::nullopt;
  }
  Rational result(1);
  Rational base = a;
  while (e > 0) {
    if (e & 1) {
      auto r = mul(result, base);
      if (!r) return std::nullopt;
      result = *r;
    }
    e >>= 1;
    if (e > 0) {
      auto b = mul(base, base);
      if (!b) return std::nullopt;
      base = *b;
    }
  }
  return result;
}

int compare(const Rational &a, const Rational &b) {
  __int128 l = static_cast<__int128>(a.num) * b.den;
  __int128 r = static_cast<__int128>(b.num) * a.den;
  return l < r ? -1 : (l > r ? 1 : 0);
}

}  // namespace tenet
