#include "support/Bytes.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace tenet {
namespace {

constexpr std::size_t kChunk = std::size_t(1) << 20;
constexpr std::int64_t kSerialChunks = 4;  // below 4 MiB one thread is as fast

}  // namespace

void copy_bytes(void *dst, const void *src, std::size_t n) {
  auto *d = static_cast<unsigned char *>(dst);
  const auto *s = static_cast<const unsigned char *>(src);
  const auto chunks = static_cast<std::int64_t>((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static) if (chunks > kSerialChunks)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::size_t at = static_cast<std::size_t>(c) * kChunk;
    std::memcpy(d + at, s + at, std::min(kChunk, n - at));
  }
}

void clear_bytes(void *p, std::size_t n) {
  auto *d = static_cast<unsigned char *>(p);
  const auto chunks = static_cast<std::int64_t>((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static) if (chunks > kSerialChunks)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::size_t at = static_cast<std::size_t>(c) * kChunk;
    std::memset(d + at, 0, std::min(kChunk, n - at));
  }
}

}  // namespace tenet
