#include "compress/Format.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <mutex>

#include <omp.h>
#include <zstd.h>

namespace tenet::internal {

const char *codec_name(CodecId id) {
  switch (id) {
    case CodecId::None: return "none";
    case CodecId::Zstd: return "zstd";
    case CodecId::Zfp: return "zfp";
    case CodecId::Sz: return "sz";
  }
  return "?";
}

namespace {

constexpr std::uint64_t P1 = 11400714785074694791ULL;
constexpr std::uint64_t P2 = 14029467366897019727ULL;
constexpr std::uint64_t P3 = 1609587929392839161ULL;
constexpr std::uint64_t P4 = 9650029242287828579ULL;
constexpr std::uint64_t P5 = 2870177450012600261ULL;

inline std::uint64_t load64(const std::uint8_t *p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline std::uint32_t load32(const std::uint8_t *p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline std::uint64_t round64(std::uint64_t acc, std::uint64_t v) {
  return std::rotl(acc + v * P2, 31) * P1;
}
inline std::uint64_t merge64(std::uint64_t h, std::uint64_t v) {
  return (h ^ round64(0, v)) * P1 + P4;
}

}  // namespace

std::uint64_t hash64(const void *data, std::size_t size, std::uint64_t seed) {
  const auto *p = static_cast<const std::uint8_t *>(data);
  const std::uint8_t *end = p + size;
  std::uint64_t h;
  if (size >= 32) {
    std::uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
    const std::uint8_t *limit = end - 32;
    do {
      v1 = round64(v1, load64(p));
      v2 = round64(v2, load64(p + 8));
      v3 = round64(v3, load64(p + 16));
      v4 = round64(v4, load64(p + 24));
      p += 32;
    } while (p <= limit);
    h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
    h = merge64(h, v1);
    h = merge64(h, v2);
    h = merge64(h, v3);
    h = merge64(h, v4);
  } else {
    h = seed + P5;
  }
  h += size;
  for (; p + 8 <= end; p += 8) h = std::rotl(h ^ round64(0, load64(p)), 27) * P1 + P4;
  if (p + 4 <= end) {
    h = std::rotl(h ^ (std::uint64_t(load32(p)) * P1), 23) * P2 + P3;
    p += 4;
  }
  for (; p < end; ++p) h = std::rotl(h ^ (*p * P5), 11) * P1;
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

namespace {

constexpr std::uint8_t kMagic[4] = {'T', 'N', 'Z', 0x1a};

template <class T>
void put_at(std::uint8_t *dst, std::size_t at, T v) {
  std::memcpy(dst + at, &v, sizeof(T));
}
template <class T>
T get_at(const std::uint8_t *src, std::size_t at) {
  T v;
  std::memcpy(&v, src + at, sizeof(T));
  return v;
}

}  // namespace

void write_header(std::uint8_t *dst, const Header &h) {
  std::memcpy(dst, kMagic, 4);
  put_at<std::uint16_t>(dst, 4, kFormatVersion);
  put_at<std::uint8_t>(dst, 6, static_cast<std::uint8_t>(h.codec));
  put_at<std::uint8_t>(dst, 7, h.array.dtype == DType::Float32 ? 0 : 1);
  put_at<std::uint8_t>(dst, 8, static_cast<std::uint8_t>(h.array.ndim));
  put_at<std::uint8_t>(dst, 9, static_cast<std::uint8_t>(h.mode));
  put_at<std::uint16_t>(dst, 10, 0);
  for (int d = 0; d < 3; ++d) put_at<std::uint64_t>(dst, 12 + 8 * d, h.array.dims[d]);
  put_at<double>(dst, 36, h.param);
  put_at<double>(dst, 44, h.abs_bound);
  put_at<std::uint64_t>(dst, 52, h.payload_bytes);
  put_at<std::uint64_t>(dst, 60, h.payload_hash);
  put_at<std::uint64_t>(dst, 68, hash64(dst, 68));
}

Header read_header(std::span<const std::uint8_t> buf) {
  TENET_USER_CHECK(buf.size() >= kHeaderBytes, "corrupt compressed data: ", buf.size(),
                   " bytes is shorter than the ", kHeaderBytes, "-byte header (truncated file?)");
  const std::uint8_t *p = buf.data();
  TENET_USER_CHECK(std::memcmp(p, kMagic, 4) == 0,
                   "not a Tenet compressed buffer (bad magic; expected a .tnz file)");
  std::uint16_t version = get_at<std::uint16_t>(p, 4);
  TENET_USER_CHECK(version == kFormatVersion, "compressed buffer has format version ", version,
                   "; this build reads version ", kFormatVersion);
  TENET_USER_CHECK(get_at<std::uint64_t>(p, 68) == hash64(p, 68),
                   "corrupt compressed data: header checksum mismatch");
  Header h;
  std::uint8_t codec = p[6], dtype = p[7], ndim = p[8], mode = p[9];
  TENET_USER_CHECK(codec <= 3, "corrupt compressed data: unknown codec id ", int(codec));
  TENET_USER_CHECK(dtype <= 1, "corrupt compressed data: unknown dtype id ", int(dtype));
  TENET_USER_CHECK(ndim >= 1 && ndim <= 3, "corrupt compressed data: ndim ", int(ndim));
  TENET_USER_CHECK(mode <= 4, "corrupt compressed data: unknown mode id ", int(mode));
  h.codec = static_cast<CodecId>(codec);
  h.array.dtype = dtype == 0 ? DType::Float32 : DType::Float64;
  h.array.ndim = ndim;
  h.mode = static_cast<CompressionMode>(mode);
  std::uint64_t count = 1;
  for (int d = 0; d < 3; ++d) {
    std::uint64_t n = get_at<std::uint64_t>(p, 12 + 8 * d);
    TENET_USER_CHECK(n >= 1 && n <= kMaxElements && (d >= 3 - ndim || n == 1),
                     "corrupt compressed data: dimension ", d, " is ", n);
    // Checked before multiplying: extents of 2^32 and more would wrap the product (found by
    // the fuzz target: a wrapped count of 0 divided by zero in the slab plan).
    TENET_USER_CHECK(n <= kMaxElements / count, "corrupt compressed data: too many elements");
    count *= n;
    h.array.dims[d] = static_cast<std::int64_t>(n);
  }
  h.param = get_at<double>(p, 36);
  h.abs_bound = get_at<double>(p, 44);
  h.payload_bytes = get_at<std::uint64_t>(p, 52);
  h.payload_hash = get_at<std::uint64_t>(p, 60);
  TENET_USER_CHECK(h.payload_bytes == buf.size() - kHeaderBytes, "corrupt compressed data: header says ",
                   h.payload_bytes, " payload bytes but ", buf.size() - kHeaderBytes,
                   " follow (truncated or padded file?)");
  TENET_USER_CHECK(hash64(p + kHeaderBytes, h.payload_bytes) == h.payload_hash,
                   "corrupt compressed data: payload checksum mismatch");
  return h;
}

SlabPlan plan_slabs(const ArrayDesc &a, std::size_t target_elements, std::int64_t min_thickness,
                    std::int64_t align) {
  SlabPlan plan;
  plan.axis = 2;
  for (int d = 0; d < 3; ++d) {
    if (a.dims[d] > 1) {
      plan.axis = d;
      break;
    }
  }
  plan.plane = 1;
  for (int d = plan.axis + 1; d < 3; ++d) plan.plane *= std::size_t(a.dims[d]);
  std::int64_t n = a.dims[plan.axis];
  std::int64_t t = std::max<std::int64_t>(
      min_thickness, static_cast<std::int64_t>(target_elements / plan.plane));
  t = std::max<std::int64_t>(align, (t + align - 1) / align * align);
  // Even out the slabs so the last one is not a sliver.
  std::int64_t count = std::max<std::int64_t>(1, (n + t - 1) / t);
  std::int64_t even = (n + count - 1) / count;
  even = (even + align - 1) / align * align;
  for (std::int64_t b = 0; b < n; b += even) plan.slabs.push_back({b, std::min(n, b + even)});
  return plan;
}

namespace {

// One zstd context per thread, kept: ZSTD_compress would build (and page in) about a megabyte
// of tables on every call, which dominates for small blocks.
ZSTD_CCtx *thread_cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, std::size_t (*)(ZSTD_CCtx *)> ctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  TENET_INTERNAL_CHECK(ctx != nullptr, "zstd: cannot create a context");
  return ctx.get();
}

ZSTD_DCtx *thread_dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, std::size_t (*)(ZSTD_DCtx *)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  TENET_INTERNAL_CHECK(ctx != nullptr, "zstd: cannot create a context");
  return ctx.get();
}

}  // namespace

std::size_t zstd_decompress_into(void *dst, std::size_t capacity, const void *src, std::size_t n) {
  return ZSTD_decompressDCtx(thread_dctx(), dst, capacity, src, n);
}

std::vector<std::uint8_t> zstd_compress(const void *src, std::size_t n, int level) {
  std::vector<std::uint8_t> out(ZSTD_compressBound(n));
  std::size_t r = ZSTD_compressCCtx(thread_cctx(), out.data(), out.size(), src, n, level);
  TENET_INTERNAL_CHECK(!ZSTD_isError(r), "zstd: ", ZSTD_getErrorName(r));
  out.resize(r);
  return out;
}

std::vector<std::uint8_t> zstd_decompress(const std::uint8_t *src, std::size_t n,
                                          std::size_t max_bytes, std::size_t pad, const char *what) {
  unsigned long long size = ZSTD_getFrameContentSize(src, n);
  TENET_USER_CHECK(size != ZSTD_CONTENTSIZE_ERROR && size != ZSTD_CONTENTSIZE_UNKNOWN,
                   "corrupt compressed data: ", what, " is not a valid zstd frame");
  TENET_USER_CHECK(size <= max_bytes, "corrupt compressed data: ", what, " claims ", size,
                   " bytes, more than the ", max_bytes, " possible");
  std::vector<std::uint8_t> out(size + pad, 0);
  std::size_t r = zstd_decompress_into(out.data(), size, src, n);
  TENET_USER_CHECK(!ZSTD_isError(r) && r == size, "corrupt compressed data: ", what, ": ",
                   ZSTD_isError(r) ? ZSTD_getErrorName(r) : "short frame");
  return out;
}

int thread_count(int requested, std::size_t work) {
  int t = requested > 0 ? requested : omp_get_max_threads();
  return static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(t, work)));
}

void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)> &body) {
  std::exception_ptr err;
  std::mutex m;
  const int nt = thread_count(threads, n);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic)
  for (std::size_t i = 0; i < n; ++i) {
    try {
      body(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(m);
      if (!err) err = std::current_exception();
    }
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace tenet::internal
