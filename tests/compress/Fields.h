/** \file Fields.h  Test arrays for the compressor tests: smooth, wave-like, noise, constant, extreme magnitudes. */
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace tenet::test {

enum class FieldKind { Smooth, Wave, Noise, Constant, Zeros, Huge, Tiny, Denormal };

inline const char *field_name(FieldKind k) {
  switch (k) {
    case FieldKind::Smooth: return "smooth";
    case FieldKind::Wave: return "wave";
    case FieldKind::Noise: return "noise";
    case FieldKind::Constant: return "constant";
    case FieldKind::Zeros: return "zeros";
    case FieldKind::Huge: return "huge";
    case FieldKind::Tiny: return "tiny";
    case FieldKind::Denormal: return "denormal";
  }
  return "?";
}

inline std::size_t count_of(const std::vector<std::int64_t> &shape) {
  std::size_t n = 1;
  for (auto d : shape) n *= std::size_t(d);
  return n;
}

/// A field of `kind` on `shape` (last fastest), deterministic for a given seed.
template <class T>
std::vector<T> make_field(FieldKind kind, const std::vector<std::int64_t> &shape, unsigned seed = 1) {
  const std::size_t n = count_of(shape);
  std::vector<T> v(n);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  std::int64_t dims[3] = {1, 1, 1};
  for (std::size_t d = 0; d < shape.size(); ++d) dims[3 - shape.size() + d] = shape[d];
  for (std::int64_t i = 0; i < dims[0]; ++i)
    for (std::int64_t j = 0; j < dims[1]; ++j)
      for (std::int64_t k = 0; k < dims[2]; ++k) {
        std::size_t at = std::size_t((i * dims[1] + j) * dims[2] + k);
        double x = double(k) / 7.0, y = double(j) / 9.0, z = double(i) / 5.0;
        double r = std::sqrt((k - dims[2] / 2.0) * (k - dims[2] / 2.0) + (j - dims[1] / 2.0) * (j - dims[1] / 2.0) +
                             (i - dims[0] / 2.0) * (i - dims[0] / 2.0));
        double smooth = std::sin(x) * std::cos(y) + 0.5 * std::sin(z + 0.3);
        double wave = std::exp(-0.002 * r * r / 4) * std::cos(0.9 * r) + 0.2 * std::sin(0.5 * x + 0.4 * y);
        double val = 0;
        switch (kind) {
          case FieldKind::Smooth: val = smooth; break;
          case FieldKind::Wave: val = wave; break;
          case FieldKind::Noise: val = uni(rng); break;
          case FieldKind::Constant: val = 3.25; break;
          case FieldKind::Zeros: val = 0; break;
          case FieldKind::Huge: val = wave * (sizeof(T) == 4 ? 1e36 : 1e300); break;
          case FieldKind::Tiny: val = wave * (sizeof(T) == 4 ? 1e-30 : 1e-300); break;
          case FieldKind::Denormal:
            val = wave * double(std::numeric_limits<T>::denorm_min()) * 1000.0;
            break;
        }
        v[at] = static_cast<T>(val);
      }
  return v;
}

}  // namespace tenet::test
