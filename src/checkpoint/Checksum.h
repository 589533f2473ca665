/** \file Checksum.h  A fast 64-bit checksum of checkpoint files (detects truncation and
 * corruption; not cryptographic). */
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tenet::internal {

inline std::uint64_t checksum_rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/// Four independent multiply-rotate lanes over 32-byte blocks (the structure of xxHash64), so
/// the loop runs at memory speed rather than one byte per iteration as FNV would.
inline std::uint64_t checksum64(const unsigned char *p, std::size_t n) {
  constexpr std::uint64_t p1 = 0x9E3779B185EBCA87ull, p2 = 0xC2B2AE3D27D4EB4Full,
                          p3 = 0x165667B19E3779F9ull;
  std::uint64_t lane[4] = {p1 + p2, p2, 0, 0 - p1};
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; ++k) {
      std::uint64_t w;
      std::memcpy(&w, p + i + 8 * k, 8);
      lane[k] = checksum_rotl(lane[k] + w * p2, 31) * p1;
    }
  }
  std::uint64_t h = checksum_rotl(lane[0], 1) + checksum_rotl(lane[1], 7) +
                    checksum_rotl(lane[2], 12) + checksum_rotl(lane[3], 18);
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = checksum_rotl(h ^ (checksum_rotl(w * p2, 31) * p1), 27) * p1 + p3;
  }
  for (; i < n; ++i) h = checksum_rotl(h ^ (p[i] * p3), 11) * p1;
  h ^= n;
  h ^= h >> 33;
  h *= p2;
  h ^= h >> 29;
  h *= p3;
  h ^= h >> 32;
  return h;
}

}  // namespace tenet::internal
