/** \file Huffman.h  Canonical, length-limited Huffman coding of 16-bit symbols (internal, for sz). */
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tenet::internal {

/// Longest code: two codes fit the 32 bits the writer adds per step, and 65536 symbols still
/// fit (2^16 codes of 16 bits); the few rare symbols pushed shorter cost next to nothing.
constexpr int kHuffmanMaxBits = 16;

/// Appends to `out` a self-contained encoding of `n` symbols: the code table (symbols that occur
/// with their code lengths) followed by the bit stream. A single distinct symbol takes no bits.
void huffman_encode(const std::uint16_t *symbols, std::size_t n, std::vector<std::uint8_t> &out);

/// Decodes exactly `n` symbols from `in[0..size)` into `symbols`; returns the bytes used.
/// `in` must have at least 16 readable bytes after `size` (the reader loads whole words).
/// A malformed table or stream throws tenet::Error; it never reads outside `in[0..size+8)`.
std::size_t huffman_decode(const std::uint8_t *in, std::size_t size, std::uint16_t *symbols,
                           std::size_t n);

}  // namespace tenet::internal
