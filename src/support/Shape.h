/** \file Shape.h  The number of values of an array shape, checked against overflow. */
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "support/Error.h"

namespace tenet {

/// The most values one array may hold: 2^40 (4 TiB of float32, beyond any machine Tenet runs
/// on). Counts past it come from damaged headers or mistyped sizes, and their products would
/// overflow 64 bits (a shape of 8 x 8 x 2^62 + 1 multiplies to 64) and size buffers wrongly.
inline constexpr std::int64_t kMostValues = std::int64_t(1) << 40;

/// The product of `shape`, or a tenet::Error naming `what` where a size is negative or the
/// product exceeds kMostValues.
inline std::int64_t value_count(const std::vector<std::int64_t> &shape, std::string_view what) {
  std::int64_t n = 1;
  for (std::int64_t s : shape) {
    TENET_USER_CHECK(s >= 0, what, ": a size of ", s, " is negative");
    if (s != 0 && n > kMostValues / s) {
      std::string sizes;
      for (std::int64_t v : shape) sizes += (sizes.empty() ? "" : " x ") + std::to_string(v);
      throw Error(internal::cat(what, ": the shape ", sizes, " holds more than 2^40 values; a size is mistyped or the ",
                                "header giving it is damaged"));
    }
    n *= s;
  }
  return n;
}

}  // namespace tenet
