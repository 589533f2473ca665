// Corrupt input: truncated, bit-flipped and random buffers must give tenet::Error, never a crash,
// a hang or an out-of-bounds read. Also built into test_compress_asan (AddressSanitizer).
//
// Two layers are tested: the container (checksums catch everything), and the codec decoders
// behind it, fed corrupt payloads whose checksums were recomputed so the decoders really see
// them; those must throw or decode something, without touching memory they do not own.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <memory>
#include <random>

#include "Fields.h"
#include "compress/Compressor.h"
#include "compress/Format.h"
#include "compress/CodeCoder.h"
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

TEST(compress_corruption, ForgedSizesBeyondThisMachinesMemoryAreErrors) {
  // Within the format's limit of 2^40 elements, resealed: 2^39 float64 values are 4 TiB, more
  // than any machine this runs on holds; decompress_any must say so, not fail to allocate.
  Sample s = samples()[samples().size() - 1];  // a 3D float64 buffer
  ASSERT_EQ(s.shape.size(), 3u);
  ASSERT_EQ(s.dtype, DType::Float64);
  std::vector<std::uint8_t> bad = s.packed;
  const std::uint64_t dims[3] = {std::uint64_t(1) << 13, std::uint64_t(1) << 13, std::uint64_t(1) << 13};
  std::memcpy(bad.data() + 12, dims, sizeof dims);
  reseal(bad);
  try {
    decompress_any(bad);
    ADD_FAILURE() << "a 4 TiB array was decoded";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("bytes of memory"), std::string::npos) << e.what();
  }
}

TEST(compress_corruption, ForgedExtentsWhoseProductWrapsAreRejected) {
  // Found by the fuzz target: each extent below the limit, their product a multiple of 2^64.
  Sample s = samples()[samples().size() - 1];  // a 3D buffer
  ASSERT_EQ(s.shape.size(), 3u);
  std::vector<std::uint8_t> bad = s.packed;
  const std::uint64_t dims[3] = {(std::uint64_t(3) << 32) + 9, std::uint64_t(10) << 32, std::uint64_t(12) << 32};
  std::memcpy(bad.data() + 12, dims, sizeof dims);
  reseal(bad);
  expect_error_or_ok(bad, s, true);
  auto c = make_compressor("sz", {CompressionMode::Relative, 1e-3});
  float x = 0;
  const std::vector<std::int64_t> shape{std::int64_t(1) << 32, std::int64_t(1) << 32, 1};
  EXPECT_THROW(c->compress(&x, DType::Float32, shape), Error);
}

/// Codes shaped like an interpolation's: passes of different grids, mostly small values with
/// sign runs, a few large ones and escapes.
std::vector<std::int16_t> sample_codes(std::vector<internal::CodePass> &passes, int kind, unsigned seed) {
  std::mt19937 rng(seed);
  passes.clear();
  std::size_t at = 0;
  for (auto [count, rows, planes, group] : {std::array<std::int64_t, 4>{1, 1, 1, 2}, {7, 3, 2, 2}, {33, 17, 1, 1},
                                           {1, 40, 3, 0}, {64, 9, 5, 0}}) {
    passes.push_back({at, count, rows, planes, int(group)});
    at += passes.back().size();
  }
  std::vector<std::int16_t> codes(at);
  std::geometric_distribution<int> small(0.55);
  for (auto &c : codes) {
    switch (kind) {
      case 0: c = 0; break;                                                           // all zero
      case 1: c = std::int16_t(small(rng) * (rng() % 3 ? 1 : -1)); break;             // typical
      case 2: c = std::int16_t(int(rng() % (2 * internal::kMaxBin + 1)) - internal::kMaxBin); break;  // anything
      case 3: c = rng() % 50 == 0 ? internal::kEscapeCode : std::int16_t(rng() % 5) - 2; break;
    }
  }
  if (kind == 2) {  // the extremes
    codes[1] = internal::kMaxBin;
    codes[2] = -internal::kMaxBin;
    codes[3] = internal::kEscapeCode;
  }
  return codes;
}

TEST(compress_code_coder, RoundTripsEveryKindOfCode) {
  for (int kind = 0; kind < 4; ++kind) {
    std::vector<internal::CodePass> passes;
    std::vector<std::int16_t> codes = sample_codes(passes, kind, 3 + kind);
    std::vector<std::uint8_t> enc;
    internal::encode_codes(codes.data(), codes.size(), passes, enc);
    std::vector<std::int16_t> dec(codes.size(), 123);
    internal::decode_codes(enc.data(), enc.size(), passes, dec.data(), dec.size());
    EXPECT_EQ(codes, dec) << "kind " << kind;
  }
}

TEST(compress_code_coder, ZeroCodesCostAlmostNothing) {
  // Adaptive probabilities go below one bit per code, which Huffman codes cannot.
  std::vector<internal::CodePass> passes{{0, 1000, 100, 1, 0}};
  std::vector<std::int16_t> codes(100000, 0);
  std::vector<std::uint8_t> enc;
  internal::encode_codes(codes.data(), codes.size(), passes, enc);
  EXPECT_LT(enc.size(), 100u);
}

TEST(compress_code_coder, CorruptStreamsThrowOrDecodeInBounds) {
  std::vector<internal::CodePass> passes;
  std::vector<std::int16_t> codes = sample_codes(passes, 1, 5);
  std::vector<std::uint8_t> enc;
  internal::encode_codes(codes.data(), codes.size(), passes, enc);
  std::mt19937 rng(5);
  int failed = 0;
  for (int i = 0; i < 500; ++i) {
    std::vector<std::uint8_t> bad = enc;
    if (i % 2)
      bad.resize(rng() % bad.size());
    else
      bad[rng() % bad.size()] ^= std::uint8_t(1u << (rng() % 8));
    // An exact-size copy, so AddressSanitizer sees any read past the end.
    auto exact = std::make_unique<std::uint8_t[]>(bad.size());
    std::copy(bad.begin(), bad.end(), exact.get());
    std::vector<std::int16_t> dec(codes.size());
    try {
      internal::decode_codes(exact.get(), bad.size(), passes, dec.data(), dec.size());
    } catch (const Error &) {
      ++failed;
    }
  }
  EXPECT_GT(failed, 0);  // truncations at least are caught by the length check
}

}  // namespace
}  // namespace tenet::test
