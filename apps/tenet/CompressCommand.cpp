// `tenet compress` and `tenet decompress`: raw little-endian C-order arrays <-> .tnz buffers.
// Outputs are written to a temporary file in the same folder and renamed into place, so a
// reader never sees a half-written file.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "Commands.h"
#include "compress/Compressor.h"
#include "compress/Metrics.h"
#include "seismic/SeismicIO.h"
#include "support/Error.h"
#include "support/Shape.h"

namespace tenet::cli {

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<std::uint8_t> read_file(const std::string &path) {
  std::error_code ec;
  TENET_USER_CHECK(std::filesystem::is_regular_file(path, ec), "input file '", path, "' ",
                   std::filesystem::exists(path, ec) ? "is not a regular file (a directory?)" : "does not exist",
                   "; give the path of a file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  TENET_USER_CHECK(in, "cannot open input file '", path, "'");
  std::streamoff size = in.tellg();
  TENET_USER_CHECK(size >= 0, "cannot read input file '", path, "'");
  std::vector<std::uint8_t> data(static_cast<std::size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char *>(data.data()), size);
  TENET_USER_CHECK(in || size == 0, "cannot read input file '", path, "'");
  return data;
}

void write_file_atomic(const std::string &path, const std::vector<std::uint8_t> &bytes, const char *what) {
  write_bytes_atomically(path, std::span<const char>(reinterpret_cast<const char *>(bytes.data()), bytes.size()), what);
}

std::string shape_text(const std::vector<std::int64_t> &shape) {
  std::string s;
  for (auto d : shape) s += (s.empty() ? "" : ",") + std::to_string(d);
  return s;
}

nlohmann::json finite_or_text(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(v > 0 ? "inf" : "nan");
}

}  // namespace

void add_compress_commands(CLI::App &app) {
  struct Options {
    std::string codec = "sz", dims, dtype = "float32", in, out;
    double tolerance = 0, tolerance_rel = 0, precision = 0, rate = 0;
    CLI::Option *tolerance_opt = nullptr, *tolerance_rel_opt = nullptr, *precision_opt = nullptr, *rate_opt = nullptr;
    bool lossless = false, json = false;
    int threads = 0;
  };
  auto opt = std::make_shared<Options>();
  CLI::App *c = app.add_subcommand("compress", "Compress a raw float array (little-endian, C order) into a .tnz file");
  c->add_option("--codec", opt->codec, "Codec: sz, zfp, zstd, none (default sz)");
  opt->tolerance_opt = c->add_option("--tolerance", opt->tolerance, "Absolute error bound on every element");
  opt->tolerance_rel_opt =
      c->add_option("--tolerance-rel", opt->tolerance_rel, "Error bound relative to the value range (max - min)");
  opt->precision_opt = c->add_option("--precision", opt->precision, "zfp fixed precision: bit planes kept");
  opt->rate_opt = c->add_option("--rate", opt->rate, "zfp fixed rate: bits per value");
  c->add_flag("--lossless", opt->lossless, "Bit-exact (zfp reversible, zstd, none)");
  c->add_option("--dims", opt->dims, "Shape, slowest first: NX | NY,NX | NZ,NY,NX")->required();
  c->add_option("--dtype", opt->dtype, "float32 (default) or float64");
  c->add_option("--threads", opt->threads, "Threads (default: all)")->check(CLI::Range(0, 1024));
  c->add_flag("--json", opt->json, "Print ratio, MB/s both ways, max abs error and PSNR as JSON");
  c->add_option("input", opt->in, "Raw input file")->required();
  c->add_option("output", opt->out, "Compressed output file (.tnz)")->required();
  c->callback([opt] {
    // Given values are checked by make_compressor (a negative or NaN bound is an error, not "unset").
    const bool tol = opt->tolerance_opt->count() > 0, rel = opt->tolerance_rel_opt->count() > 0,
               prec = opt->precision_opt->count() > 0, rate = opt->rate_opt->count() > 0;
    const int given = tol + rel + prec + rate + opt->lossless;
    TENET_USER_CHECK(given <= 1, "give only one of --tolerance, --tolerance-rel, --precision, --rate, --lossless");
    CompressionSettings s;
    if (tol) s = {CompressionMode::Absolute, opt->tolerance};
    else if (rel) s = {CompressionMode::Relative, opt->tolerance_rel};
    else if (prec) s = {CompressionMode::Precision, opt->precision};
    else if (rate) s = {CompressionMode::Rate, opt->rate};
    else if (opt->lossless) s = {CompressionMode::Lossless, 0};
    else {
      s = default_settings(opt->codec);  // also rejects unknown codecs
      TENET_USER_CHECK(s.mode == CompressionMode::Lossless, "missing compression mode for codec '", opt->codec,
                       "': give one of --tolerance ABS, --tolerance-rel REL, --precision P, --rate R, --lossless");
    }
    auto comp = make_compressor(opt->codec, s);
    comp->set_threads(opt->threads);
    DType dtype = parse_dtype(opt->dtype);
    std::vector<std::int64_t> shape = parse_shape(opt->dims);
    const auto count = static_cast<std::size_t>(value_count(shape, "--dims"));
    std::vector<std::uint8_t> raw = read_file(opt->in);
    TENET_USER_CHECK(raw.size() == count * dtype_size(dtype), "'", opt->in, "' has ", raw.size(),
                     " bytes but --dims ", opt->dims, " of ", dtype_name(dtype), " needs ", count * dtype_size(dtype),
                     " bytes (", count, " elements of ", dtype_size(dtype), " bytes)");
    double t0 = now();
    std::vector<std::uint8_t> packed = comp->compress(raw.data(), dtype, shape);
    double tc = now() - t0;
    write_file_atomic(opt->out, packed, "compressed file");
    if (!opt->json) return;
    std::vector<std::uint8_t> back(raw.size());
    t0 = now();
    comp->decompress(packed, back.data(), dtype, shape);
    double td = now() - t0;
    ErrorStats e = compare_arrays(raw.data(), back.data(), count, dtype);
    CompressedInfo info = inspect_compressed(packed);
    double mb = double(raw.size()) / 1e6;
    nlohmann::json j;
    j["codec"] = opt->codec;
    j["mode"] = mode_name(s.mode);
    j["parameter"] = s.value;
    j["abs_bound"] = info.abs_bound;
    j["dims"] = shape;
    j["dtype"] = dtype_name(dtype);
    j["raw_bytes"] = raw.size();
    j["compressed_bytes"] = packed.size();
    j["ratio"] = double(raw.size()) / double(packed.size());
    j["compress_MBps"] = mb / tc;
    j["decompress_MBps"] = mb / td;
    j["max_abs_error"] = finite_or_text(e.max_abs_error);
    j["psnr_db"] = finite_or_text(e.psnr_db);
    std::printf("%s\n", j.dump(2).c_str());
  });

  auto dopt = std::make_shared<Options>();
  CLI::App *d = app.add_subcommand("decompress", "Decompress a .tnz file into a raw array (little-endian, C order)");
  d->add_option("--threads", dopt->threads, "Threads (default: all)")->check(CLI::Range(0, 1024));
  d->add_flag("--json", dopt->json, "Print codec, shape, ratio and MB/s as JSON");
  d->add_option("input", dopt->in, "Compressed input file (.tnz)")->required();
  d->add_option("output", dopt->out, "Raw output file")->required();
  d->callback([dopt] {
    std::vector<std::uint8_t> packed = read_file(dopt->in);
    double t0 = now();
    CompressedInfo info;
    std::vector<std::uint8_t> raw = decompress_any(packed, &info, dopt->threads);
    double td = now() - t0;
    write_file_atomic(dopt->out, raw, "raw output file");
    if (!dopt->json) return;
    nlohmann::json j;
    j["codec"] = info.codec;
    j["mode"] = mode_name(info.settings.mode);
    j["parameter"] = info.settings.value;
    j["abs_bound"] = info.abs_bound;
    j["dims"] = info.shape;
    j["dims_text"] = shape_text(info.shape);
    j["dtype"] = dtype_name(info.dtype);
    j["raw_bytes"] = raw.size();
    j["compressed_bytes"] = packed.size();
    j["ratio"] = double(raw.size()) / double(packed.size());
    j["decompress_MBps"] = double(raw.size()) / 1e6 / td;
    std::printf("%s\n", j.dump(2).c_str());
  });
}

}  // namespace tenet::cli
