// Results are bitwise identical with 1 and 2 OpenMP threads (acoustic with source and
// receivers, 2D and 3D, float32 and float64).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include <omp.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "AcousticFixture.h"

namespace tenet {
namespace {

using Case = test::AcousticCase;

class Threads : public ::testing::TestWithParam<Case> {};

std::vector<char> bytes_of(const FieldData &f) {
  const char *p = static_cast<const char *>(f.buffer.get());
  return std::vector<char>(p, p + f.buffer.bytes());
}

TEST_P(Threads, OneAndTwoThreadsGiveBitwiseIdenticalResults) {
  const Case c = GetParam();
  test::AcousticSetup s(c.ndim, c.n, c.dtype);
  Operator op(s.eqs);
  s.u.fill(0.0);
  op.apply(s.args(1));
  auto u1 = bytes_of(*s.u.data()), r1 = bytes_of(*s.rec.data());
  s.u.fill(0.0);
  s.rec.set_data(std::vector<double>(static_cast<std::size_t>(s.rec.nt() * s.rec.npoint()), 0.0));
  op.apply(s.args(2));
  auto u2 = bytes_of(*s.u.data()), r2 = bytes_of(*s.rec.data());
  EXPECT_TRUE(u1 == u2) << "wavefields differ";
  EXPECT_TRUE(r1 == r2) << "receiver data differ";
  // the run did something: the receivers recorded the wave
  double peak = 0;
  for (double v : s.rec.get_data()) peak = std::max(peak, std::fabs(v));
  EXPECT_GT(peak, 0.0);
}

INSTANTIATE_TEST_SUITE_P(core_Acoustic, Threads,
                         ::testing::Values(Case{2, 61, DType::Float32}, Case{3, 29, DType::Float32},
                                           Case{2, 61, DType::Float64}, Case{3, 29, DType::Float64}));

#if defined(__SSE__)
// Kernels flush subnormals to zero in every thread they run on; OpenMP then reuses those
// threads for the caller's own parallel code, which must find its own modes again (a leaked
// DAZ made an error-bounded compressor change subnormal values at bound 0).
TEST(Threads, KernelsLeaveEveryThreadsFlushModesAsTheyFoundThem) {
  test::AcousticSetup s(2, 61, DType::Float32);
  Operator op(s.eqs);
  auto modes = [] {
    std::vector<unsigned> m(4, 99);
#pragma omp parallel num_threads(4)
    m[static_cast<std::size_t>(omp_get_thread_num())] = _mm_getcsr() & 0x8040u;
    return m;
  };
  const std::vector<unsigned> before = modes();
  ASSERT_EQ(before, std::vector<unsigned>(4, 0u)) << "the test expects the default modes (no FTZ, no DAZ)";
  op.apply(s.args(4));
  EXPECT_EQ(modes(), before) << "FTZ/DAZ left set in a worker thread";
  EXPECT_EQ(_mm_getcsr() & 0x8040u, 0u) << "FTZ/DAZ left set in the calling thread";
}
#endif

}  // namespace
}  // namespace tenet
