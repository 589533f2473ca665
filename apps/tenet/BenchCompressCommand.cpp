// `tenet bench compress`: ratio, speed (1 and 2 threads, both ways), max error / bound and PSNR
// of every lossy codec on wavefield snapshots, at relative bounds 1e-1 .. 1e-6; JSON on stdout.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "Commands.h"
#include "seismic/Acoustic.h"
#include "seismic/Models.h"
#include "compress/Compressor.h"
#include "compress/Metrics.h"
#include "support/Error.h"
#include "seismic/SeismicIO.h"

namespace tenet::cli {


/// The source of benchmark fields: a snapshot of an acoustic wavefield on an n^dims grid.
/// `phase` "early": the first wavefront has crossed about a fifth of the model (mostly quiet);
/// "late": it has crossed the model about 1.3 times (2D; 1.0 in 3D, for time) and reflections fill it.
std::vector<float> make_wavefield(int dims, int n, const std::string &phase) {
  TENET_USER_CHECK(dims == 2 || dims == 3, "make_wavefield: dims must be 2 or 3");
  TENET_USER_CHECK(n >= 16, "make_wavefield: n must be at least 16");
  TENET_USER_CHECK(phase == "early" || phase == "late", "make_wavefield: phase is early or late");
  // Our own acoustic example (the DSL, order 8): a layered model with an anomaly, a source
  // inside, the wavefield at a time when the front has travelled a fifth of the domain (early:
  // mostly quiet) or crossed it (late: full of reflections).
  const double dx = 10.0;
  std::vector<std::int64_t> shape(static_cast<std::size_t>(dims), n);
  VelocityModel model = layered_model(shape, std::vector<double>(shape.size(), dx), 20, 6, 0.4);
  AcousticOptions ao;
  ao.space_order = 8;
  ao.f0 = 0.0125;  // 12 points per wavelength at 1.5 km/s and 10 m
  const double travel = (phase == "early" ? 0.2 : dims == 2 ? 1.3 : 1.0) * n * dx;
  ao.tn = travel / 2.0 + 1.2 / ao.f0;
  ao.src.assign(shape.size(), 0.5 * (n - 1) * dx);
  ao.src.back() = 0.3 * (n - 1) * dx;
  ao.rec = ao.src;
  AcousticProblem p(model, ao);
  p.forward();
  const std::vector<double> padded = p.u().get_data(static_cast<int>((p.nt() - 1) % p.u().nbuf()));
  const std::vector<double> physical = crop_padding(padded, shape, model.nbl);
  return std::vector<float>(physical.begin(), physical.end());
}

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Best time of several runs of f (at least 3, and at least 0.2 s in all).
template <class F>
double best_time(F &&f) {
  double best = 1e30, total = 0;
  for (int rep = 0; rep < 20 && (rep < 3 || total < 0.2); ++rep) {
    double t0 = now();
    f();
    double dt = now() - t0;
    best = std::min(best, dt);
    total += dt;
  }
  return best;
}

struct Field {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> data;
};

nlohmann::json measure(const Field &f, const std::string &codec, CompressionSettings s) {
  auto c = make_compressor(codec, s);
  const std::size_t bytes = f.data.size() * sizeof(float);
  const double mb = double(bytes) / 1e6;
  std::vector<std::uint8_t> packed;
  std::vector<float> back(f.data.size());
  nlohmann::json r;
  r["field"] = f.name;
  r["shape"] = f.shape;
  r["codec"] = codec;
  r["mode"] = mode_name(s.mode);
  r["bound"] = s.value;
  for (int threads : {1, 2}) {
    c->set_threads(threads);
    double tc = best_time([&] { packed = c->compress(f.data.data(), DType::Float32, f.shape); });
    double td = best_time([&] { c->decompress(packed, back.data(), DType::Float32, f.shape); });
    r["compress_MBps_" + std::to_string(threads) + "t"] = mb / tc;
    r["decompress_MBps_" + std::to_string(threads) + "t"] = mb / td;
  }
  CompressedInfo info = inspect_compressed(packed);
  ErrorStats e = compare_arrays(f.data.data(), back.data(), f.data.size(), DType::Float32);
  r["abs_bound"] = info.abs_bound;
  r["ratio"] = double(bytes) / double(packed.size());
  r["max_abs_error"] = e.max_abs_error;
  r["max_error_over_bound"] = info.abs_bound > 0 ? e.max_abs_error / info.abs_bound : 0.0;
  r["psnr_db"] = std::isfinite(e.psnr_db) ? nlohmann::json(e.psnr_db) : nlohmann::json("inf");
  return r;
}

}  // namespace

void add_bench_compress_command(CLI::App &bench) {
  struct Options {
    bool quick = false, table = false;
    std::string input, dims, codecs = "sz,zfp", save;
  };
  auto opt = std::make_shared<Options>();
  CLI::App *cmd = bench.add_subcommand(
      "compress", "Compression ratio, speed (1 and 2 threads), error and PSNR on wavefield snapshots (JSON)");
  cmd->add_flag("--quick", opt->quick, "Small fields (2D 256^2, 3D 64^3) and bounds 1e-2..1e-4");
  cmd->add_flag("--table", opt->table, "Also print a text table on stderr");
  cmd->add_option("--input", opt->input, "A float32 raw file (little-endian, C order) instead of wavefields");
  cmd->add_option("--dims", opt->dims, "Shape of --input, slowest first: NZ,NY,NX");
  cmd->add_option("--codecs", opt->codecs, "Comma-separated codecs to measure (default sz,zfp)");
  cmd->add_option("--save-fields", opt->save,
                  "Also write each field to DIR/NAME_SHAPE.f32 (raw float32), to rerun with --input or other tools");
  cmd->callback([opt] {
    std::vector<Field> fields;
    TENET_USER_CHECK(opt->dims.empty() || !opt->input.empty(), "--dims gives the shape of --input; give both or neither");
    if (!opt->input.empty()) {
      TENET_USER_CHECK(!opt->dims.empty(), "--input needs --dims");
      const Array a = read_raw_f32(opt->input, parse_shape(opt->dims));  // float32 values: exact as doubles
      fields.push_back({std::filesystem::path(opt->input).stem().string(), a.shape,
                        std::vector<float>(a.data.begin(), a.data.end())});
    } else {
      const int n2 = opt->quick ? 256 : 1000, n3 = opt->quick ? 64 : 256;
      for (const char *phase : {"early", "late"}) {
        fields.push_back({std::string("2d-") + phase, {n2, n2}, make_wavefield(2, n2, phase)});
        fields.push_back({std::string("3d-") + phase, {n3, n3, n3}, make_wavefield(3, n3, phase)});
      }
    }
    if (!opt->save.empty()) {
      for (const Field &f : fields) {
        std::string shape;
        for (auto d : f.shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
        const std::string path = opt->save + "/" + f.name + "_" + shape + ".f32";
        write_bytes_atomically(path, std::span<const char>(reinterpret_cast<const char *>(f.data.data()),
                                                           f.data.size() * sizeof(float)),
                               "field");
      }
    }
    std::vector<std::string> codecs;
    {
      std::string s = opt->codecs + ",";
      for (std::size_t at = 0, c; (c = s.find(',', at)) != std::string::npos; at = c + 1)
        if (c > at) codecs.push_back(s.substr(at, c - at));
    }
    std::vector<double> bounds = opt->quick ? std::vector<double>{1e-2, 1e-3, 1e-4}
                                            : std::vector<double>{1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6};
    nlohmann::json results = nlohmann::json::array();
    for (const Field &f : fields) {
      for (const auto &codec : codecs) {
        CompressionSettings d = default_settings(codec);
        if (d.mode == CompressionMode::Lossless) {
          results.push_back(measure(f, codec, d));
          continue;
        }
        for (double b : bounds) results.push_back(measure(f, codec, {CompressionMode::Relative, b}));
      }
    }
    if (opt->table) {
      std::fprintf(stderr, "%-9s %-5s %-8s %8s %8s %8s %8s %8s %8s %7s\n", "field", "codec", "bound", "ratio",
                   "c1 MB/s", "d1 MB/s", "c2 MB/s", "d2 MB/s", "err/eb", "PSNR");
      for (const auto &r : results) {
        std::string psnr = r["psnr_db"].is_number() ? std::to_string(int(r["psnr_db"].get<double>())) : "inf";
        std::fprintf(stderr, "%-9s %-5s %-8.0e %8.1f %8.0f %8.0f %8.0f %8.0f %8.3f %7s\n",
                     r["field"].get<std::string>().c_str(), r["codec"].get<std::string>().c_str(),
                     r["bound"].get<double>(), r["ratio"].get<double>(), r["compress_MBps_1t"].get<double>(),
                     r["decompress_MBps_1t"].get<double>(), r["compress_MBps_2t"].get<double>(),
                     r["decompress_MBps_2t"].get<double>(), r["max_error_over_bound"].get<double>(), psnr.c_str());
      }
    }
    nlohmann::json out;
    out["benchmark"] = "compress";
    out["source"] = opt->input.empty() ? "our acoustic example (DSL, space order 8)" : opt->input;
    out["results"] = results;
    std::printf("%s\n", out.dump().c_str());  // one line, as the other benches and bench/run.sh print
  });
}

}  // namespace tenet::cli
