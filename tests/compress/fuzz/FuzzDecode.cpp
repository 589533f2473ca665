// The fuzz entry point of the decoders: any bytes go to decompress_any, which reads the header
// and hands the payload to the codec it names (sz, zfp, zstd, none). Built into the libFuzzer
// target (TENET_FUZZ=ON, clang) and into the deterministic smoke test that runs with any
// compiler (FuzzSmoke.cpp).
//
// The first input byte is a switch, the rest the buffer. With bit 0 set, the checksums in the
// header are recomputed first: mutated payloads otherwise stop at the checksum test and the
// codecs' own decoders never see them.
#include "FuzzDecode.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "compress/Compressor.h"
#include "compress/Format.h"
#include "support/Error.h"

namespace {

void reseal(std::vector<std::uint8_t> &buf) {
  using namespace tenet::internal;
  if (buf.size() < kHeaderBytes) return;
  const std::uint64_t payload = buf.size() - kHeaderBytes;
  std::memcpy(buf.data() + 52, &payload, 8);
  const std::uint64_t h = hash64(buf.data() + kHeaderBytes, payload);
  std::memcpy(buf.data() + 60, &h, 8);
  const std::uint64_t hh = hash64(buf.data(), 68);
  std::memcpy(buf.data() + 68, &hh, 8);
}

}  // namespace

namespace tenet::test {

FuzzOutcome fuzz_decode_one(const std::uint8_t *data, std::size_t size) {
  if (size < 1) return FuzzOutcome::Skipped;
  // An exact-size copy: AddressSanitizer then catches a read one byte past the buffer.
  std::vector<std::uint8_t> buf(data + 1, data + size);
  if (data[0] & 1) reseal(buf);
  try {
    const CompressedInfo info = inspect_compressed(buf);
    // A valid header may describe a huge array; decoding it would only measure the allocator.
    if (info.raw_bytes > (std::size_t(16) << 20)) return FuzzOutcome::Skipped;
    const std::vector<std::uint8_t> out = decompress_any(buf, nullptr, 1);
    // Whatever a decoder accepts, it must return exactly the array its header describes.
    if (out.size() != info.raw_bytes) {
      std::fprintf(stderr, "decoded %zu bytes where the header says %zu\n", out.size(), info.raw_bytes);
      return FuzzOutcome::WrongSize;
    }
    return FuzzOutcome::Decoded;
  } catch (const Error &) {
    return FuzzOutcome::Rejected;  // rejected with a message: what a decoder must do with bad input
  }
}

}  // namespace tenet::test

// libFuzzer's assertion is a crash: a decoder that accepts bytes must return the size its
// header claims.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (tenet::test::fuzz_decode_one(data, size) == tenet::test::FuzzOutcome::WrongSize) std::abort();
  return 0;
}
