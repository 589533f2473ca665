// A short deterministic fuzz run of the decoders, without libFuzzer: valid buffers of every codec
// and mode (the seed corpus) are mutated by a fixed-seed generator and fed to the same entry point
// as the libFuzzer target. The seeds must decode to their arrays (exactly for lossless modes,
// within the bound for bounded ones); every mutant must be decoded to the size its header claims
// or rejected with a tenet::Error; a crash, hang or sanitizer report fails the test.
//
// Usage: test_compress_fuzz_smoke [RUNS] [--write-seeds DIR]
//   --write-seeds DIR writes the seed corpus (for a libFuzzer run) and exits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "../Fields.h"
#include "FuzzDecode.h"
#include "compress/Compressor.h"

namespace {

using tenet::CompressionMode;
using tenet::DType;

struct Seed {
  std::vector<std::uint8_t> bytes;  ///< the compressed buffer
  std::vector<double> values;       ///< the array it holds
};

std::vector<Seed> seed_corpus() {
  using tenet::test::FieldKind;
  using tenet::test::make_field;
  struct Conf {
    const char *codec;
    tenet::CompressionSettings s;
  };
  const Conf confs[] = {{"sz", {CompressionMode::Relative, 1e-3}}, {"sz", {CompressionMode::Absolute, 1e-6}},
                        {"zfp", {CompressionMode::Relative, 1e-3}}, {"zfp", {CompressionMode::Lossless, 0}},
                        {"zfp", {CompressionMode::Rate, 8}},        {"zfp", {CompressionMode::Precision, 12}},
                        {"zstd", {CompressionMode::Lossless, 0}},   {"none", {CompressionMode::Lossless, 0}}};
  const std::vector<std::vector<std::int64_t>> shapes = {{300}, {20, 31}, {9, 10, 12}};
  std::vector<Seed> seeds;
  for (const Conf &c : confs) {
    auto comp = tenet::make_compressor(c.codec, c.s);
    for (const auto &shape : shapes) {
      auto f = make_field<float>(FieldKind::Wave, shape);
      auto d = make_field<double>(FieldKind::Wave, shape);
      if (std::string(c.codec) != "zfp") f[3] = std::numeric_limits<float>::quiet_NaN();  // an escape
      seeds.push_back({comp->compress(f.data(), DType::Float32, shape), std::vector<double>(f.begin(), f.end())});
      seeds.push_back({comp->compress(d.data(), DType::Float64, shape), d});
    }
  }
  return seeds;
}

/// xorshift64*: the mutations are the same on every run and every platform.
struct Rng {
  std::uint64_t s = 0x2545F4914F6CDD1DULL;
  std::uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ULL;
  }
  std::size_t below(std::size_t n) { return n ? static_cast<std::size_t>(next() % n) : 0; }
};

void mutate(std::vector<std::uint8_t> &b, Rng &rng) {
  const int edits = 1 + int(rng.below(4));
  for (int e = 0; e < edits && !b.empty(); ++e) {
    const std::size_t at = rng.below(b.size());
    switch (rng.below(6)) {
      case 0: b[at] ^= std::uint8_t(1u << rng.below(8)); break;
      case 1: b[at] = std::uint8_t(rng.next()); break;
      case 2: b.resize(at); break;
      case 3: b.insert(b.begin() + std::ptrdiff_t(at), 1 + rng.below(16), std::uint8_t(rng.next())); break;
      case 4: {  // an interesting value over up to 8 bytes
        const std::uint8_t v[] = {0x00, 0xFF, 0x7F, 0x80};
        for (std::size_t k = at; k < std::min(b.size(), at + 1 + rng.below(8)); ++k) b[k] = v[rng.below(4)];
        break;
      }
      case 5: {  // copy a run of bytes from elsewhere in the buffer
        const std::size_t from = rng.below(b.size()), n = rng.below(32);
        for (std::size_t k = 0; k < n && at + k < b.size() && from + k < b.size(); ++k) b[at + k] = b[from + k];
        break;
      }
    }
  }
}

long g_runs = 4000;

std::vector<double> as_doubles(const std::vector<std::uint8_t> &raw, DType t) {
  std::vector<double> v;
  if (t == DType::Float32) {
    std::vector<float> f(raw.size() / sizeof(float));
    std::memcpy(f.data(), raw.data(), raw.size());
    v.assign(f.begin(), f.end());
  } else {
    v.resize(raw.size() / sizeof(double));
    std::memcpy(v.data(), raw.data(), raw.size());
  }
  return v;
}

TEST(compress_FuzzSmoke, SeedsDecodeToTheirArrays) {
  for (const Seed &s : seed_corpus()) {
    const tenet::CompressedInfo info = tenet::inspect_compressed(s.bytes);
    const std::vector<double> got = as_doubles(tenet::decompress_any(s.bytes, nullptr, 1), info.dtype);
    ASSERT_EQ(got.size(), s.values.size()) << info.codec;
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (std::isnan(s.values[i])) {
        EXPECT_TRUE(std::isnan(got[i])) << info.codec << " element " << i;
      } else if (info.settings.mode == CompressionMode::Lossless) {
        EXPECT_EQ(got[i], s.values[i]) << info.codec << " element " << i;
      } else if (info.abs_bound > 0) {
        EXPECT_LE(std::fabs(got[i] - s.values[i]), info.abs_bound) << info.codec << " element " << i;
      }
    }
  }
}

TEST(compress_FuzzSmoke, MutantsAreDecodedOrRejectedNeverCrash) {
  const auto seeds = seed_corpus();
  Rng rng;
  long decoded = 0, rejected = 0, skipped = 0, wrong_size = 0;
  for (long r = 0; r < g_runs; ++r) {
    std::vector<std::uint8_t> b = seeds[rng.below(seeds.size())].bytes;
    mutate(b, rng);
    // Three in four with the checksums resealed, so the codecs' own decoders see the damage.
    std::vector<std::uint8_t> in{std::uint8_t(rng.below(4) != 0)};
    in.insert(in.end(), b.begin(), b.end());
    switch (tenet::test::fuzz_decode_one(in.data(), in.size())) {
      case tenet::test::FuzzOutcome::Decoded: ++decoded; break;
      case tenet::test::FuzzOutcome::Rejected: ++rejected; break;
      case tenet::test::FuzzOutcome::Skipped: ++skipped; break;
      case tenet::test::FuzzOutcome::WrongSize: ++wrong_size; break;
    }
  }
  std::printf("%ld mutated inputs: %ld decoded, %ld rejected, %ld skipped, %ld of a wrong size\n", g_runs, decoded,
              rejected, skipped, wrong_size);
  // Every accepted input decodes to exactly the size its header claims.
  EXPECT_EQ(wrong_size, 0);
  EXPECT_EQ(decoded + rejected + skipped, g_runs);
  // The mutations reach the error paths (a generator that only produced valid buffers, or only
  // inputs skipped before decoding, would test nothing).
  EXPECT_GT(rejected, g_runs / 4);
  EXPECT_GT(decoded, 0);
}

}  // namespace

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string seeds_dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--write-seeds" && i + 1 < argc)
      seeds_dir = argv[++i];
    else
      g_runs = std::atol(argv[i]);
  }
  if (!seeds_dir.empty()) {
    const auto seeds = seed_corpus();
    for (std::size_t i = 0; i < seeds.size(); ++i) {
      for (std::uint8_t flag : {0, 1}) {
        std::ofstream out(seeds_dir + "/seed" + std::to_string(i) + "_" + std::to_string(flag), std::ios::binary);
        out.put(char(flag));
        out.write(reinterpret_cast<const char *>(seeds[i].bytes.data()), std::streamsize(seeds[i].bytes.size()));
      }
    }
    std::printf("wrote %zu seeds to %s\n", 2 * seeds.size(), seeds_dir.c_str());
    return 0;
  }
  return RUN_ALL_TESTS();
}
