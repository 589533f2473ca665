// sz: our own SZ-style error-bounded compressor.
//
// Why our own: Debian has no package of SZ3 (or SZ2), and nothing outside Debian may be
// installed, so the algorithm (published by Di, Tao, Liang, Zhao et al.) is reimplemented here
// from its description, shaped for checkpoints: float32/float64, 1-3D, blocks on threads.
//
// Pipeline, per slab of the array (slabs along the slowest dimension, independent, one thread
// each; their layout depends only on the shape, so the bytes never depend on the thread count):
//   1. prediction from already reconstructed values: Lorenzo (1D/2D/3D), or multilevel
//      interpolation as in SZ3 (from a coarse grid to the full one, halving the stride each
//      level, one dimension at a time, with linear or cubic splines). The predictor and a bound
//      factor for coarse levels are chosen once per array by compressing a sample of it with
//      each candidate and keeping the cheapest (entropy of its codes plus escapes).
//   2. linear quantisation of the prediction error with bins of width 2*bound; a value whose
//      bin is out of range, or whose reconstruction misses the bound, is an escape stored
//      exactly (NaN and Inf always are).
//   3. canonical Huffman coding of the bin codes, then zstd over codes, table and escapes.
//
// The bound is checked on every element against the value the decompressor will produce: both
// sides run the same templates (same traversal, same predictor arithmetic in T, same
// reconstruct()), this file is compiled with -ffp-contract=off so no FMA changes a rounding, and
// the check compares in double. Prediction reads reconstructed values in place: the compressor
// works on a copy of the slab and overwrites each value with its reconstruction once coded, the
// decompressor writes straight into the output.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "compress/Format.h"
#include "compress/Huffman.h"

namespace tenet::internal {

namespace {

constexpr int kRadius = 32768;  // codes 1..65535 hold q + kRadius; 0 marks an escape
constexpr int kZstdLevel = 3;

enum class Predictor : std::uint8_t { Lorenzo = 0, Linear = 1, Cubic = 2 };

struct Dims3 {
  std::int64_t n[3];
  std::size_t count() const { return std::size_t(n[0]) * n[1] * n[2]; }
};

template <class T>
inline T reconstruct(T pred, int q, T ebx2) {
  return pred + static_cast<T>(q) * ebx2;
}

template <class T>
T bin_width(double bound) {
  double w = 2.0 * bound;
  // Widths beyond T's range would make every reconstruction Inf or NaN; cap them (the check
  // against the bound still decides).
  double cap = double(std::numeric_limits<T>::max()) / (4.0 * kRadius);
  return static_cast<T>(std::min(w, cap));
}

/// Compressor side: codes one value given its prediction, replacing it by its reconstruction.
template <class T>
struct Quantize {
  double eb = 0, inv = 0;
  T ebx2 = 0;
  std::uint16_t *codes = nullptr;
  std::vector<T> *escapes = nullptr;

  void set_bound(double bound) {
    eb = bound;
    ebx2 = bin_width<T>(bound);
    inv = ebx2 > 0 ? 1.0 / double(ebx2) : 0.0;
  }
  [[gnu::always_inline]] inline void operator()(T *p, T pred) {
    T x = *p;
    double d = (double(x) - double(pred)) * inv;
    if (std::fabs(d) < kRadius - 1) {  // false for NaN
      int q = static_cast<int>(d + (d >= 0 ? 0.5 : -0.5));
      T r = reconstruct(pred, q, ebx2);
      if (std::fabs(double(r) - double(x)) <= eb) {
        *p = r;
        *codes++ = static_cast<std::uint16_t>(q + kRadius);
        return;
      }
    }
    *codes++ = 0;
    escapes->push_back(x);  // *p keeps x: stored exactly
  }
};

/// Decompressor side: the mirror of Quantize. Running out of escapes marks the data corrupt
/// (checked after the traversal, so the hot loop has no exceptions).
template <class T>
struct Dequantize {
  T ebx2 = 0;
  const std::uint16_t *codes = nullptr;
  const T *escapes = nullptr;
  std::size_t n_escapes = 0, used = 0;
  bool bad = false;

  void set_bound(double bound) { ebx2 = bin_width<T>(bound); }
  [[gnu::always_inline]] inline void operator()(T *p, T pred) {
    std::uint16_t c = *codes++;
    if (c) {
      *p = reconstruct(pred, int(c) - kRadius, ebx2);
    } else if (used < n_escapes) {
      *p = escapes[used++];
    } else {
      bad = true;
      *p = 0;
    }
  }
};

/// Lorenzo prediction in raster order; neighbours outside the slab count as 0, which also
/// reduces the 3D formula to 2D/1D for padded dimensions of extent 1.
template <class T, class Op>
void lorenzo(T *f, const Dims3 &d, Op &op) {
  const std::int64_t n0 = d.n[0], n1 = d.n[1], n2 = d.n[2];
  const std::ptrdiff_t s0 = n1 * n2, s1 = n2;
  for (std::int64_t i0 = 0; i0 < n0; ++i0) {
    for (std::int64_t i1 = 0; i1 < n1; ++i1) {
      T *row = f + i0 * s0 + i1 * s1;
      const bool h0 = i0 > 0, h1 = i1 > 0;
      if (!h0 && !h1) {
        for (std::int64_t i2 = 0; i2 < n2; ++i2) op(row + i2, i2 > 0 ? row[i2 - 1] : T(0));
      } else if (!h0 || !h1) {
        const std::ptrdiff_t o = h0 ? s0 : s1;  // the one existing slow neighbour
        op(row, row[-o]);
        for (std::int64_t i2 = 1; i2 < n2; ++i2) {
          T *p = row + i2;
          op(p, (p[-1] + p[-o]) - p[-o - 1]);
        }
      } else {
        op(row, (row[-s0] + row[-s1]) - row[-s0 - s1]);
        for (std::int64_t i2 = 1; i2 < n2; ++i2) {
          T *p = row + i2;
          T pred = ((((((p[-1] + p[-s1]) + p[-s0]) - p[-s1 - 1]) - p[-s0 - 1]) - p[-s0 - s1]) +
                    p[-s0 - s1 - 1]);
          op(p, pred);
        }
      }
    }
  }
}

/// How a point at coordinate c (an odd multiple of s) on a line of n points is predicted.
enum class Case { Hold, Linear, Cubic, QuadLeft, QuadRight };

inline Case classify(std::int64_t c, std::int64_t s, std::int64_t n, bool cubic) {
  if (c + s >= n) return Case::Hold;  // no right neighbour: hold the left one
  if (!cubic) return Case::Linear;
  const bool l3 = c >= 3 * s, r3 = c + 3 * s < n;
  if (l3 && r3) return Case::Cubic;
  if (r3) return Case::QuadLeft;   // quadratic through c-s, c+s, c+3s
  if (l3) return Case::QuadRight;  // quadratic through c-3s, c-s, c+s
  return Case::Linear;
}

/// The prediction of `p` from neighbours `off` elements apart (one template per case, so the
/// inner loops have no branches).
template <Case K, class T>
[[gnu::always_inline]] inline T predict(const T *p, std::ptrdiff_t off) {
  if constexpr (K == Case::Hold) {
    return p[-off];
  } else if constexpr (K == Case::Linear) {
    return (p[-off] + p[off]) * T(0.5);
  } else if constexpr (K == Case::Cubic) {
    return (T(9) * (p[-off] + p[off]) - (p[-3 * off] + p[3 * off])) * T(0.0625);
  } else if constexpr (K == Case::QuadLeft) {
    return ((T(3) * p[-off] + T(6) * p[off]) - p[3 * off]) * T(0.125);
  } else {
    return ((T(6) * p[-off] + T(3) * p[off]) - p[-3 * off]) * T(0.125);
  }
}

/// Codes the points p, p+step, ... (count of them) all predicted by case K.
template <Case K, class T, class Op>
[[gnu::always_inline]] inline void run(T *p, std::ptrdiff_t step, std::int64_t count, std::ptrdiff_t off, Op &op) {
  // A local copy of the coder's state lets the compiler keep it in registers across the loop.
  Op local = op;
  for (std::int64_t k = 0; k < count; ++k, p += step) local(p, predict<K>(p, off));
  op = local;
}

template <class T, class Op>
inline void run_case(Case k, T *p, std::ptrdiff_t step, std::int64_t count, std::ptrdiff_t off, Op &op) {
  switch (k) {
    case Case::Hold: run<Case::Hold>(p, step, count, off, op); return;
    case Case::Linear: run<Case::Linear>(p, step, count, off, op); return;
    case Case::Cubic: run<Case::Cubic>(p, step, count, off, op); return;
    case Case::QuadLeft: run<Case::QuadLeft>(p, step, count, off, op); return;
    case Case::QuadRight: run<Case::QuadRight>(p, step, count, off, op); return;
  }
}

/// Multilevel interpolation (SZ3): the origin first, then for strides s = 2^(L-1) .. 1, for
/// each dimension in turn, the points at odd multiples of s along it, from neighbours at +-s
/// (and +-3s for cubic) already known. Coarse levels (s >= 4) hold few points but feed every
/// prediction below them, so they may get `coarse` times the bound.
template <class T, class Op>
void interpolate(T *f, const Dims3 &d, bool cubic, double eb, double coarse, Op &op) {
  const std::ptrdiff_t st[3] = {d.n[1] * d.n[2], d.n[2], 1};
  std::int64_t nmax = std::max({d.n[0], d.n[1], d.n[2]});
  int levels = 0;
  while ((std::int64_t(1) << levels) < nmax) ++levels;
  op.set_bound(levels >= 3 ? eb * coarse : eb);
  op(f, T(0));
  for (int l = levels; l >= 1; --l) {
    const std::int64_t s = std::int64_t(1) << (l - 1);
    op.set_bound(s >= 4 ? eb * coarse : eb);
    for (int dim = 0; dim < 3; ++dim) {
      if (d.n[dim] <= s) continue;
      std::int64_t start[3], step[3];
      for (int e = 0; e < 3; ++e) {
        start[e] = 0;
        step[e] = e < dim ? s : 2 * s;
      }
      start[dim] = s;
      const std::ptrdiff_t off = s * st[dim];
      const std::int64_t n = d.n[dim];
      const std::int64_t n2 = d.n[2];
      for (std::int64_t i0 = start[0]; i0 < d.n[0]; i0 += step[0]) {
        for (std::int64_t i1 = start[1]; i1 < d.n[1]; i1 += step[1]) {
          T *row = f + i0 * st[0] + i1 * st[1];
          if (dim != 2) {
            // Same case for the whole row: it depends on the coordinate along `dim` only.
            const std::int64_t c = dim == 0 ? i0 : i1;
            run_case(classify(c, s, n, cubic), row, step[2], (n2 + step[2] - 1) / step[2], off, op);
            continue;
          }
          // Along the row the points are c_k = s + 2sk, k < count: the few near the ends one by
          // one, the interior k in [kb, ke) in one branch-free run (interior: c >= 3s and
          // c + 3s < n for cubic, c + s < n for linear).
          const std::int64_t count = (n + s - 1) / (2 * s);
          const std::int64_t rlim = cubic ? n - 3 * s : n - s;
          const std::int64_t kb = std::min<std::int64_t>(cubic ? 1 : 0, count);
          const std::int64_t ke = std::max(kb, std::min(count, rlim > s ? (rlim + s - 1) / (2 * s) : 0));
          for (std::int64_t k = 0; k < kb; ++k)
            run_case(classify(s + 2 * s * k, s, n, cubic), row + s + 2 * s * k, 0, 1, off, op);
          run_case(cubic ? Case::Cubic : Case::Linear, row + s + 2 * s * kb, 2 * s, ke - kb, off, op);
          for (std::int64_t k = ke; k < count; ++k)
            run_case(classify(s + 2 * s * k, s, n, cubic), row + s + 2 * s * k, 0, 1, off, op);
        }
      }
    }
  }
}

template <class T, class Op>
void traverse(Predictor pred, T *f, const Dims3 &d, double eb, double coarse, Op &op) {
  switch (pred) {
    case Predictor::Lorenzo: op.set_bound(eb); lorenzo(f, d, op); return;
    case Predictor::Linear: interpolate(f, d, false, eb, coarse, op); return;
    case Predictor::Cubic: interpolate(f, d, true, eb, coarse, op); return;
  }
}

struct Choice {
  Predictor predictor;
  double coarse;
};

/// Estimated compressed bits of `choice` on sample boxes of the array.
template <class T>
double estimate_bits(const T *data, const ArrayDesc &a, const std::vector<std::array<std::int64_t, 3>> &origins,
                     const Dims3 &box, Choice choice, double eb) {
  std::vector<T> work(box.count());
  std::vector<std::uint16_t> codes(box.count());
  // Scratch kept clear between calls (only the used range is scanned and reset).
  thread_local std::vector<std::uint32_t> hist(65536, 0);
  std::uint16_t lo = 65535, hi = 0;
  std::vector<T> escapes;
  std::size_t total = 0;
  for (const auto &o : origins) {
    for (std::int64_t i0 = 0; i0 < box.n[0]; ++i0)
      for (std::int64_t i1 = 0; i1 < box.n[1]; ++i1)
        std::memcpy(&work[(i0 * box.n[1] + i1) * box.n[2]],
                    data + ((o[0] + i0) * a.dims[1] + (o[1] + i1)) * a.dims[2] + o[2],
                    sizeof(T) * box.n[2]);
    Quantize<T> q;
    q.codes = codes.data();
    q.escapes = &escapes;
    traverse(choice.predictor, work.data(), box, eb, choice.coarse, q);
    for (std::size_t i = 0; i < box.count(); ++i) {
      ++hist[codes[i]];
      lo = std::min(lo, codes[i]);
      hi = std::max(hi, codes[i]);
    }
    total += box.count();
  }
  double bits = 0;
  for (std::size_t c = lo; c <= hi; ++c) {
    if (hist[c]) bits -= double(hist[c]) * std::log2(double(hist[c]) / double(total));
    hist[c] = 0;  // leave the scratch table clear for the next call
  }
  return bits + double(escapes.size()) * 8.0 * sizeof(T);
}

template <class T>
Choice choose(const T *data, const ArrayDesc &a, double eb) {
  // A bound factor of 0.5 on coarse levels (SZ3 does so) gained under 1% on wavefields here, so
  // it is not worth sampling; the format keeps the factor for later predictors.
  static const Choice candidates[] = {{Predictor::Cubic, 1.0}, {Predictor::Linear, 1.0}, {Predictor::Lorenzo, 1.0}};
  const std::size_t n = a.count();
  if (n < 64) return {Predictor::Lorenzo, 1.0};
  // Boxes of 4096 (1D, 2D) or 32768 (3D) points, about 1/64 of the array in all (at least one).
  // 3D boxes are 32 wide because interpolation on smaller ones is dominated by their edges and
  // loses to Lorenzo in the sample while it wins by far on the whole array.
  const int real = a.ndim;
  const std::int64_t side = real == 1 ? 4096 : real == 2 ? 64 : 32;
  Dims3 box{{1, 1, 1}};
  for (int dim = 3 - real; dim < 3; ++dim) box.n[dim] = std::min(side, a.dims[dim]);
  std::size_t boxes = std::clamp<std::size_t>(n / 64 / box.count(), 1, 16);
  std::vector<std::array<std::int64_t, 3>> origins;
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;  // fixed seed: the choice is deterministic
  for (std::size_t b = 0; b < boxes; ++b) {
    std::array<std::int64_t, 3> o{0, 0, 0};
    for (int dim = 0; dim < 3; ++dim) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      std::int64_t span = a.dims[dim] - box.n[dim] + 1;
      o[dim] = static_cast<std::int64_t>((state >> 33) % std::uint64_t(span));
    }
    origins.push_back(o);
  }
  // Small boxes favour Lorenzo (interpolation's coarse levels and edges weigh more in them than
  // in a whole slab), so Lorenzo must beat interpolation clearly to be chosen; it is also the
  // slower predictor here.
  Choice best = candidates[0];
  double best_bits = std::numeric_limits<double>::infinity();
  for (const Choice &c : candidates) {
    double bits = estimate_bits(data, a, origins, box, c, eb);
    if (c.predictor == Predictor::Lorenzo) bits *= 1.25;
    if (bits < best_bits) {
      best_bits = bits;
      best = c;
    }
  }
  return best;
}

SlabPlan sz_slabs(const ArrayDesc &a) {
  // ~256k points per slab: enough slabs for threads on a 1000^2 field, and at least 32 planes
  // thick so the interpolation has coarse levels along every axis.
  return plan_slabs(a, std::size_t(1) << 18, 32, 1);
}

Dims3 slab_dims(const ArrayDesc &a, const SlabPlan &plan, const Slab &s) {
  Dims3 d{{a.dims[0], a.dims[1], a.dims[2]}};
  d.n[plan.axis] = s.end - s.begin;
  return d;
}

template <class T>
void encode_typed(const EncodeArgs &a, std::vector<std::uint8_t> &out) {
  const T *data = static_cast<const T *>(a.data);
  const double eb = std::min(a.abs_bound, std::numeric_limits<double>::max());
  const Choice choice = choose(data, a.array, eb);
  SlabPlan plan = sz_slabs(a.array);
  std::vector<std::vector<std::uint8_t>> parts(plan.slabs.size());
  parallel_for(plan.slabs.size(), a.threads, [&](std::size_t i) {
    Dims3 d = slab_dims(a.array, plan, plan.slabs[i]);
    const T *src = data + plan.slabs[i].begin * plan.plane;
    // Per-thread scratch, kept between calls: fresh multi-megabyte vectors each call cost
    // about a tenth of the compression time in page faults. At most one slab (<= ~2M
    // points) per thread.
    thread_local std::vector<T> work;
    thread_local std::vector<std::uint16_t> codes;
    work.assign(src, src + d.count());
    codes.resize(d.count());
    std::vector<T> escapes;
    Quantize<T> q;
    q.codes = codes.data();
    q.escapes = &escapes;
    traverse(choice.predictor, work.data(), d, eb, choice.coarse, q);
    TENET_INTERNAL_CHECK(q.codes == codes.data() + codes.size(), "sz traversal missed points");
    std::vector<std::uint8_t> blob;
    blob.reserve(d.count() / 4 + 1024);
    huffman_encode(codes.data(), codes.size(), blob);
    ByteWriter w(blob);
    w.put<std::uint64_t>(escapes.size());
    w.put_bytes(escapes.data(), escapes.size() * sizeof(T));
    parts[i] = zstd_compress(blob.data(), blob.size(), kZstdLevel);
  });
  ByteWriter w(out);
  w.put<std::uint8_t>(static_cast<std::uint8_t>(choice.predictor));
  w.put<double>(eb);
  w.put<double>(choice.coarse);
  w.put<std::uint64_t>(parts.size());
  for (auto &p : parts) w.put<std::uint64_t>(p.size());
  for (auto &p : parts) w.put_bytes(p.data(), p.size());
}

template <class T>
void decode_typed(const DecodeArgs &a) {
  SlabPlan plan = sz_slabs(a.array);
  ByteReader r(a.payload, a.payload_bytes, "sz payload");
  std::uint8_t pred = r.get<std::uint8_t>();
  TENET_USER_CHECK(pred <= 2, "corrupt compressed data: sz predictor ", int(pred));
  const Predictor predictor = static_cast<Predictor>(pred);
  const double eb = r.get<double>();
  const double coarse = r.get<double>();
  TENET_USER_CHECK(std::isfinite(eb) && eb >= 0 && coarse > 0 && coarse <= 1,
                   "corrupt compressed data: sz bound parameters");
  TENET_USER_CHECK(r.get<std::uint64_t>() == plan.slabs.size(), "corrupt compressed data: sz slab count");
  std::vector<std::size_t> len(plan.slabs.size());
  std::vector<const std::uint8_t *> src(plan.slabs.size());
  for (auto &l : len) l = r.get<std::uint64_t>();
  for (std::size_t i = 0; i < len.size(); ++i) src[i] = r.take(len[i]);
  TENET_USER_CHECK(r.remaining() == 0, "corrupt compressed data: trailing bytes in sz payload");
  T *out = static_cast<T *>(a.out);
  parallel_for(plan.slabs.size(), a.threads, [&](std::size_t i) {
    Dims3 d = slab_dims(a.array, plan, plan.slabs[i]);
    const std::size_t count = d.count();
    // Largest honest blob: table (<= 65536 * 4 + 4), stream (<= 24 bits a code), escapes.
    const std::size_t max_blob = 4 + 65536 * 4 + 8 + count * 3 + 8 + count * sizeof(T) + 64;
    std::vector<std::uint8_t> blob = zstd_decompress(src[i], len[i], max_blob, 16, "sz slab");
    const std::size_t blob_size = blob.size() - 16;
    thread_local std::vector<std::uint16_t> codes;  // per-thread scratch, as in encode
    codes.resize(count);
    std::size_t used = huffman_decode(blob.data(), blob_size, codes.data(), count);
    ByteReader br(blob.data() + used, blob_size - used, "sz escapes");
    std::uint64_t n_esc = br.get<std::uint64_t>();
    TENET_USER_CHECK(n_esc <= count && n_esc * sizeof(T) == br.remaining(),
                     "corrupt compressed data: sz escape count");
    std::vector<T> escapes(n_esc);
    std::memcpy(escapes.data(), br.take(n_esc * sizeof(T)), n_esc * sizeof(T));
    Dequantize<T> q;
    q.codes = codes.data();
    q.escapes = escapes.data();
    q.n_escapes = n_esc;
    traverse(predictor, out + plan.slabs[i].begin * plan.plane, d, eb, coarse, q);
    TENET_USER_CHECK(!q.bad && q.used == n_esc, "corrupt compressed data: sz escapes do not match codes");
  });
}

}  // namespace

void sz_encode(const EncodeArgs &a, std::vector<std::uint8_t> &out) {
  if (a.array.dtype == DType::Float32)
    encode_typed<float>(a, out);
  else
    encode_typed<double>(a, out);
}

void sz_decode(const DecodeArgs &a) {
  if (a.array.dtype == DType::Float32)
    decode_typed<float>(a);
  else
    decode_typed<double>(a);
}

}  // namespace tenet::internal
