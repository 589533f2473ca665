// Every schedule type, run by the executor on a hash-chain stepper over a grid of (N, S, costs):
// each reverse step sees exactly its forward state, the adjoint accumulates in order, no
// schedule exceeds its slots or byte budget, and the executor's counts equal the prediction.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <queue>
#include <tuple>
#include <vector>

#include "HashChainStepper.h"
#include "checkpoint/Executor.h"
#include "checkpoint/MemoryStorage.h"
#include "checkpoint/Schedule.h"
#include "support/Error.h"

namespace tenet {
namespace {

using test::HashChainStepper;

// Runs `schedule` with byte budgets of exactly slots * state size per level. `head_only`: the
// stepper's reverse steps read only part of its state (see the test using it).
ExecutionStats run_and_check(const Schedule &schedule, bool head_only = false) {
  SCOPED_TRACE(schedule.name + " N=" + std::to_string(schedule.steps) + " S=" +
               std::to_string(schedule.slots[0]) + "+" + std::to_string(schedule.slots[1]));
  const ScheduleCost predicted = analyze_schedule(schedule);
  HashChainStepper stepper(schedule.steps, 6);
  stepper.reverse_reads_head_only = head_only;
  const std::size_t bytes = stepper.bytes();
  MemoryStorage memory(std::max<std::size_t>(1, schedule.slots[0]) * bytes);
  MemoryStorage disk(std::max<std::size_t>(1, schedule.slots[1]) * bytes);
  const ExecutionStats stats = execute_schedule(schedule, stepper, memory, &disk);
  EXPECT_TRUE(stepper.errors.empty()) << stepper.errors.front();
  if (!stepper.errors.empty()) return stats;
  EXPECT_EQ(stepper.adjoint, test::expected_adjoint(schedule.steps));
  EXPECT_EQ(stepper.reverse_steps, schedule.steps);
  EXPECT_EQ(stats.forward_steps, predicted.advanced_steps);
  EXPECT_EQ(stepper.forward_steps, predicted.advanced_steps);
  EXPECT_EQ(stats.recomputed_steps, predicted.recomputed_steps);
  EXPECT_EQ(stats.reverse_steps, schedule.steps);
  EXPECT_EQ(stats.saves[0], predicted.saves[0]);
  EXPECT_EQ(stats.saves[1], predicted.saves[1]);
  EXPECT_EQ(stats.loads[0], predicted.loads[0]);
  EXPECT_EQ(stats.loads[1], predicted.loads[1]);
  EXPECT_LE(predicted.peak_slots[0], schedule.slots[0]);
  EXPECT_LE(predicted.peak_slots[1], schedule.slots[1]);
  if (head_only) {
    EXPECT_LE(stats.peak_bytes_memory, predicted.peak_slots[0] * bytes);
    EXPECT_LE(stats.peak_bytes_disk, predicted.peak_slots[1] * bytes);
  } else {
    EXPECT_EQ(stats.peak_bytes_memory, predicted.peak_slots[0] * bytes);
    EXPECT_EQ(stats.peak_bytes_disk, predicted.peak_slots[1] * bytes);
  }
  EXPECT_EQ(memory.bytes_in_use(), 0u);
  EXPECT_EQ(disk.bytes_in_use(), 0u);
  return stats;
}

TEST(checkpoint_ScheduleValidity, RevolveStoreAllPeriodicOnlineOverAGrid) {
  for (int n : {1, 2, 3, 4, 5, 7, 10, 16, 31, 64, 100, 257}) {
    for (int s : {1, 2, 3, 4, 6, 10, 40}) {
      run_and_check(revolve_schedule(n, s));
      run_and_check(online_revolve_schedule(n, s));
      if (s >= std::max(1, n - 1)) run_and_check(store_all_schedule(n, s));
      bool periodic_fits = false;
      for (int k = 1; k <= n; ++k) {
        periodic_fits |= (n + k - 1) / k + std::max(0, std::min(k, n) - 2) <= s;
      }
      if (periodic_fits) run_and_check(periodic_schedule(n, s));
    }
  }
  run_and_check(periodic_schedule(1000, 200, 10));
  run_and_check(periodic_schedule(999, 200, 7));
}

// A stepper whose reverse step reads only part of the state: a checkpoint the schedule restores
// only to reverse the same step at once holds just that part (Checkpointable::reverse_state_at),
// and every state it is restored to for advancing is whole (the stepper checks its payload on
// every forward step). Revolve with many snapshots restores nearly every state only to reverse
// it, so it keeps far fewer bytes.
TEST(checkpoint_ScheduleValidity, CheckpointsRestoredOnlyToReverseHoldWhatTheReverseReads) {
  for (const Schedule &schedule : {revolve_schedule(100, 40), revolve_schedule(100, 10), revolve_schedule(257, 6),
                                   periodic_schedule(1000, 200, 10), two_level_schedule(97, 4, 3, 1.0, 1.0)})
    run_and_check(schedule, true);
  const Schedule many = revolve_schedule(100, 40);
  const std::size_t whole = analyze_schedule(many).peak_slots[0] * HashChainStepper(100, 6).bytes();
  EXPECT_LT(run_and_check(many, true).peak_bytes_memory, whole / 2);
}

TEST(checkpoint_ScheduleValidity, TwoLevelOverAGridOfCosts) {
  for (int n : {1, 2, 3, 5, 8, 13, 40, 97}) {
    for (int m : {0, 1, 2, 4}) {
      for (int d : {0, 1, 3}) {
        if (m + d == 0) continue;
        for (auto [w, r] : {std::pair{0.0, 0.0}, {1.0, 1.0}, {4.0, 2.0}, {0.5, 10.0}, {100.0, 100.0}}) {
          run_and_check(two_level_schedule(n, m, d, w, r));
        }
      }
    }
  }
}

TEST(checkpoint_ScheduleValidity, ExecutorRejectsInvalidSchedules) {
  Schedule bad;
  bad.name = "hand-made";
  bad.steps = 3;
  bad.slots[0] = 1;
  bad.actions = {{ActionKind::Save, 0, 0, 0, 0}, {ActionKind::Advance, 0, 1, 0, 0},
                 {ActionKind::Reverse, 2, 3, 0, 0}};
  HashChainStepper stepper(3);
  MemoryStorage memory;
  EXPECT_THROW(execute_schedule(bad, stepper, memory), Error);
  EXPECT_EQ(stepper.forward_steps, 0);  // checked before anything runs
  Schedule over = revolve_schedule(20, 4);
  over.slots[0] = 3;  // one slot fewer than it uses
  EXPECT_THROW(analyze_schedule(over), Error);
}

TEST(checkpoint_ScheduleValidity, MemoryBudgetTooSmallIsAClearError) {
  const Schedule s = revolve_schedule(50, 5);
  HashChainStepper stepper(50);
  MemoryStorage memory(4 * stepper.bytes());  // 5 snapshots need 5 states
  try {
    execute_schedule(s, stepper, memory);
    FAIL() << "expected a budget error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("budget"), std::string::npos) << e.what();
  }
  EXPECT_EQ(memory.bytes_in_use(), 0u);  // everything released on the error
  EXPECT_EQ(snapshots_for_budget(4 * stepper.bytes(), stepper.bytes()), 4);
}

// ---- Two-level optimality --------------------------------------------------------------------

// Exhaustive search of the two-level cost model over all action sequences (no structural
// assumption): advance 1 step = 1, disk write = W, disk read = R, memory save/load free.
double brute_force_two_level(int n, int m, int d, double w, double r) {
  // State: current state (n+1 = none), next step to reverse (n = done), memory and disk sets.
  using Key = std::tuple<int, int, unsigned, unsigned>;
  std::map<Key, double> dist;
  using Item = std::pair<double, Key>;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> queue;
  const int none = n + 1;
  auto push = [&](double c, Key k) {
    auto it = dist.find(k);
    if (it != dist.end() && it->second <= c) return;
    dist[k] = c;
    queue.push({c, k});
  };
  // As in every schedule here, the initial state is saved first (to memory or to disk).
  if (m >= 1) push(0, {0, n - 1, 1u, 0u});
  if (d >= 1) push(w, {0, n - 1, 0u, 1u});
  while (!queue.empty()) {
    auto [c, k] = queue.top();
    queue.pop();
    if (dist[k] < c) continue;
    auto [cur, next, mem, disk] = k;
    if (next < 0) return c;
    // States after `next` are never needed again; dropping them is free, so keep sets clean.
    const unsigned keep = (2u << next) - 1;
    mem &= keep;
    disk &= keep;
    if (cur != none && cur < next) push(c + 1, {cur + 1, next, mem, disk});
    if (cur == next) push(c, {none, next - 1, mem, disk});
    if (cur != none && cur <= next) {
      if (__builtin_popcount(mem) < m && !(mem >> cur & 1)) push(c, {cur, next, mem | 1u << cur, disk});
      if (__builtin_popcount(disk) < d && !(disk >> cur & 1)) push(c + w, {cur, next, mem, disk | 1u << cur});
    }
    for (int x = 0; x <= next; ++x) {
      if (mem >> x & 1) {
        push(c, {x, next, mem, disk});
        push(c, {cur, next, mem & ~(1u << x), disk});
      }
      if (disk >> x & 1) {
        push(c + r, {x, next, mem, disk});
        push(c, {cur, next, mem, disk & ~(1u << x)});
      }
    }
  }
  return -1;
}

TEST(checkpoint_TwoLevelOptimality, MatchesExhaustiveSearchOnSmallCases) {
  for (int n = 1; n <= 7; ++n) {
    for (int m = 0; m <= 2; ++m) {
      for (int d = 0; d <= 2; ++d) {
        if (m + d == 0) continue;
        for (auto [w, r] : {std::pair{0.0, 0.0}, {1.0, 1.0}, {2.0, 0.5}, {0.5, 3.0}, {3.0, 1.5}}) {
          const Schedule s = two_level_schedule(n, m, d, w, r);
          const double got = analyze_schedule(s).weighted_cost;
          const double best = brute_force_two_level(n, m, d, w, r);
          ASSERT_NEAR(got, best, 1e-9) << "N=" << n << " M=" << m << " D=" << d << " W=" << w
                                       << " R=" << r;
          ASSERT_NEAR(internal::two_level_cost(n, m, d, w, r), got, 1e-9);
        }
      }
    }
  }
}

TEST(checkpoint_TwoLevelOptimality, ReducesToBinomialCases) {
  for (int n : {10, 57, 200}) {
    for (int m : {1, 2, 5}) {
      // No disk: exactly Revolve with m snapshots.
      EXPECT_EQ(analyze_schedule(two_level_schedule(n, m, 0, 3, 3)).weighted_cost,
                internal::revolve_cost(n, m));
      // Free disk: as good as Revolve with m + d memory snapshots.
      EXPECT_EQ(analyze_schedule(two_level_schedule(n, m, 4, 0, 0)).weighted_cost,
                internal::revolve_cost(n, m + 4));
      // Disk too expensive to pay off: memory Revolve.
      const ScheduleCost c = analyze_schedule(two_level_schedule(n, m, 4, 1e9, 1e9));
      EXPECT_EQ(c.weighted_cost, internal::revolve_cost(n, m));
      EXPECT_EQ(c.saves[kDiskLevel], 0);
    }
  }
  // Only disk: Revolve on disk, paying W per save and R per load.
  const ScheduleCost c = analyze_schedule(two_level_schedule(30, 0, 4, 0, 0));
  EXPECT_EQ(c.advanced_steps, internal::revolve_cost(30, 4));
}

TEST(checkpoint_TwoLevelOptimality, MoreSlotsNeverCostMore) {
  for (int n : {50, 120}) {
    double previous = 1e300;
    for (int d = 0; d <= 6; ++d) {
      const double c = internal::two_level_cost(n, 2, d, 2.0, 1.0);
      EXPECT_LE(c, previous + 1e-9);
      previous = c;
    }
  }
}

// ---- Online ----------------------------------------------------------------------------------

// The stated bound (header comment of OnlineRevolve and `tenet schedule --online`): online
// advanced steps <= the offline optimum + N (at most one extra forward sweep, the price of not
// knowing N), hence total forward evaluations <= 2 x the offline total. Checked for N up to
// 10,000; the measured worst ratios are printed.
TEST(checkpoint_OnlineRevolve, WithinStatedFactorOfOfflineOptimum) {
  double worst_eval = 0, worst_eval_large = 0;
  std::vector<int> ns;
  for (int n = 1; n <= 300; ++n) ns.push_back(n);
  for (int n = 301; n <= 10000; n += 97) ns.push_back(n);
  ns.push_back(10000);
  for (int s : {1, 2, 3, 4, 5, 8, 10, 16, 20, 32}) {
    for (int n : ns) {
      const ScheduleCost online = analyze_schedule(online_revolve_schedule(n, s));
      const std::int64_t offline = internal::revolve_cost(n, s);
      ASSERT_LE(online.peak_slots[kMemoryLevel], s);
      ASSERT_LE(online.advanced_steps, offline + n) << "N=" << n << " S=" << s;
      const double eval_ratio = double(online.forward_evaluations) / double(offline + n);
      ASSERT_LE(eval_ratio, 2.0) << "N=" << n << " S=" << s;
      worst_eval = std::max(worst_eval, eval_ratio);
      if (n >= 1000) worst_eval_large = std::max(worst_eval_large, eval_ratio);
    }
  }
  std::printf("online/offline forward evaluations, worst ratio: %.3f (all N), %.3f (N >= 1000)\n",
              worst_eval, worst_eval_large);
  // Many snapshots (the reversal plan then avoids its O(S^3) search).
  for (int s : {100, 300, 1000}) {
    for (int n : {250, 301, 2000, 10000}) {
      const ScheduleCost online = analyze_schedule(online_revolve_schedule(n, s));
      ASSERT_LE(online.advanced_steps, internal::revolve_cost(n, s) + n) << "N=" << n << " S=" << s;
      ASSERT_LE(online.peak_slots[kMemoryLevel], s);
    }
  }
}

TEST(checkpoint_OnlineRevolve, ExecutorStopsWhenTheUserSaysSo) {
  for (int s : {1, 2, 5}) {
    for (int n : {1, 9, 130}) {
      HashChainStepper stepper(n);
      MemoryStorage memory(s * stepper.bytes());
      const ExecutionStats stats =
          execute_online(s, stepper, memory, [n](int t) { return t < n; });
      ASSERT_TRUE(stepper.errors.empty()) << stepper.errors.front();
      EXPECT_EQ(stats.steps, n);
      EXPECT_EQ(stepper.adjoint, test::expected_adjoint(n));
      EXPECT_EQ(stats.forward_steps, analyze_schedule(online_revolve_schedule(n, s)).advanced_steps);
    }
  }
  HashChainStepper stepper(3);
  MemoryStorage memory;
  EXPECT_THROW(execute_online(2, stepper, memory, [](int) { return false; }), Error);
}

}  // namespace
}  // namespace tenet
