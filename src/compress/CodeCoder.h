/** \file CodeCoder.h  Context-adaptive binary range coding of sz quantisation codes (internal).
 *
 * Why our own coder: Huffman codes cost at least one bit per value (a ratio of 32 for float32),
 * and zstd after Huffman only partly recovers what is lost on fields where most codes are 0.
 * An adaptive arithmetic coder has no such floor, and conditioning each code on the codes of
 * its already coded neighbours (how busy the field is just there, and which way the
 * interpolation error leans) takes the wavefield snapshots of the benchmark 30-60% below
 * Huffman+zstd. Debian packages no context-modelling coder for integer streams, and a binary
 * range coder (the LZMA construction) is a few dozen lines, so it lives here.
 *
 * The codes are laid out in passes (one per interpolation level and direction, or one for a
 * Lorenzo sweep); each pass is a small 3D grid (planes x rows x count, count fastest) in the
 * order the predictor visits it, so a code's neighbours in the grid (left, up, up-left,
 * up-right, back) are at fixed offsets before it. Contexts use only codes, never values, so
 * the decoder decodes every code before it reconstructs anything. Where the neighbours of 16
 * codes in a row are all 0, one decision says whether the 16 are all 0 too: most codes of a
 * quiet field then cost no decision of their own (format version 3).
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tenet::internal {

/// Code of a value stored exactly (an escape); every other code is a quantisation bin q with
/// |q| <= kMaxBin.
constexpr std::int16_t kEscapeCode = 32767;
constexpr int kMaxBin = 32766;

/// One pass of a predictor over the codes: codes [start, start + planes * rows * count).
struct CodePass {
  std::size_t start = 0;
  std::int64_t count = 0, rows = 0, planes = 0;
  int group = 0;  ///< 0: finest level (or Lorenzo), 1: next level, 2: coarser ones
  std::size_t size() const { return std::size_t(count) * std::size_t(rows) * std::size_t(planes); }
};

/// Appends the range-coded `codes` (`n` of them, tiled in order by `passes`) to `out`.
void encode_codes(const std::int16_t *codes, std::size_t n, const std::vector<CodePass> &passes,
                  std::vector<std::uint8_t> &out);

/// Decodes `n` codes laid out by `passes` from `in[0..size)` into `codes`. A corrupt stream
/// gives a tenet::Error or wrong codes (the container's checksum is what rejects flipped bits);
/// it never reads outside `in[0..size)` and always ends after a bounded number of steps.
void decode_codes(const std::uint8_t *in, std::size_t size, const std::vector<CodePass> &passes,
                  std::int16_t *codes, std::size_t n);

}  // namespace tenet::internal
