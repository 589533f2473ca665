// A short deterministic fuzz run of the decoders, without libFuzzer: valid buffers of every codec
// and mode (the seed corpus) are mutated by a fixed-seed generator and fed to the same entry point
// as the libFuzzer target. Any crash, hang or sanitizer report fails the test; a tenet::Error is
// the expected answer to bad input.
//
// Usage: test_compress_fuzz_smoke [RUNS] [--write-seeds DIR]
//   --write-seeds DIR writes the seed corpus (for a libFuzzer run) and exits.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "../Fields.h"
#include "compress/Compressor.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size);

namespace {

using tenet::CompressionMode;
using tenet::DType;

std::vector<std::vector<std::uint8_t>> seed_corpus() {
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
  std::vector<std::vector<std::uint8_t>> seeds;
  for (const Conf &c : confs) {
    auto comp = tenet::make_compressor(c.codec, c.s);
    for (const auto &shape : shapes) {
      auto f = make_field<float>(FieldKind::Wave, shape);
      auto d = make_field<double>(FieldKind::Wave, shape);
      if (std::string(c.codec) != "zfp") f[3] = std::numeric_limits<float>::quiet_NaN();  // an escape
      seeds.push_back(comp->compress(f.data(), DType::Float32, shape));
      seeds.push_back(comp->compress(d.data(), DType::Float64, shape));
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

}  // namespace

int main(int argc, char **argv) {
  long runs = 4000;
  std::string seeds_dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--write-seeds" && i + 1 < argc)
      seeds_dir = argv[++i];
    else
      runs = std::atol(argv[i]);
  }
  const auto seeds = seed_corpus();
  if (!seeds_dir.empty()) {
    for (std::size_t i = 0; i < seeds.size(); ++i) {
      for (std::uint8_t flag : {0, 1}) {
        std::ofstream out(seeds_dir + "/seed" + std::to_string(i) + "_" + std::to_string(flag), std::ios::binary);
        out.put(char(flag));
        out.write(reinterpret_cast<const char *>(seeds[i].data()), std::streamsize(seeds[i].size()));
      }
    }
    std::printf("wrote %zu seeds to %s\n", 2 * seeds.size(), seeds_dir.c_str());
    return 0;
  }
  Rng rng;
  // The unmutated seeds must decode; then the mutants, three in four with checksums resealed.
  for (const auto &s : seeds) {
    std::vector<std::uint8_t> in{0};
    in.insert(in.end(), s.begin(), s.end());
    LLVMFuzzerTestOneInput(in.data(), in.size());
  }
  for (long r = 0; r < runs; ++r) {
    std::vector<std::uint8_t> b = seeds[rng.below(seeds.size())];
    mutate(b, rng);
    std::vector<std::uint8_t> in{std::uint8_t(rng.below(4) != 0)};
    in.insert(in.end(), b.begin(), b.end());
    LLVMFuzzerTestOneInput(in.data(), in.size());
  }
  std::printf("%ld mutated inputs from %zu seeds: no crash\n", runs, seeds.size());
  return 0;
}
