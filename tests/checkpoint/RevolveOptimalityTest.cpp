// Revolve's cost equals the binomial optimum. The oracle is derived here, independently of
// src/checkpoint: a closed form from binomial coefficients and a dynamic programme over all
// first-checkpoint positions, which must agree with each other.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "checkpoint/Schedule.h"
#include "support/Error.h"

namespace tenet {
namespace {

// C(n, k) by Pascal's rule on doubles-free integers (n here is small enough not to overflow).
std::int64_t binomial(int n, int k) {
  if (k < 0 || k > n) return 0;
  k = std::min(k, n - k);
  std::int64_t c = 1;
  for (int i = 1; i <= k; ++i) c = c * (n - k + i) / i;
  return c;
}

// Griewank-Walther: with s snapshots (the initial state's included), l steps cost
// r*l - C(s+r, s+1) forward steps, r the least repetition number with C(s+r, s) >= l.
std::int64_t closed_form(std::int64_t l, int s) {
  if (l <= 1) return 0;
  int r = 0;
  while (binomial(s + r, s) < l) ++r;
  return r * l - binomial(s + r, s + 1);
}

// t[s][l] = min over the first checkpoint position j of j + t[s-1][l-j] + t[s][j];
// t[1][l] = l(l-1)/2 (re-advance from the initial state for every step), t[s][1] = 0.
std::vector<std::vector<std::int64_t>> dp_table(int max_l, int max_s) {
  std::vector<std::vector<std::int64_t>> t(max_s + 1, std::vector<std::int64_t>(max_l + 1, 0));
  for (int l = 1; l <= max_l; ++l) t[1][l] = std::int64_t{l} * (l - 1) / 2;
  for (int s = 2; s <= max_s; ++s) {
    for (int l = 2; l <= max_l; ++l) {
      std::int64_t best = t[s - 1][l];  // not using the extra snapshot at all
      for (int j = 1; j < l; ++j) best = std::min(best, j + t[s - 1][l - j] + t[s][j]);
      t[s][l] = best;
    }
  }
  return t;
}

TEST(checkpoint_RevolveOptimality, ClosedFormEqualsDynamicProgramme) {
  const auto t = dp_table(400, 8);
  for (int s = 1; s <= 8; ++s) {
    for (int l = 1; l <= 400; ++l) ASSERT_EQ(closed_form(l, s), t[s][l]) << "l=" << l << " s=" << s;
  }
}

TEST(checkpoint_RevolveOptimality, EveryStepCountUpTo1000AndSnapshotsUpTo20) {
  for (int s = 1; s <= 20; ++s) {
    for (int n = 1; n <= 1000; ++n) {
      const Schedule sched = revolve_schedule(n, s);
      const ScheduleCost c = analyze_schedule(sched);
      ASSERT_EQ(c.advanced_steps, closed_form(n, s)) << "N=" << n << " S=" << s;
      ASSERT_EQ(c.reverse_steps, n);
      ASSERT_LE(c.peak_slots[kMemoryLevel], s);
      ASSERT_EQ(c.recomputed_steps, c.advanced_steps - (n - 1));
      ASSERT_EQ(c.saves[kDiskLevel], 0);
    }
  }
}

TEST(checkpoint_RevolveOptimality, LargerSpotChecks) {
  const std::pair<int, int> cases[] = {{10000, 20}, {10000, 5}, {100000, 10}, {50000, 3},
                                       {200000, 50}, {3000, 2}, {7777, 1}, {1000000, 30}};
  for (const auto &[n, s] : cases) {
    const ScheduleCost c = analyze_schedule(revolve_schedule(n, s));
    EXPECT_EQ(c.advanced_steps, closed_form(n, s)) << "N=" << n << " S=" << s;
    EXPECT_LE(c.peak_slots[kMemoryLevel], s);
  }
  // The DP confirms one large-ish case independently of the closed form.
  const auto t = dp_table(3000, 3);
  EXPECT_EQ(analyze_schedule(revolve_schedule(3000, 3)).advanced_steps, t[3][3000]);
  EXPECT_EQ(analyze_schedule(revolve_schedule(2999, 2)).advanced_steps, t[2][2999]);
}

TEST(checkpoint_RevolveOptimality, InternalCostHelperMatchesOracle) {
  for (int s = 1; s <= 30; ++s) {
    for (std::int64_t n : {1, 2, 3, 10, 99, 1000, 12345, 400000}) {
      EXPECT_EQ(internal::revolve_cost(n, s), closed_form(n, s)) << n << " " << s;
    }
  }
}

TEST(checkpoint_RevolveOptimality, StoreAllNeverRecomputes) {
  for (int n = 1; n <= 60; ++n) {
    const ScheduleCost c = analyze_schedule(store_all_schedule(n, std::max(1, n - 1)));
    EXPECT_EQ(c.advanced_steps, n - 1);
    EXPECT_EQ(c.recomputed_steps, 0);
    EXPECT_EQ(c.peak_slots[kMemoryLevel], std::max(1, n - 1));
  }
  EXPECT_THROW(store_all_schedule(10, 5), Error);
}

TEST(checkpoint_RevolveOptimality, BadArgumentsAreUserErrors) {
  EXPECT_THROW(revolve_schedule(0, 3), Error);
  EXPECT_THROW(revolve_schedule(10, 0), Error);
  EXPECT_THROW(periodic_schedule(100, 3), Error);  // no period fits in 3 snapshots
  EXPECT_THROW(periodic_schedule(100, 30, 50), Error);
  EXPECT_THROW(two_level_schedule(10, 0, 0, 1, 1), Error);
  EXPECT_THROW(two_level_schedule(10, 2, 2, -1, 1), Error);
  EXPECT_THROW(OnlineRevolve(0), Error);
}

}  // namespace
}  // namespace tenet
