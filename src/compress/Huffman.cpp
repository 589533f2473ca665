#include "compress/Huffman.h"

#include <algorithm>
#include <cstring>
#include <queue>

#include "compress/Format.h"
#include "support/Error.h"

namespace tenet::internal {

namespace {

constexpr int kLutBits = 12;

/// Code lengths for the symbols with nonzero `freq` (others 0), at most kHuffmanMaxBits.
/// Overlong trees are rare (they need Fibonacci-like counts); flattening the counts and
/// rebuilding is simple and costs little compression in that corner.
std::vector<std::uint8_t> code_lengths(const std::vector<std::uint64_t> &freq) {
  std::vector<std::uint8_t> len(freq.size(), 0);
  std::vector<std::uint32_t> syms;
  for (std::size_t s = 0; s < freq.size(); ++s)
    if (freq[s]) syms.push_back(static_cast<std::uint32_t>(s));
  if (syms.size() == 1) return len;  // a single symbol takes no bits
  std::vector<std::uint64_t> weight(syms.size());
  for (std::size_t i = 0; i < syms.size(); ++i) weight[i] = freq[syms[i]];
  for (;;) {
    // Nodes 0..m-1 are leaves, the rest internal; parent links give each leaf's depth.
    std::size_t m = syms.size();
    std::vector<std::uint32_t> parent(2 * m, 0);
    using Item = std::pair<std::uint64_t, std::uint32_t>;
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap;
    for (std::size_t i = 0; i < m; ++i) heap.push({weight[i], static_cast<std::uint32_t>(i)});
    std::uint32_t next = static_cast<std::uint32_t>(m);
    while (heap.size() > 1) {
      Item a = heap.top();
      heap.pop();
      Item b = heap.top();
      heap.pop();
      parent[a.second] = next;
      parent[b.second] = next;
      heap.push({a.first + b.first, next});
      ++next;
    }
    std::uint32_t root = next - 1;
    std::vector<std::uint8_t> depth(2 * m, 0);
    int max_depth = 0;
    for (std::uint32_t node = root; node-- > 0;) {
      depth[node] = static_cast<std::uint8_t>(std::min(255, depth[parent[node]] + 1));
      if (node < m) max_depth = std::max<int>(max_depth, depth[node]);
    }
    if (max_depth <= kHuffmanMaxBits) {
      for (std::size_t i = 0; i < m; ++i) len[syms[i]] = depth[i];
      return len;
    }
    for (auto &w : weight) w = (w >> 1) | 1;
  }
}

/// Canonical order: by length, then symbol. Returns the sorted (symbol) list.
std::vector<std::uint16_t> canonical_order(const std::vector<std::uint16_t> &syms,
                                           const std::vector<std::uint8_t> &lens) {
  std::vector<std::uint32_t> idx(syms.size());
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<std::uint32_t>(i);
  std::sort(idx.begin(), idx.end(), [&](std::uint32_t a, std::uint32_t b) {
    return lens[a] != lens[b] ? lens[a] < lens[b] : syms[a] < syms[b];
  });
  std::vector<std::uint16_t> out(idx.size());
  for (std::size_t i = 0; i < idx.size(); ++i) out[i] = syms[idx[i]];
  return out;
}

inline std::uint32_t reverse_bits(std::uint32_t v, int n) {
  std::uint32_t r = 0;
  for (int i = 0; i < n; ++i) r |= ((v >> i) & 1u) << (n - 1 - i);
  return r;
}

inline void put_varint(std::vector<std::uint8_t> &out, std::uint32_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

std::uint32_t get_varint(ByteReader &r) {
  std::uint32_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    std::uint8_t b = r.get<std::uint8_t>();
    v |= std::uint32_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  throw Error("corrupt compressed data: bad varint in Huffman table");
}

}  // namespace

void huffman_encode(const std::uint16_t *symbols, std::size_t n, std::vector<std::uint8_t> &out) {
  TENET_INTERNAL_CHECK(n > 0, "huffman_encode of nothing");
  // Tables cover only the symbols' range [lo, hi] (quantisation codes cluster around the
  // middle), so small blocks do not pay for clearing tables of all 65536 symbols.
  std::uint16_t lo = 65535, hi = 0;
  for (std::size_t i = 0; i < n; ++i) {
    lo = std::min(lo, symbols[i]);
    hi = std::max(hi, symbols[i]);
  }
  const std::size_t range = std::size_t(hi) - lo + 1;
  // Four interleaved histograms: the codes are mostly one symbol, and a single counter would
  // serialise on its own store-to-load latency. Thread-local scratch: tables allocated fresh
  // (mmap) cost more in page faults than the coding itself.
  thread_local std::vector<std::uint32_t> part;
  std::vector<std::uint64_t> freq(range, 0);
  part.resize(4 * range);
  std::size_t i = 0;
  for (std::size_t chunk = 0; chunk < n; chunk += std::size_t(1) << 31) {  // uint32 counts
    std::fill(part.begin(), part.end(), 0);
    const std::size_t end = std::min(n, chunk + (std::size_t(1) << 31));
    std::uint32_t *p0 = part.data(), *p1 = p0 + range, *p2 = p1 + range, *p3 = p2 + range;
    for (i = chunk; i + 4 <= end; i += 4) {
      ++p0[symbols[i] - lo];
      ++p1[symbols[i + 1] - lo];
      ++p2[symbols[i + 2] - lo];
      ++p3[symbols[i + 3] - lo];
    }
    for (; i < end; ++i) ++p0[symbols[i] - lo];
    for (std::size_t k = 0; k < range; ++k)
      freq[k] += std::uint64_t(part[k]) + part[range + k] + part[2 * range + k] + part[3 * range + k];
  }
  std::vector<std::uint8_t> len = code_lengths(freq);  // indexed by symbol - lo
  // Table: count, then (symbol delta as varint, length) in increasing symbol order; the deltas
  // of quantisation codes are mostly 1, which zstd then squeezes further.
  std::vector<std::uint16_t> syms;
  std::vector<std::uint8_t> lens;
  for (std::size_t k = 0; k < range; ++k)
    if (freq[k]) {
      syms.push_back(static_cast<std::uint16_t>(lo + k));
      lens.push_back(len[k]);
    }
  ByteWriter w(out);
  w.put<std::uint32_t>(static_cast<std::uint32_t>(syms.size()));
  std::uint32_t prev = 0;
  for (std::size_t k = 0; k < syms.size(); ++k) {
    put_varint(out, syms[k] - prev);
    prev = syms[k];
    out.push_back(lens[k]);
  }
  if (syms.size() <= 1) return;

  // Canonical codes, bit-reversed because the stream is written least significant bit first.
  std::vector<std::uint32_t> code_table(range, 0);
  std::vector<std::uint16_t> order = canonical_order(syms, lens);
  std::uint32_t c = 0;
  int cur = len[order[0] - lo];
  for (std::size_t k = 0; k < order.size(); ++k) {
    int l = len[order[k] - lo];
    c <<= (l - cur);
    cur = l;
    code_table[order[k] - lo] = reverse_bits(c, l) | (std::uint32_t(l) << 16);  // code and length in one load
    ++c;
  }
  const std::uint32_t *code = code_table.data();

  // Exact stream size from the counts, so the output buffer is not over-allocated and zeroed.
  std::uint64_t total_bits = 0;
  for (std::size_t k = 0; k < range; ++k) total_bits += freq[k] * len[k];
  std::size_t start = out.size();
  out.resize(start + 8 + (total_bits + 7) / 8 + 8);
  std::uint8_t *dst = out.data() + start + 8;
  std::uint64_t acc = 0;
  int bits = 0;
  std::size_t pos = 0;
  // Two symbols per step (<= 32 bits together, as codes are <= 16 bits) halve the serial chain
  // through `acc` and `bits`; `bits` < 32 before each step, so `acc` never overflows.
  auto flush = [&] {
    if (bits >= 32) {
      std::uint32_t word = static_cast<std::uint32_t>(acc);
      std::memcpy(dst + pos, &word, 4);
      pos += 4;
      acc >>= 32;
      bits -= 32;
    }
  };
  for (i = 0; i + 2 <= n; i += 2) {
    std::uint32_t ea = code[symbols[i] - lo], eb = code[symbols[i + 1] - lo];
    int la = int(ea >> 16), lb = int(eb >> 16);
    std::uint64_t v = std::uint64_t(ea & 0xffff) | (std::uint64_t(eb & 0xffff) << la);
    acc |= v << bits;
    bits += la + lb;
    flush();
  }
  for (; i < n; ++i) {
    std::uint32_t e = code[symbols[i] - lo];
    acc |= std::uint64_t(e & 0xffff) << bits;
    bits += int(e >> 16);
    flush();
  }
  while (bits > 0) {
    dst[pos++] = static_cast<std::uint8_t>(acc);
    acc >>= 8;
    bits -= 8;
  }
  std::uint64_t stream_bytes = pos;
  std::memcpy(out.data() + start, &stream_bytes, 8);
  out.resize(start + 8 + pos);
}

std::size_t huffman_decode(const std::uint8_t *in, std::size_t size, std::uint16_t *symbols,
                           std::size_t n) {
  ByteReader r(in, size, "Huffman table");
  std::uint32_t m = r.get<std::uint32_t>();
  TENET_USER_CHECK(m >= 1 && m <= 65536, "corrupt compressed data: Huffman table has ", m, " symbols");
  std::vector<std::uint16_t> syms(m);
  std::vector<std::uint8_t> lens(m);
  std::uint32_t prev = 0;
  for (std::uint32_t i = 0; i < m; ++i) {
    std::uint32_t d = get_varint(r);
    std::uint32_t s = prev + d;
    TENET_USER_CHECK(s <= 65535 && (i == 0 || d > 0), "corrupt compressed data: Huffman table symbols");
    syms[i] = static_cast<std::uint16_t>(s);
    prev = s;
    lens[i] = r.get<std::uint8_t>();
  }
  if (m == 1) {
    TENET_USER_CHECK(lens[0] == 0, "corrupt compressed data: Huffman table lengths");
    std::fill(symbols, symbols + n, syms[0]);
    return r.position();
  }
  // Validate lengths: 1..max and a complete prefix code (Kraft sum exactly 1), so every bit
  // pattern decodes and the table below has no holes.
  std::uint64_t kraft = 0;
  int count[kHuffmanMaxBits + 2] = {0};
  for (auto l : lens) {
    TENET_USER_CHECK(l >= 1 && l <= kHuffmanMaxBits, "corrupt compressed data: Huffman code length ", int(l));
    kraft += std::uint64_t(1) << (kHuffmanMaxBits - l);
    ++count[l];
  }
  TENET_USER_CHECK(kraft == (std::uint64_t(1) << kHuffmanMaxBits),
                   "corrupt compressed data: Huffman code lengths are not a complete code");
  std::vector<std::uint16_t> order = canonical_order(syms, lens);
  std::vector<std::uint8_t> len_of(65536, 0);
  for (std::uint32_t i = 0; i < m; ++i) len_of[syms[i]] = lens[i];

  // first[l]: first canonical code of length l; index[l]: its position in `order`.
  std::uint32_t first[kHuffmanMaxBits + 2] = {0}, index[kHuffmanMaxBits + 2] = {0};
  {
    std::uint32_t c = 0, k = 0;
    for (int l = 1; l <= kHuffmanMaxBits; ++l) {
      first[l] = c;
      index[l] = k;
      c = (c + count[l]) << 1;
      k += count[l];
    }
  }
  // Direct table for codes up to kLutBits (len 0 marks longer codes, decoded bit by bit).
  struct Entry {
    std::uint16_t sym;
    std::uint8_t len;
  };
  std::vector<Entry> lut(std::size_t(1) << kLutBits, Entry{0, 0});
  {
    std::uint32_t c = 0;
    int cur = len_of[order[0]];
    for (std::size_t i = 0; i < order.size(); ++i) {
      int l = len_of[order[i]];
      c <<= (l - cur);
      cur = l;
      if (l <= kLutBits) {
        std::uint32_t rev = reverse_bits(c, l);
        for (std::uint32_t hi = 0; hi < (1u << (kLutBits - l)); ++hi)
          lut[rev | (hi << l)] = Entry{order[i], static_cast<std::uint8_t>(l)};
      }
      ++c;
    }
  }

  std::uint64_t stream_bytes = r.get<std::uint64_t>();
  TENET_USER_CHECK(stream_bytes <= r.remaining(), "corrupt compressed data: Huffman stream truncated");
  const std::uint8_t *p = r.take(static_cast<std::size_t>(stream_bytes));
  const std::size_t limit = static_cast<std::size_t>(stream_bytes);
  // Reader: `acc` holds `bits` valid bits; refills load 8 bytes at `pos` <= limit + 8, within the
  // 16 bytes of slack past `limit` promised by the caller.
  std::uint64_t acc = 0;
  int bits = 0;
  std::size_t pos = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (bits < kHuffmanMaxBits) {
      // Past limit + 8 every bit still in `acc` lies beyond the stream: it has ended early.
      if (pos > limit + 8) throw Error("corrupt compressed data: Huffman stream ends early");
      std::uint64_t w;
      std::memcpy(&w, p + pos, 8);
      acc |= w << bits;
      pos += (63 - bits) >> 3;
      bits |= 56;
    }
    Entry e = lut[acc & ((1u << kLutBits) - 1)];
    if (e.len) {
      symbols[i] = e.sym;
      acc >>= e.len;
      bits -= e.len;
      continue;
    }
    std::uint32_t c = 0;
    int l = 0;
    for (;;) {
      c = (c << 1) | static_cast<std::uint32_t>(acc & 1);
      acc >>= 1;
      ++l;
      if (l > kHuffmanMaxBits) throw Error("corrupt compressed data: bad Huffman code");
      if (c - first[l] < std::uint32_t(count[l])) break;
    }
    bits -= l;
    symbols[i] = order[index[l] + (c - first[l])];
  }
  // Bits consumed must lie within the stream (the slack only ever holds zeros we over-read).
  std::size_t consumed_bits = pos * 8 - std::size_t(bits);
  TENET_USER_CHECK(consumed_bits <= limit * 8,
                   "corrupt compressed data: Huffman stream ends early");
  return r.position();
}

}  // namespace tenet::internal
