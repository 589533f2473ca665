/** \file Format.h  The container format of compressed buffers, byte I/O helpers and the codec table (internal).
 *
 * Layout (little-endian), 76 bytes of header then the codec's payload:
 *   0  magic "TNZ\x1a"        4  u16 format version     6  u8 codec id    7  u8 dtype
 *   8  u8 ndim                9  u8 mode              10  u16 reserved (0)
 *  12  u64 dims[3] (unused = 1)                       36  f64 mode parameter
 *  44  f64 absolute bound enforced (0 lossless, -1 none)
 *  52  u64 payload bytes     60  u64 payload hash      68  u64 hash of bytes 0..67
 * The header hash lets a reader trust the sizes before allocating anything; the payload hash
 * rejects flipped bits before any decoder sees them. Decoders still check every length they
 * read, so a buffer that collides with both hashes still cannot make them read out of bounds.
 */
#pragma once

#include <functional>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "compress/Compressor.h"
#include "support/Error.h"

namespace tenet::internal {

static_assert(std::endian::native == std::endian::little,
              "the compressed format is little-endian and written with memcpy");

constexpr std::uint16_t kFormatVersion = 3;  // 2: sz codes range-coded with contexts; 3: quiet blocks of zero codes
constexpr std::size_t kHeaderBytes = 76;
/// Largest element count a header may claim: keeps a forged header from causing a huge
/// allocation (2^40 elements = 4 TiB of float32, far above any checkpoint).
constexpr std::uint64_t kMaxElements = std::uint64_t(1) << 40;

enum class CodecId : std::uint8_t { None = 0, Zstd = 1, Zfp = 2, Sz = 3 };

const char *codec_name(CodecId id);

/// Array geometry in the codecs' terms: shape padded to 3 dims with leading 1s, so dims[2] is
/// always the fastest.
struct ArrayDesc {
  DType dtype = DType::Float32;
  int ndim = 1;
  std::int64_t dims[3] = {1, 1, 1};
  std::size_t count() const { return std::size_t(dims[0]) * dims[1] * dims[2]; }
  std::size_t bytes() const { return count() * dtype_size(dtype); }
};

struct Header {
  CodecId codec = CodecId::None;
  ArrayDesc array;
  CompressionMode mode = CompressionMode::Lossless;
  double param = 0;
  double abs_bound = 0;
  std::uint64_t payload_bytes = 0;
  std::uint64_t payload_hash = 0;
};

/// 64-bit hash of bytes (the XXH64 construction: four multiply-rotate lanes, then avalanche).
std::uint64_t hash64(const void *data, std::size_t size, std::uint64_t seed = 0);

void write_header(std::uint8_t *dst, const Header &h);
/// Parses and validates the header of `buf` (magic, version, enums, sizes, both hashes).
Header read_header(std::span<const std::uint8_t> buf);

/// Appends plain values to a byte vector.
class ByteWriter {
 public:
  explicit ByteWriter(std::vector<std::uint8_t> &out) : out_(out) {}
  template <class T>
  void put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    std::size_t at = out_.size();
    out_.resize(at + sizeof(T));
    std::memcpy(out_.data() + at, &v, sizeof(T));
  }
  void put_bytes(const void *p, std::size_t n) {
    std::size_t at = out_.size();
    out_.resize(at + n);
    if (n) std::memcpy(out_.data() + at, p, n);
  }
  std::size_t size() const { return out_.size(); }

 private:
  std::vector<std::uint8_t> &out_;
};

/// Reads plain values from a byte span; every read is bounds-checked and a short buffer is a
/// tenet::Error naming `what`.
class ByteReader {
 public:
  ByteReader(const std::uint8_t *p, std::size_t n, const char *what) : p_(p), n_(n), what_(what) {}
  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T));
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  const std::uint8_t *take(std::size_t n) {
    need(n);
    const std::uint8_t *r = p_ + pos_;
    pos_ += n;
    return r;
  }
  std::size_t remaining() const { return n_ - pos_; }
  std::size_t position() const { return pos_; }

 private:
  void need(std::size_t n) const {
    TENET_USER_CHECK(n <= n_ - pos_, "corrupt compressed data: ", what_, " is truncated");
  }
  const std::uint8_t *p_;
  std::size_t n_;
  std::size_t pos_ = 0;
  const char *what_;
};

/// Splits dimension `axis` (the slowest one with extent > 1) into slabs of whole index ranges,
/// so blocks can be compressed on separate threads. Depends only on the shape (and `align`,
/// `min_thickness`), never on the thread count, so the output bytes never depend on threads.
struct Slab {
  std::int64_t begin = 0, end = 0;  // range along `axis`
};
struct SlabPlan {
  int axis = 2;
  std::size_t plane = 1;  // elements per unit of `axis` (product of the faster dims)
  std::vector<Slab> slabs;
};
SlabPlan plan_slabs(const ArrayDesc &a, std::size_t target_elements, std::int64_t min_thickness,
                    std::int64_t align);

/// Compresses/decompresses with zstd, checking every result (errors name `what`).
std::vector<std::uint8_t> zstd_compress(const void *src, std::size_t n, int level);
/// ZSTD_decompress with this thread's cached context (returns zstd's result code).
std::size_t zstd_decompress_into(void *dst, std::size_t capacity, const void *src, std::size_t n);
/// Decompresses one frame whose content size must be known and at most `max_bytes`; the result
/// gets `pad` zero bytes of slack after its end for readers that load whole words.
std::vector<std::uint8_t> zstd_decompress(const std::uint8_t *src, std::size_t n,
                                          std::size_t max_bytes, std::size_t pad, const char *what);

// Codec entry points. `encode` appends the payload to `out`; `decode` writes the array to `out`.
// `abs_bound` is the resolved absolute bound (Absolute and Relative modes), `param` the mode
// parameter as given.
struct EncodeArgs {
  const void *data;
  ArrayDesc array;
  CompressionMode mode;
  double param;
  double abs_bound;
  int threads;
};
struct DecodeArgs {
  const std::uint8_t *payload;
  std::size_t payload_bytes;
  ArrayDesc array;
  CompressionMode mode;
  double param;
  double abs_bound;
  int threads;
  void *out;
};

void none_encode(const EncodeArgs &a, std::vector<std::uint8_t> &out);
void none_decode(const DecodeArgs &a);
void zstd_encode(const EncodeArgs &a, std::vector<std::uint8_t> &out);
void zstd_decode(const DecodeArgs &a);
void zfp_encode(const EncodeArgs &a, std::vector<std::uint8_t> &out);
void zfp_decode(const DecodeArgs &a);
void sz_encode(const EncodeArgs &a, std::vector<std::uint8_t> &out);
void sz_decode(const DecodeArgs &a);

/// Number of threads for an OpenMP region: `requested` (0 = OpenMP's default), at most `work`.
int thread_count(int requested, std::size_t work);

/// Runs body(i) for i in [0, n) on thread_count(threads, n) OpenMP threads (dynamic schedule),
/// then rethrows the first exception any call threw: errors in a slab (corrupt data, a broken
/// bound) reach the caller as they would from a serial loop.
void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)> &body);

}  // namespace tenet::internal
