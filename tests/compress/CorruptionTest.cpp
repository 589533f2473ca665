// Corrupt input: truncated, bit-flipped and random buffers must give tenet::Error, never a crash,
// a hang or an out-of-bounds read. Also built into test_compress_asan (AddressSanitizer).
//
// Two layers are tested: the container (checksums catch everything), and the codec decoders
// behind it, fed corrupt payloads whose checksums were recomputed so the decoders really see
// them; those must throw or decode something, without touching memory they do not own.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "Fields.h"
#include "compress/Compressor.h"
#include "compress/Format.h"
#include "compress/Huffman.h"
#include "support/Error.h"

namespace tenet::test {
namespace {

struct Sample {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> packed;
};

std::vector<Sample> samples() {
  std::vector<Sample> out;
  std::vector<std::int64_t> s2{24, 40}, s3{9, 10, 12};
  auto f2 = make_field<float>(FieldKind::Wave, s2);
  auto d3 = make_field<double>(FieldKind::Wave, s3);
  f2[7] = std::numeric_limits<float>::quiet_NaN();  // gives sz an escape to decode
  struct Conf {
    const char *codec;
    CompressionSettings s;
  };
  for (Conf c : {Conf{"sz", {CompressionMode::Relative, 1e-3}}, Conf{"zfp", {CompressionMode::Relative, 1e-3}},
                 Conf{"zfp", {CompressionMode::Lossless, 0}}, Conf{"zfp", {CompressionMode::Rate, 8}},
                 Conf{"zstd", {CompressionMode::Lossless, 0}}, Conf{"none", {CompressionMode::Lossless, 0}}}) {
    auto comp = make_compressor(c.codec, c.s);
    std::string name = std::string(c.codec) + "/" + mode_name(c.s.mode);
    if (std::string(c.codec) != "zfp")
      out.push_back({name + "/f32", DType::Float32, s2, comp->compress(f2.data(), DType::Float32, s2)});
    out.push_back({name + "/f64", DType::Float64, s3, comp->compress(d3.data(), DType::Float64, s3)});
  }
  return out;
}

/// Decoding `buf` must either succeed or throw tenet::Error (nothing else, no crash).
void expect_error_or_ok(const std::vector<std::uint8_t> &buf, const Sample &s, bool must_fail) {
  std::vector<std::uint8_t> out(count_of(s.shape) * dtype_size(s.dtype));
  auto c = make_compressor("none");
  bool failed = false;
  try {
    c->decompress(buf, out.data(), s.dtype, s.shape);
  } catch (const Error &) {
    failed = true;
  }
  if (must_fail) {
    EXPECT_TRUE(failed) << s.name;
  }
  failed = false;
  try {
    decompress_any(buf);
  } catch (const Error &) {
    failed = true;
  }
  if (must_fail) {
    EXPECT_TRUE(failed) << s.name;
  }
}

/// Rewrites both checksums so the codec's decoder sees the (corrupt) payload.
void reseal(std::vector<std::uint8_t> &buf) {
  if (buf.size() < internal::kHeaderBytes) return;
  std::uint64_t payload = buf.size() - internal::kHeaderBytes;
  std::memcpy(buf.data() + 52, &payload, 8);
  std::uint64_t h = internal::hash64(buf.data() + internal::kHeaderBytes, payload);
  std::memcpy(buf.data() + 60, &h, 8);
  std::uint64_t hh = internal::hash64(buf.data(), 68);
  std::memcpy(buf.data() + 68, &hh, 8);
}

TEST(compress_corruption, EveryTruncationIsAnError) {
  for (const Sample &s : samples()) {
    for (std::size_t len = 0; len < s.packed.size(); len += (len < 200 ? 1 : 7)) {
      std::vector<std::uint8_t> cut(s.packed.begin(), s.packed.begin() + std::ptrdiff_t(len));
      expect_error_or_ok(cut, s, true);
    }
    std::vector<std::uint8_t> longer = s.packed;
    longer.push_back(0);
    expect_error_or_ok(longer, s, true);
  }
}

TEST(compress_corruption, EveryBitFlipIsAnError) {
  std::mt19937 rng(7);
  for (const Sample &s : samples()) {
    // All bits of the header, then a few hundred random bits of the payload.
    std::vector<std::size_t> bits;
    for (std::size_t b = 0; b < internal::kHeaderBytes * 8; ++b) bits.push_back(b);
    for (int i = 0; i < 300; ++i) bits.push_back(rng() % (s.packed.size() * 8));
    for (std::size_t b : bits) {
      std::vector<std::uint8_t> bad = s.packed;
      bad[b / 8] ^= std::uint8_t(1u << (b % 8));
      expect_error_or_ok(bad, s, true);
    }
  }
}

TEST(compress_corruption, RandomBuffersAreErrors) {
  std::mt19937 rng(11);
  Sample s{"random", DType::Float32, {10, 10}, {}};
  for (int i = 0; i < 300; ++i) {
    std::vector<std::uint8_t> buf(rng() % 400);
    for (auto &b : buf) b = std::uint8_t(rng());
    if (i % 2 && buf.size() >= 4) std::memcpy(buf.data(), "TNZ\x1a", 4);  // get past the magic
    expect_error_or_ok(buf, s, true);
  }
}

TEST(compress_corruption, DecodersSurviveResealedCorruptPayloads) {
  std::mt19937 rng(13);
  for (const Sample &s : samples()) {
    for (int i = 0; i < 400; ++i) {
      std::vector<std::uint8_t> bad = s.packed;
      switch (i % 4) {
        case 0: bad[internal::kHeaderBytes + rng() % (bad.size() - internal::kHeaderBytes)] ^= std::uint8_t(1u << (rng() % 8)); break;
        case 1: bad.resize(internal::kHeaderBytes + rng() % (bad.size() - internal::kHeaderBytes)); break;
        case 2:
          for (std::size_t k = internal::kHeaderBytes; k < bad.size(); ++k)
            if (rng() % 16 == 0) bad[k] = std::uint8_t(rng());
          break;
        case 3: bad.insert(bad.end(), 1 + rng() % 64, std::uint8_t(rng())); break;
      }
      reseal(bad);
      expect_error_or_ok(bad, s, false);
    }
  }
}

TEST(compress_corruption, ForgedHeaderSizesAreRejected) {
  Sample s = samples()[0];
  std::vector<std::uint8_t> bad = s.packed;
  std::uint64_t huge = std::uint64_t(1) << 62;
  std::memcpy(bad.data() + 12, &huge, 8);  // a dimension far beyond any real array
  reseal(bad);
  expect_error_or_ok(bad, s, true);
}

TEST(compress_huffman, RoundTripsSkewedAndUniform) {
  std::mt19937 rng(3);
  for (int kind = 0; kind < 4; ++kind) {
    std::vector<std::uint16_t> sym(5000 + kind * 777);
    for (auto &v : sym) {
      switch (kind) {
        case 0: v = 32768; break;                                            // one symbol
        case 1: v = std::uint16_t(32768 + int(std::geometric_distribution<int>(0.6)(rng)) * (rng() % 2 ? 1 : -1)); break;
        case 2: v = std::uint16_t(rng()); break;                             // nearly uniform, 16 bits
        case 3: v = std::uint16_t(rng() % 3); break;
      }
    }
    std::vector<std::uint8_t> enc;
    internal::huffman_encode(sym.data(), sym.size(), enc);
    enc.resize(enc.size() + 16, 0);
    std::vector<std::uint16_t> dec(sym.size());
    internal::huffman_decode(enc.data(), enc.size() - 16, dec.data(), dec.size());
    EXPECT_EQ(sym, dec) << "kind " << kind;
  }
}

TEST(compress_huffman, LimitsCodeLengthsOnFibonacciCounts) {
  // Counts growing like Fibonacci numbers give a maximally deep tree (> 24 levels for 40 symbols).
  std::vector<std::uint16_t> sym;
  std::uint64_t a = 1, b = 1;
  for (std::uint16_t s = 0; s < 32; ++s) {
    for (std::uint64_t k = 0; k < a; ++k) sym.push_back(s);
    std::uint64_t c = a + b;
    a = b;
    b = c;
  }
  std::vector<std::uint8_t> enc;
  internal::huffman_encode(sym.data(), sym.size(), enc);
  enc.resize(enc.size() + 16, 0);
  std::vector<std::uint16_t> dec(sym.size());
  internal::huffman_decode(enc.data(), enc.size() - 16, dec.data(), dec.size());
  EXPECT_EQ(sym, dec);
}

TEST(compress_huffman, CorruptStreamsThrowOrDecodeInBounds) {
  std::mt19937 rng(5);
  std::vector<std::uint16_t> sym(3000);
  for (auto &v : sym) v = std::uint16_t(32768 + int(std::geometric_distribution<int>(0.3)(rng)));
  std::vector<std::uint8_t> enc;
  internal::huffman_encode(sym.data(), sym.size(), enc);
  for (int i = 0; i < 500; ++i) {
    std::vector<std::uint8_t> bad = enc;
    if (i % 2) bad.resize(rng() % bad.size());
    else bad[rng() % bad.size()] ^= std::uint8_t(1u << (rng() % 8));
    std::size_t n = bad.size();
    bad.resize(n + 16, 0);
    std::vector<std::uint16_t> dec(sym.size());
    try {
      internal::huffman_decode(bad.data(), n, dec.data(), dec.size());
    } catch (const Error &) {
    }
  }
}

}  // namespace
}  // namespace tenet::test
