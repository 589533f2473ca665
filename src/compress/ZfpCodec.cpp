// zfp (Debian libzfp) in accuracy, precision, rate and reversible modes.
//
// The array is cut into slabs along its slowest dimension (thickness a multiple of zfp's block
// size 4, so the cut changes nothing in zfp's output quality) and each slab is an independent zfp
// stream. That gives multithreading in both directions (libzfp's own OpenMP mode compresses only)
// and output bytes independent of the thread count.
//
// zfp's accuracy mode aims at the tolerance but does not promise it for every value (its block
// transform rounds in floating point; subnormals and wide dynamic ranges within a block can
// exceed it). Our bound is a promise, so each slab is decompressed and checked after compression:
// on a violation the slab is redone with half the tolerance, and after a few tries reversibly.
#include <algorithm>
#include <cmath>

#include <zfp.h>

#include "compress/Format.h"

namespace tenet::internal {

namespace {

enum class ZfpKind : std::uint8_t { Accuracy = 0, Precision = 1, Rate = 2, Reversible = 3 };

struct SlabDims {
  std::size_t n[3];  // padded 3D dims of the slab
  std::size_t count() const { return n[0] * n[1] * n[2]; }
};

/// RAII for the zfp C objects of one call.
struct ZfpObjects {
  zfp_field *field = nullptr;
  zfp_stream *zfp = nullptr;
  bitstream *stream = nullptr;
  ~ZfpObjects() {
    if (zfp) zfp_stream_close(zfp);
    if (stream) stream_close(stream);
    if (field) zfp_field_free(field);
  }
};

zfp_field *make_field(void *ptr, DType dtype, int ndim, const SlabDims &d) {
  zfp_type t = dtype == DType::Float32 ? zfp_type_float : zfp_type_double;
  switch (ndim) {
    case 1: return zfp_field_1d(ptr, t, d.n[2]);
    case 2: return zfp_field_2d(ptr, t, d.n[2], d.n[1]);
    default: return zfp_field_3d(ptr, t, d.n[2], d.n[1], d.n[0]);
  }
}

void set_mode(zfp_stream *zfp, ZfpKind kind, double param, DType dtype, int ndim) {
  switch (kind) {
    case ZfpKind::Accuracy: zfp_stream_set_accuracy(zfp, param); break;
    case ZfpKind::Precision: zfp_stream_set_precision(zfp, static_cast<unsigned>(param)); break;
    case ZfpKind::Rate:
      zfp_stream_set_rate(zfp, param, dtype == DType::Float32 ? zfp_type_float : zfp_type_double,
                          static_cast<unsigned>(ndim), zfp_false);
      break;
    case ZfpKind::Reversible: zfp_stream_set_reversible(zfp); break;
  }
}

/// Compresses one slab; the result is in whole bytes.
std::vector<std::uint8_t> compress_slab(const void *src, DType dtype, int ndim, const SlabDims &d,
                                        ZfpKind kind, double param) {
  ZfpObjects o;
  o.field = make_field(const_cast<void *>(src), dtype, ndim, d);
  o.zfp = zfp_stream_open(nullptr);
  TENET_INTERNAL_CHECK(o.field && o.zfp, "zfp: out of memory");
  set_mode(o.zfp, kind, param, dtype, ndim);
  std::size_t cap = zfp_stream_maximum_size(o.zfp, o.field);
  std::vector<std::uint64_t> buf(cap / 8 + 2);
  o.stream = stream_open(buf.data(), buf.size() * 8);
  zfp_stream_set_bit_stream(o.zfp, o.stream);
  zfp_stream_rewind(o.zfp);
  std::size_t size = zfp_compress(o.zfp, o.field);
  TENET_INTERNAL_CHECK(size > 0, "zfp_compress failed");
  std::vector<std::uint8_t> out(size);
  std::memcpy(out.data(), buf.data(), size);
  return out;
}

/// Decompresses one slab. zfp's bit reader does not check the end of its buffer, so the bytes
/// are copied into a zero-padded buffer as large as the mode's maximum stream: a corrupt stream
/// then decodes garbage (caught by the checksum long before) instead of reading out of bounds.
void decompress_slab(const std::uint8_t *src, std::size_t n, void *dst, DType dtype, int ndim,
                     const SlabDims &d, ZfpKind kind, double param) {
  ZfpObjects o;
  o.field = make_field(dst, dtype, ndim, d);
  o.zfp = zfp_stream_open(nullptr);
  TENET_INTERNAL_CHECK(o.field && o.zfp, "zfp: out of memory");
  set_mode(o.zfp, kind, param, dtype, ndim);
  std::size_t cap = std::max(zfp_stream_maximum_size(o.zfp, o.field), n);
  std::vector<std::uint64_t> buf(cap / 8 + 4, 0);
  std::memcpy(buf.data(), src, n);
  o.stream = stream_open(buf.data(), buf.size() * 8);
  zfp_stream_set_bit_stream(o.zfp, o.stream);
  zfp_stream_rewind(o.zfp);
  std::size_t used = zfp_decompress(o.zfp, o.field);
  TENET_USER_CHECK(used > 0 && used <= n + 8, "corrupt compressed data: zfp stream does not decode");
}

template <class T>
double max_abs_error(const T *a, const T *b, std::size_t n) {
  double m = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double e = std::fabs(double(a[i]) - double(b[i]));
    if (!(e <= m)) m = e;  // NaN propagates as a failure
  }
  return m;
}

bool within(const void *a, const void *b, std::size_t n, DType dtype, double bound) {
  double e = dtype == DType::Float32
                 ? max_abs_error(static_cast<const float *>(a), static_cast<const float *>(b), n)
                 : max_abs_error(static_cast<const double *>(a), static_cast<const double *>(b), n);
  return e <= bound;
}

bool bitwise_equal(const void *a, const void *b, std::size_t bytes) {
  return std::memcmp(a, b, bytes) == 0;
}

struct SlabOut {
  ZfpKind kind;
  double param;
  std::vector<std::uint8_t> bytes;
};

SlabPlan zfp_slabs(const ArrayDesc &a) { return plan_slabs(a, std::size_t(1) << 20, 4, 4); }

SlabDims slab_dims(const ArrayDesc &a, const SlabPlan &plan, const Slab &s) {
  SlabDims d{{std::size_t(a.dims[0]), std::size_t(a.dims[1]), std::size_t(a.dims[2])}};
  d.n[plan.axis] = std::size_t(s.end - s.begin);
  return d;
}

}  // namespace

void zfp_encode(const EncodeArgs &a, std::vector<std::uint8_t> &out) {
  SlabPlan plan = zfp_slabs(a.array);
  std::size_t es = dtype_size(a.array.dtype);
  std::vector<SlabOut> parts(plan.slabs.size());
  parallel_for(plan.slabs.size(), a.threads, [&](std::size_t i) {
    SlabDims d = slab_dims(a.array, plan, plan.slabs[i]);
    const auto *src = static_cast<const std::uint8_t *>(a.data) + plan.slabs[i].begin * plan.plane * es;
    SlabOut &o = parts[i];
    switch (a.mode) {
      case CompressionMode::Precision: o.kind = ZfpKind::Precision; o.param = a.param; break;
      case CompressionMode::Rate: o.kind = ZfpKind::Rate; o.param = a.param; break;
      case CompressionMode::Lossless: o.kind = ZfpKind::Reversible; o.param = 0; break;
      case CompressionMode::Absolute:
      case CompressionMode::Relative:
        o.kind = a.abs_bound > 0 ? ZfpKind::Accuracy : ZfpKind::Reversible;
        o.param = a.abs_bound;
        break;
    }
    std::vector<std::uint8_t> check(d.count() * es);
    for (int attempt = 0;; ++attempt) {
      o.bytes = compress_slab(src, a.array.dtype, a.array.ndim, d, o.kind, o.param);
      bool bounded = o.kind == ZfpKind::Accuracy || o.kind == ZfpKind::Reversible;
      if (!bounded) break;
      decompress_slab(o.bytes.data(), o.bytes.size(), check.data(), a.array.dtype, a.array.ndim, d,
                      o.kind, o.param);
      if (o.kind == ZfpKind::Reversible) {
        TENET_INTERNAL_CHECK(bitwise_equal(src, check.data(), check.size()),
                             "zfp reversible mode did not round-trip");
        break;
      }
      if (within(src, check.data(), d.count(), a.array.dtype, a.abs_bound)) break;
      if (attempt < 4) {
        o.param *= 0.5;
      } else {
        o.kind = ZfpKind::Reversible;
        o.param = 0;
      }
    }
  });
  ByteWriter w(out);
  w.put<std::uint64_t>(parts.size());
  for (auto &p : parts) {
    w.put<std::uint8_t>(static_cast<std::uint8_t>(p.kind));
    w.put<double>(p.param);
    w.put<std::uint64_t>(p.bytes.size());
  }
  for (auto &p : parts) w.put_bytes(p.bytes.data(), p.bytes.size());
}

void zfp_decode(const DecodeArgs &a) {
  SlabPlan plan = zfp_slabs(a.array);
  std::size_t es = dtype_size(a.array.dtype);
  ByteReader r(a.payload, a.payload_bytes, "zfp payload");
  TENET_USER_CHECK(r.get<std::uint64_t>() == plan.slabs.size(), "corrupt compressed data: zfp slab count");
  struct In {
    ZfpKind kind;
    double param;
    std::size_t n;
    const std::uint8_t *p;
  };
  std::vector<In> in(plan.slabs.size());
  for (auto &s : in) {
    std::uint8_t k = r.get<std::uint8_t>();
    TENET_USER_CHECK(k <= 3, "corrupt compressed data: zfp mode ", int(k));
    s.kind = static_cast<ZfpKind>(k);
    s.param = r.get<double>();
    s.n = r.get<std::uint64_t>();
    bool ok = true;
    switch (s.kind) {
      case ZfpKind::Accuracy: ok = std::isfinite(s.param) && s.param > 0; break;
      case ZfpKind::Precision: ok = s.param >= 1 && s.param <= 64; break;
      case ZfpKind::Rate: ok = s.param > 0 && s.param <= 64; break;
      case ZfpKind::Reversible: break;
    }
    TENET_USER_CHECK(ok, "corrupt compressed data: zfp parameter ", s.param);
  }
  for (auto &s : in) s.p = r.take(s.n);
  parallel_for(plan.slabs.size(), a.threads, [&](std::size_t i) {
    SlabDims d = slab_dims(a.array, plan, plan.slabs[i]);
    auto *dst = static_cast<std::uint8_t *>(a.out) + plan.slabs[i].begin * plan.plane * es;
    decompress_slab(in[i].p, in[i].n, dst, a.array.dtype, a.array.ndim, d, in[i].kind, in[i].param);
  });
}

}  // namespace tenet::internal
