/** \file Compressor.h  Error-bounded compression of float arrays into self-describing buffers.
 *
 * A Compressor is a codec (zfp, sz, zstd, none) configured with a mode (absolute or relative
 * error bound, fixed precision, fixed rate, lossless). It turns a float32/float64 array of 1 to
 * 3 dimensions (last fastest, C order) into a buffer that carries everything needed to read it
 * back (a header with magic, version, codec, dtype, shape, mode, bound and checksums; layout in
 * Format.h), so a buffer can be decompressed without knowing how it was made. A corrupt,
 * truncated or foreign buffer gives a tenet::Error, never a crash or a silently wrong array.
 *
 * Bounded modes are a promise on every element: |x - x'| <= bound, checked inside the codec
 * against the exact values the decompressor will produce.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "support/DType.h"

namespace tenet {

enum class CompressionMode : std::uint8_t {
  Absolute = 0,   ///< |error| <= value on every element
  Relative = 1,   ///< |error| <= value * (max - min) of the array's finite values
  Precision = 2,  ///< zfp fixed precision: value = bit planes kept (no error bound)
  Rate = 3,       ///< zfp fixed rate: value = bits per value (no error bound)
  Lossless = 4,   ///< bit-exact
};

const char *mode_name(CompressionMode mode);

/// A mode and its parameter (ignored for Lossless).
struct CompressionSettings {
  CompressionMode mode = CompressionMode::Lossless;
  double value = 0;
};

/// What a compressed buffer says about itself (read from its header only).
struct CompressedInfo {
  std::string codec;
  DType dtype = DType::Float32;
  std::vector<std::int64_t> shape;
  CompressionSettings settings;
  /// The absolute bound actually enforced (Relative resolved against the value range); 0 for
  /// Lossless, negative when the mode gives no bound (Precision, Rate).
  double abs_bound = 0;
  std::size_t raw_bytes = 0;
  std::size_t compressed_bytes = 0;  ///< header + payload

  std::size_t count() const;
};

class Compressor {
 public:
  virtual ~Compressor() = default;

  /// Compresses `count` = product(shape) elements of `dtype` at `data`.
  virtual std::vector<std::uint8_t> compress(const void *data, DType dtype,
                                             std::span<const std::int64_t> shape) const = 0;

  /// Decompresses `buffer` into `out`, which must hold exactly the dtype and shape recorded in
  /// the buffer (checked against `dtype` and `shape`; mismatch -> tenet::Error).
  /// Any codec's buffer can be read by any Compressor: the header names the codec.
  virtual void decompress(std::span<const std::uint8_t> buffer, void *out, DType dtype,
                          std::span<const std::int64_t> shape) const = 0;

  /// Name of the codec ("zfp", "sz", "zstd", "none") and of the configured mode.
  virtual std::string name() const = 0;
  virtual CompressionSettings settings() const = 0;

  /// Threads used for one call (0: OpenMP's default). Output bytes do not depend on it.
  void set_threads(int threads) { threads_ = threads; }
  int threads() const { return threads_; }

 protected:
  int threads_ = 0;
};

/// Reads and validates a buffer's header (checksums included); throws tenet::Error if corrupt.
CompressedInfo inspect_compressed(std::span<const std::uint8_t> buffer);

/// Decompresses any Tenet buffer into a new array (bytes of the recorded dtype).
std::vector<std::uint8_t> decompress_any(std::span<const std::uint8_t> buffer,
                                         CompressedInfo *info = nullptr, int threads = 0);

/// Parses a shape written slowest first, "NZ,NY,NX" (1 to 3 positive extents).
std::vector<std::int64_t> parse_shape(const std::string &text);

/// Codec names known to the registry, in a stable order.
std::vector<std::string> available_codecs();

/// The codec's default settings: sz and zfp: Relative 1e-4; zstd and none: Lossless.
CompressionSettings default_settings(const std::string &codec);

/// Makes a compressor; unknown codec names and modes the codec lacks give a tenet::Error that
/// lists what is available.
std::unique_ptr<Compressor> make_compressor(const std::string &codec,
                                            const CompressionSettings &settings);
std::unique_ptr<Compressor> make_compressor(const std::string &codec);

}  // namespace tenet
