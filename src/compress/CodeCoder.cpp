#include "compress/CodeCoder.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "support/Error.h"

namespace tenet::internal {

namespace {

// ---- Binary range coder (the LZMA construction: 32-bit range, carries through a cached byte).

constexpr int kProbBits = 16;  // 16-bit probabilities: the cheapest bit costs 0.0007 bits, so
                               // nearly constant fields still compress by thousands
constexpr std::uint32_t kProbOne = 1u << kProbBits;
constexpr int kAdaptShift = 5;  // adaptation rate 1/32 (1/16 and 1/32 measured alike)
constexpr std::uint32_t kTop = 1u << 24;

/// An adaptive probability that the next bit is 0, out of 2^16. The update keeps it within
/// [31, 65505], so neither side of a split is ever empty.
struct Bit {
  std::uint16_t p = kProbOne / 2;
};

/// Where the encoder's bytes leave: kept apart from the coder's state so that state never has
/// its address taken and stays in registers through the hot loop (with it in memory, every
/// bit waited on a store and a reload of the range).
class ByteSink {
 public:
  explicit ByteSink(std::vector<std::uint8_t> &out) : out_(out) {}

  // Bytes leave through `cache_` and a count of pending 0xFF bytes, so a carry out of `low`
  // can still reach them. Returns the new low.
  [[gnu::noinline]] std::uint64_t shift_low(std::uint64_t low) {
    if (static_cast<std::uint32_t>(low) < 0xFF000000u || (low >> 32) != 0) {
      const auto carry = static_cast<std::uint8_t>(low >> 32);
      std::uint8_t b = cache_;
      do {
        out_.push_back(static_cast<std::uint8_t>(b + carry));
        b = 0xFF;
      } while (--pending_ != 0);
      cache_ = static_cast<std::uint8_t>(low >> 24);
    }
    ++pending_;
    return (low & 0x00FFFFFFu) << 8;
  }

 private:
  std::vector<std::uint8_t> &out_;
  std::uint8_t cache_ = 0;
  std::uint64_t pending_ = 1;
};

class Encoder {
 public:
  explicit Encoder(ByteSink &sink) : sink_(&sink) {}

  // Branch-free except for the rare renormalisation: the bits of a busy field are close to
  // random, and a mispredicted branch per bit would cost more than the coding.
  [[gnu::always_inline]] inline void bit(Bit &b, unsigned v) {
    const std::uint32_t bound = (range_ >> kProbBits) * b.p;
    const unsigned p = b.p;
    low_ += bound & (0u - v);
    range_ = v ? range_ - bound : bound;
    b.p = static_cast<std::uint16_t>(v ? p - (p >> kAdaptShift) : p + ((kProbOne - p) >> kAdaptShift));
    if (range_ < kTop) [[unlikely]]
      normalize();
  }
  /// The low `n` bits of `v`, most significant first, each with probability 1/2.
  void raw(std::uint32_t v, int n) {
    for (int i = n - 1; i >= 0; --i) {
      range_ >>= 1;
      low_ += range_ & (0u - ((v >> i) & 1u));
      if (range_ < kTop) normalize();
    }
  }
  void finish() {
    for (int i = 0; i < 5; ++i) low_ = sink_->shift_low(low_);
  }

 private:
  [[gnu::always_inline]] inline void normalize() {
    do {
      range_ <<= 8;
      low_ = sink_->shift_low(low_);
    } while (range_ < kTop);
  }

  ByteSink *sink_;
  std::uint64_t low_ = 0;
  std::uint32_t range_ = 0xFFFFFFFFu;
};

class Decoder {
 public:
  Decoder(const std::uint8_t *p, std::size_t n) : p_(p), end_(p + n) {
    for (int i = 0; i < 5; ++i) code_ = (code_ << 8) | next();
  }

  [[gnu::always_inline]] inline unsigned bit(Bit &b) {
    const std::uint32_t bound = (range_ >> kProbBits) * b.p;
    const unsigned p = b.p;
    const unsigned v = code_ >= bound;
    code_ -= bound & (0u - v);
    range_ = v ? range_ - bound : bound;
    b.p = static_cast<std::uint16_t>(v ? p - (p >> kAdaptShift) : p + ((kProbOne - p) >> kAdaptShift));
    if (range_ < kTop) [[unlikely]]
      normalize();
    return v;
  }
  std::uint32_t raw(int n) {
    std::uint32_t v = 0;
    for (int i = 0; i < n; ++i) {
      range_ >>= 1;
      const unsigned b = code_ >= range_;
      if (b) code_ -= range_;
      v = (v << 1) | b;
      while (range_ < kTop) {
        range_ <<= 8;
        code_ = (code_ << 8) | next();
      }
    }
    return v;
  }
  [[gnu::noinline]] void normalize() {
    while (range_ < kTop) {
      range_ <<= 8;
      code_ = (code_ << 8) | next();
    }
  }
  /// A well-formed stream is read to its last byte and no further.
  bool consumed_exactly() const { return overrun_ == 0 && p_ == end_; }

 private:
  // Past the end the decoder reads zeros (and remembers it), so corrupt input costs no check
  // in the caller's loop and no read outside the buffer.
  std::uint32_t next() {
    if (p_ < end_) return *p_++;
    ++overrun_;
    return 0;
  }

  const std::uint8_t *p_;
  const std::uint8_t *end_;
  std::uint32_t code_ = 0;
  std::uint32_t range_ = 0xFFFFFFFFu;
  std::size_t overrun_ = 0;
};

// ---- The model of a quantisation code q given its neighbours' codes.
//
// Binarisation: "q != 0" (context: neighbour activity and level group); the sign (context:
// the sign of the neighbours' sum, which follows the local bias of the interpolation error);
// then a = |q| - 1 as "a >= 1", "a >= 2", and beyond that the exponent of a - 1 in unary with
// its first mantissa bit adaptive and the rest raw. Measured on the benchmark wavefields, a
// longer unary part gains nothing and costs time at tight bounds.

constexpr int kGroups = 3;
constexpr int kActivity = 21;
constexpr int kMaxExponent = 15;
constexpr int kMagBits = 2 + kMaxExponent + 1;

struct Model {
  Bit zero[2][kActivity * kGroups];  ///< [1]: inside a quiet block known not to be all 0
  Bit sign[5 * kGroups * 2];
  Bit mag[kActivity * kGroups][kMagBits];
  Bit mantissa[kActivity * kGroups][kMaxExponent + 1];
  Bit block[kGroups * 2];  ///< "a quiet block is all 0", by group and the previous quiet block
};

/// Activity class of a weighted sum of neighbour magnitudes: exact up to 5, then two classes
/// per octave, at most kActivity - 1.
constexpr int activity_class_slow(unsigned m) {
  if (m < 6) return static_cast<int>(m);
  const int b = std::bit_width(m) - 1;  // m in [2^b, 2^(b+1)), b >= 2
  return std::min(kActivity - 1, 6 + 2 * (b - 2) + static_cast<int>((m >> (b - 1)) & 1u) - 1);
}

struct ActivityTable {
  std::uint8_t c[64];
  constexpr ActivityTable() : c{} {
    for (unsigned m = 0; m < 64; ++m) c[m] = static_cast<std::uint8_t>(activity_class_slow(m));
  }
};
constexpr ActivityTable kActivityTable;

inline int activity_class(unsigned m) { return m < 64 ? kActivityTable.c[m] : activity_class_slow(m); }

struct Context {
  int zero, sign, mag;
};

/// The context of a code from its left neighbour `l` and the part of the context that comes from
/// the rows above and behind: `above` = 2 (|u| + |b|) + |ul| + |ur| and `lean` = u + b.
[[gnu::always_inline]] inline Context context_of(int l, unsigned above, int lean, int group) {
  const unsigned m = 2u * std::abs(l) + above;
  const int a = activity_class(m);
  const int s = std::clamp(l + lean, -2, 2) + 2;
  return {a * kGroups + group, (s * kGroups + group) * 2 + (a > 3), a * kGroups + group};
}

[[gnu::always_inline]] inline void encode_one(Encoder &rc, Model &mo, const Context &c, int busy, int q) {
  rc.bit(mo.zero[busy][c.zero], q != 0);
  if (q == 0) return;
  rc.bit(mo.sign[c.sign], q < 0);
  const unsigned a = static_cast<unsigned>(std::abs(q)) - 1;
  Bit *mag = mo.mag[c.mag];
  rc.bit(mag[0], a >= 1);
  if (a == 0) return;
  rc.bit(mag[1], a >= 2);
  if (a == 1) return;
  const unsigned rest = a - 1;  // >= 1, < 2^15
  const int e = 31 - __builtin_clz(rest);
  for (int j = 0; j < e; ++j) rc.bit(mag[2 + j], 1);
  rc.bit(mag[2 + e], 0);
  if (e >= 1) {
    rc.bit(mo.mantissa[c.mag][e], (rest >> (e - 1)) & 1u);
    rc.raw(rest, e - 1);
  }
}

/// Returns the decoded code; a value no encoder writes marks the stream corrupt (`bad`).
[[gnu::always_inline]] inline int decode_one(Decoder &rc, Model &mo, const Context &c, int busy, bool &bad) {
  if (!rc.bit(mo.zero[busy][c.zero])) return 0;
  const bool negative = rc.bit(mo.sign[c.sign]);
  Bit *mag = mo.mag[c.mag];
  unsigned a;
  if (!rc.bit(mag[0])) {
    a = 0;
  } else if (!rc.bit(mag[1])) {
    a = 1;
  } else {
    int e = 0;
    while (e < kMaxExponent && rc.bit(mag[2 + e])) ++e;
    unsigned rest = 1u << e;
    if (e >= 1) {
      rest |= rc.bit(mo.mantissa[c.mag][e]) << (e - 1);
      rest |= rc.raw(e - 1);
    }
    a = rest + 1;
  }
  const int q = static_cast<int>(a) + 1;
  if (q > kMaxBin + 1 || (q == kMaxBin + 1 && negative)) {
    bad = true;
    return 0;
  }
  return negative ? -q : q;
}

constexpr int kBlock = 16;  ///< codes per "all zero" decision in quiet parts of a row
static_assert(kBlock % 4 == 0, "quiet blocks are tested 4 codes (8 bytes) at a time");

/// True when the neighbours of the block cur[k0 .. k0 + kBlock) are all 0: left, and in the
/// rows above and behind from k0 - 1 to k0 + kBlock (the up-left and up-right of its ends,
/// the latter only inside the row).
/// Only codes already coded are read, so encoder and decoder agree.
[[gnu::always_inline]] inline bool quiet_block(const std::int16_t *cur, const std::int16_t *up,
                                               const std::int16_t *back, std::int64_t k0, std::int64_t count) {
  std::uint64_t any = 0;
  for (int j = 0; j < kBlock; j += 4) {
    std::uint64_t u, b;
    std::memcpy(&u, up + k0 + j, 8);
    std::memcpy(&b, back + k0 + j, 8);
    any |= u | b;
  }
  // up[count] would be this row's first code, not yet decoded when k0 is 0.
  unsigned edge = k0 + kBlock < count ? static_cast<std::uint16_t>(up[k0 + kBlock]) : 0u;
  if (k0 > 0) edge |= static_cast<std::uint16_t>(cur[k0 - 1]) | static_cast<std::uint16_t>(up[k0 - 1]);
  return (any | edge) == 0;
}

/// The parts of the contexts of the block cur[k0 .. k0 + kBlock) that come from the rows above
/// and behind (see context_of), computed for the whole block at once (the compiler vectorises
/// it) so the serial loop of the coder only adds the left neighbour. The up-right neighbour of
/// the last code of a row is this row's first code; it is left out here (it may not be decoded
/// yet) and added by the caller.
struct BlockAbove {
  std::uint32_t above[kBlock];
  std::int32_t lean[kBlock];
};

[[gnu::always_inline]] inline void block_above(const std::int16_t *up, const std::int16_t *back, std::int64_t k0,
                                               std::int64_t count, BlockAbove &c) {
  std::int32_t u[kBlock + 2];
  u[0] = k0 > 0 ? up[k0 - 1] : 0;
  for (int j = 0; j < kBlock; ++j) u[j + 1] = up[k0 + j];
  u[kBlock + 1] = k0 + kBlock < count ? up[k0 + kBlock] : 0;
  for (int j = 0; j < kBlock; ++j) {
    const std::int32_t b = back[k0 + j];
    c.above[j] = 2u * static_cast<std::uint32_t>(std::abs(u[j + 1]) + std::abs(b)) +
                 static_cast<std::uint32_t>(std::abs(u[j]) + std::abs(u[j + 2]));
    c.lean[j] = u[j + 1] + b;
  }
}

/// Runs `fn(codes + i, left, above, lean, group, busy)` over every code in pass
/// order; neighbours outside their pass grid read as 0 (from `zeros`, which must hold at least
/// count + 2 zeros for every pass). A block of kBlock codes at k0 (a multiple of kBlock) whose
/// neighbours are all 0 first goes to `zero_block(cur + k0, context)`, which returns whether
/// the block is all 0 and so needs no code of its own: on a quiet field most codes are such
/// zeros, and one decision for sixteen of them is most of the coder's speed there. The codes of
/// a quiet block that is not all 0 are coded one by one with `busy` 1 (their own "q != 0"
/// contexts: they are far more often nonzero than other codes with quiet neighbours).
template <class Fn, class ZeroBlock>
void for_each_code(std::int16_t *codes, const std::vector<CodePass> &passes, const std::int16_t *zeros, Fn &&fn,
                   ZeroBlock &&zero_block) {
  for (const CodePass &p : passes) {
    const std::int64_t count = p.count;
    const int group = p.group;
    for (std::int64_t plane = 0; plane < p.planes; ++plane) {
      for (std::int64_t row = 0; row < p.rows; ++row) {
        std::int16_t *cur = codes + p.start + std::size_t((plane * p.rows + row) * count);
        const std::int16_t *up = row > 0 ? cur - count : zeros + 1;
        const std::int16_t *back = plane > 0 ? cur - count * p.rows : zeros + 1;
        int prev_zero = 1;  // was the last quiet block all 0
        std::int64_t k0 = 0;
        // up[k + 1] at the last k reads the first code of this row (or a zero): in bounds, and
        // both sides read the same.
        for (; k0 + kBlock <= count; k0 += kBlock) {
          int busy = 0;
          if (quiet_block(cur, up, back, k0, count)) {
            const bool z = zero_block(cur + k0, group * 2 + prev_zero);
            prev_zero = z;
            if (z) continue;
            busy = 1;
          }
          BlockAbove c;
          block_above(up, back, k0, count, c);
          int l = k0 > 0 ? cur[k0 - 1] : 0;
          for (int j = 0; j < kBlock - 1; ++j) {
            fn(cur + k0 + j, l, c.above[j], c.lean[j], group, busy);
            l = cur[k0 + j];
          }
          // The up-right of the row's last code is this row's first code, known only now.
          const unsigned last_ur = k0 + kBlock == count ? static_cast<unsigned>(std::abs(up[count])) : 0u;
          fn(cur + k0 + kBlock - 1, l, c.above[kBlock - 1] + last_ur, c.lean[kBlock - 1], group, busy);
        }
        auto above = [&](std::int64_t k) {
          const int ul = k > 0 ? up[k - 1] : 0;
          const int ur = k + 1 < count ? up[k + 1] : k > 0 ? up[k + 1] : 0;
          return 2u * static_cast<unsigned>(std::abs(up[k]) + std::abs(back[k])) +
                 static_cast<unsigned>(std::abs(ul) + std::abs(ur));
        };
        for (std::int64_t k = k0; k < count; ++k)
          fn(cur + k, k > 0 ? cur[k - 1] : 0, above(k), up[k] + back[k], group, 0);
      }
    }
  }
}

void check_passes(const std::vector<CodePass> &passes, std::size_t n, std::int64_t *max_count) {
  std::size_t at = 0;
  *max_count = 0;
  for (const CodePass &p : passes) {
    TENET_INTERNAL_CHECK(p.start == at && p.count >= 1 && p.rows >= 1 && p.planes >= 1 && p.group >= 0 &&
                             p.group < kGroups,
                         "code passes do not tile the codes");
    at += p.size();
    *max_count = std::max(*max_count, p.count);
  }
  TENET_INTERNAL_CHECK(at == n, "code passes cover ", at, " codes, not ", n);
}

}  // namespace

void encode_codes(const std::int16_t *codes, std::size_t n, const std::vector<CodePass> &passes,
                  std::vector<std::uint8_t> &out) {
  std::int64_t max_count = 0;
  check_passes(passes, n, &max_count);
  std::vector<std::int16_t> zeros(std::size_t(max_count) + 2, 0);
  auto model = std::make_unique<Model>();
  ByteSink sink(out);
  Encoder rc(sink);
  // for_each_code hands out mutable pointers; the encoder only reads through them.
  for_each_code(const_cast<std::int16_t *>(codes), passes, zeros.data(),
                [&](std::int16_t *q, int l, unsigned above, int lean, int group,
                    int busy) __attribute__((always_inline)) {
                  encode_one(rc, *model, context_of(l, above, lean, group), busy, *q);
                },
                [&](std::int16_t *q, int ctx) {
                  std::uint64_t any = 0;
                  for (int j = 0; j < kBlock; j += 4) {
                    std::uint64_t w;
                    std::memcpy(&w, q + j, 8);
                    any |= w;
                  }
                  const bool z = any == 0;
                  rc.bit(model->block[ctx], !z);
                  return z;
                });
  rc.finish();
}

void decode_codes(const std::uint8_t *in, std::size_t size, const std::vector<CodePass> &passes,
                  std::int16_t *codes, std::size_t n) {
  std::int64_t max_count = 0;
  check_passes(passes, n, &max_count);
  std::vector<std::int16_t> zeros(std::size_t(max_count) + 2, 0);
  auto model = std::make_unique<Model>();
  Decoder rc(in, size);
  bool bad = false;
  for_each_code(
      codes, passes, zeros.data(),
      [&](std::int16_t *q, int l, unsigned above, int lean, int group, int busy) __attribute__((always_inline)) {
        *q = static_cast<std::int16_t>(decode_one(rc, *model, context_of(l, above, lean, group), busy, bad));
      },
      [&](std::int16_t *q, int ctx) {
        const bool z = !rc.bit(model->block[ctx]);
        if (z) std::memset(q, 0, kBlock * sizeof(std::int16_t));
        return z;
      });
  TENET_USER_CHECK(!bad, "corrupt compressed data: sz code out of range");
  TENET_USER_CHECK(rc.consumed_exactly(), "corrupt compressed data: sz code stream has the wrong length");
}

}  // namespace tenet::internal
