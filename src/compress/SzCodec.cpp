// sz: our own SZ-style error-bounded compressor.
//
// Why our own: Debian has no package of SZ3 (or SZ2), and nothing outside Debian may be
// installed, so the algorithm (published by Di, Tao, Liang, Zhao et al.; the level-dependent
// bounds from QoZ, Liu et al. 2022) is reimplemented here from its description, shaped for
// checkpoints: float32/float64, 1-3D, slabs on threads.
//
// Pipeline, per slab of the array (slabs along the slowest dimension, independent, one thread
// each; their layout depends only on the shape, so the bytes never depend on the thread count):
//   1. prediction from already reconstructed values: Lorenzo (1D/2D/3D), or multilevel
//      interpolation as in SZ3 (from a coarse grid to the full one, halving the stride each
//      level, one dimension at a time in a chosen order, with linear or cubic splines). Coarse
//      levels feed every prediction below them, so level l (1 the finest) gets the bound
//      eb / min(alpha^(l-1), beta). Predictor, dimension order, alpha and beta are chosen once
//      per array by compressing a sample of it with candidates and keeping the smallest.
//   2. linear quantisation of the prediction error with bins of width 2*bound; a value whose
//      bin is out of range, or whose reconstruction misses the bound, is an escape stored
//      exactly (NaN and Inf always are).
//   3. context-adaptive binary range coding of the bin codes (CodeCoder.h: each code is
//      modelled from its already coded neighbours), the escapes stored raw after them.
//
// The bound is checked on every element against the value the decompressor will produce: both
// sides run the same templates (same traversal, same predictor arithmetic in T, same
// reconstruct()), this file is compiled with -ffp-contract=off so no FMA changes a rounding, and
// the check compares in double. Prediction reads reconstructed values in place: the compressor
// works on a copy of the slab and overwrites each value with its reconstruction once coded, the
// decompressor writes straight into the output.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>

#include "compress/CodeCoder.h"
#include "compress/Format.h"

namespace tenet::internal {

namespace {

enum class Predictor : std::uint8_t { Lorenzo = 0, Linear = 1, Cubic = 2 };

/// Everything the decoder must know to retrace the compressor's traversal.
struct Params {
  Predictor predictor = Predictor::Cubic;
  std::array<std::uint8_t, 3> order{2, 1, 0};  ///< dimensions in the order each level visits them
  double alpha = 1, beta = 1;                   ///< level bounds: eb / min(alpha^(l-1), beta)
};

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
  double cap = double(std::numeric_limits<T>::max()) / (4.0 * kMaxBin);
  return static_cast<T>(std::min(w, cap));
}

/// Compressor side: codes one value given its prediction, replacing it by its reconstruction.
template <class T>
struct Quantize {
  double eb = 0;
  T ebx2 = 0, inv = 0;
  std::int16_t *codes = nullptr;
  std::vector<T> *escapes = nullptr;

  void set_bound(double bound) {
    eb = bound;
    ebx2 = bin_width<T>(bound);
    inv = ebx2 > 0 ? static_cast<T>(1.0 / double(ebx2)) : T(0);
  }
  // The bin is found in T (the rounding of an approximate bin only risks an escape, never the
  // bound, which is checked in double on the reconstruction).
  [[gnu::always_inline]] inline void operator()(T *p, T pred) {
    const T x = *p;
    const T d = (x - pred) * inv;
    if (std::fabs(d) < T(kMaxBin)) {  // false for NaN and Inf
      const int q = static_cast<int>(d + std::copysign(T(0.5), d));
      const T r = reconstruct(pred, q, ebx2);
      if (std::fabs(double(r) - double(x)) <= eb) {
        *p = r;
        *codes++ = static_cast<std::int16_t>(q);
        return;
      }
    }
    *codes++ = kEscapeCode;
    escapes->push_back(x);  // *p keeps x: stored exactly
  }
  /// Codes the `m` (at most kChunk) values xs[0..m) given their predictions pr[0..m), exactly as
  /// operator() would one by one, writing the values to store back in rs[0..m): branch-free so
  /// the compiler vectorises it (which it does only with -fno-trapping-math, see
  /// CMakeLists.txt), the rare escapes collected afterwards.
  static constexpr int kChunk = 64;
  void batch(const T *xs, const T *pr, T *rs, int m) {
    std::int32_t qs[kChunk];
    for (int j = 0; j < m; ++j) {
      const T x = xs[j], pred = pr[j];
      const T d = (x - pred) * inv;
      const bool in = std::fabs(d) < T(kMaxBin);  // false for NaN and Inf
      const T dc = in ? d : T(0);
      const int q = static_cast<int>(dc + std::copysign(T(0.5), dc));
      qs[j] = in ? q : kEscapeCode;
      rs[j] = reconstruct(pred, q, ebx2);
    }
    std::int16_t *c = codes;
    int bad = 0;
    for (int j = 0; j < m; ++j) {
      const T x = xs[j], r = rs[j];
      const bool ok = (qs[j] != kEscapeCode) & (std::fabs(double(r) - double(x)) <= eb);
      c[j] = ok ? static_cast<std::int16_t>(qs[j]) : kEscapeCode;
      rs[j] = ok ? r : x;
      bad |= !ok;
    }
    if (bad) [[unlikely]]
      for (int j = 0; j < m; ++j)
        if (c[j] == kEscapeCode) escapes->push_back(xs[j]);
    codes = c + m;
  }
};

/// Decompressor side: the mirror of Quantize. Running out of escapes marks the data corrupt
/// (checked after the traversal, so the hot loop has no exceptions).
template <class T>
struct Dequantize {
  T ebx2 = 0;
  const std::int16_t *codes = nullptr;
  const T *escapes = nullptr;
  std::size_t n_escapes = 0, used = 0;
  bool bad = false;

  void set_bound(double bound) { ebx2 = bin_width<T>(bound); }
  [[gnu::always_inline]] inline void operator()(T *p, T pred) {
    const std::int16_t c = *codes++;
    if (c != kEscapeCode) {
      *p = reconstruct(pred, int(c), ebx2);
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
  if constexpr (requires { &Op::batch; }) {
    // Compressor: the points of a run are never each other's neighbours (odd multiples of s
    // along the pass's dimension, predicted from even ones), so all predictions can be made
    // before any value is replaced, and the quantisation done on chunks at once.
    constexpr int kChunk = Op::kChunk;
    // Not zeroed: batch() reads only the first m entries, written just before (GCC cannot see
    // that through the call and would warn "may be used uninitialized").
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
    alignas(64) T xs[kChunk], pr[kChunk], rs[kChunk];
    for (std::int64_t k0 = 0; k0 < count; k0 += kChunk) {
      const int m = static_cast<int>(std::min<std::int64_t>(kChunk, count - k0));
      T *q = p + k0 * step;
      for (int j = 0; j < m; ++j) {
        xs[j] = q[j * step];
        pr[j] = predict<K>(q + j * step, off);
      }
      op.batch(xs, pr, rs, m);
      for (int j = 0; j < m; ++j) q[j * step] = rs[j];
    }
#pragma GCC diagnostic pop
    return;
  }
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

/// One pass of the multilevel interpolation: the points at odd multiples of `s` along `dim`,
/// on the grid that `start` and `step` describe along all three dimensions.
struct InterpPass {
  int level;  // 1 is the finest (stride 1)
  std::int64_t s;
  int dim;
  std::int64_t start[3], step[3];
};

/// Levels of the interpolation: strides 2^(levels-1) .. 1 cover the longest dimension.
inline int interp_levels(const Dims3 &d) {
  const std::int64_t nmax = std::max({d.n[0], d.n[1], d.n[2]});
  int levels = 0;
  while ((std::int64_t(1) << levels) < nmax) ++levels;
  return levels;
}

/// Calls fn(pass) for every pass in coding order: for strides s = 2^(L-1) .. 1, for each
/// dimension in `order` in turn, the points at odd multiples of s along it, from neighbours at
/// +-s (and +-3s for cubic) already known. The origin comes before all of them.
template <class Fn>
void for_each_interp_pass(const Dims3 &d, const std::array<std::uint8_t, 3> &order, Fn &&fn) {
  for (int l = interp_levels(d); l >= 1; --l) {
    const std::int64_t s = std::int64_t(1) << (l - 1);
    for (int k = 0; k < 3; ++k) {
      const int dim = order[k];
      if (d.n[dim] <= s) continue;
      InterpPass p{l, s, dim, {0, 0, 0}, {2 * s, 2 * s, 2 * s}};
      for (int j = 0; j < k; ++j) p.step[order[j]] = s;  // dimensions already refined at this level
      p.start[dim] = s;
      fn(p);
    }
  }
}

/// Coarse levels feed every prediction below them, so they get a tighter bound (QoZ).
inline double level_bound(double eb, const Params &prm, int level) {
  return eb / std::min(std::pow(prm.alpha, level - 1), prm.beta);
}

inline int level_group(int level) { return level <= 1 ? 0 : level == 2 ? 1 : 2; }

/// The passes of the codes (CodeCoder.h) that `traverse` produces on `d`, in its order.
std::vector<CodePass> code_passes(const Dims3 &d, const Params &prm) {
  std::vector<CodePass> passes;
  if (prm.predictor == Predictor::Lorenzo) {
    passes.push_back({0, d.n[2], d.n[1], d.n[0], 0});
    return passes;
  }
  std::size_t at = 0;
  passes.push_back({at++, 1, 1, 1, 2});  // the origin
  for_each_interp_pass(d, prm.order, [&](const InterpPass &p) {
    auto extent = [&](int e) { return (d.n[e] - p.start[e] + p.step[e] - 1) / p.step[e]; };
    CodePass c{at, extent(2), extent(1), extent(0), level_group(p.level)};
    at += c.size();
    passes.push_back(c);
  });
  return passes;
}

/// Multilevel interpolation (SZ3) over the passes of for_each_interp_pass.
template <class T, class Op>
void interpolate(T *f, const Dims3 &d, const Params &prm, double eb, Op &op) {
  const bool cubic = prm.predictor == Predictor::Cubic;
  const std::ptrdiff_t st[3] = {d.n[1] * d.n[2], d.n[2], 1};
  op.set_bound(level_bound(eb, prm, interp_levels(d) + 1));
  op(f, T(0));
  for_each_interp_pass(d, prm.order, [&](const InterpPass &p) {
    op.set_bound(level_bound(eb, prm, p.level));
    const std::int64_t s = p.s;
    const int dim = p.dim;
    const std::ptrdiff_t off = s * st[dim];
    const std::int64_t n = d.n[dim];
    const std::int64_t n2 = d.n[2];
    for (std::int64_t i0 = p.start[0]; i0 < d.n[0]; i0 += p.step[0]) {
      for (std::int64_t i1 = p.start[1]; i1 < d.n[1]; i1 += p.step[1]) {
        T *row = f + i0 * st[0] + i1 * st[1];
        if (dim != 2) {
          // Same case for the whole row: it depends on the coordinate along `dim` only.
          const std::int64_t c = dim == 0 ? i0 : i1;
          run_case(classify(c, s, n, cubic), row, p.step[2], (n2 + p.step[2] - 1) / p.step[2], off, op);
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
  });
}

template <class T, class Op>
void traverse(const Params &prm, T *f, const Dims3 &d, double eb, Op &op) {
  switch (prm.predictor) {
    case Predictor::Lorenzo: op.set_bound(eb); lorenzo(f, d, op); return;
    case Predictor::Linear:
    case Predictor::Cubic: interpolate(f, d, prm, eb, op); return;
  }
}

/// Compresses the block `work` (overwritten by its reconstruction) and appends to `out`: the
/// escape count (u64), the escapes (raw T), the range-coded codes.
template <class T>
void encode_block(T *work, const Dims3 &d, const Params &prm, double eb, std::vector<std::uint8_t> &out) {
  // Per-thread scratch, kept between calls: fresh multi-megabyte vectors each call cost about a
  // tenth of the compression time in page faults.
  thread_local std::vector<std::int16_t> codes;
  codes.resize(d.count());
  std::vector<T> escapes;
  Quantize<T> q;
  q.codes = codes.data();
  q.escapes = &escapes;
  traverse(prm, work, d, eb, q);
  TENET_INTERNAL_CHECK(q.codes == codes.data() + codes.size(), "sz traversal missed points");
  ByteWriter w(out);
  w.put<std::uint64_t>(escapes.size());
  w.put_bytes(escapes.data(), escapes.size() * sizeof(T));
  encode_codes(codes.data(), codes.size(), code_passes(d, prm), out);
}

/// An estimate of the range-coded size of `codes` laid out by `passes`, for ranking candidates:
/// the entropy of the codes (small ones exactly, larger ones by exponent plus their lower bits
/// raw) given the level group and the magnitudes of the left and upper codes (a coarse
/// version of the coder's contexts). Running the coder itself on every candidate cost about a
/// seventh of the compression time of a busy field; the estimate is one pass with a histogram,
/// and on the benchmark wavefields it picks the same candidates.
inline std::size_t estimate_code_bytes(const std::int16_t *codes, const std::vector<CodePass> &passes) {
  // Bins: the codes -kSmall .. kSmall exactly, larger ones by sign and exponent (their lower
  // bits cost about one bit each, as in the coder), and escapes.
  constexpr int kSmall = 8;
  constexpr int kBins = 2 * kSmall + 1 + 2 * 16 + 1;
  constexpr int kCtx = 9;
  std::vector<std::uint32_t> hist(3 * kCtx * kBins, 0);
  double raw_bits = 0;
  auto mag = [](int q) { return std::min(std::abs(q), 2); };
  for (const CodePass &p : passes) {
    std::uint32_t *h = hist.data() + p.group * kCtx * kBins;
    const std::int64_t rows = p.rows * p.planes;
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::int16_t *c = codes + p.start + std::size_t(r * p.count);
      const bool has_up = r % p.rows != 0;
      int left = 0;
      for (std::int64_t i = 0; i < p.count; ++i) {
        const int q = c[i];
        const int up = has_up ? c[i - p.count] : 0;
        std::uint32_t *hc = h + (mag(left) * 3 + mag(up)) * kBins;
        if (q >= -kSmall && q <= kSmall) {
          ++hc[q + kSmall];
        } else if (q == kEscapeCode) {
          ++hc[kBins - 1];
        } else {
          const int e = std::bit_width(unsigned(std::abs(q)));  // 4 .. 15
          ++hc[2 * kSmall + 1 + 2 * e + (q < 0)];
          raw_bits += e - 1;
        }
        left = q;
      }
    }
  }
  double bits = raw_bits;
  for (std::size_t ctx = 0; ctx < hist.size(); ctx += kBins) {
    std::uint64_t total = 0;
    for (int b = 0; b < kBins; ++b) total += hist[ctx + b];
    for (int b = 0; b < kBins; ++b)
      if (hist[ctx + b]) bits -= double(hist[ctx + b]) * std::log2(double(hist[ctx + b]) / double(total));
  }
  return static_cast<std::size_t>(bits / 8);
}

/// Estimated compressed bytes of `prm` on sample boxes of the array. The codes of all boxes are
/// estimated together, as if the boxes were one slab: statistics gathered afresh in each small
/// box would blur the differences between candidates.
template <class T>
std::size_t sample_bytes(const T *data, const ArrayDesc &a, const std::vector<std::array<std::int64_t, 3>> &origins,
                         const Dims3 &box, const Params &prm, double eb) {
  std::vector<T> work(box.count());
  std::vector<std::int16_t> codes(box.count() * origins.size());
  std::vector<T> escapes;
  std::vector<CodePass> passes;
  const std::vector<CodePass> box_passes = code_passes(box, prm);
  Quantize<T> q;
  q.codes = codes.data();
  q.escapes = &escapes;
  for (const auto &o : origins) {
    for (std::int64_t i0 = 0; i0 < box.n[0]; ++i0)
      for (std::int64_t i1 = 0; i1 < box.n[1]; ++i1)
        std::memcpy(&work[(i0 * box.n[1] + i1) * box.n[2]],
                    data + ((o[0] + i0) * a.dims[1] + (o[1] + i1)) * a.dims[2] + o[2],
                    sizeof(T) * box.n[2]);
    for (CodePass p : box_passes) {
      p.start += std::size_t(q.codes - codes.data());
      passes.push_back(p);
    }
    traverse(prm, work.data(), box, eb, q);
  }
  // On a quiet sample the coder is fast (a block of zeros is one decision) and the estimate
  // misjudges what the coder's quiet blocks and contexts save (3D early at 1e-2 lost 4% of ratio
  // with it), so the coder itself decides there.
  std::size_t nonzero = 0;
  for (std::int16_t c : codes) nonzero += c != 0;
  if (nonzero * 8 < codes.size()) {
    std::vector<std::uint8_t> out;
    encode_codes(codes.data(), codes.size(), passes, out);
    return out.size() + escapes.size() * sizeof(T);
  }
  return estimate_code_bytes(codes.data(), passes) + escapes.size() * sizeof(T);
}

/// Chooses the parameters by compressing sample boxes with candidates, one choice at a time:
/// the dimension order, then the level bounds, then the predictor.
template <class T>
Params choose(const T *data, const ArrayDesc &a, double eb) {
  const std::size_t n = a.count();
  if (n < 64) return {Predictor::Lorenzo, {2, 1, 0}, 1, 1};
  // Boxes of 4096 (1D, 2D) or 32768 (3D) points, about 1/64 of the array in all (at least one):
  // each candidate costs about that fraction of the compression time.
  // 3D boxes are 32 wide because interpolation on smaller ones is dominated by their edges and
  // loses to Lorenzo in the sample while it wins by far on the whole array.
  const int real = a.ndim;
  const std::int64_t side = real == 1 ? 4096 : real == 2 ? 64 : 32;
  Dims3 box{{1, 1, 1}};
  for (int dim = 3 - real; dim < 3; ++dim) box.n[dim] = std::min(side, a.dims[dim]);
  // 3D samples are half that (1/128): on the benchmark wavefields that made compression 10-20%
  // faster for at most 1.5% of ratio; 2D ones with half the boxes chose worse (-6% at 1e-3).
  const std::size_t boxes = std::clamp<std::size_t>(n / (real == 3 ? 128 : 64) / box.count(), 1, 16);
  // Candidate boxes at random places, four for each one kept. Kept are the first ones whose
  // values span more than a few bins, then if too few, the widest of the rest: bits go where
  // the field is busy, and on a mostly quiet wavefield random boxes are all zeros where every
  // candidate costs the same. (Only the widest would not do either: they sit on the source,
  // whose round wavefronts favour another dimension order than the reflections elsewhere.)
  std::vector<std::pair<double, std::array<std::int64_t, 3>>> ranked;
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;  // fixed seed: the choice is deterministic
  const std::size_t tries = std::min<std::size_t>(4 * boxes, std::max<std::size_t>(boxes, n / box.count()));
  for (std::size_t b = 0; b < tries; ++b) {
    std::array<std::int64_t, 3> o{0, 0, 0};
    for (int dim = 0; dim < 3; ++dim) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      std::int64_t span = a.dims[dim] - box.n[dim] + 1;
      o[dim] = static_cast<std::int64_t>((state >> 33) % std::uint64_t(span));
    }
    // Range over every other row of the box: enough to rank it, half the reads. NaN and Inf
    // fail both comparisons and are ignored.
    T lo = std::numeric_limits<T>::max(), hi = std::numeric_limits<T>::lowest();
    for (std::int64_t i0 = 0; i0 < box.n[0]; ++i0)
      for (std::int64_t i1 = 0; i1 < box.n[1]; i1 += 2) {
        const T *row = data + ((o[0] + i0) * a.dims[1] + (o[1] + i1)) * a.dims[2] + o[2];
        for (std::int64_t i2 = 0; i2 < box.n[2]; ++i2) {
          lo = row[i2] < lo ? row[i2] : lo;
          hi = row[i2] > hi ? row[i2] : hi;
        }
      }
    ranked.push_back({hi >= lo ? double(hi) - double(lo) : 0.0, o});
  }
  std::vector<std::array<std::int64_t, 3>> origins;
  for (auto &r : ranked)
    if (origins.size() < boxes && r.first > 16 * eb) {
      origins.push_back(r.second);
      r.first = -1;  // taken
    }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto &x, const auto &y) { return x.first > y.first; });
  for (std::size_t b = 0; origins.size() < boxes && b < ranked.size(); ++b)
    if (ranked[b].first >= 0) origins.push_back(ranked[b].second);
  Params best{Predictor::Cubic, {2, 1, 0}, 1.25, 2};
  std::size_t best_bytes = sample_bytes(data, a, origins, box, best, eb);
  auto consider = [&](const Params &p, double penalty = 1.0) {
    const std::size_t bytes = static_cast<std::size_t>(double(sample_bytes(data, a, origins, box, p, eb)) * penalty);
    if (bytes < best_bytes) {
      best_bytes = bytes;
      best = p;
    }
  };
  // Order: which dimension each level refines first matters most (on the benchmark wavefields
  // the fastest one first halves the size of the codes), then the order of the other two.
  if (real >= 2) {
    const Params base = best;
    const std::array<std::uint8_t, 3> firsts[] = {{1, 2, 0}, {0, 2, 1}};
    for (int k = 0; k < real - 1; ++k) {
      Params p = base;
      p.order = firsts[k];
      consider(p);
    }
    if (real == 3) {
      Params p = best;
      std::swap(p.order[1], p.order[2]);
      consider(p);
    }
  }
  // Level bounds: alpha and beta as QoZ tunes them.
  {
    const Params base = best;
    const std::pair<double, double> levels[] = {{1, 1}, {1.5, 4}};
    for (auto [alpha, beta] : levels) {
      Params p = base;
      p.alpha = alpha;
      p.beta = beta;
      consider(p);
    }
  }
  // Small boxes favour Lorenzo (interpolation's coarse levels and edges weigh more in them than
  // in a whole slab), so Lorenzo must beat interpolation clearly to be chosen; it is also the
  // slower predictor here.
  {
    Params p = best;
    p.predictor = Predictor::Linear;
    consider(p);
    p.predictor = Predictor::Lorenzo;
    consider(p, 1.25);
  }
  return best;
}

SlabPlan sz_slabs(const ArrayDesc &a) {
  // ~256k points per slab: enough slabs for threads on a 1000^2 field, and at least 64 planes
  // thick so the interpolation has coarse levels along every axis (a 3D slab of 32 planes
  // compresses 10% worse than one of 64).
  return plan_slabs(a, std::size_t(1) << 18, 64, 1);
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
  const Params prm = choose(data, a.array, eb);
  SlabPlan plan = sz_slabs(a.array);
  std::vector<std::vector<std::uint8_t>> parts(plan.slabs.size());
  parallel_for(plan.slabs.size(), a.threads, [&](std::size_t i) {
    Dims3 d = slab_dims(a.array, plan, plan.slabs[i]);
    const T *src = data + plan.slabs[i].begin * plan.plane;
    thread_local std::vector<T> work;  // per-thread scratch, as in encode_block
    work.assign(src, src + d.count());
    parts[i].reserve(d.count() / 8 + 1024);
    encode_block(work.data(), d, prm, eb, parts[i]);
  });
  ByteWriter w(out);
  w.put<std::uint8_t>(static_cast<std::uint8_t>(prm.predictor));
  for (std::uint8_t dim : prm.order) w.put<std::uint8_t>(dim);
  w.put<double>(eb);
  w.put<double>(prm.alpha);
  w.put<double>(prm.beta);
  w.put<std::uint64_t>(parts.size());
  for (auto &p : parts) w.put<std::uint64_t>(p.size());
  for (auto &p : parts) w.put_bytes(p.data(), p.size());
}

template <class T>
void decode_typed(const DecodeArgs &a) {
  SlabPlan plan = sz_slabs(a.array);
  ByteReader r(a.payload, a.payload_bytes, "sz payload");
  Params prm;
  const std::uint8_t pred = r.get<std::uint8_t>();
  TENET_USER_CHECK(pred <= 2, "corrupt compressed data: sz predictor ", int(pred));
  prm.predictor = static_cast<Predictor>(pred);
  for (auto &dim : prm.order) dim = r.get<std::uint8_t>();
  TENET_USER_CHECK(prm.order[0] < 3 && prm.order[1] < 3 && prm.order[2] < 3 && prm.order[0] != prm.order[1] &&
                       prm.order[0] != prm.order[2] && prm.order[1] != prm.order[2],
                   "corrupt compressed data: sz dimension order");
  const double eb = r.get<double>();
  prm.alpha = r.get<double>();
  prm.beta = r.get<double>();
  TENET_USER_CHECK(std::isfinite(eb) && eb >= 0 && prm.alpha >= 1 && prm.alpha <= 16 && prm.beta >= 1 &&
                       prm.beta <= 1e6,
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
    ByteReader br(src[i], len[i], "sz slab");
    const std::uint64_t n_esc = br.get<std::uint64_t>();
    TENET_USER_CHECK(n_esc <= count && n_esc * sizeof(T) <= br.remaining(), "corrupt compressed data: sz escape count");
    std::vector<T> escapes(n_esc);
    if (n_esc) std::memcpy(escapes.data(), br.take(n_esc * sizeof(T)), n_esc * sizeof(T));
    thread_local std::vector<std::int16_t> codes;  // per-thread scratch, as in encode_block
    codes.resize(count);
    const std::size_t coded = br.remaining();
    decode_codes(br.take(coded), coded, code_passes(d, prm), codes.data(), count);
    Dequantize<T> q;
    q.codes = codes.data();
    q.escapes = escapes.data();
    q.n_escapes = n_esc;
    traverse(prm, out + plan.slabs[i].begin * plan.plane, d, eb, q);
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
