// `tenet demo`: 2D acoustic modelling on a built-in layered model with an anomaly; writes the
// model, the shot record and a wavefield snapshot as PNG images, and a JSON summary.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "Commands.h"
#include "Survey.h"
#include "seismic/Acoustic.h"
#include "seismic/Image.h"
#include "support/Error.h"

namespace tenet::cli {

namespace {

struct DemoOptions {
  std::string out = "out";
  std::vector<std::int64_t> shape = {401, 201};
  double spacing = 10.0;
  int space_order = 8;
  double f0 = 0.015;
  double tn = 1500.0;
  std::string dtype = "float32";
};

void run_demo(const DemoOptions &o) {
  check_shape_sizes(o.shape, 2, 2, "301,101 (NX,NZ)");
  for (auto n : o.shape) TENET_USER_CHECK(n >= 8, "--shape: every size must be at least 8 points (got ", n, ")");
  check_space_order(o.space_order);
  TENET_USER_CHECK(std::isfinite(o.spacing) && o.spacing > 0, "--spacing ", o.spacing, ": must be positive (m)");
  TENET_USER_CHECK(std::isfinite(o.f0) && o.f0 > 0, "--f0 ", o.f0, ": must be positive (kHz)");
  TENET_USER_CHECK(std::isfinite(o.tn) && o.tn > 0, "--tn ", o.tn, ": must be positive (ms)");
  std::filesystem::create_directories(o.out);
  VelocityModel model = layered_model(o.shape, {o.spacing, o.spacing}, 40, 4, 0.4);
  AcousticOptions ao;
  ao.space_order = o.space_order;
  ao.f0 = o.f0;
  ao.tn = o.tn;
  ao.dtype = parse_dtype(o.dtype);
  AcousticProblem p(model, ao);
  std::printf("tenet demo: 2D acoustic modelling, %lld x %lld points (+%d absorbing), space order %d, %s\n",
              static_cast<long long>(o.shape[0]), static_cast<long long>(o.shape[1]), model.nbl, o.space_order,
              o.dtype.c_str());
  std::printf("  dt = %.4f ms, %lld time steps, operator built in %.3f s, compiled in %.3f s%s\n", p.dt(),
              static_cast<long long>(p.nt()), p.op().build_seconds(), p.op().jit_seconds(),
              p.op().cache_hit() ? " (cache)" : "");

  // Run to the middle, take a snapshot, then finish the shot.
  const std::int64_t mid = p.nt() / 2;
  ApplyArgs a;
  a.scalars["dt"] = p.dt();
  a.time_m = 1;
  a.time_M = mid;
  PerfReport r1 = p.op().apply(a);
  std::vector<double> snap = p.u().get_data(static_cast<int>((mid + 1) % p.u().nbuf()));
  a.time_m = mid + 1;
  a.time_M = p.nt() - 2;
  PerfReport r2 = p.op().apply(a);
  const double seconds = r1.seconds + r2.seconds;
  const double gpts = static_cast<double>(r1.points + r2.points) / seconds / 1e9;

  const auto ps = model.padded_shape();
  const std::string model_png = o.out + "/model.png", shot_png = o.out + "/shot.png",
                    snap_png = o.out + "/snapshot.png", summary = o.out + "/summary.json";
  write_field_png(model_png, model.velocity, ps[0], ps[1], false, true);
  write_field_png(shot_png, p.rec().get_data(), p.nt(), p.rec().npoint(), true, false, 98.0);
  write_field_png(snap_png, snap, ps[0], ps[1], true, true, 99.5);
  nlohmann::json j = {{"shape", o.shape},
                      {"absorbing_layer", model.nbl},
                      {"space_order", o.space_order},
                      {"dtype", o.dtype},
                      {"dt_ms", p.dt()},
                      {"time_steps", p.nt()},
                      {"receivers", p.rec().npoint()},
                      {"seconds", seconds},
                      {"gpts", gpts},
                      {"build_seconds", p.op().build_seconds()},
                      {"jit_seconds", p.op().jit_seconds()},
                      {"snapshot_time_ms", static_cast<double>(mid + 1) * p.dt()},
                      {"outputs", {model_png, shot_png, snap_png}}};
  write_text_atomically(summary, j.dump(2) + "\n", "demo summary");
  std::printf("  modelled in %.3f s (%.3f billion points/s)\n", seconds, gpts);
  std::printf("  wrote %s (velocity), %s (shot record), %s (wavefield at %.0f ms), %s\n", model_png.c_str(),
              shot_png.c_str(), snap_png.c_str(), static_cast<double>(mid + 1) * p.dt(), summary.c_str());
}

}  // namespace

void add_demo_command(CLI::App &app) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App *c = app.add_subcommand("demo", "2D acoustic modelling on a built-in layered model with an anomaly; "
                                           "writes PNG images and a JSON summary");
  c->add_option("--out", o->out, "output directory")->capture_default_str();
  c->add_option("--shape", o->shape, "grid points NX,NZ of the physical domain")->delimiter(',')->capture_default_str();
  c->add_option("--spacing", o->spacing, "grid spacing (m)")->capture_default_str();
  c->add_option("--space-order", o->space_order, "space order (even, 2-16)")->capture_default_str();
  c->add_option("--f0", o->f0, "source peak frequency (kHz)")->capture_default_str();
  c->add_option("--tn", o->tn, "recording time (ms)")->capture_default_str();
  c->add_option("--dtype", o->dtype, "float32 or float64")->capture_default_str();
  c->callback([o] { run_demo(*o); });
}

}  // namespace tenet::cli
