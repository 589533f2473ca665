// Checkpoints held compressed: a lossless codec gives bitwise the uncompressed gradient, and
// an error-bounded one gives a gradient close to it while keeping fewer bytes.
#include <gtest/gtest.h>

#include "GradientTestUtil.h"
#include "compress/CompressedStorage.h"
#include "seismic/Gradient.h"

namespace tenet {
namespace {

TEST(CompressedCheckpoints, LosslessCompressionGivesTheUncompressedGradientBitwise) {
  for (DType dtype : {DType::Float64, DType::Float32}) {
    test::Shot shot = test::make_shot(dtype, {24, 20}, 6, 120.0);
    const GradientProblem problem = gradient_problem(*shot.problem);
    GradientOptions plain;
    plain.strategy = GradientStrategy::Revolve;
    plain.snapshots = 5;
    const GradientResult ref = compute_gradient(problem, shot.observed, plain);
    for (const char *codec : {"zstd", "zfp", "none"}) {  // zfp: its reversible mode
      CompressedStorage storage(make_compressor(codec, {CompressionMode::Lossless, 0}), 0, 2);
      GradientOptions o = plain;
      o.memory_storage = &storage;
      const GradientResult r = compute_gradient(problem, shot.observed, o);
      EXPECT_TRUE(test::bitwise_equal(r.gradient, ref.gradient)) << codec << " " << dtype_name(dtype);
      EXPECT_EQ(r.misfit, ref.misfit);
      EXPECT_EQ(r.stats.recomputed_steps, ref.stats.recomputed_steps);
    }
  }
}

TEST(CompressedCheckpoints, ErrorBoundedCompressionKeepsTheGradientCloseInFewerBytes) {
  test::Shot shot = test::make_shot(DType::Float32, {40, 36}, 8, 200.0);
  const GradientProblem problem = gradient_problem(*shot.problem);
  GradientOptions plain;
  plain.strategy = GradientStrategy::StoreAll;
  const GradientResult ref = compute_gradient(problem, shot.observed, plain);
  CompressedStorage storage(make_compressor("sz", {CompressionMode::Relative, 1e-4}), 0, 2);
  GradientOptions o = plain;
  o.memory_storage = &storage;
  const GradientResult r = compute_gradient(problem, shot.observed, o);
  const double gap = test::max_relative_gap(r.gradient, ref.gradient);
  EXPECT_GT(gap, 0.0);    // lossy: not bitwise
  EXPECT_LT(gap, 1e-2);   // but close
  EXPECT_LT(r.stats.peak_bytes_memory, ref.stats.peak_bytes_memory / 3);
}

}  // namespace
}  // namespace tenet
