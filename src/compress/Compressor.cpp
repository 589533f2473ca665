#include "compress/Compressor.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "compress/Format.h"
#include "support/Bytes.h"
#include "support/Error.h"
#include "support/Shape.h"

namespace tenet {

using internal::ArrayDesc;
using internal::CodecId;

const char *mode_name(CompressionMode mode) {
  switch (mode) {
    case CompressionMode::Absolute: return "absolute";
    case CompressionMode::Relative: return "relative";
    case CompressionMode::Precision: return "precision";
    case CompressionMode::Rate: return "rate";
    case CompressionMode::Lossless: return "lossless";
  }
  return "?";
}

std::size_t CompressedInfo::count() const {
  std::size_t n = 1;
  for (auto d : shape) n *= std::size_t(d);
  return n;
}

namespace {

struct CodecEntry {
  CodecId id;
  const char *name;
  // Modes the codec implements; order is the one listed in error messages.
  std::vector<CompressionMode> modes;
};

const std::vector<CodecEntry> &codec_table() {
  using M = CompressionMode;
  // none and zstd are exact, so they also satisfy any Absolute/Relative bound: accepting those
  // modes lets a caller switch codecs without changing its settings.
  static const std::vector<CodecEntry> table = {
      {CodecId::Sz, "sz", {M::Absolute, M::Relative}},
      {CodecId::Zfp, "zfp", {M::Absolute, M::Relative, M::Precision, M::Rate, M::Lossless}},
      {CodecId::Zstd, "zstd", {M::Lossless, M::Absolute, M::Relative}},
      {CodecId::None, "none", {M::Lossless, M::Absolute, M::Relative}},
  };
  return table;
}

const CodecEntry &find_codec(const std::string &name) {
  for (const auto &e : codec_table())
    if (name == e.name) return e;
  std::string list;
  for (const auto &e : codec_table()) list += (list.empty() ? "" : ", ") + std::string(e.name);
  throw Error(internal::cat("unknown compression codec '", name, "'; available: ", list));
}

ArrayDesc describe(DType dtype, std::span<const std::int64_t> shape) {
  TENET_USER_CHECK(shape.size() >= 1 && shape.size() <= 3, "compression needs a 1D, 2D or 3D shape, got ",
                   shape.size(), " dimensions");
  ArrayDesc a;
  a.dtype = dtype;
  a.ndim = static_cast<int>(shape.size());
  std::uint64_t count = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    TENET_USER_CHECK(shape[d] >= 1, "compression shape has extent ", shape[d], " in dimension ", d,
                     "; every extent must be at least 1");
    a.dims[3 - shape.size() + d] = shape[d];
    // Checked before multiplying, so huge extents cannot wrap the product.
    TENET_USER_CHECK(std::uint64_t(shape[d]) <= internal::kMaxElements / count, "array too large to compress");
    count *= std::uint64_t(shape[d]);
  }
  return a;
}

template <class T>
void finite_range(const T *x, std::size_t n, int threads, double &lo, double &hi, bool &nonfinite) {
  const int nt = internal::thread_count(threads, n / 65536 + 1);
  T mn = std::numeric_limits<T>::max(), mx = std::numeric_limits<T>::lowest();
  bool bad = false;
#pragma omp parallel for num_threads(nt) if (nt > 1) reduction(min : mn) reduction(max : mx) reduction(|| : bad) \
    schedule(static)
  for (std::size_t i = 0; i < n; ++i) {
    T v = x[i];
    if (std::isfinite(v)) {
      mn = v < mn ? v : mn;
      mx = v > mx ? v : mx;
    } else {
      bad = true;
    }
  }
  lo = mn;
  hi = mx;
  nonfinite = bad;
}

class CodecCompressor final : public Compressor {
 public:
  CodecCompressor(const CodecEntry &codec, CompressionSettings s) : codec_(codec), settings_(s) {}

  std::vector<std::uint8_t> compress(const void *data, DType dtype,
                                     std::span<const std::int64_t> shape) const override {
    ArrayDesc a = describe(dtype, shape);
    TENET_USER_CHECK(data != nullptr, "compress: null data pointer");
    internal::EncodeArgs args{data, a, settings_.mode, settings_.value, 0.0, threads_};
    bool needs_scan = settings_.mode == CompressionMode::Relative || codec_.id == CodecId::Zfp;
    double lo = 0, hi = 0;
    bool nonfinite = false;
    if (needs_scan) {
      if (dtype == DType::Float32)
        finite_range(static_cast<const float *>(data), a.count(), threads_, lo, hi, nonfinite);
      else
        finite_range(static_cast<const double *>(data), a.count(), threads_, lo, hi, nonfinite);
    }
    // zfp's block transform mixes values, so one NaN would spread through its block: refuse
    // rather than change values silently. sz and zstd store non-finite values exactly.
    TENET_USER_CHECK(!(codec_.id == CodecId::Zfp && nonfinite),
                     "zfp cannot compress NaN or Inf values (array contains some); use codec sz "
                     "or zstd, which store them exactly");
    switch (settings_.mode) {
      case CompressionMode::Absolute: args.abs_bound = settings_.value; break;
      case CompressionMode::Relative:
        // Scaled before subtracting: the range of +-DBL_MAX data overflows, and 0 * Inf is NaN.
        args.abs_bound = hi >= lo ? settings_.value * hi - settings_.value * lo : 0.0;
        break;
      case CompressionMode::Precision:
      case CompressionMode::Rate: args.abs_bound = -1; break;
      case CompressionMode::Lossless: args.abs_bound = 0; break;
    }
    // A bound of Inf (a relative bound near 1 of +-DBL_MAX data) means the same as the largest finite one.
    if (args.abs_bound > std::numeric_limits<double>::max()) args.abs_bound = std::numeric_limits<double>::max();
    std::vector<std::uint8_t> out(internal::kHeaderBytes);
    switch (codec_.id) {
      case CodecId::None: internal::none_encode(args, out); break;
      case CodecId::Zstd: internal::zstd_encode(args, out); break;
      case CodecId::Zfp: internal::zfp_encode(args, out); break;
      case CodecId::Sz: internal::sz_encode(args, out); break;
    }
    internal::Header h;
    h.codec = codec_.id;
    h.array = a;
    h.mode = settings_.mode;
    h.param = settings_.value;
    h.abs_bound = args.abs_bound;
    h.payload_bytes = out.size() - internal::kHeaderBytes;
    h.payload_hash = internal::hash64(out.data() + internal::kHeaderBytes, h.payload_bytes);
    internal::write_header(out.data(), h);
    return out;
  }

  void decompress(std::span<const std::uint8_t> buffer, void *out, DType dtype,
                  std::span<const std::int64_t> shape) const override {
    internal::Header h = internal::read_header(buffer);
    ArrayDesc want = describe(dtype, shape);
    bool same = want.dtype == h.array.dtype && want.ndim == h.array.ndim;
    for (int d = 0; d < 3; ++d) same = same && want.dims[d] == h.array.dims[d];
    TENET_USER_CHECK(same, "compressed buffer holds a ", dtype_name(h.array.dtype), " array of shape ",
                     h.array.dims[0], "x", h.array.dims[1], "x", h.array.dims[2], " (", h.array.ndim,
                     "D) but a ", dtype_name(want.dtype), " array of shape ", want.dims[0], "x",
                     want.dims[1], "x", want.dims[2], " (", want.ndim, "D) was asked for");
    decode_into(h, buffer, out, threads_);
  }

  static void decode_into(const internal::Header &h, std::span<const std::uint8_t> buffer, void *out,
                          int threads) {
    internal::DecodeArgs args{buffer.data() + internal::kHeaderBytes,
                              static_cast<std::size_t>(h.payload_bytes),
                              h.array,
                              h.mode,
                              h.param,
                              h.abs_bound,
                              threads,
                              out};
    switch (h.codec) {
      case CodecId::None: internal::none_decode(args); break;
      case CodecId::Zstd: internal::zstd_decode(args); break;
      case CodecId::Zfp: internal::zfp_decode(args); break;
      case CodecId::Sz: internal::sz_decode(args); break;
    }
  }

  std::string name() const override { return codec_.name; }
  CompressionSettings settings() const override { return settings_; }

 private:
  const CodecEntry &codec_;
  CompressionSettings settings_;
};

}  // namespace

CompressedInfo inspect_compressed(std::span<const std::uint8_t> buffer) {
  internal::Header h = internal::read_header(buffer);
  CompressedInfo info;
  info.codec = internal::codec_name(h.codec);
  info.dtype = h.array.dtype;
  for (int d = 3 - h.array.ndim; d < 3; ++d) info.shape.push_back(h.array.dims[d]);
  info.settings = {h.mode, h.param};
  info.abs_bound = h.abs_bound;
  info.raw_bytes = h.array.bytes();
  info.compressed_bytes = buffer.size();
  return info;
}

std::vector<std::uint8_t> decompress_any(std::span<const std::uint8_t> buffer, CompressedInfo *info,
                                         int threads) {
  internal::Header h = internal::read_header(buffer);
  // A header within the format's limits (checksummed, so forged) can still claim terabytes:
  // refuse what this machine could not hold instead of dying in the allocation.
  const std::size_t memory = physical_memory_bytes();
  TENET_USER_CHECK(memory == 0 || h.array.bytes() <= memory, "compressed buffer claims a ", h.array.dims[0], "x",
                   h.array.dims[1], "x", h.array.dims[2], " ", dtype_name(h.array.dtype), " array (", h.array.bytes(),
                   " bytes), more than this machine's ", memory, " bytes of memory: the header is corrupt or forged, "
                   "or the array needs a larger machine");
  std::vector<std::uint8_t> out(h.array.bytes());
  CodecCompressor::decode_into(h, buffer, out.data(), threads);
  if (info) *info = inspect_compressed(buffer);
  return out;
}

std::vector<std::int64_t> parse_shape(const std::string &text) {
  std::vector<std::int64_t> dims;
  std::size_t at = 0;
  for (;;) {
    std::size_t comma = text.find(',', at);
    std::string part = text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    char *end = nullptr;
    errno = 0;
    long long v = part.empty() ? 0 : std::strtoll(part.c_str(), &end, 10);
    TENET_USER_CHECK(!part.empty() && end && *end == 0 && v >= 1 && errno != ERANGE, "bad extent '", part, "' in shape '", text,
                     "': expected 1 to 3 positive integers, slowest first, e.g. 256,256,256");
    dims.push_back(v);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  TENET_USER_CHECK(dims.size() <= 3, "shape '", text, "' has ", dims.size(), " extents; at most 3 are supported");
  (void)value_count(dims, "shape '" + text + "'");
  return dims;
}

std::vector<std::string> available_codecs() {
  std::vector<std::string> names;
  for (const auto &e : codec_table()) names.push_back(e.name);
  return names;
}

CompressionSettings default_settings(const std::string &codec) {
  const CodecEntry &e = find_codec(codec);
  if (e.id == CodecId::Sz || e.id == CodecId::Zfp) return {CompressionMode::Relative, 1e-4};
  return {CompressionMode::Lossless, 0};
}

std::unique_ptr<Compressor> make_compressor(const std::string &codec,
                                            const CompressionSettings &s) {
  const CodecEntry &e = find_codec(codec);
  bool has = false;
  std::string list;
  for (auto m : e.modes) {
    has = has || m == s.mode;
    list += (list.empty() ? "" : ", ") + std::string(mode_name(m));
  }
  TENET_USER_CHECK(has, "codec '", codec, "' has no ", mode_name(s.mode), " mode; it supports: ", list);
  switch (s.mode) {
    case CompressionMode::Absolute:
    case CompressionMode::Relative:
      TENET_USER_CHECK(std::isfinite(s.value) && s.value >= 0, "error bound must be a finite number >= 0, got ",
                       s.value);
      break;
    case CompressionMode::Precision:
      TENET_USER_CHECK(s.value >= 1 && s.value <= 64 && s.value == std::floor(s.value),
                       "zfp precision must be a whole number of bit planes in 1..64, got ", s.value);
      break;
    case CompressionMode::Rate:
      TENET_USER_CHECK(s.value > 0 && s.value <= 64, "zfp rate must be in (0, 64] bits per value, got ",
                       s.value);
      break;
    case CompressionMode::Lossless: break;
  }
  return std::make_unique<CodecCompressor>(e, s);
}

std::unique_ptr<Compressor> make_compressor(const std::string &codec) {
  return make_compressor(codec, default_settings(codec));
}

}  // namespace tenet
