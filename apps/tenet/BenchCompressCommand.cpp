// `tenet bench compress`: ratio, speed (1 and 2 threads, both ways), max error / bound and PSNR
// of every lossy codec on wavefield snapshots, at relative bounds 1e-1 .. 1e-6; JSON on stdout.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "Commands.h"
#include "compress/Compressor.h"
#include "compress/Metrics.h"
#include "support/Error.h"

namespace tenet::cli {

namespace {

double ricker(double t, double f0) {
  double a = M_PI * f0 * (t - 1.0 / f0);
  a *= a;
  return (1 - 2 * a) * std::exp(-a);
}

}  // namespace

/// The source of benchmark fields: a snapshot of an acoustic wavefield on an n^dims grid.
/// `phase` "early": the first wavefront has crossed about a fifth of the model (mostly quiet);
/// "late": it has crossed the model about 1.3 times (2D; 1.0 in 3D, for time) and reflections fill it.
///
/// For now a small self-contained second-order finite-difference loop (2nd order in time, 4th
/// in space): point Ricker source near the top, layered velocity with three reflectors and a
/// dipping one, sponge at the sides and bottom. To be replaced by our DSL acoustic example.
std::vector<float> make_wavefield(int dims, int n, const std::string &phase) {
  TENET_USER_CHECK(dims == 2 || dims == 3, "make_wavefield: dims must be 2 or 3");
  TENET_USER_CHECK(n >= 16, "make_wavefield: n must be at least 16");
  TENET_USER_CHECK(phase == "early" || phase == "late", "make_wavefield: phase is early or late");
  const double dx = 10.0, cmin = 1500, cmax = 3500;
  const double dt = 0.4 * dx / (cmax * std::sqrt(double(dims)));
  const double f0 = cmin / (12 * dx);  // 12 points per shortest wavelength
  const double travel = (phase == "early" ? 0.2 : dims == 2 ? 1.3 : 1.0) * n * dx;
  const int steps = static_cast<int>(travel / 2200.0 / dt + 1.2 / f0 / dt);
  const std::size_t nz = n, ny = dims == 3 ? n : 1, nx = n, count = nz * ny * nx;
  const std::size_t sz = ny * nx, sy = nx;
  std::vector<float> vel2dt2(count), damp(count), u0(count, 0), u1(count, 0), u2(count, 0);
  const int sponge = std::max(8, n / 12);
  for (std::size_t z = 0; z < nz; ++z)
    for (std::size_t y = 0; y < ny; ++y)
      for (std::size_t x = 0; x < nx; ++x) {
        double depth = double(z) / n, across = double(x) / n;
        double c = depth < 0.3 ? 1500 : depth < 0.5 ? 2000 : depth < 0.7 ? 2600 : 3200;
        if (depth > 0.4 + 0.25 * across && depth < 0.45 + 0.25 * across) c = 3500;  // dipping bed
        std::size_t i = z * sz + y * sy + x;
        vel2dt2[i] = static_cast<float>(c * c * dt * dt / (dx * dx));
        double d = 0;
        auto edge = [&](double dist) {
          if (dist < sponge) d = std::max(d, 0.02 * (1 - dist / sponge) * (1 - dist / sponge));
        };
        edge(double(x));
        edge(double(nx - 1 - x));
        edge(double(nz - 1 - z));
        if (dims == 3) {
          edge(double(y));
          edge(double(ny - 1 - y));
        }
        damp[i] = static_cast<float>(d);
      }
  const std::size_t src = (nz / 10) * sz + (ny / 2) * sy + nx / 2;
  const float c0 = dims == 2 ? -5.0f : -7.5f, c1 = 4.0f / 3.0f, c2 = -1.0f / 12.0f;
  for (int t = 0; t < steps; ++t) {
    // u2 = 2 u1 - u0 + v^2 dt^2 lap(u1), with a sponge damping u near the edges.
#pragma omp parallel for schedule(static)
    for (std::size_t z = 2; z < nz - 2; ++z)
      for (std::size_t y = (dims == 3 ? 2 : 0); y < (dims == 3 ? ny - 2 : 1); ++y) {
        std::size_t row = z * sz + y * sy;
        for (std::size_t x = 2; x < nx - 2; ++x) {
          std::size_t i = row + x;
          float lap = c0 * u1[i] + c1 * (u1[i - 1] + u1[i + 1] + u1[i - sz] + u1[i + sz]) +
                      c2 * (u1[i - 2] + u1[i + 2] + u1[i - 2 * sz] + u1[i + 2 * sz]);
          if (dims == 3) lap += c1 * (u1[i - sy] + u1[i + sy]) + c2 * (u1[i - 2 * sy] + u1[i + 2 * sy]);
          float d = damp[i];
          u2[i] = ((2 - d) * u1[i] - (1 - d) * u0[i] + vel2dt2[i] * lap);
        }
      }
    u2[src] += static_cast<float>(ricker(t * dt, f0) * dt * dt * 1e6);
    std::swap(u0, u1);
    std::swap(u1, u2);
  }
  return u1;
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
    std::string input, dims, codecs = "sz,zfp";
  };
  auto opt = std::make_shared<Options>();
  CLI::App *cmd = bench.add_subcommand(
      "compress", "Compression ratio, speed (1 and 2 threads), error and PSNR on wavefield snapshots (JSON)");
  cmd->add_flag("--quick", opt->quick, "Small fields (2D 256^2, 3D 64^3) and bounds 1e-2..1e-4");
  cmd->add_flag("--table", opt->table, "Also print a text table on stderr");
  cmd->add_option("--input", opt->input, "A float32 raw file (little-endian, C order) instead of wavefields");
  cmd->add_option("--dims", opt->dims, "Shape of --input, slowest first: NZ,NY,NX");
  cmd->add_option("--codecs", opt->codecs, "Comma-separated codecs to measure (default sz,zfp)");
  cmd->callback([opt] {
    std::vector<Field> fields;
    if (!opt->input.empty()) {
      TENET_USER_CHECK(!opt->dims.empty(), "--input needs --dims");
      Field f{opt->input, parse_shape(opt->dims), {}};
      std::size_t n = 1;
      for (auto d : f.shape) n *= std::size_t(d);
      std::ifstream in(opt->input, std::ios::binary | std::ios::ate);
      TENET_USER_CHECK(in, "cannot open ", opt->input);
      std::size_t size = static_cast<std::size_t>(in.tellg());
      TENET_USER_CHECK(size == n * 4, opt->input, " has ", size, " bytes but --dims ", opt->dims,
                       " as float32 needs ", n * 4);
      in.seekg(0);
      f.data.resize(n);
      in.read(reinterpret_cast<char *>(f.data.data()), std::streamsize(size));
      TENET_USER_CHECK(in, "cannot read ", opt->input);
      fields.push_back(std::move(f));
    } else {
      const int n2 = opt->quick ? 256 : 1000, n3 = opt->quick ? 64 : 256;
      for (const char *phase : {"early", "late"}) {
        fields.push_back({std::string("2d-") + phase, {n2, n2}, make_wavefield(2, n2, phase)});
        fields.push_back({std::string("3d-") + phase, {n3, n3, n3}, make_wavefield(3, n3, phase)});
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
    out["source"] = opt->input.empty() ? "make_wavefield (built-in acoustic FD loop)" : opt->input;
    out["results"] = results;
    std::printf("%s\n", out.dump(2).c_str());
  });
}

}  // namespace tenet::cli
