#include "checkpoint/Schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "support/Error.h"

namespace tenet {
namespace internal {

namespace {

constexpr std::int64_t kSaturated = std::int64_t{1} << 62;

Action make_advance(int t0, int t1) { return Action{ActionKind::Advance, t0, t1, 0, 0}; }
Action make_save(int level, int slot, int t) { return Action{ActionKind::Save, t, t, level, slot}; }
Action make_load(int level, int slot, int t) { return Action{ActionKind::Load, t, t, level, slot}; }
Action make_reverse(int t) { return Action{ActionKind::Reverse, t, t + 1, 0, 0}; }
Action make_free(int level, int slot) { return Action{ActionKind::Free, 0, 0, level, slot}; }

}  // namespace

std::int64_t beta(int s, int r) {
  if (s < 0 || r < 0) return 0;
  // C(s + r, k) with k = min(s, r), built up as C(n-k+i, i) so every partial value is exact.
  const int k = std::min(s, r);
  const std::int64_t n = std::int64_t{s} + r;
  __int128 c = 1;
  for (int i = 1; i <= k; ++i) {
    c = c * (n - k + i) / i;
    if (c >= kSaturated) return kSaturated;
  }
  return static_cast<std::int64_t>(c);
}

int repetition_number(std::int64_t steps, int s) {
  TENET_INTERNAL_CHECK(s >= 1 && steps >= 1);
  if (steps == 1) return 0;
  if (s == 1) return static_cast<int>(steps - 1);  // beta(1, r) = r + 1
  // beta(s, r+1) = beta(s, r) * (s + r + 1) / (r + 1), exact at every step.
  __int128 b = 1;
  int r = 0;
  while (b < steps) {
    b = b * (s + r + 1) / (r + 1);
    ++r;
  }
  return r;
}

std::int64_t revolve_cost(std::int64_t steps, int s) {
  TENET_INTERNAL_CHECK(s >= 1 && steps >= 1);
  if (steps == 1) return 0;
  if (s == 1) return steps * (steps - 1) / 2;
  const int r = repetition_number(steps, s);
  return static_cast<std::int64_t>(r) * steps - beta(s + 1, r - 1);
}

void append_revolve(std::vector<Action> &out, int b, int e, int level, int base_slot,
                    std::vector<int> free_slots, bool hot) {
  TENET_INTERNAL_CHECK(e > b);
  // The second half of every split reuses this frame (a loop, not a call), so the recursion
  // depth is bounded by the number of slots, not by the number of steps.
  for (;;) {
    const int l = e - b;
    const int m = static_cast<int>(free_slots.size()) + 1;
    if (l == 1) {
      if (!hot) out.push_back(make_load(level, base_slot, b));
      out.push_back(make_reverse(b));
      break;
    }
    if (m == 1) {
      // Only the base: re-advance from it for every step, latest first.
      for (int t = e - 1; t >= b; --t) {
        if (!hot) out.push_back(make_load(level, base_slot, b));
        hot = false;
        if (t > b) out.push_back(make_advance(b, t));
        out.push_back(make_reverse(t));
      }
      break;
    }
    if (l <= m + 1) {
      // Enough slots for every state b+1 .. e-2 (the object holds e-1): one sweep, no
      // recomputation. Done without recursion, which would otherwise be l deep.
      if (!hot) out.push_back(make_load(level, base_slot, b));
      std::vector<int> used;
      for (int t = b + 1; t <= e - 1; ++t) {
        out.push_back(make_advance(t - 1, t));
        if (t <= e - 2) {
          used.push_back(free_slots[used.size()]);
          out.push_back(make_save(level, used.back(), t));
        }
      }
      out.push_back(make_reverse(e - 1));
      for (int t = e - 2; t >= b + 1; --t) {
        const int slot = used[static_cast<std::size_t>(t - b - 1)];
        out.push_back(make_load(level, slot, t));
        out.push_back(make_reverse(t));
        out.push_back(make_free(level, slot));
      }
      out.push_back(make_load(level, base_slot, b));
      out.push_back(make_reverse(b));
      break;
    }
    // Binomial split: any l_hat with l_hat in [beta(m, r-2), beta(m, r-1)] and l - l_hat in
    // [beta(m-1, r-1), beta(m-1, r)] is optimal (both halves then cost exactly their own
    // closed form and the sum is r*l - beta(m+1, r-1)); take the largest.
    const int r = repetition_number(l, m);
    const std::int64_t l_hat =
        std::min<std::int64_t>(beta(m, r - 1), std::int64_t{l} - beta(m - 1, r - 1));
    TENET_INTERNAL_CHECK(l_hat >= 1 && l_hat < l, "l=", l, " m=", m, " r=", r);
    const int mid = b + static_cast<int>(l_hat);
    if (!hot) out.push_back(make_load(level, base_slot, b));
    out.push_back(make_advance(b, mid));
    const int slot = free_slots.back();
    free_slots.pop_back();
    out.push_back(make_save(level, slot, mid));
    append_revolve(out, mid, e, level, slot, free_slots, true);  // frees `slot`
    free_slots.push_back(slot);
    e = mid;
    hot = false;
  }
  out.push_back(make_free(level, base_slot));
}

namespace {

void check_steps_and_snapshots(const char *what, int steps, int snapshots) {
  TENET_USER_CHECK(steps >= 1 && steps <= kMostScheduleSteps, what, ": the number of steps must be from 1 to ",
                   kMostScheduleSteps, " (got ", steps, ")");
  TENET_USER_CHECK(snapshots >= 1, what, ": the number of snapshots must be at least 1 (got ",
                   snapshots, "); the slot holding the initial state counts as a snapshot");
}

std::vector<int> slot_range(int from, int to) {  // from .. to-1, used back to front
  std::vector<int> v;
  for (int s = to - 1; s >= from; --s) v.push_back(s);
  return v;
}

// ---- Two-level dynamic programme -------------------------------------------------------------

// Choice codes of the two-level DP. The j of a split is stored beside the kind.
enum class TwoLevelChoice : std::uint8_t { Done, Sweep, SplitMemory, SplitDisk, Promote, Demote };

struct TwoLevelTable {
  int n = 0, mm = 0, dd = 0;  // l in 1..n, m in 0..mm, d in 0..dd
  double w = 0, r = 0;
  // Index [base][m][d][l]; base 0 = memory, 1 = disk. `final` includes moving the base between
  // levels; `plain` does not (used right after such a move, so the two never alternate).
  std::vector<double> cost_final, cost_plain;
  std::vector<TwoLevelChoice> kind_final, kind_plain;
  std::vector<int> j_final, j_plain;

  std::size_t index(int base, int m, int d, int l) const {
    return ((static_cast<std::size_t>(base) * (mm + 1) + m) * (dd + 1) + d) * (n + 1) + l;
  }
};

void solve_two_level(TwoLevelTable &t) {
  const std::size_t size = 2 * static_cast<std::size_t>(t.mm + 1) * (t.dd + 1) * (t.n + 1);
  const double inf = std::numeric_limits<double>::infinity();
  t.cost_final.assign(size, inf);
  t.cost_plain.assign(size, inf);
  t.kind_final.assign(size, TwoLevelChoice::Done);
  t.kind_plain.assign(size, TwoLevelChoice::Done);
  t.j_final.assign(size, 0);
  t.j_plain.assign(size, 0);
  const double load_cost[2] = {0.0, t.r};
  for (int l = 1; l <= t.n; ++l) {
    for (int base = 0; base < 2; ++base) {
      for (int m = 0; m <= t.mm; ++m) {
        for (int d = 0; d <= t.dd; ++d) {
          const std::size_t here = t.index(base, m, d, l);
          if (l == 1) {
            t.cost_plain[here] = 0.0;
            t.kind_plain[here] = TwoLevelChoice::Done;
            continue;
          }
          const double lc = load_cost[base];
          // Sweep: re-advance from the base for every step.
          double best = 0.5 * static_cast<double>(l) * (l - 1) + (l - 1) * lc;
          TwoLevelChoice kind = TwoLevelChoice::Sweep;
          int best_j = 0;
          // Splits: advance j, checkpoint there, reverse [j, l) first, then [0, j) cold.
          const double *second = &t.cost_final[t.index(base, m, d, 0)];
          if (m >= 1) {
            const double *first = &t.cost_final[t.index(0, m - 1, d, 0)];
            for (int j = 1; j < l; ++j) {
              const double c = j + first[l - j] + lc + second[j];
              if (c < best) {
                best = c;
                kind = TwoLevelChoice::SplitMemory;
                best_j = j;
              }
            }
          }
          if (d >= 1) {
            const double *first = &t.cost_final[t.index(1, m, d - 1, 0)];
            for (int j = 1; j < l; ++j) {
              const double c = j + t.w + first[l - j] + lc + second[j];
              if (c < best) {
                best = c;
                kind = TwoLevelChoice::SplitDisk;
                best_j = j;
              }
            }
          }
          t.cost_plain[here] = best;
          t.kind_plain[here] = kind;
          t.j_plain[here] = best_j;
        }
      }
    }
    // Moving the base between levels, for this l (all plain values of l are known now).
    for (int base = 0; base < 2; ++base) {
      for (int m = 0; m <= t.mm; ++m) {
        for (int d = 0; d <= t.dd; ++d) {
          const std::size_t here = t.index(base, m, d, l);
          double best = t.cost_plain[here];
          TwoLevelChoice kind = t.kind_plain[here];
          int best_j = t.j_plain[here];
          if (base == 1 && m >= 1 && d + 1 <= t.dd) {
            // Copy the disk base into a memory slot and release its disk slot.
            const double c = t.cost_plain[t.index(0, m - 1, d + 1, l)];
            if (c < best) {
              best = c;
              kind = TwoLevelChoice::Promote;
            }
          }
          if (base == 0 && d >= 1 && m + 1 <= t.mm) {
            // Write the memory base to disk and release its memory slot.
            const double c = t.w + t.cost_plain[t.index(1, m + 1, d - 1, l)];
            if (c < best) {
              best = c;
              kind = TwoLevelChoice::Demote;
            }
          }
          t.cost_final[here] = best;
          t.kind_final[here] = kind;
          t.j_final[here] = best_j;
        }
      }
    }
  }
}

void emit_two_level(const TwoLevelTable &t, std::vector<Action> &out, int b, int e, int level,
                    int base_slot, std::vector<int> free_mem, std::vector<int> free_disk,
                    bool hot) {
  bool plain = false;  // true right after a move between levels
  for (;;) {
    const int l = e - b;
    const int m = static_cast<int>(free_mem.size());
    const int d = static_cast<int>(free_disk.size());
    if (l == 1) {
      if (!hot) out.push_back(make_load(level, base_slot, b));
      out.push_back(make_reverse(b));
      break;
    }
    const std::size_t here = t.index(level, m, d, l);
    const TwoLevelChoice kind = plain ? t.kind_plain[here] : t.kind_final[here];
    const int j = plain ? t.j_plain[here] : t.j_final[here];
    plain = false;
    switch (kind) {
      case TwoLevelChoice::Done:
        TENET_INTERNAL_CHECK(false, "two-level: no choice for l=", l);
        break;
      case TwoLevelChoice::Sweep:
        for (int s = e - 1; s >= b; --s) {
          if (!hot) out.push_back(make_load(level, base_slot, b));
          hot = false;
          if (s > b) out.push_back(make_advance(b, s));
          out.push_back(make_reverse(s));
        }
        out.push_back(make_free(level, base_slot));
        return;
      case TwoLevelChoice::SplitMemory:
      case TwoLevelChoice::SplitDisk: {
        const int new_level = kind == TwoLevelChoice::SplitMemory ? kMemoryLevel : kDiskLevel;
        std::vector<int> &pool = new_level == kMemoryLevel ? free_mem : free_disk;
        if (!hot) out.push_back(make_load(level, base_slot, b));
        out.push_back(make_advance(b, b + j));
        const int slot = pool.back();
        pool.pop_back();
        out.push_back(make_save(new_level, slot, b + j));
        emit_two_level(t, out, b + j, e, new_level, slot, free_mem, free_disk, true);
        pool.push_back(slot);
        e = b + j;
        hot = false;
        break;
      }
      case TwoLevelChoice::Promote:
      case TwoLevelChoice::Demote: {
        const int new_level = kind == TwoLevelChoice::Promote ? kMemoryLevel : kDiskLevel;
        std::vector<int> &to = new_level == kMemoryLevel ? free_mem : free_disk;
        std::vector<int> &from = new_level == kMemoryLevel ? free_disk : free_mem;
        if (!hot) out.push_back(make_load(level, base_slot, b));
        const int slot = to.back();
        to.pop_back();
        out.push_back(make_save(new_level, slot, b));
        out.push_back(make_free(level, base_slot));
        from.push_back(base_slot);
        level = new_level;
        base_slot = slot;
        hot = true;
        plain = true;
        break;
      }
    }
  }
  out.push_back(make_free(level, base_slot));
}

}  // namespace
}  // namespace internal

// ---- Public schedules ------------------------------------------------------------------------

Schedule revolve_schedule(int steps, int snapshots) {
  internal::check_steps_and_snapshots("revolve schedule", steps, snapshots);
  Schedule s;
  s.name = "revolve";
  s.steps = steps;
  s.slots[kMemoryLevel] = std::min(snapshots, steps);  // more would never be used
  s.actions.push_back(internal::make_save(kMemoryLevel, 0, 0));
  internal::append_revolve(s.actions, 0, steps, kMemoryLevel, 0,
                           internal::slot_range(1, std::min(snapshots, steps)), true);
  return s;
}

Schedule store_all_schedule(int steps, int snapshots) {
  internal::check_steps_and_snapshots("store-all schedule", steps, snapshots);
  const int needed = std::max(1, steps - 1);
  TENET_USER_CHECK(snapshots >= needed, "store-all schedule: ", steps, " steps need ", needed,
                   " snapshots (states 0 .. N-2; the object holds N-1), got ", snapshots,
                   "; give more snapshots or use the revolve schedule");
  Schedule s = revolve_schedule(steps, needed);  // with S >= N-1 Revolve never recomputes
  s.name = "store-all";
  s.slots[kMemoryLevel] = std::min(snapshots, steps);
  return s;
}

namespace {

std::int64_t periodic_slots(int steps, int period) {
  const std::int64_t checkpoints = (std::int64_t{steps} + period - 1) / period;
  return checkpoints + std::max(0, std::min(period, steps) - 2);
}

}  // namespace

Schedule periodic_schedule(int steps, int snapshots, int period) {
  internal::check_steps_and_snapshots("periodic schedule", steps, snapshots);
  TENET_USER_CHECK(period >= 0, "periodic schedule: the period must be >= 1 (or 0 to choose one)"
                   ", got ", period);
  if (period == 0) {
    for (int k = 1; k <= steps; ++k) {
      if (periodic_slots(steps, k) <= snapshots) {
        period = k;
        break;
      }
    }
    if (period == 0) {
      std::int64_t fewest = periodic_slots(steps, 1);
      for (int k = 1; k <= steps; ++k) fewest = std::min(fewest, periodic_slots(steps, k));
      TENET_USER_CHECK(false, "periodic schedule: ", steps, " steps need at least ", fewest,
                       " snapshots for any period (ceil(N/K) checkpoints + K-2 states inside a "
                       "segment), got ", snapshots, "; use revolve for fewer snapshots");
    }
  }
  const std::int64_t needed = periodic_slots(steps, period);
  TENET_USER_CHECK(needed <= snapshots, "periodic schedule: period ", period, " for ", steps,
                   " steps needs ", needed, " snapshots (ceil(N/K) checkpoints + K-2 inside a "
                   "segment), got ", snapshots, "; pick another period or more snapshots");
  Schedule s;
  s.name = "periodic";
  s.steps = steps;
  s.slots[kMemoryLevel] = static_cast<int>(std::min<std::int64_t>(snapshots, std::max<std::int64_t>(needed, 1)));
  const int checkpoints = static_cast<int>((std::int64_t{steps} + period - 1) / period);
  for (int a = 0; a < checkpoints; ++a) {
    if (a > 0) s.actions.push_back(internal::make_advance((a - 1) * period, a * period));
    s.actions.push_back(internal::make_save(kMemoryLevel, a, a * period));
  }
  const std::vector<int> inner = internal::slot_range(checkpoints, static_cast<int>(needed));
  for (int a = checkpoints - 1; a >= 0; --a) {
    const int b = a * period;
    const int e = std::min(steps, b + period);
    internal::append_revolve(s.actions, b, e, kMemoryLevel, a, inner, a == checkpoints - 1);
  }
  return s;
}

namespace {

void check_two_level_arguments(int steps, int memory_slots, int disk_slots, double write_cost,
                               double read_cost) {
  TENET_USER_CHECK(steps >= 1 && steps <= kMostScheduleSteps, "two-level schedule: the number of steps must be from 1 to ",
                   kMostScheduleSteps, " (got ", steps, ")");
  TENET_USER_CHECK(memory_slots >= 0 && disk_slots >= 0,
                   "two-level schedule: snapshot counts must be >= 0 (memory ", memory_slots,
                   ", disk ", disk_slots, ")");
  TENET_USER_CHECK(static_cast<std::int64_t>(memory_slots) + disk_slots >= 1,
                   "two-level schedule: need at least one snapshot in memory or on disk (the "
                   "initial state takes one)");
  TENET_USER_CHECK(std::isfinite(write_cost) && write_cost >= 0 && std::isfinite(read_cost) &&
                       read_cost >= 0,
                   "two-level schedule: write and read costs must be finite and >= 0 (got write ",
                   write_cost, ", read ", read_cost, ")");
}

// Solves the DP; returns the level of the initial snapshot and its total cost.
std::pair<int, double> solve_two_level_top(internal::TwoLevelTable &t, int steps,
                                           int memory_slots, int disk_slots, double write_cost,
                                           double read_cost) {
  t.n = steps;
  t.mm = std::min(memory_slots, steps);
  t.dd = std::min(disk_slots, steps);
  t.w = write_cost;
  t.r = read_cost;
  const double work = 0.5 * static_cast<double>(steps) * steps * (t.mm + 1) * (t.dd + 1) * 4;
  TENET_USER_CHECK(work <= 4e9, "two-level schedule: N=", steps, " with ", memory_slots,
                   " memory and ", disk_slots, " disk snapshots needs a dynamic programme of about ",
                   static_cast<long long>(work), " operations (N^2 * (S_mem+1) * (S_disk+1)), "
                   "over the limit of 4e9; use fewer steps or snapshots");
  internal::solve_two_level(t);
  // The initial state goes to whichever level makes the whole reversal cheaper.
  const double inf = std::numeric_limits<double>::infinity();
  const double via_memory =
      memory_slots >= 1 ? t.cost_final[t.index(0, t.mm - 1, t.dd, steps)] : inf;
  const double via_disk =
      disk_slots >= 1 ? write_cost + t.cost_final[t.index(1, t.mm, t.dd - 1, steps)] : inf;
  if (via_memory <= via_disk) return {kMemoryLevel, via_memory};
  return {kDiskLevel, via_disk};
}

}  // namespace

double internal::two_level_cost(int steps, int memory_slots, int disk_slots, double write_cost,
                                double read_cost) {
  check_two_level_arguments(steps, memory_slots, disk_slots, write_cost, read_cost);
  if (memory_slots >= std::max(1, steps - 1)) return steps - 1;
  TwoLevelTable t;
  return solve_two_level_top(t, steps, memory_slots, disk_slots, write_cost, read_cost).second;
}

Schedule two_level_schedule(int steps, int memory_slots, int disk_slots, double write_cost,
                            double read_cost) {
  check_two_level_arguments(steps, memory_slots, disk_slots, write_cost, read_cost);
  Schedule s;
  s.name = "two-level";
  s.steps = steps;
  // No more slots than the steps can use: analyze_schedule keeps an entry per declared slot.
  s.slots[kMemoryLevel] = std::min(memory_slots, steps);
  s.slots[kDiskLevel] = std::min(disk_slots, steps);
  s.write_cost = write_cost;
  s.read_cost = read_cost;
  if (memory_slots >= std::max(1, steps - 1)) {
    // Memory holds every state: no recomputation and no disk traffic, which no schedule beats.
    s.actions.push_back(internal::make_save(kMemoryLevel, 0, 0));
    internal::append_revolve(s.actions, 0, steps, kMemoryLevel, 0,
                             internal::slot_range(1, std::min(memory_slots, steps)), true);
    return s;
  }
  internal::TwoLevelTable t;
  const int level = solve_two_level_top(t, steps, memory_slots, disk_slots, write_cost,
                                        read_cost).first;
  std::vector<int> free_mem = internal::slot_range(level == kMemoryLevel ? 1 : 0, t.mm);
  std::vector<int> free_disk = internal::slot_range(level == kDiskLevel ? 1 : 0, t.dd);
  s.actions.push_back(internal::make_save(level, 0, 0));
  internal::emit_two_level(t, s.actions, 0, steps, level, 0, free_mem, free_disk, true);
  return s;
}

// ---- Online Revolve --------------------------------------------------------------------------

OnlineRevolve::OnlineRevolve(int snapshots) : snapshots_(snapshots) {
  TENET_USER_CHECK(snapshots >= 1, "online revolve: the number of snapshots must be at least 1 "
                   "(got ", snapshots, "); the slot holding the initial state counts");
  slot_used_.assign(static_cast<std::size_t>(snapshots), false);
}

int OnlineRevolve::free_slot() {
  for (int s = 0; s < snapshots_; ++s) {
    if (!slot_used_[static_cast<std::size_t>(s)]) return s;
  }
  return -1;
}

std::vector<Action> OnlineRevolve::next_step() {
  TENET_USER_CHECK(!stopped_, "online revolve: next_step() called after stop()");
  TENET_USER_CHECK(t_ < std::numeric_limits<int>::max(), "online revolve: too many steps");
  std::vector<Action> out;
  const int s = snapshots_;
  if (t_ == 0) {
    slot_used_[0] = true;
    held_.push_back({0, 0});
    out.push_back(internal::make_save(kMemoryLevel, 0, 0));
    r_ = 1;
    grid_index_ = 1;
    next_grid_ = 1;  // c_1 = beta(s, 0)
  } else {
    if (t_ == internal::beta(s, r_)) {
      // The run outgrew the guess beta(s, r): the grid of r+1 starts with state 0 and this
      // state (beta(s, r+1) - beta(s-1, r+1) = beta(s, r)). Older checkpoints stay while there
      // are slots; they are dropped, latest first, when the new grid needs their slots.
      ++r_;
      grid_index_ = 1;
      next_grid_ = t_;
    }
    if (grid_index_ < s && t_ == next_grid_) {
      int slot = free_slot();
      if (slot < 0) {
        // Drop the latest checkpoint that is not on the current grid. One exists: the grid
        // has at most s points and this one is not yet held.
        const std::int64_t grid_start = internal::beta(s, r_ - 1);
        auto victim = held_.end();
        for (auto it = held_.begin(); it != held_.end(); ++it) {
          if (it->t != 0 && it->t < grid_start) victim = it;
        }
        TENET_INTERNAL_CHECK(victim != held_.end(), "online revolve: no slot to free at t=", t_);
        slot = victim->slot;
        out.push_back(internal::make_free(kMemoryLevel, slot));
        held_.erase(victim);
      }
      slot_used_[static_cast<std::size_t>(slot)] = true;
      held_.push_back({t_, slot});
      out.push_back(internal::make_save(kMemoryLevel, slot, t_));
      // Next grid point of guess r: c_{j+1} = c_j + beta(s - j, r - 1).
      next_grid_ = std::min<std::int64_t>(next_grid_ + internal::beta(s - grid_index_, r_ - 1),
                                          internal::beta(s, r_));
      ++grid_index_;
    }
  }
  out.push_back(internal::make_advance(t_, t_ + 1));
  ++t_;
  return out;
}

std::vector<Action> OnlineRevolve::stop() {
  TENET_USER_CHECK(!stopped_, "online revolve: stop() called twice");
  TENET_USER_CHECK(t_ >= 1, "online revolve: stop() before any step; a run needs at least one "
                   "step");
  stopped_ = true;
  const int n = t_;
  const int k = static_cast<int>(held_.size());
  const int s = snapshots_;
  // Choose which held checkpoints to keep: the q-th kept one (q = 0 is state 0) reverses its
  // segment with s - q slots, so keeping a checkpoint shortens one segment but takes a slot
  // from every later one. f[i][q]: cost of reversing [held i, N] when held i is kept as the
  // q-th. O(k^3), so for many checkpoints the cheaper of two plans is taken instead: keep all,
  // or keep only the current guess's grid (which alone gives the stated bound).
  std::vector<char> keep(static_cast<std::size_t>(k), 1);
  if (k > 256) {
    auto plan_cost = [&](const std::vector<char> &mask) {
      std::int64_t total = 0;
      int q = 0, previous = -1;
      for (int i = 0; i < k; ++i) {
        if (!mask[static_cast<std::size_t>(i)]) continue;
        if (previous >= 0) {
          total += internal::revolve_cost(held_[static_cast<std::size_t>(i)].t - previous, s - q);
          ++q;
        }
        previous = held_[static_cast<std::size_t>(i)].t;
      }
      return total + internal::revolve_cost(n - previous, s - q);
    };
    const std::int64_t grid_start = internal::beta(s, r_ - 1);
    std::vector<char> grid_only(static_cast<std::size_t>(k), 0);
    for (int i = 0; i < k; ++i) {
      const int t = held_[static_cast<std::size_t>(i)].t;
      grid_only[static_cast<std::size_t>(i)] = t == 0 || t >= grid_start;
    }
    if (plan_cost(grid_only) < plan_cost(keep)) keep = grid_only;
  } else if (k > 1) {
    const std::int64_t inf = std::numeric_limits<std::int64_t>::max() / 4;
    std::vector<std::int64_t> f(static_cast<std::size_t>(k) * k, inf);
    std::vector<int> next(static_cast<std::size_t>(k) * k, -1);
    auto at = [k](int i, int q) { return static_cast<std::size_t>(i) * k + q; };
    for (int i = k - 1; i >= 0; --i) {
      for (int q = 0; q <= i; ++q) {
        std::int64_t best = internal::revolve_cost(n - held_[static_cast<std::size_t>(i)].t, s - q);
        int best_next = -1;
        for (int i2 = i + 1; i2 < k; ++i2) {
          if (q + 1 > i2) continue;
          const std::int64_t c =
              internal::revolve_cost(held_[static_cast<std::size_t>(i2)].t -
                                         held_[static_cast<std::size_t>(i)].t,
                                     s - q) +
              f[at(i2, q + 1)];
          if (c < best) {
            best = c;
            best_next = i2;
          }
        }
        f[at(i, q)] = best;
        next[at(i, q)] = best_next;
      }
    }
    std::fill(keep.begin(), keep.end(), 0);
    for (int i = 0, q = 0; i >= 0; i = next[at(i, q)], ++q) keep[static_cast<std::size_t>(i)] = 1;
  }
  std::vector<Action> out;
  std::vector<Held> kept;
  for (int i = 0; i < k; ++i) {
    if (keep[static_cast<std::size_t>(i)]) {
      kept.push_back(held_[static_cast<std::size_t>(i)]);
    } else {
      out.push_back(internal::make_free(kMemoryLevel, held_[static_cast<std::size_t>(i)].slot));
    }
  }
  for (int q = static_cast<int>(kept.size()) - 1; q >= 0; --q) {
    const int b = kept[static_cast<std::size_t>(q)].t;
    const int e = q + 1 < static_cast<int>(kept.size()) ? kept[static_cast<std::size_t>(q) + 1].t : n;
    std::vector<bool> busy(static_cast<std::size_t>(s), false);
    for (int p = 0; p <= q; ++p) busy[static_cast<std::size_t>(kept[static_cast<std::size_t>(p)].slot)] = true;
    std::vector<int> free_slots;
    for (int x = s - 1; x >= 0; --x) {
      if (!busy[static_cast<std::size_t>(x)]) free_slots.push_back(x);
    }
    // Slots beyond the segment's length are of no use; passing them is harmless.
    internal::append_revolve(out, b, e, kMemoryLevel, kept[static_cast<std::size_t>(q)].slot,
                             free_slots, false);
  }
  held_.clear();
  return out;
}

Schedule online_revolve_schedule(int steps, int snapshots) {
  internal::check_steps_and_snapshots("online revolve schedule", steps, snapshots);
  snapshots = std::min(snapshots, steps);  // more would never be used (and cost time linear in them)
  Schedule s;
  s.name = "online-revolve";
  s.steps = steps;
  s.slots[kMemoryLevel] = snapshots;
  OnlineRevolve online(snapshots);
  for (int t = 0; t < steps; ++t) {
    for (const Action &a : online.next_step()) s.actions.push_back(a);
  }
  for (const Action &a : online.stop()) s.actions.push_back(a);
  return s;
}

// ---- Analysis --------------------------------------------------------------------------------

std::string format_action(const Action &a) {
  const char *level = a.level == kDiskLevel ? "disk" : "memory";
  switch (a.kind) {
    case ActionKind::Advance:
      return internal::cat("advance ", a.t0, " -> ", a.t1);
    case ActionKind::Save:
      return internal::cat("save state ", a.t0, " to ", level, " slot ", a.slot);
    case ActionKind::Load:
      return internal::cat("load state ", a.t0, " from ", level, " slot ", a.slot);
    case ActionKind::Reverse:
      return internal::cat("reverse step ", a.t0);
    case ActionKind::Free:
      return internal::cat("free ", level, " slot ", a.slot);
  }
  return "?";
}

ScheduleCost analyze_schedule(const Schedule &schedule) {
  const int n = schedule.steps;
  TENET_USER_CHECK(n >= 1, "schedule '", schedule.name, "': steps must be >= 1 (got ", n, ")");
  ScheduleCost cost;
  std::vector<int> content[2];
  int in_use[2] = {0, 0};
  for (int level = 0; level < 2; ++level) {
    TENET_USER_CHECK(schedule.slots[level] >= 0, "schedule '", schedule.name,
                     "': negative slot count");
    content[level].assign(static_cast<std::size_t>(schedule.slots[level]), -1);
  }
  int current = 0;     // state the object holds, -1 when unspecified
  int reached = 0;     // highest state computed so far
  int next_reverse = n - 1;
  for (std::size_t i = 0; i < schedule.actions.size(); ++i) {
    const Action &a = schedule.actions[i];
    auto fail = [&](const std::string &why) {
      throw Error(internal::cat("schedule '", schedule.name, "' (N=", n, "): action #", i, " (",
                                format_action(a), ") is invalid: ", why));
    };
    auto check_slot = [&]() {
      if (a.level != kMemoryLevel && a.level != kDiskLevel) fail("unknown level");
      if (a.slot < 0 || a.slot >= schedule.slots[a.level]) {
        fail(internal::cat("slot out of range (the schedule has ", schedule.slots[a.level], " ",
                           a.level == kDiskLevel ? "disk" : "memory", " slots)"));
      }
    };
    switch (a.kind) {
      case ActionKind::Advance:
        if (current != a.t0) fail(internal::cat("the object holds state ", current));
        if (a.t1 <= a.t0 || a.t1 > n) fail("needs t0 < t1 <= N");
        cost.advanced_steps += a.t1 - a.t0;
        cost.recomputed_steps += std::max(0, std::min(a.t1, reached) - a.t0);
        reached = std::max(reached, a.t1);
        current = a.t1;
        break;
      case ActionKind::Save: {
        check_slot();
        if (current != a.t0) fail(internal::cat("the object holds state ", current));
        int &c = content[a.level][static_cast<std::size_t>(a.slot)];
        if (c >= 0) fail(internal::cat("the slot still holds state ", c, " (free it first)"));
        c = a.t0;
        ++cost.saves[a.level];
        ++in_use[a.level];
        cost.peak_slots[a.level] = std::max(cost.peak_slots[a.level], in_use[a.level]);
        cost.peak_slots_total = std::max(cost.peak_slots_total, in_use[0] + in_use[1]);
        break;
      }
      case ActionKind::Load: {
        check_slot();
        const int c = content[a.level][static_cast<std::size_t>(a.slot)];
        if (c < 0) fail("the slot is empty");
        if (c != a.t0) fail(internal::cat("the slot holds state ", c));
        ++cost.loads[a.level];
        current = c;
        break;
      }
      case ActionKind::Reverse:
        if (a.t0 != next_reverse) {
          fail(internal::cat("steps must be reversed once each from N-1 down to 0; expected step ",
                             next_reverse));
        }
        if (current != a.t0) {
          fail(internal::cat("the adjoint of step ", a.t0, " needs forward state ", a.t0,
                             " but the object holds ",
                             current < 0 ? std::string("no valid state")
                                         : internal::cat("state ", current)));
        }
        --next_reverse;
        ++cost.reverse_steps;
        current = -1;
        break;
      case ActionKind::Free: {
        check_slot();
        int &c = content[a.level][static_cast<std::size_t>(a.slot)];
        if (c < 0) fail("the slot is already empty");
        c = -1;
        --in_use[a.level];
        break;
      }
    }
  }
  TENET_USER_CHECK(next_reverse == -1, "schedule '", schedule.name, "' (N=", n,
                   "): ends before reversing steps ", next_reverse, " .. 0");
  TENET_USER_CHECK(in_use[0] == 0 && in_use[1] == 0, "schedule '", schedule.name, "' (N=", n,
                   "): ends with ", in_use[0], " memory and ", in_use[1],
                   " disk slots still holding states (every slot must be freed)");
  cost.forward_evaluations = cost.advanced_steps + cost.reverse_steps;
  cost.weighted_cost = static_cast<double>(cost.advanced_steps) +
                       schedule.write_cost * static_cast<double>(cost.saves[kDiskLevel]) +
                       schedule.read_cost * static_cast<double>(cost.loads[kDiskLevel]);
  return cost;
}

}  // namespace tenet
