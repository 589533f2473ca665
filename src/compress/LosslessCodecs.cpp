// The exact codecs: "none" (a copy, the baseline) and "zstd" (lossless, in independent chunks so
// both directions run on several threads and the bytes do not depend on the thread count).

#include <zstd.h>

#include "compress/Format.h"

namespace tenet::internal {

namespace {
constexpr std::size_t kZstdChunk = std::size_t(4) << 20;
constexpr int kZstdLevel = 3;
}  // namespace

void none_encode(const EncodeArgs &a, std::vector<std::uint8_t> &out) {
  ByteWriter(out).put_bytes(a.data, a.array.bytes());
}

void none_decode(const DecodeArgs &a) {
  TENET_USER_CHECK(a.payload_bytes == a.array.bytes(), "corrupt compressed data: codec none expects ",
                   a.array.bytes(), " payload bytes, found ", a.payload_bytes);
  std::memcpy(a.out, a.payload, a.payload_bytes);
}

void zstd_encode(const EncodeArgs &a, std::vector<std::uint8_t> &out) {
  std::size_t bytes = a.array.bytes();
  std::size_t chunks = (bytes + kZstdChunk - 1) / kZstdChunk;
  std::vector<std::vector<std::uint8_t>> parts(chunks);
  const auto *src = static_cast<const std::uint8_t *>(a.data);
  const int nt = thread_count(a.threads, chunks);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic)
  for (std::size_t c = 0; c < chunks; ++c) {
    std::size_t b = c * kZstdChunk, n = std::min(kZstdChunk, bytes - b);
    parts[c] = zstd_compress(src + b, n, kZstdLevel);
  }
  ByteWriter w(out);
  w.put<std::uint64_t>(chunks);
  for (auto &p : parts) w.put<std::uint64_t>(p.size());
  for (auto &p : parts) w.put_bytes(p.data(), p.size());
}

void zstd_decode(const DecodeArgs &a) {
  std::size_t bytes = a.array.bytes();
  std::size_t chunks = (bytes + kZstdChunk - 1) / kZstdChunk;
  ByteReader r(a.payload, a.payload_bytes, "zstd payload");
  TENET_USER_CHECK(r.get<std::uint64_t>() == chunks, "corrupt compressed data: zstd chunk count");
  std::vector<const std::uint8_t *> src(chunks);
  std::vector<std::size_t> len(chunks);
  for (std::size_t c = 0; c < chunks; ++c) len[c] = r.get<std::uint64_t>();
  for (std::size_t c = 0; c < chunks; ++c) src[c] = r.take(len[c]);
  auto *dst = static_cast<std::uint8_t *>(a.out);
  parallel_for(chunks, a.threads, [&](std::size_t c) {
    std::size_t b = c * kZstdChunk, n = std::min(kZstdChunk, bytes - b);
    unsigned long long size = ZSTD_getFrameContentSize(src[c], len[c]);
    TENET_USER_CHECK(size == n, "corrupt compressed data: zstd chunk ", c, " has the wrong size");
    std::size_t got = zstd_decompress_into(dst + b, n, src[c], len[c]);
    TENET_USER_CHECK(!ZSTD_isError(got) && got == n, "corrupt compressed data: zstd chunk ", c,
                     " does not decode");
  });
}

}  // namespace tenet::internal
