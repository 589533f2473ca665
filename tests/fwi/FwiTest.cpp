// End to end: a few iterations of FWI on a small circle model lower the misfit by a clear
// factor and move the velocity toward the truth inside the anomaly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "seismic/Fwi.h"
#include "support/Error.h"

namespace tenet {
namespace {

struct CircleCase {
  FwiConfig config;
  std::vector<std::size_t> inside;  // padded-grid indices inside the anomaly

  CircleCase() {
    const std::vector<std::int64_t> shape{51, 51};
    const std::vector<double> spacing{10.0, 10.0};
    const int nbl = 15;
    config.true_model = layered_model(shape, spacing, nbl, 1, 0.5);
    config.initial_model = layered_model(shape, spacing, nbl, 1, 0.0);
    config.acoustic.space_order = 4;
    config.acoustic.f0 = 0.012;
    config.acoustic.tn = 500.0;
    config.acoustic.dtype = DType::Float32;
    for (int s = 0; s < 4; ++s) config.sources.push_back({50.0 + 130.0 * s, 20.0});
    for (int r = 0; r < 51; ++r) {
      config.receivers.push_back(10.0 * r);
      config.receivers.push_back(480.0);  // transmission through the anomaly
    }
    config.vmin = 1.4;
    config.vmax = 2.5;
    config.optimizer.iterations = 8;
    config.gradient.strategy = GradientStrategy::Revolve;
    config.gradient.snapshots = 20;
    config.progress = false;
    for (std::size_t i = 0; i < config.true_model.velocity.size(); ++i)
      if (config.true_model.velocity[i] > config.initial_model.velocity[i] + 0.25) inside.push_back(i);
  }
};

TEST(fwi_Inversion, CircleModelMisfitFallsAndVelocityMovesTowardTheTruth) {
  CircleCase k;
  ASSERT_GT(k.inside.size(), 20u);
  int calls = 0;
  FwiResult r = run_fwi(k.config, [&](const FwiIteration &, const VelocityModel &) {
    ++calls;
    return true;
  });
  ASSERT_GE(r.history.size(), 2u);
  EXPECT_EQ(calls + 1, static_cast<int>(r.history.size()));
  const double first = r.history.front().misfit, last = r.history.back().misfit;
  EXPECT_LT(last, first / 4) << "misfit " << first << " -> " << last;
  for (const auto &h : r.history) std::printf("iteration %d: misfit %.4g\n", h.iteration, h.misfit);
  double before = 0, after = 0;
  for (std::size_t i : k.inside) {
    before += k.config.true_model.velocity[i] - k.config.initial_model.velocity[i];
    after += k.config.true_model.velocity[i] - r.model.velocity[i];
  }
  EXPECT_LT(after, 0.7 * before) << "mean velocity error inside the anomaly did not shrink enough";
  for (double v : r.model.velocity) {
    EXPECT_GE(v, k.config.vmin - 1e-9);
    EXPECT_LE(v, k.config.vmax + 1e-9);
  }
}

TEST(fwi_Inversion, BadConfigurationGivesClearErrors) {
  CircleCase k;
  k.config.sources.clear();
  EXPECT_THROW(run_fwi(k.config), Error);
  CircleCase b;
  b.config.vmin = 3.0;
  b.config.vmax = 2.0;
  try {
    run_fwi(b.config);
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("vmin"), std::string::npos);
  }
}

}  // namespace
}  // namespace tenet
