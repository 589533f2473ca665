/** \file Rational.h  Exact rational numbers with 64-bit parts and overflow detection. */
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tenet {

/// num/den in lowest terms, den > 0. Arithmetic returns nullopt on overflow so callers can
/// fall back to floating point instead of silently wrapping.
struct Rational {
  std::int64_t num = 0;
  std::int64_t den = 1;

  Rational() = default;
  Rational(std::int64_t n) : num(n), den(1) {}  // NOLINT: integers convert implicitly
  static std::optional<Rational> make(__int128 n, __int128 d);

  double to_double() const { return static_cast<double>(num) / static_cast<double>(den); }
  bool is_integer() const { return den == 1; }
  bool is_zero() const { return num == 0; }
  bool is_one() const { return num == 1 && den == 1; }
  std::string str() const;

  friend bool operator==(const Rational &a, const Rational &b) {
    return a.num == b.num && a.den == b.den;
  }
};

std::optional<Rational> add(const Rational &a, const Rational &b);
std::optional<Rational> mul(const Rational &a, const Rational &b);
std::optional<Rational> div(const Rational &a, const Rational &b);
/// a^e for integer e (e may be negative when a != 0).
std::optional<Rational> pow(const Rational &a, std::int64_t e);
/// -1, 0 or 1 as a < b, a == b, a > b (exact).
int compare(const Rational &a, const Rational &b);

}  // namespace tenet
